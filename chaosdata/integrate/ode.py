"""Ensemble integration of ODEs: many trajectories at once, each with its own step size.

Every trajectory carries its own time, step size and accept/reject decision; all of them move
together through one masked loop. The step is split three ways:

- the solver: the tableau's stages (`Tableau`, cast once per solve), written as one
  matrix-vector product and one scaling per stage into buffers made once per solve;
- the step-size controller (`Controller`: integral control by default, PI as an option);
- the output writer (`DenseWriter`): outputs land on a common time grid through the method's
  interpolant, evaluated in batches of steps; a step never shrinks to hit a grid point.

Stage derivatives are stored multiplied by the step size (`k_j = h f(t_j, y_j)`), which folds
the step size into the stage sums, the error estimate and the interpolant. Working memory is
O(batch * dim * stages * steps per flush) plus the output itself.

Names: `f(t, y)` is the vector field as the solver sees it (`t: [B]`, `y: [B, d]`);
`Solution.y` is `[B, n_times, d]`; what to solve with is one `SolverSettings` (`settings.py`),
its `fixed_step` the step of a fixed-step method.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.compiled import recompile_room, uses_cuda_graphs
from chaosdata.integrate.controller import INTEGRAL, Controller
from chaosdata.integrate.fixed import integrate_fixed_grid
from chaosdata.integrate.output import DenseWriter, stacks_batches
from chaosdata.integrate.settings import Bound, Execution, SolverSettings
from chaosdata.integrate.solution import Solution, Status, VectorField, status_code
from chaosdata.integrate.tableaux import Tableau, combine, get_tableau, nonzero_terms
from chaosdata.integrate.threads import torch_threads

# the controller's defaults, kept under their old names
SAFETY = INTEGRAL.safety
MIN_FACTOR = INTEGRAL.min_factor
MAX_FACTOR = INTEGRAL.max_factor
# bytes of recorded stages the writer may hold before it must flush (16 steps of 256 Lorenz
# trajectories take 0.75 MiB in float64; 2^20 trajectories flush every step). On the CPU small
# enough to stay in cache while the flush reads them back four times (64 MiB made 8,192 Lorenz
# trajectories 1.25x slower on a 2 MiB-L2 CPU, with the same bytes); elsewhere fewer flushes
# (each reads a count on the host) weigh more, and the earlier 64 MiB is kept (not measured)
FLUSH_BUDGET = {"cpu": 4 * 2**20}
FLUSH_BUDGET_OTHER = 64 * 2**20
MAX_FLUSH_STEPS = 16
# finished rows are dropped from the working batch once they are half of it and hold at least
# this many state elements: below that a step costs its dispatch overhead, not its rows, and
# new buffers (about 700 operations) would cost more than they save
COMPACT_MIN_ELEMENTS = 8192
# from this many state elements on, a [B, 1] operand is spelled out over d before elementwise
# use with [B, d] ones, on the CPU (broadcast over the last axis, a multiply is 2x slower at
# B = 256 and 3-4x from 1024, a where() 2.5x at 1024 and 5.6x at 8192; below these sizes the
# copy costs more than it saves; a GPU broadcasts for free): the step size before the 12 stage
# scalings, the accept mask before the 2 state selections
WIDE_STEP_ELEMENTS = 512
WIDE_MASK_ELEMENTS = 2048


def _wide(x: Tensor, like: Tensor, min_elements: int) -> Tensor:
    """`x` (`[B, 1]`) expanded to `like`'s shape and made contiguous where that pays (see
    `WIDE_STEP_ELEMENTS`); the values are the same, so are the results."""
    return x.expand_as(like).contiguous() if like.is_cpu and like.numel() >= min_elements else x




def _rms(x: Tensor) -> Tensor:
    return x.square().mean(-1).sqrt()


class _Coefficients:
    """A tableau cast once to the dtype and device of a solve.

    Stages `0 .. n_main - 1` run every step (stage `n_main - 1` is `f(t + h, y_new)`, first
    same as last); the extra dense-output stages run only when the writer flushes."""

    def __init__(self, tab: Tableau, dtype: torch.dtype, device: torch.device):
        def as_t(v):
            return torch.tensor(v, dtype=dtype, device=device)

        s = len(tab.b)
        self.n_main = s + 1
        self.rows = [as_t(r) for r in tab.a[1:]] + [as_t(tab.b)]  # rows[j - 1] builds stage j
        self.c_main = as_t(list(tab.c) + [1.0])[:, None, None]  # [n_main, 1, 1]
        self.a_extra = [as_t(r) for r in tab.a_extra]
        self.c_extra = [as_t(c) for c in tab.c_extra]
        weights = [w for w in (tab.e, tab.e_low) if w is not None]
        # [1 or 2, n_main]; no rows for a fixed-step method
        self.e = as_t(weights) if weights else torch.empty(0, self.n_main, dtype=dtype, device=device)
        self.dense_t = as_t(tab.dense).T.contiguous()  # [degree, n_stages]
        self.n_stages = tab.n_stages
        # the same numbers as Python floats, for the compiled step: a graph holds them as
        # constants (tensors would be graph inputs), and zero coefficients drop out
        self.row_terms = [nonzero_terms(r) for r in (*tab.a[1:], tab.b)]
        self.c_f = (*(float(c) for c in tab.c), 1.0)
        self.e_terms = [nonzero_terms(w) for w in (tab.e, tab.e_low) if w is not None]


def initial_step(f: VectorField, t0: Tensor, y0: Tensor, f0: Tensor, order: int,
                 rtol: float, atol: Tensor, h_max: Tensor) -> Tensor:
    """Per-trajectory starting step (Hairer, Norsett & Wanner, Solving ODEs I, II.4)."""
    scale = atol + rtol * y0.abs()
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    small = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = torch.where(small, torch.full_like(d0, 1e-6), 0.01 * d0 / d1.clamp_min(1e-300))
    h0 = torch.minimum(h0, h_max)
    f1 = f(t0 + h0, y0 + h0[:, None] * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    big = torch.maximum(d1, d2)
    h1 = torch.where(big <= 1e-15, torch.maximum(torch.full_like(h0, 1e-6), h0 * 1e-3),
                     (0.01 / big.clamp_min(1e-300)) ** (1.0 / (order + 1)))
    return torch.minimum(torch.minimum(100 * h0, h1), h_max)


class _State(NamedTuple):
    """Per-trajectory solver state; every field is `[B, 1]` except `y` and `fy` (`[B, d]`)."""

    t: Tensor
    y: Tensor
    fy: Tensor
    h: Tensor
    next_idx: Tensor  # the first output not yet written
    status: Tensor
    active: Tensor
    n_acc: Tensor
    n_att: Tensor  # attempted steps
    prev_norm: Tensor  # PI control: the error norm of the last accepted step


# what one step hands the writer, a plain tuple (`DenseWriter.record`): its stages `k`, start
# `t`, `y`, size `h`, first output and count of outputs
_Record = tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]


class _Buffers:
    """Stage buffers for `n_slots` steps, with every view a step takes made once.

    `k` is `[n_slots, n_stages, B, d]`: slot `i` holds one step's stages times h, kept until
    the writer flushes; `ys` holds the stage states and `ts` the stage times of the current
    step (one buffer: a stage's state is only read by `f`, the last one becomes `y_new`, which
    the step reads before the next step overwrites it)."""

    def __init__(self, co: _Coefficients, n_slots: int, B: int, d: int, dtype: torch.dtype, device: torch.device):
        n = co.n_main
        self.k = torch.empty(n_slots, co.n_stages, B, d, dtype=dtype, device=device)
        self.ys = torch.empty(B, d, dtype=dtype, device=device)
        self.ys_flat = self.ys.view(-1)
        self.ts = torch.empty(n, B, 1, dtype=dtype, device=device)
        self.t_rows = [self.ts[j, :, 0] for j in range(n)]
        self.slots = [_SlotViews(self.k[i], n) for i in range(n_slots)]
        self.errors = torch.empty(co.e.shape[0], B * d, dtype=dtype, device=device)
        self.errors_3d = self.errors.view(-1, B, d)


class _SlotViews:
    def __init__(self, k: Tensor, n_main: int):
        S, B, d = k.shape
        flat = k.view(S, B * d)
        self.k = k
        self.rows = [k[j] for j in range(n_main)]
        self.kt = [flat[:j].t() for j in range(n_main)]  # [B*d, j]: the stages before stage j
        self.main = flat[:n_main]


def _stages(f: VectorField, co: _Coefficients, buf: _Buffers, v: _SlotViews, t: Tensor, y: Tensor, fy: Tensor,
            h: Tensor) -> tuple[Tensor, Tensor]:
    """Fill `v.k` with `h f` at every main stage; return `y_new` and `f(t + h, y_new)`.

    Each stage is one `addmv` into the stage-state buffer and one scaling into `k`: the
    buffer is overwritten by the next stage, so `f` must not keep its input past its return
    (it may return it: the result is read before the next stage is formed)."""
    torch.addcmul(t, co.c_main, h, out=buf.ts)  # stage times, [n_main, B, 1]
    h = _wide(h, y, WIDE_STEP_ELEMENTS)
    torch.mul(fy, h, out=v.rows[0])
    y_flat = y.view(-1)
    value = fy
    for j in range(1, co.n_main):
        torch.addmv(y_flat, v.kt[j], co.rows[j - 1], out=buf.ys_flat)
        value = f(buf.t_rows[j], buf.ys)
        torch.mul(value, h, out=v.rows[j])
    return buf.ys, value


def _stages_constant(f: VectorField, co: _Coefficients, t: Tensor, y: Tensor, fy: Tensor,
                     h: Tensor) -> tuple[Tensor, Tensor, list[Tensor]]:
    """The same stages for `torch.compile`: no buffers, no `out=`, and the tableau as constants
    (so the compiler folds and fuses the stage sums); returns `y_new`, `f(t + h, y_new)` and
    the main stages times h."""
    ks = [fy * h]
    y_new, value = y, fy
    for j in range(1, co.n_main):
        y_new = combine(y, co.row_terms[j - 1], ks)
        value = f((t + co.c_f[j] * h)[:, 0], y_new)
        ks.append(value * h)
    return y_new, value, ks


@dataclass(frozen=True)
class _Step:
    """One attempted step for every trajectory, masked; returns the new state and the record."""

    f: VectorField
    co: _Coefficients
    controller: Controller
    error_order: int | None
    rtol: float
    atol: Tensor
    t_eval: Tensor
    h_max: Tensor
    h_min: Tensor  # 0-d: a Python float would be baked into a compiled graph
    bound: Tensor | None  # [d], inf on unbounded coordinates
    lazy_failures: bool  # read the failure flag on the host and skip the status update when clean

    def __call__(self, s: _State, buf: _Buffers | None, slot: int = 0) -> tuple[_State, _Record, bool | None]:
        """The new state, what the writer needs, and whether any trajectory stopped in this
        step (None when not read on the host). Eager with stage buffers `buf` (the stages go
        to its `slot`), else (None) the buffer-free stages of the compiled step."""
        co, t_end = self.co, self.t_eval[-1]
        t_try = s.t + s.h
        last = t_try >= t_end  # this step ends the integration: it lands on t_end exactly
        h = torch.where(last, t_end - s.t, s.h)
        t_new = torch.where(last, t_end, t_try)
        if buf is not None:
            v = buf.slots[slot]
            y_new, f_new = _stages(self.f, co, buf, v, s.t, s.y, s.fy, h)
            k, main = v.k, v.main
        else:
            y_new, f_new, ks = _stages_constant(self.f, co, s.t, s.y, s.fy, h)
            # the writer fills the extra dense-output stages at its flush
            k = torch.stack(ks + [torch.empty_like(y_new)] * (co.n_stages - co.n_main))
        abs_new = y_new.abs()
        size = abs_new.sum(-1, keepdim=True)  # non-finite with the state
        if self.error_order is not None:
            if buf is not None:
                torch.mm(co.e, main, out=buf.errors)
                errors = buf.errors_3d
            else:
                errors = torch.stack([combine(None, w, ks) for w in co.e_terms])
            scale = torch.add(self.atol, torch.maximum(s.y.abs(), abs_new), alpha=self.rtol)
            sq = (errors / scale).square().sum(-1, keepdim=True)  # [1 or 2, B, 1]
            if sq.shape[0] == 2:  # DOP853: the 5th-order estimate guarded by the 3rd-order one
                e5, e3 = sq.unbind(0)
                norm = e5 / (torch.add(e5, e3, alpha=0.01).clamp_min(1e-300) * y_new.shape[-1]).sqrt()
            else:
                norm = (sq[0] / y_new.shape[-1]).sqrt()
            finite = (size + norm) < math.inf  # both non-negative: false for NaN and inf, one op
            accept = s.active & finite & (norm <= 1.0)
            h_next = self.controller.propose(norm, h, accept, finite, self.error_order,
                                             s.prev_norm if self.controller.uses_history else None)
            h_next = h_next.clamp_max(self.h_max)
            prev_norm = (self.controller.history(norm, accept, s.prev_norm) if self.controller.uses_history
                         else s.prev_norm)
        else:
            finite = size < math.inf
            accept = s.active & finite
            h_next, prev_norm = s.h, s.prev_norm
        # outputs in (t, t_new]: a count, written later by the writer
        count = torch.where(accept, torch.searchsorted(self.t_eval, t_new, right=True) - s.next_idx, 0)
        record = (k, s.t, s.y, h, s.next_idx, count)  # a _Record's fields
        t = torch.where(accept, t_new, s.t)
        wide = _wide(accept, y_new, WIDE_MASK_ELEMENTS)
        y = torch.where(wide, y_new, s.y)
        fy = torch.where(wide, f_new, s.fy)
        # ------------------------------------------------------------------ failures
        tiny = h_next <= self.h_min
        if self.bound is not None:
            outside = accept & (abs_new > self.bound).any(-1, keepdim=True)
            failed = (tiny | outside) & s.active
        else:
            outside, failed = None, tiny & s.active
        if self.error_order is None:
            failed = failed | (s.active & ~finite)
        stopped = failed | (accept & last)
        ended: bool | None
        if self.lazy_failures and not bool(stopped.any()):  # the common step: nobody stopped
            status, active, ended = s.status, s.active, False
        else:
            ended = True if self.lazy_failures else None
            status = torch.where(failed, status_code(~finite, outside, tiny), s.status)
            active = s.active & ~stopped
        # positional: t, y, fy, h, next_idx, status, active, n_acc, n_att, prev_norm
        state = _State(t, y, fy, h_next, s.next_idx + count, status, active, s.n_acc + accept, s.n_att + s.active,
                       prev_norm)
        return state, record, ended


class _Resolved(NamedTuple):
    """What resolved settings fix for a solve, each known set: the tableau, the tolerances and,
    for a fixed-step method, its step (None for an adaptive one: it chooses its own)."""

    tab: Tableau
    rtol: float
    atol: float
    fixed_step: float | None

    @classmethod
    def of(cls, settings: SolverSettings) -> _Resolved:
        """From `settings` as `SolverSettings.resolve` returns them (it sets all of these)."""
        tab = get_tableau(settings.method) if settings.method is not None else None
        if (tab is None or settings.rtol is None or settings.atol is None
                or (not tab.adaptive and settings.fixed_step is None)):
            raise InvalidInputError(f"settings must be resolved (SolverSettings.resolve) before a solve, got {settings}")
        return cls(tab, settings.rtol, settings.atol, None if tab.adaptive else settings.fixed_step)


def _steps(step: _Step, n: int, s: _State) -> tuple[_State, tuple[_Record, ...]]:
    """`n` steps one after the other (one compiled graph); the state and each step's record."""
    records = []
    for _ in range(n):
        s, record, _ = step(s, None)
        records.append(record)
    return s, tuple(records)


