"""Dynamical noise: batched Itô SDEs `dx = f(t, x) dt + g(t, x) dW` with diagonal diffusion.

Noise types: `additive` (`g(t)` does not depend on the state) and `diagonal` (`g_k` depends
on `x_k` only, e.g. `g_k = s_k x_k`). Methods (fixed steps, float64):

- `euler`: Euler-Maruyama; strong order 1/2 (diagonal), 1 (additive); weak order 1.
- `milstein`: the derivative-free Milstein scheme of Kloeden & Platen (1992), sec. 11.1, for
  diagonal noise; strong order 1, weak order 1.
- `sra1`: Rößler's (2010) stochastic Runge-Kutta method SRA1 for additive noise (a tableau,
  `SRATableau`); strong order 3/2, weak order 2.

Brownian increments are counter-based: the standard normals behind step `n` of the trajectory
with key `k` are a hash of (seed, k, n, coordinate), so a trajectory's path depends on its
seed and key only, never on the batch it runs in, the block size, or the device. A step of a
coarser grid with `refine = m` sums `m` consecutive fine increments, so runs at step sizes
`h` and `h / m` see the same Brownian path (what strong-order tests need).
`make_trajectories(..., noise=...)` reaches this module through `NoiseSpec` and `solve_noisy`.
"""

from __future__ import annotations

import math
import numbers
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate.settings import Bound
from chaosdata.integrate.solution import Solution, Status, classify
from chaosdata.registry import Registry
from chaosdata.systems import System

Field = Callable[[Tensor, Tensor], Tensor]  # (t [B], x [B, d]) -> [B, d]
NOISE_TYPES = ("additive", "diagonal")

# ----------------------------------------------------------------------------- counter-based normals
_M32 = 0xFFFFFFFF
_MAX_COUNTER = 2**31  # pairs of uniforms per trajectory: steps * dim must stay below this


def _mul32(x: Tensor, m: int) -> Tensor:
    """`x * m mod 2**32` for int64 `x` in [0, 2**32): split `m` in 16-bit halves so no
    intermediate product reaches 2**63 (signed overflow would be device-dependent)."""
    lo = x * (m & 0xFFFF)
    hi = (x * (m >> 16)) & 0xFFFF
    return (lo + (hi << 16)) & _M32


def _mix32(x: Tensor) -> Tensor:
    """A bijective 32-bit integer hash (xorshift-multiply, constants of Wellons's `lowbias32`)."""
    x = x ^ (x >> 16)
    x = _mul32(x, 0x7FEB352D)
    x = x ^ (x >> 15)
    x = _mul32(x, 0x846CA68B)
    return x ^ (x >> 16)


def _trajectory_words(seed: int, keys: Tensor) -> tuple[Tensor, Tensor]:
    """Two 32-bit words per trajectory (`[B]` each) from the seed and the trajectory's key."""
    s = torch.full_like(keys, seed & _M32)
    w = _mix32(_mix32(_mix32(_mix32(s ^ 0x243F6A88) ^ ((seed >> 32) & _M32)) ^ (keys & _M32)) ^ ((keys >> 32) & _M32))
    return w, _mix32(w ^ 0x9E3779B9)


def standard_normals(seed: int, keys: Tensor, first: int, n: int, dim: int) -> tuple[Tensor, Tensor]:
    """Two independent standard normal draws per (step, trajectory, coordinate), `[n, B, dim]` each,
    for steps `first .. first + n - 1`; trajectory `b` is keyed by `keys[b]` (int64, >= 0).

    Each pair comes from two hashed 32-bit uniforms by the Box-Muller transform (tails reach
    about 6.7 standard deviations), in float64 on `keys.device`.
    """
    if first < 0 or (first + n) * dim >= _MAX_COUNTER:
        raise InvalidInputError(
            f"noise counters run out: steps {first}..{first + n} x dim {dim} must stay below {_MAX_COUNTER}; "
            "use a coarser noise step or shorter trajectories")
    w1, w2 = _trajectory_words(int(seed), keys.to(torch.int64))
    step = torch.arange(first, first + n, dtype=torch.int64, device=keys.device)
    pair = (step[:, None] * dim + torch.arange(dim, dtype=torch.int64, device=keys.device)[None, :]) * 2
    c = pair[:, None, :]  # [n, 1, dim]
    u1 = (_mix32(_mix32(c ^ w1[:, None]) ^ w2[:, None]).double() + 0.5) * 2.0**-32
    u2 = (_mix32(_mix32((c + 1) ^ w1[:, None]) ^ w2[:, None]).double() + 0.5) * 2.0**-32
    r = torch.sqrt(-2.0 * torch.log(u1))
    angle = (2.0 * math.pi) * u2
    return r * torch.cos(angle), r * torch.sin(angle)