def flush_steps(B: int, d: int, n_stages: int, itemsize: int, device: torch.device | str = "cpu") -> int:
    """Steps the writer records before a flush: as many as the device's `FLUSH_BUDGET` bytes
    of stages hold, at most `MAX_FLUSH_STEPS`, at least 1."""
    budget = FLUSH_BUDGET.get(torch.device(device).type, FLUSH_BUDGET_OTHER)
    return max(1, min(MAX_FLUSH_STEPS, budget // max(1, B * d * n_stages * itemsize)))


def integrate(f: VectorField, y0: Tensor, t_eval: Tensor, settings: SolverSettings | None = None, *,
              bound: Bound | None = None, max_steps: int = 10_000_000, execution: Execution | None = None) -> Solution:
    """Integrate `dy/dt = f(t, y)` for a batch `y0` (`[B, d]`) and return `y` on `t_eval`.

    `f` is called with `t: [B]` and `y: [B, d]`. A field that also takes leading axes
    (`t: [S, B]`, `y: [S, B, d]`, as the catalogue's do) has the extra dense-output stages of
    many steps evaluated in one call; one that does not is found by a probe at the start
    (`output.stacks_batches`) and called step by step there.

    `t_eval` (`[n]`, increasing, not necessarily uniform) is shared by all trajectories, which
    start at `t_eval[0]`. `settings` (a `SolverSettings`, `SolverSettings()` when None, resolved
    for a bare field in `y0`'s dtype: DOP853, tolerances 1e-13 in float64 and 1.2e-6 in float32
    unless given): adaptive methods control each trajectory's step with `rtol`, `atol` and
    `controller`; fixed-step methods (`rk4`) take steps of `fixed_step`. A step never covers
    more than `max_outputs_per_step` output times; outputs come from the method's interpolant,
    so they never shorten a step below what the tolerance allows unless the grid is denser than
    that. Trajectories whose state becomes non-finite, whose step underflows, which leave
    `bound` (a `Bound`) or need more than `max_steps` steps stop and carry a `Status` other than
    OK; the others are unaffected. `settings.compile` runs `execution.steps_per_graph` steps as
    one `torch.compile` graph (worth it for long runs): the tableau enters it as constants, the
    state goes in and out as tensors and the outputs are written outside it; on CUDA the graph
    is replayed as a CUDA graph (mode "reduce-overhead"). `settings.threads`: torch CPU threads
    for the solve (None: chosen by `threads.threads_for` from the batch size; the process
    setting is restored after). `execution`: how the loop runs (`Execution`), never the values.

    A fixed-step method whose outputs are a whole number of steps apart (see
    `fixed.steps_per_output`) takes the fixed-grid path (`fixed.integrate_fixed_grid`: no
    records, no interpolation, failures checked at the outputs; `max_outputs_per_step` and the
    `execution` knobs but `fixed_grid` do not apply there).
    """
    if settings is not None:
        validate.instance(settings, "settings", SolverSettings, hint="e.g. SolverSettings(method='rk4', fixed_step=0.01)")
    if bound is not None:
        validate.instance(bound, "bound", Bound, hint="e.g. Bound(1e6), or None for no bound")
    run = validate.instance(execution, "execution", Execution) if execution is not None else Execution()
    y0, t_eval = _checked_problem(y0, t_eval)
    settings = (settings if settings is not None else SolverSettings()).resolve(None, y0.dtype)
    spec = _Resolved.of(settings)
    max_steps = validate.count(max_steps, "max_steps")
    started = time.perf_counter()
    if run.fixed_grid and spec.fixed_step is not None:  # a fixed-step method
        with torch_threads(settings.threads, y0):
            sol = integrate_fixed_grid(f, y0, t_eval, spec.tab, spec.fixed_step, bound=bound,
                                       compile=settings.compile, max_steps=max_steps)
        if sol is not None:
            sol.wall_time = time.perf_counter() - started
            return sol
    B = y0.shape[0]
    padded = 1 << max(0, (B - 1).bit_length()) if settings.compile and run.bucket else B
    if padded != B:  # idle rows: copies of the first start, inactive from the start
        y0 = torch.cat([y0, y0[:1].expand(padded - B, -1)])
    limits = bound.limits(y0.shape[1], y0.dtype, y0.device) if bound is not None else None
    with torch_threads(settings.threads, y0):
        sol = _integrate(f, y0, t_eval, spec, settings, run, max_steps=max_steps, limits=limits, n_live=B)
    if padded != B:
        sol.y, sol.status, sol.n_accepted, sol.n_rejected = sol.y[:B], sol.status[:B], sol.n_accepted[:B], sol.n_rejected[:B]
    sol.wall_time = time.perf_counter() - started
    return sol


def _checked_problem(y0: Any, t_eval: Any) -> tuple[Tensor, Tensor]:
    """`integrate`'s start states and output times (in `y0`'s dtype and device), checked."""
    y0 = validate.tensor(y0, "y0", shape="[batch, dim]")
    t_eval = validate.tensor(t_eval, "t_eval", shape="[n_times]")
    if y0.ndim != 2 or y0.shape[0] == 0:
        raise InvalidInputError(f"y0 must have shape [batch, dim] with at least one trajectory, got {tuple(y0.shape)}")
    if y0.dtype not in (torch.float32, torch.float64):
        raise InvalidInputError(f"y0 must be float32 or float64 (the solver's error control needs one of them), got "
                                f"{y0.dtype}: convert it with y0.double()")
    if t_eval.ndim != 1 or t_eval.numel() < 2:
        raise InvalidInputError("t_eval must be a 1-D tensor of at least 2 increasing times")
    t_eval = t_eval.to(dtype=y0.dtype, device=y0.device)
    if not bool(torch.isfinite(t_eval).all()):
        raise InvalidInputError("t_eval must hold finite times")
    if not bool((t_eval[1:] > t_eval[:-1]).all()):
        raise InvalidInputError("t_eval must be strictly increasing")
    return y0, t_eval


def _integrate(f: VectorField, y0: Tensor, t_eval: Tensor, spec: _Resolved, settings: SolverSettings, run: Execution,
               *, max_steps: int, limits: Tensor | None, n_live: int) -> Solution:
    """The generic path of `integrate` (resolved `settings`, `spec` what they fix): masked
    per-trajectory steps, outputs by the writer."""
    dtype, device = y0.dtype, y0.device
    B, d = y0.shape
    n_out = t_eval.numel()
    tab, rtol = spec.tab, spec.rtol
    co = _Coefficients(tab, dtype, device)
    atol_t = torch.as_tensor(spec.atol, dtype=dtype, device=device)
    state, window = _initial_state(f, y0, t_eval, tab, rtol=rtol, atol=atol_t, fixed_step=spec.fixed_step,
                                   max_outputs_per_step=settings.max_outputs_per_step, n_live=n_live)
    # output buffer with one spare row per trajectory that swallows masked writes
    out = torch.zeros(B * (n_out + 1), d, dtype=dtype, device=device)
    out.view(B, n_out + 1, d)[:, 0] = y0
    compile = settings.compile
    step = _Step(f=f, co=co, controller=settings.controller, error_order=tab.error_order, rtol=rtol, atol=atol_t,
                 t_eval=t_eval, h_max=window.reshape(()),
                 h_min=torch.tensor(4 * torch.finfo(dtype).eps * max(1.0, abs(float(t_eval[0])), abs(float(t_eval[-1]))),
                                    dtype=dtype, device=device),
                 bound=limits, lazy_failures=device.type == "cpu" and not compile)
    batched = bool(co.a_extra) and stacks_batches(f, t_eval, y0)  # only extra stages call f at a flush
    writer = DenseWriter(f, out, t_eval, dense_t=co.dense_t, a_extra=co.a_extra, c_extra=co.c_extra,
                         n_main=co.n_main, batched=batched)
    with recompile_room(compile), torch.inference_mode():  # inference mode: a third less overhead per operation on CPU
        state = _march(step, state, writer, torch.arange(B, device=device) * (n_out + 1), compile=compile,
                       steps_per_graph=run.steps_per_graph, check_every=run.check_every, max_steps=max_steps,
                       compact=run.compact)
    state = _State(*(x.clone() for x in state))  # back to ordinary tensors, which callers may update in place
    status = torch.where(state.active, torch.full_like(state.status, Status.MAX_STEPS), state.status)[:, 0]
    n_acc, n_att = state.n_acc[:, 0], state.n_att[:, 0]
    y_out = out.view(B, n_out + 1, d)[:, :n_out]
    y_out = torch.where((status != Status.OK)[:, None, None], torch.full_like(y_out, math.nan), y_out)
    return Solution(
        t=t_eval, y=y_out, status=status, n_accepted=n_acc, n_rejected=n_att - n_acc,
        n_evaluations=int(n_att.max()) * (co.n_main - 1) + (writer.n_extra_evaluations // max(B, 1)) + 2,
        wall_time=0.0,
    )


def _initial_state(f: VectorField, y0: Tensor, t_eval: Tensor, tab: Tableau, *, rtol: float, atol: Tensor,
                   fixed_step: float | None, max_outputs_per_step: int, n_live: int) -> tuple[_State, Tensor]:
    """Every trajectory at `t_eval[0]` with its first step, and the longest step allowed (0-d):
    the shortest span of `max_outputs_per_step + 1` consecutive outputs, so that a step no
    longer than it covers at most `max_outputs_per_step` of them, wherever it starts. The first
    step is `fixed_step` (a fixed-step method), else chosen per trajectory. Rows from `n_live`
    on pad a bucket and never step; a row whose start is not finite is NONFINITE."""
    B, device = y0.shape[0], y0.device
    n_out, m = t_eval.numel(), max_outputs_per_step
    window = (t_eval[m:] - t_eval[:-m]).min() if n_out > m else t_eval[-1] - t_eval[0]
    h_max = window.expand(B).clone()
    t = t_eval[0].expand(B).clone()
    fy = f(t, y0)
    start_ok = torch.isfinite(y0).all(-1) & torch.isfinite(fy).all(-1)
    live = torch.arange(B, device=device) < n_live
    if fixed_step is None:
        h = initial_step(f, t, y0, fy, tab.order, rtol, atol, h_max)
        h = torch.where(torch.isfinite(h), h, h_max)
    else:
        h = torch.full((B,), float(fixed_step), dtype=y0.dtype, device=device).minimum(h_max)
    col = torch.zeros(B, 1, dtype=torch.long, device=device)
    state = _State(
        t=t[:, None].clone(), y=y0.clone(), fy=fy, h=h[:, None].clone(), next_idx=col + 1,
        status=torch.where(start_ok, 0, int(Status.NONFINITE)).to(torch.int8)[:, None],
        active=(start_ok & live)[:, None].clone(), n_acc=col.clone(), n_att=col.clone(),
        prev_norm=torch.ones(B, 1, dtype=y0.dtype, device=device),
    )
    return state, window


def _march(step: _Step, state: _State, writer: DenseWriter, rows: Tensor, *, compile: bool, steps_per_graph: int,
           check_every: int, max_steps: int, compact: bool) -> _State:
    """Step every trajectory until all have stopped or `max_steps` steps have passed, the
    writer fed and flushed; returns the final state of every row, as ordinary tensors.

    Eager: one step at a time into stage buffers. Compiled: `steps_per_graph` steps per graph
    call (replayed as a CUDA graph on CUDA). Rows of finished trajectories are dropped from the
    working batch (compaction) once they are more than half of it: their final counters wait in
    `final`, `index` maps working rows back."""
    co, B, d = step.co, state.y.shape[0], state.y.shape[1]
    dtype, device = state.y.dtype, state.y.device
    n_slots = flush_steps(B, d, co.n_stages, state.y.element_size(), device)
    graphs = compile and uses_cuda_graphs(device)  # CUDA graphs replay the compiled steps
    buf: _Buffers | None = None
    if compile:
        per_call = max(1, min(steps_per_graph, check_every))
        run = torch.compile(lambda s: _steps(step, per_call, s), dynamic=False, fullgraph=True,
                            mode="reduce-overhead" if graphs else None)
        if graphs:  # a replay overwrites the last one's outputs: flush them before the next
            n_slots = per_call
        # the graph's outputs are inference tensors: so are its first inputs, or it compiles twice
        state = _State(*(x.clone() for x in state))
    else:
        per_call = 1
        buf = _Buffers(co, n_slots, B, d, dtype, device)
    index = torch.arange(B, device=device)
    final = _State(*(x.clone() for x in state))
    n_steps, done = 0, False
    while n_steps < max_steps and not done:  # blocks of check_every steps
        for _ in range(0, check_every, per_call):
            if buf is not None:
                state, record, ended = step(state, buf, len(writer))
                records: tuple[_Record, ...] = (record,)
            else:
                if graphs:  # the state enters the graph's static inputs as a copy
                    state = _State(*(x.clone() for x in state))
                    torch.compiler.cudagraph_mark_step_begin()
                state, records = run(state)
                ended = None
            for record in records:
                writer.record(record)
                if len(writer) == n_slots:
                    writer.flush(rows, buf.k if buf is not None else None)
            if ended:  # read on the host: some trajectory finished or failed in this step
                n_active = int(state.active.sum())
                if n_active == 0:
                    done = True
                    break
                if (compact and buf is not None and 2 * n_active <= index.numel()
                        and (index.numel() - n_active) * d >= COMPACT_MIN_ELEMENTS):  # compact
                    writer.flush(rows, buf.k[: len(writer)])
                    keep = state.active[:, 0].nonzero()[:, 0]
                    final = _State(*(full.index_copy(0, index, x) for full, x in zip(final, state, strict=True)))
                    state, index, rows = _State(*(x[keep] for x in state)), index[keep], rows[keep]
                    n_slots = flush_steps(n_active, d, co.n_stages, state.y.element_size(), device)
                    buf = _Buffers(co, n_slots, n_active, d, dtype, device)
        n_steps += check_every if per_call == 1 else per_call * math.ceil(check_every / per_call)
        if ended is None and not bool(state.active.any()):
            break
    writer.flush(rows, buf.k[: len(writer)] if buf is not None else None)
    return _State(*(full.index_copy(0, index, x) for full, x in zip(final, state, strict=True)))