def draw_increments(seed: int, keys: Tensor, first: int, h: Tensor, dim: int, refine: int = 1,
                    with_area: bool = True) -> tuple[Tensor, Tensor | None]:
    """Brownian increments of steps `first .. first + n - 1` (`n = len(h)`) for every trajectory.

    Returns `dW` (`[n, B, dim]`) and, with `with_area`, `dZ = int (W(s) - W(t_n)) ds` over each
    step (`[n, B, dim]`; needed by `sra1`). Exact joint law per fine step of size `delta`:
    `dW = sqrt(delta) xi1`, `dZ = delta**1.5 (xi1 + xi2 / sqrt(3)) / 2` (variance `delta**3 / 3`,
    covariance `delta**2 / 2`). A step of `refine = m` fine steps sums them:
    `dW = sum_i dW_i`, `dZ = sum_i dZ_i + delta * sum_i (m - 1 - i) dW_i`.
    """
    n = h.numel()
    xi1, xi2 = standard_normals(seed, keys, first * refine, n * refine, dim)
    delta = (h.to(xi1) / refine).repeat_interleave(refine)[:, None, None]  # [n * m, 1, 1]
    dw = delta.sqrt() * xi1
    dz = 0.5 * delta**1.5 * (xi1 + xi2 / math.sqrt(3.0)) if with_area else None
    return coarsen(dw, dz, h.to(xi1) / refine if refine > 1 else h.to(xi1), refine)


def coarsen(dw: Tensor, dz: Tensor | None, delta: Tensor, m: int) -> tuple[Tensor, Tensor | None]:
    """Increments over steps of `m` consecutive fine steps: `dw`, `dz` (`[n * m, B, d]`) of fine
    steps of sizes `delta` (`[n]`: one size per coarse step, or `[n * m]` with `m = 1`) to
    `[n, B, d]`, with `dZ = sum_i dz_i + delta * sum_i (m - 1 - i) dw_i` (W rises by the
    earlier increments before each later fine step)."""
    if m == 1:
        return dw, dz
    n = dw.shape[0] // m
    dw_f = dw.view(n, m, *dw.shape[1:])
    dW = dw_f.sum(1)
    if dz is None:
        return dW, None
    after = torch.arange(m - 1, -1, -1, dtype=dw.dtype, device=dw.device).view(1, m, *([1] * (dw.dim() - 1)))
    shape = (n,) + (1,) * (dw.dim() - 1)
    dZ = dz.view(n, m, *dz.shape[1:]).sum(1) + delta.to(dw).view(shape) * (after * dw_f).sum(1)
    return dW, dZ


# ----------------------------------------------------------------------------- methods
@dataclass(frozen=True)
class SRATableau:
    """A stochastic Runge-Kutta method for additive noise (Rößler 2010, SIAM J. Numer. Anal. 48).

    Stages `H_i = x + h sum_j a0[i][j] f(t + c0_j h, H_j) + sum_j b0[i][j] g(t + c1_j h) dZ / h`;
    update `x + h sum_i alpha_i f(t + c0_i h, H_i) + sum_i (beta1_i dW + beta2_i dZ / h) g(t + c1_i h)`.
    Construction checks the order-3/2 conditions that do not involve the drift's derivatives
    beyond first order: `sum alpha = 1`, `alpha . c0 = 1/2`, `alpha . (b0 1) = 1`, `sum beta1 = 1`,
    `sum beta2 = 0`, `beta1 . c1 = 1`, `beta2 . c1 = -1`, and rows of `a0` summing to `c0`.
    """

    name: str
    c0: tuple[float, ...]
    c1: tuple[float, ...]
    a0: tuple[tuple[float, ...], ...]
    b0: tuple[tuple[float, ...], ...]
    alpha: tuple[float, ...]
    beta1: tuple[float, ...]
    beta2: tuple[float, ...]

    def __post_init__(self) -> None:
        s = len(self.alpha)
        if not all(len(v) == s for v in (self.c0, self.c1, self.a0, self.b0, self.beta1, self.beta2)):
            raise InvalidInputError(f"{self.name}: every coefficient vector needs {s} entries")
        for i in range(s):
            if any(self.a0[i][j] != 0 or self.b0[i][j] != 0 for j in range(i, s)):
                raise InvalidInputError(f"{self.name}: a0 and b0 must be strictly lower triangular (explicit)")
            if not math.isclose(sum(self.a0[i]), self.c0[i], abs_tol=1e-15):
                raise InvalidInputError(f"{self.name}: row {i} of a0 must sum to c0[{i}]")

        def dot(u, v):
            return sum(a * b for a, b in zip(u, v, strict=True))

        conditions = {
            "sum alpha = 1": (sum(self.alpha), 1.0),
            "alpha . c0 = 1/2": (dot(self.alpha, self.c0), 0.5),
            "alpha . (b0 1) = 1": (dot(self.alpha, [sum(r) for r in self.b0]), 1.0),
            "sum beta1 = 1": (sum(self.beta1), 1.0),
            "sum beta2 = 0": (sum(self.beta2), 0.0),
            "beta1 . c1 = 1": (dot(self.beta1, self.c1), 1.0),
            "beta2 . c1 = -1": (dot(self.beta2, self.c1), -1.0),
        }
        for what, (got, want) in conditions.items():
            if not math.isclose(got, want, abs_tol=1e-14):
                raise InvalidInputError(f"{self.name}: order condition {what} fails ({got!r})")


# Rößler (2010), Table 5.1 (SRA1); weak order 2, strong order 3/2 for additive noise.
SRA1 = SRATableau(
    name="sra1",
    c0=(0.0, 0.75), c1=(1.0, 0.0),
    a0=((0.0, 0.0), (0.75, 0.0)),
    b0=((0.0, 0.0), (1.5, 0.0)),
    alpha=(1.0 / 3.0, 2.0 / 3.0),
    beta1=(1.0, 0.0), beta2=(-1.0, 1.0),
)


def _sra_step(tab: SRATableau, f: Field, g: Field, t: Tensor, h: float, x: Tensor, dW: Tensor,
              dZ: Tensor) -> Tensor:
    zh = dZ / h
    gs = [g(t + c * h, x) for c in tab.c1]  # additive noise: g ignores x
    fs: list[Tensor] = []
    for i in range(len(tab.alpha)):
        y = x
        for j in range(i):
            if tab.a0[i][j] != 0.0:
                y = y + (h * tab.a0[i][j]) * fs[j]
            if tab.b0[i][j] != 0.0:
                y = y + tab.b0[i][j] * (gs[j] * zh)
        fs.append(f(t + tab.c0[i] * h, y))
    out = x
    for i, a in enumerate(tab.alpha):
        if a != 0.0:
            out = out + (h * a) * fs[i]
    for i in range(len(tab.alpha)):
        if tab.beta1[i] != 0.0 or tab.beta2[i] != 0.0:
            out = out + (tab.beta1[i] * dW + tab.beta2[i] * zh) * gs[i]
    return out


def _euler_step(f: Field, g: Field, t: Tensor, h: float, x: Tensor, dW: Tensor, dZ: Tensor | None) -> Tensor:
    return x + h * f(t, x) + g(t, x) * dW


def _milstein_step(f: Field, g: Field, t: Tensor, h: float, x: Tensor, dW: Tensor, dZ: Tensor | None) -> Tensor:
    """Derivative-free Milstein (Kloeden & Platen 1992, eq. 11.1.5): `(g(x + h f + g sqrt(h)) - g(x))
    / sqrt(h)` stands for `g g'`, exact to first order for diagonal noise."""
    drift, diff = f(t, x), g(t, x)
    base = x + h * drift
    support = base + diff * math.sqrt(h)
    return base + diff * dW + (g(t, support) - diff) * ((dW * dW - h) / (2.0 * math.sqrt(h)))


@dataclass(frozen=True)
class SDEMethod:
    """A fixed-step SDE scheme: its strong order per noise type it supports, its weak order,
    whether it needs `dZ`, and its step `(f, g, t, h, x, dW, dZ) -> x_next`."""

    name: str
    strong_order: Mapping[str, float]
    weak_order: float
    needs_area: bool
    stages: int
    step: Callable[..., Tensor]


METHODS: Registry[SDEMethod] = Registry("SDE method")  # the SDE methods by name (`method="milstein"`)
for _method in (
    SDEMethod("euler", {"additive": 1.0, "diagonal": 0.5}, 1.0, False, 1, _euler_step),
    SDEMethod("milstein", {"additive": 1.0, "diagonal": 1.0}, 1.0, False, 2, _milstein_step),
    SDEMethod("sra1", {"additive": 1.5}, 2.0, True, 2, lambda f, g, t, h, x, dW, dZ: _sra_step(SRA1, f, g, t, h, x, dW, dZ)),
):
    METHODS.add(_method.name, _method)
DEFAULT_METHOD = {"additive": "sra1", "diagonal": "milstein"}


def get_method(method: str, noise: str) -> SDEMethod:
    """The scheme named `method`, checked to support `noise` ('additive' or 'diagonal')."""
    noise = validate.choice(noise, "noise type", NOISE_TYPES)
    m = METHODS.get(method)
    if noise not in m.strong_order:
        ok = sorted(k for k, v in METHODS.items() if noise in v.strong_order)
        raise InvalidInputError(f"SDE method {m.name!r} is for {sorted(m.strong_order)} noise, not {noise!r}; use one of {ok}")
    return m


# ----------------------------------------------------------------------------- the integrator
def step_sizes(t_eval: Tensor, max_step: float | None = None, steps_per_output: int | None = None) -> Tensor:
    """Steps per output interval, `[n_times - 1]` int64: `steps_per_output` each, or the fewest
    equal steps of at most `max_step` (one that divides an interval to 1e-9 gives exactly that
    many). Both are checked by `SDESettings`; one of them must be given."""
    gaps = (t_eval[1:] - t_eval[:-1]).double().cpu()
    if steps_per_output is not None:
        return torch.full_like(gaps, steps_per_output, dtype=torch.int64)
    if max_step is None:
        raise InvalidInputError("step_sizes needs max_step (the longest step) or steps_per_output, one of the two")
    return torch.ceil(gaps / max_step * (1.0 - 1e-9)).clamp_min(1).to(torch.int64)


@dataclass(frozen=True)
class SDESettings:
    """How `integrate_sde` steps: validated once, on construction.

    `noise`: 'additive' (`g` does not depend on the state) or 'diagonal' (`g_k` a function of
    `x_k`); `method`: an SDE method name (`METHODS`), None for 'sra1' (additive) or 'milstein'
    (diagonal), stored as the resolved name; every output interval is split into equal steps:
    the fewest of at most `max_step` (time units), or exactly `steps_per_output` (give one of
    the two); `refine = m` builds each step's Brownian increment from `m` fine draws (see
    `draw_increments`), so that runs at steps `h` and `h / m` see the same path.
    """

    noise: str = "additive"
    method: str | None = None
    max_step: float | None = None
    steps_per_output: int | None = None
    refine: int = 1

    def __post_init__(self) -> None:
        noise = validate.choice(self.noise, "noise type", NOISE_TYPES)
        object.__setattr__(self, "method", get_method(self.method or DEFAULT_METHOD[noise], noise).name)
        if (self.max_step is None) == (self.steps_per_output is None):
            raise InvalidInputError(f"give max_step (the longest step) or steps_per_output (steps per output "
                                    f"interval), one of the two; got max_step={self.max_step!r}, "
                                    f"steps_per_output={self.steps_per_output!r}")
        if self.max_step is not None:
            object.__setattr__(self, "max_step", validate.positive(self.max_step, "max_step",
                                                                   hint="the longest step; or give steps_per_output"))
        else:
            object.__setattr__(self, "steps_per_output", validate.count(self.steps_per_output, "steps_per_output"))
        object.__setattr__(self, "refine", validate.count(self.refine, "refine"))

    @property
    def scheme(self) -> SDEMethod:
        """The method's scheme (`method` holds the name resolved on construction)."""
        return METHODS.get(self.method or DEFAULT_METHOD[self.noise])


def integrate_sde(
    drift: Field,
    diffusion: Field,
    x0: Tensor,
    t_eval: Tensor,
    settings: SDESettings,
    *,
    seed: int = 0,
    keys: Tensor | None = None,
    bound: Bound | None = None,
    increments: Callable[[int, Tensor], tuple[Tensor, Tensor | None]] | None = None,
    block_bytes: int = 2**25,
) -> Solution:
    """Integrate the Itô SDE `dx = drift(t, x) dt + diffusion(t, x) dW` for a batch `x0` (`[B, d]`).

    `diffusion` returns the diagonal of `g` (`[B, d]`, or anything broadcasting to it):
    independent of `x` for `settings.noise='additive'`, with `g_k` a function of `x_k` for
    'diagonal'. Every output interval of `t_eval` (`[n]`, increasing) is split into the equal
    steps `settings` asks for (`SDESettings`); outputs are the states at the step boundaries
    (no interpolation). Trajectory `b` draws its Brownian path from `(seed, keys[b])` (`keys`
    default `arange(B)`), so it is the same in any batch. `increments(first, h)` (steps
    `first ..`, sizes `h` `[n]` -> `dW`, `dZ` `[n, B, d]`) replaces the counter draws with a
    given path (tests use it to drive every step size with one fine path). Trajectories that
    become non-finite or leave `bound` (a `Bound`, checked at every output) get a `Status`
    other than OK and NaN rows. `n_accepted` counts the steps taken; nothing is rejected.
    `block_bytes`: the memory of the increments drawn at once.
    """
    validate.instance(settings, "settings", SDESettings, hint="e.g. SDESettings('additive', max_step=0.01)")
    if bound is not None:
        validate.instance(bound, "bound", Bound, hint="e.g. Bound(1e6), or None for no bound")
    scheme = settings.scheme
    x0 = validate.states(x0, "x0")
    t_eval = validate.times(t_eval, "t_eval")
    # the counters hash the seed's low 64 bits: a larger seed would repeat a smaller one's paths
    seed = validate.seed(seed)
    started = time.perf_counter()
    B, d = x0.shape
    keys = _trajectory_keys(keys, B, x0.device)
    plan = _StepPlan.of(t_eval, settings.max_step, settings.steps_per_output)
    refine = settings.refine
    if increments is None:
        def increments(first: int, h: Tensor) -> tuple[Tensor, Tensor | None]:
            return draw_increments(seed, keys, first, h, d, refine, with_area=scheme.needs_area)
    block = max(1, block_bytes // max(1, 8 * B * d * (4 if scheme.needs_area else 2) * refine))  # B = 0: one block
    out = torch.empty(B, t_eval.numel(), d, dtype=x0.dtype, device=x0.device)
    with torch.inference_mode():
        status = _march(scheme, drift, diffusion, x0, plan, increments, block, out,
                        bound.limits(d, x0.dtype, x0.device) if bound is not None else None)
        out, status = out.clone(), status.clone()
    out = torch.where((status != Status.OK)[:, None, None], torch.full_like(out, math.nan), out)
    return Solution(
        t=t_eval.to(dtype=x0.dtype, device=x0.device), y=out, status=status,
        n_accepted=torch.full((B,), plan.n_total, dtype=torch.long, device=x0.device),
        n_rejected=torch.zeros(B, dtype=torch.long, device=x0.device),
        n_evaluations=plan.n_total * scheme.stages, wall_time=time.perf_counter() - started,
    )


def _trajectory_keys(keys: Tensor | None, B: int, device: torch.device) -> Tensor:
    """`keys` (one non-negative integer per trajectory; `arange(B)` when None) as int64 on `device`."""
    if keys is None:
        return torch.arange(B, dtype=torch.int64, device=device)
    keys = validate.tensor(keys, "keys", shape="of integers, one key per trajectory")
    if keys.dtype.is_floating_point or keys.dtype.is_complex or keys.dtype == torch.bool:
        raise InvalidTypeError(f"keys must be an integer tensor (one key per trajectory), got {keys.dtype}")
    keys = keys.to(device=device, dtype=torch.int64)
    if keys.shape != (B,) or bool((keys < 0).any()):
        raise InvalidInputError(f"keys must be {B} non-negative integers, one per trajectory, got shape {tuple(keys.shape)}")
    return keys


@dataclass(frozen=True)
class _StepPlan:
    """The steps of `integrate_sde` on the host: each one's size (`h`, float64 `[N]`, and as
    floats), the output interval it is in, its index within it, and the step count after which
    each output is due (`ends`)."""

    h: Tensor
    h_list: list[float]
    interval: list[int]
    within: list[int]
    ends: list[int]
    t_list: list[float]

    @property
    def n_total(self) -> int:
        return len(self.h_list)

    @classmethod
    def of(cls, t_eval: Tensor, max_step: float | None, steps_per_output: int | None) -> _StepPlan:
        counts = step_sizes(t_eval, max_step, steps_per_output)
        t_cpu = t_eval.double().cpu()
        h_all = ((t_cpu[1:] - t_cpu[:-1]) / counts).repeat_interleave(counts)  # [N] float64
        n_total = int(counts.sum())
        interval = torch.arange(counts.numel()).repeat_interleave(counts).tolist()
        within = (torch.arange(n_total) - (torch.cumsum(counts, 0) - counts).repeat_interleave(counts)).tolist()
        return cls(h_all, h_all.tolist(), interval, within, torch.cumsum(counts, 0).tolist(), t_cpu.tolist())


def _march(scheme: SDEMethod, drift: Field, diffusion: Field, x0: Tensor, plan: _StepPlan,
           increments: Callable[[int, Tensor], tuple[Tensor, Tensor | None]], block: int, out: Tensor,
           limits: Tensor | None) -> Tensor:
    """Every step of `plan` from `x0`, the increments drawn `block` steps at a time; the states at
    the outputs go to `out` (`[B, n, d]`) and are classified there. Returns each row's `Status`."""
    B, dtype, device = x0.shape[0], x0.dtype, x0.device
    status = torch.zeros(B, dtype=torch.int8, device=device)
    x = x0.clone()
    out[:, 0] = x
    ones = torch.ones(B, dtype=dtype, device=device)
    next_out = 0
    for first in range(0, plan.n_total, block):
        n = min(block, plan.n_total - first)
        dW, dZ = increments(first, plan.h[first:first + n].to(device))
        dW = dW.to(dtype)
        dZ = dZ.to(dtype) if dZ is not None else None
        for j in range(n):
            step = first + j
            h = plan.h_list[step]
            t = ones * (plan.t_list[plan.interval[step]] + plan.within[step] * h)
            x = scheme.step(drift, diffusion, t, h, x, dW[j], dZ[j] if dZ is not None else None)
            if step + 1 == plan.ends[next_out]:
                next_out += 1
                out[:, next_out] = x
                status = torch.where(status == Status.OK, classify(x, limits), status)
    return status


# ----------------------------------------------------------------------------- make_trajectories(noise=...)
NOISE_KINDS = ("additive", "multiplicative")
NOISE_SCALES = ("initial", "absolute", "std")
DEFAULT_STEPS_PER_PERIOD = 1000


@dataclass(frozen=True)
class NoiseSpec:
    """Dynamical noise for `make_trajectories(..., noise=...)`; a float `level` alone means dysts's noise.

    `kind='additive'`: `dx_k = f_k dt + s_k dW_k` with `s_k = level * |x0_k|` for
    `scale='initial'` (dysts 0.96's convention: its diffusion is `noise * diag(ic)`, the
    trajectory's initial condition), `level` for 'absolute', or `level * std_k` (the
    coordinate's standard deviation on the attractor, from the stored invariants) for 'std'.
    `kind='multiplicative'`: `dx_k = f_k dt + level * x_k dW_k` (diagonal, `scale` unused).
    Itô, on every coordinate (as dysts). `method` defaults to 'sra1' (additive) or 'milstein';
    the internal step is the output spacing split into the fewest equal steps of at most
    `period / steps_per_period` (1000 by default: 5 times dysts's step, `period / 5000`).
    `seed` None takes `make_trajectories`'s seed; trajectory `i` draws with key `i`.
    """

    level: float
    kind: str = "additive"
    scale: str = "initial"
    method: str | None = None
    steps_per_period: float = DEFAULT_STEPS_PER_PERIOD
    seed: int | None = None

    def __post_init__(self) -> None:
        level = validate.non_negative(self.level, "noise level")
        if not isinstance(self.level, (int, float)):  # a numpy scalar: its value as a Python float (JSON, to_dict)
            object.__setattr__(self, "level", level)
        if self.kind not in NOISE_KINDS:
            raise InvalidInputError(f"noise kind must be one of {NOISE_KINDS}, got {self.kind!r}")
        if self.scale not in NOISE_SCALES:
            raise InvalidInputError(f"noise scale must be one of {NOISE_SCALES}, got {self.scale!r}")
        if self.method is not None:
            get_method(self.method, self.noise_type)
        steps = validate.positive(self.steps_per_period, "noise steps_per_period")
        if not isinstance(self.steps_per_period, (int, float)):  # a numpy scalar, as for the level
            object.__setattr__(self, "steps_per_period", steps)
        if self.seed is not None:
            object.__setattr__(self, "seed", validate.seed(self.seed, "noise seed", hint="or None"))

    @property
    def noise_type(self) -> str:
        return "additive" if self.kind == "additive" else "diagonal"

    @property
    def method_name(self) -> str:
        return get_method(self.method or DEFAULT_METHOD[self.noise_type], self.noise_type).name

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NoiseSpec:
        unknown = set(data) - set(cls.__dataclass_fields__)
        if unknown:
            raise InvalidInputError(f"unknown noise option(s) {sorted(unknown)}; known: {sorted(cls.__dataclass_fields__)}")
        if "level" not in data:
            raise InvalidInputError("a noise option needs a 'level'")
        return cls(**data)


def parse_noise(noise: float | NoiseSpec | Mapping[str, Any] | None) -> NoiseSpec | None:
    """`make_trajectories`'s `noise` argument as a spec; None when there is no noise (level 0)."""
    if noise is None:
        return None
    if isinstance(noise, NoiseSpec):
        spec = noise
    elif isinstance(noise, Mapping):
        spec = NoiseSpec.from_dict(noise)
    elif isinstance(noise, numbers.Real) and not isinstance(noise, bool):
        spec = NoiseSpec(level=float(noise))
    else:
        raise InvalidTypeError(f"noise must be a number, a NoiseSpec or a mapping of its fields, got {type(noise).__name__}")
    return spec if spec.level > 0 else None


def noise_amplitude(spec: NoiseSpec, system: System, x0: Tensor) -> Tensor:
    """`s` of `g = s` (additive) or `g = s * x` (multiplicative), `[B, d]` like `x0`."""
    level = torch.full_like(x0, spec.level)
    if spec.kind == "multiplicative" or spec.scale == "absolute":
        return level
    if spec.scale == "initial":
        return level * x0.abs()
    std = (system.invariants or {}).get("std")
    if std is None or len(std) != x0.shape[-1]:
        raise InvalidInputError(f"noise scale 'std' needs {system.name}'s stored per-coordinate std; "
                                "use scale='initial' or 'absolute'")
    return level * torch.as_tensor(std, dtype=x0.dtype, device=x0.device)


def solve_noisy(system: System, x0: Tensor, t_eval: Tensor, params: Mapping[str, Any], spec: NoiseSpec, seed: int,
                keys: Tensor, *, bound: Bound | None = None) -> Solution:
    """The recorded part of a noisy flow for `make_trajectories`: from `x0` (`[B, d]`) on `t_eval`."""
    if system.kind != "flow":
        raise InvalidInputError(f"{system.name} is a {system.kind}: dynamical noise is implemented for flows only")
    sigma = noise_amplitude(spec, system, x0)
    if spec.kind == "additive":
        def diffusion(t: Tensor, x: Tensor) -> Tensor:
            return sigma
    else:
        def diffusion(t: Tensor, x: Tensor) -> Tensor:
            return sigma * x
    settings = SDESettings(spec.noise_type, spec.method_name, max_step=noise_step(system, spec))
    return integrate_sde(lambda t, y: system.equations(y, t, **params), diffusion, x0, t_eval, settings,
                         seed=seed, keys=keys, bound=bound)


def noise_step(system: System, spec: NoiseSpec) -> float:
    """The largest internal step: `period / steps_per_period` (the output spacing is split into
    the fewest equal steps no longer than this)."""
    return system.required_period("its noise step is period / steps_per_period") / spec.steps_per_period
