"""`make_trajectories`: ensembles of any catalogue system on a uniform (or given) time grid.

Initial conditions are sampled on the attractor: the catalogue's default, perturbed by a seeded
draw, carried through a discarded transient. The draw is made on the CPU, so a seed gives the
same starting points on every device; same seed and device give bitwise the same output.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata import budget
from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate.ode import get_tableau
from chaosdata.integrate.sde import NoiseSpec, noise_step, parse_noise, solve_noisy
from chaosdata.integrate.simulate import RESAMPLE, Bound, SolverSettings, check_params, check_state_dtype, simulate, time_unit
from chaosdata.integrate.solution import Solution, Status
from chaosdata.systems import System, get_system

MAX_RESAMPLES = RESAMPLE.max_resamples
DEFAULT_PTS_PER_PERIOD = 100
DEFAULT_TRANSIENT = 10.0  # in units of the timescale (periods, or Lyapunov times)


@dataclass
class Trajectories:
    """An ensemble: `x` is `[B, n_points, dim]` on the grid `t` (`[n_points]`).

    `valid[b]` is False where trajectory `b` failed (its rows are NaN); `stats["failures"]`
    maps each such index to the reason. One meaning per name, as in the stores:
    `initial_conditions` are the draws (or the given states) before the transient, and
    `start_states` the states at `t[0]`, after it (delay equations: the history's value).
    """

    system: str
    t: Tensor
    x: Tensor
    valid: Tensor
    initial_conditions: Tensor
    start_states: Tensor
    parameters: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.x.shape[0]


def _check_positive(name: str, value: Any, integer: bool = False) -> None:
    """Raise unless `value` is a positive finite number (`integer`: a positive integer; numpy
    scalars count as the numbers they are)."""
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind) or not value > 0 or not math.isfinite(value):
        what = "a positive integer" if integer else "a positive number"
        raise InvalidInputError(f"{name} must be {what}, got {value!r}")


def _check_flag(name: str, value: Any) -> None:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{name} must be True or False, got {value!r}")


def _check_seed(seed: Any, high_bits: int = 63) -> int:
    """`seed` as an int: an integer (numpy's too) in [-2**63, 2**high_bits). torch's generator
    takes up to 2**64 - 1; `make_trajectories` keeps its seeds below 2**63, so that the redraws'
    seeds (`RESAMPLE.seed`, a few million more) are taken too."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not -(2**63) <= seed < 2**high_bits:
        raise InvalidInputError(f"seed must be an integer in [-2**63, 2**{high_bits}), got {seed!r}")
    return int(seed)


def sample_initial_conditions(system: System, n_ics: int, seed: int, scale: float | None = None) -> Tensor:
    """Seeded perturbations of the default initial condition (float64, CPU): each coordinate
    kicked by `scale * (|x| + 0.1)` times a standard normal (`scale`: the system's
    `perturbation` unless given), then kept inside the system's `domain` if it declares one.

    The draws depend on `n_ics` as well as `seed`: torch's normal sampler takes another path
    from 16 numbers on, so a larger draw does not start with a smaller one's rows (a bigger
    split is a new set of starts, not an extension of the old one)."""
    _check_positive("n_ics", n_ics, integer=True)
    seed = _check_seed(seed, high_bits=64)
    if scale is not None and (isinstance(scale, bool) or not isinstance(scale, numbers.Real)
                              or not 0 <= scale < math.inf):
        raise InvalidInputError(f"scale must be a finite non-negative relative kick (or None for the system's "
                                f"perturbation), got {scale!r}")
    scale = system.perturbation if scale is None else scale
    dim = system.state_dim or system.dim
    ic = torch.tensor(system.initial_conditions[:dim], dtype=torch.float64)
    gen = torch.Generator().manual_seed(seed)
    kick = torch.randn(n_ics, dim, generator=gen, dtype=torch.float64)
    x = ic + scale * (ic.abs() + 0.1) * kick
    if system.domain is not None:  # keep the draws where the state makes sense
        lo = torch.tensor([-math.inf if b[0] is None else b[0] for b in system.domain], dtype=torch.float64)
        hi = torch.tensor([math.inf if b[1] is None else b[1] for b in system.domain], dtype=torch.float64)
        x = torch.minimum(torch.maximum(x, lo), hi)
    return x


def _solver_settings(system: System, method: str | None, rtol: float | None, atol: float | None,
                     dt: float | None, dtype: torch.dtype = torch.float64) -> tuple[str, float, float, float | None]:
    """The integrator settings: explicit arguments, else the system's own, else DOP853 at 1e-13
    (`SolverSettings.for_system`), with the tolerances resolved against `dtype` (defaults raised
    to `tolerance_floor(dtype)`, the values used go into the stats; an explicit `rtol` below one
    rounding unit is an error, since it would flag every trajectory)."""
    for name, value in (("rtol", rtol), ("atol", atol), ("dt", dt)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not 0 < value < math.inf):
            what = "dt must be a positive finite step" if name == "dt" else "tolerances must be positive and finite"
            raise InvalidInputError(f"{what}, got {name}={value!r}")
    settings = SolverSettings.for_system(system, method=method, rtol=rtol, atol=atol, fixed_step=dt)
    settings = settings.resolve(system, dtype)
    return settings.method, settings.rtol, settings.atol, settings.fixed_step


def _rows_of(system: System, params: Mapping[str, Any], rows: Tensor, n: int) -> dict[str, Any]:
    """Parameters for a subset `rows` of a batch of `n`: a tensor parameter whose last batch
    axis has length `n` (a sweep, one value per trajectory) is indexed; others broadcast as is."""
    out = {}
    for key, value in params.items():
        axis = value.ndim - np.ndim(system.parameters[key]) - 1 if isinstance(value, Tensor) else -1
        if axis >= 0 and n > 1 and value.shape[axis] == n:
            value = value.index_select(axis, rows.to(value.device))
        out[key] = value
    return out


def _solve(system: System, x0: Tensor, t_eval: Tensor, params: Mapping[str, Any], cfg: dict,
           t_start: float | None = None) -> Solution:
    """Integrate (or iterate) from `x0` on `t_eval` with the system's solver.

    Delay equations start from the constant history `x0` at `t_start` (default: one delay
    before the first output, so that every lagged output lies in the solution or history).
    """
    settings = SolverSettings(method=cfg["method"], rtol=cfg["rtol"], atol=cfg["atol"], fixed_step=cfg["dt"],
                              max_steps_per_unit=cfg["max_steps_per_period"],
                              dde_steps_per_period=cfg["dde_steps_per_period"], compile=cfg["compile"])
    return simulate(system, x0, t_eval, settings, params=params, t_start=t_start, unit=cfg["unit"])


def union_grid(grids: Mapping[str, tuple[float, int]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sorted union of uniform grids `{name: (dt, n)}` (times `k * dt` from 0), and each
    grid's positions in it.

    Times that agree to 1e-9 of the finest spacing are one time (the first in sorted order),
    so grids that meet (15 and 100 points per period meet every fifth of a period) share
    those outputs. One integration on the union serves every grid with the same steps.
    """
    if not grids:
        raise InvalidInputError("union_grid needs at least one grid")
    parts = []
    for name, (dt, n) in grids.items():
        if (isinstance(dt, bool) or not isinstance(dt, numbers.Real) or not (dt > 0 and math.isfinite(dt))
                or isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
            raise InvalidInputError(f"grid {name!r}: dt must be a positive finite number and n an integer of at "
                                    f"least 1, got ({dt!r}, {n!r})")
        parts.append(np.arange(int(n), dtype=np.float64) * dt)
    every = np.concatenate(parts)
    order = np.argsort(every, kind="stable")
    ranked = every[order]
    tol = 1e-9 * min(dt for dt, _ in grids.values())
    new = np.concatenate([[True], np.diff(ranked) > tol])
    times = ranked[new]
    slot = np.empty(every.size, dtype=np.int64)
    slot[order] = np.cumsum(new) - 1
    bounds = np.cumsum([0, *(int(n) for _, n in grids.values())])
    return times, {name: slot[bounds[i]:bounds[i + 1]] for i, name in enumerate(grids)}


def _check_times(times: Any) -> Tensor:
    t = torch.as_tensor(times, dtype=torch.float64).cpu()
    if t.ndim != 1 or t.numel() < 2 or not bool(torch.isfinite(t).all()) or not bool((t[1:] > t[:-1]).all()):
        raise InvalidInputError("times must be a 1-D sequence of at least 2 finite, strictly increasing times")
    return t


def _batch_of(initial_conditions: Any) -> int:
    """The batch size of given initial conditions ([B, dim] or [dim]); 1 for what is checked later."""
    shape = getattr(initial_conditions, "shape", ())
    return int(shape[0]) if len(shape) == 2 else 1


def _check_budget(system: System, n_points: int, span: float, pts_per_period: float | None, unit: float,
                  transient: float, n: int,
                  dt: float | None, dde_steps_per_period: int, noise_spec: NoiseSpec | None, dtype: torch.dtype,
                  device: torch.device) -> None:
    """Refuse, before integrating, a request whose output or steps cannot fit (`chaosdata.budget`):
    `n` trajectories of `n_points` over `span` time units (explicit times where `pts_per_period`
    is None), after `transient` units (0 for given initial conditions)."""
    where = f"make_trajectories({system.name!r})"
    dim = system.dim
    itemsize = torch.empty((), dtype=dtype).element_size()
    grid = f"times ({n_points} of them)" if pts_per_period is None else f"n_points = {n_points}"
    budget.check_memory(where, 2.0 * n * n_points * dim * itemsize,  # the solution and its postprocessed copy
                        f"n_ics = {n} trajectories x {grid} x {dim} coordinates x {itemsize} bytes x 2 copies",
                        device=device)
    if system.kind == "map":
        steps = n_points + (math.ceil(transient) + 1 if transient > 0 else 0)
        detail = f"transient = {transient:g} + n_points = {n_points} iterations"
    else:
        period = float(system.period) if system.period else unit
        per_period = budget.steps_per_period(period, kind=system.kind, dt=dt, dde_steps_per_period=dde_steps_per_period)
        recorded = span / noise_step(system, noise_spec) if noise_spec is not None else span / period * per_period
        steps = recorded + transient * unit / period * per_period
        spacing = "" if pts_per_period is None else f" at pts_per_period = {pts_per_period:g}"
        detail = (f"transient = {transient:g} + {grid}{spacing}: {transient * unit / period + span / period:.3g} "
                  f"periods x ~{per_period:.3g} steps per period")
    budget.check_work(where, steps, n, detail)


def make_trajectories(
    system: str | System,
    n_points: int | None = None,
    *,
    times: Tensor | np.ndarray | list[float] | None = None,
    pts_per_period: float | None = None,
    timescale: str = "period",
    initial_conditions: Tensor | None = None,
    n_ics: int = 1,
    transient: float | None = None,
    seed: int = 0,
    method: str | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    dt: float | None = None,
    max_steps_per_period: float = 5_000,
    compile: bool = False,
    postprocess: bool = True,
    resample_failed: bool = False,
    dde_steps_per_period: int = 400,
    noise: float | NoiseSpec | Mapping[str, Any] | None = None,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    **params: Any,
) -> Trajectories:
    """Integrate `system` from many initial conditions onto one uniform grid.

    Flows and delay equations are sampled every `unit / pts_per_period` time units (`unit`: the
    period, or the Lyapunov time with `timescale='lyapunov'`; `pts_per_period` 100 unless given;
    delay equations as the 10-lag delay embedding), maps every iteration (their one sampling:
    `pts_per_period` does not apply and a `timescale` other than 'period' is an error). Flows may instead be
    sampled at explicit `times` (increasing time values; `n_points` and `pts_per_period` left
    out), e.g. the `union_grid` of several samplings integrated in one pass; the trajectory
    starts at `times[0]` (`start_states` are the states there), so only the differences of
    the times matter to an autonomous flow. Without
    `initial_conditions` ([B, dim] or [dim]), `n_ics` are sampled on the attractor through a
    transient of `transient` units (10 unless given; iterations for maps) ending at the first
    output; given `initial_conditions` are the states at the first output, so `n_ics`,
    `resample_failed` and a positive `transient` do not apply to them and are refused. `method` is a tableau name
    (`dop853`, `dopri5`, or fixed-step `rk4` with step `dt`); left out, the method,
    tolerances (1e-13) and step come from the system's `solver` defaults, else DOP853.
    Default tolerances follow `dtype`: at least `tolerance_floor(dtype)` (10 rounding units,
    1.2e-6 for float32; the values used are in `stats`); an explicit `rtol` below one rounding
    unit is an error, as it would flag every trajectory "step size underflowed".
    A trajectory that needs more than `max_steps_per_period` steps per period is stopped and
    flagged (it would otherwise hold up the whole batch). `compile=True` runs the ODE step
    through `torch.compile`: a fixed cost of tens of seconds, then several times fewer
    per-step overheads, worth it for long runs on CPU and for GPUs. Delay equations always use RK4
    with `dde_steps_per_period` steps per period. `postprocess` applies the system's own map
    of unbounded coordinates (e.g. angles to sines), as dysts does. Trajectories that fail are
    flagged in `valid` and, with `resample_failed`, replaced by fresh draws. `noise` (flows
    only) makes the recorded part an Itô SDE (`NoiseSpec`; a number is dysts's additive noise
    level, `noise * |x0_k|` on coordinate k, 0 or None none): the transient stays deterministic,
    trajectory i draws its Brownian path from (the noise seed, i), see `chaosdata.integrate.sde`. Extra keyword
    arguments override the system's parameters (floats, or tensors broadcasting over B: a sweep
    has one value per trajectory on its batch axis). `dtype` is torch.float32 or torch.float64.
    """
    system = get_system(system)
    if times is not None:
        if n_points is not None:
            raise InvalidInputError("give n_points (a uniform grid) or times (explicit output times), not both")
        if system.kind != "flow":
            raise InvalidInputError(f"{system.name} is a {system.kind}: explicit times are for flows; use n_points")
        times = _check_times(times)
        n_points = times.numel()
    if n_points is None:
        raise InvalidInputError("n_points is required (or explicit times, for a flow)")
    if times is not None and pts_per_period is not None:
        raise InvalidInputError("pts_per_period sets the spacing of a uniform grid; explicit times set their own: "
                                "leave pts_per_period out")
    if initial_conditions is not None and transient:
        raise InvalidInputError(
            f"transient={transient!r} applies to sampled starts; initial_conditions are used as the states at the "
            "first output time: leave transient out, or carry them through a transient first (a 2-point run)")
    pts_per_period = DEFAULT_PTS_PER_PERIOD if pts_per_period is None else pts_per_period
    transient = DEFAULT_TRANSIENT if transient is None else transient
    _check_positive("n_points", n_points, integer=True)
    if n_points < 2:
        raise InvalidInputError(f"n_points must be at least 2, got {n_points}")
    n_points = int(n_points)
    _check_positive("pts_per_period", pts_per_period)
    _check_positive("n_ics", n_ics, integer=True)
    n_ics = int(n_ics)
    seed = _check_seed(seed)
    check_state_dtype(dtype)
    for name, flag in (("postprocess", postprocess), ("resample_failed", resample_failed), ("compile", compile)):
        _check_flag(name, flag)
    if initial_conditions is not None and (n_ics != 1 or resample_failed):
        given = f"n_ics={n_ics}" if n_ics != 1 else "resample_failed=True"
        raise InvalidInputError(
            f"{given} applies only to sampled starts, and initial_conditions are used as given (their number is "
            "the batch; a failed one stays flagged in `valid`): leave one of them out")
    if isinstance(transient, bool) or not isinstance(transient, numbers.Real) or not 0 <= transient < math.inf:
        raise InvalidInputError(f"transient must be a finite non-negative number of periods, got {transient!r}")
    _check_positive("dde_steps_per_period", dde_steps_per_period, integer=True)
    dde_steps_per_period = int(dde_steps_per_period)
    _check_positive("max_steps_per_period", max_steps_per_period)
    noise_spec = parse_noise(noise)
    if noise_spec is not None and system.kind != "flow":
        raise InvalidInputError(f"{system.name} is a {system.kind}: noise is implemented for flows only; leave noise out")
    noise_seed = seed if noise_spec is None or noise_spec.seed is None else noise_spec.seed
    if noise_spec is not None and noise_seed < 0:
        raise InvalidInputError(f"with noise, seed seeds the Brownian paths and must be non-negative, got {seed}; "
                                "pass a seed >= 0 (or the noise's own seed)")
    method, rtol, atol, dt = _solver_settings(system, method, rtol, atol, dt, dtype)
    tableau = get_tableau(method)
    device = usable_device(device)
    bound_params = system.bind(params)
    dim = system.state_dim or system.dim

    if system.kind == "map":
        if timescale != "period":  # one sampling: a point per iteration (pts_per_period does not apply)
            raise InvalidInputError(f"{system.name} is a map, sampled once per iteration: timescale={timescale!r} "
                                    "does not apply; leave timescale out")
        step_time, unit = 1.0, 1.0
    else:
        unit = time_unit(system, timescale)
        step_time = unit / pts_per_period
    _check_budget(system, n_points, (n_points - 1) * step_time if times is None else float(times[-1] - times[0]),
                  None if times is not None else pts_per_period, unit, transient if initial_conditions is None else 0.0,
                  n_ics if initial_conditions is None else _batch_of(initial_conditions), dt, dde_steps_per_period,
                  noise_spec, dtype, device)
    t_eval = torch.arange(n_points, dtype=torch.float64) * step_time if times is None else times
    cfg = {"method": tableau.name, "rtol": rtol, "atol": atol, "dt": dt, "unit": unit,
           "max_steps_per_period": max_steps_per_period, "dde_steps_per_period": dde_steps_per_period,
           "compile": compile}
    cast = {k: v.to(dtype=dtype, device=device) if isinstance(v, Tensor) else v for k, v in bound_params.items()}

    def run(x0: Tensor, sample: bool, keys: Tensor | None = None,
            cast: dict[str, Any] = cast) -> tuple[Solution, Tensor]:
        """Transient (when sampling), then the recorded part; returns it and its start states.
        `cast`: the parameters of these rows (a redraw passes its subset of a sweep)."""
        x0 = x0.to(dtype=dtype, device=device)
        status = torch.zeros(x0.shape[0], dtype=torch.int8, device=device)
        if sample and transient > 0 and system.kind == "delay":
            # one continuous solution: the history starts `transient` periods before t = 0
            sol = _solve(system, x0, t_eval.to(dtype=dtype, device=device), cast, cfg,
                         t_start=-transient * unit - float(cast[system.delay_parameter]))
            return sol, sol.y[:, 0, :dim]
        if sample and transient > 0:
            if system.kind == "map":
                n_tr = math.ceil(transient) + 1
                t_tr = torch.arange(n_tr, dtype=torch.float64) - (n_tr - 1)
            else:  # only the end state is kept: a two-point grid leaves the steps to the tolerance
                t_tr = torch.tensor([-transient * unit, 0.0], dtype=torch.float64)
            warm = _solve(system, x0, t_tr.to(dtype=dtype, device=device), cast, cfg)
            status = warm.status
            x0 = torch.where((status != 0)[:, None], torch.zeros_like(x0), warm.y[:, -1])
        if noise_spec is None:
            sol = _solve(system, x0, t_eval.to(dtype=dtype, device=device), cast, cfg)
        else:  # failed transients start from zeros, like the clean path, and stay flagged
            keys = torch.arange(x0.shape[0], device=device) if keys is None else keys
            sol = solve_noisy(system, x0, t_eval.to(dtype=dtype, device=device), cast, noise_spec, noise_seed,
                              keys, bound=Bound.of(system).value, bounded=Bound.of(system).mask(system.dim))
        sol.status = torch.where(status != 0, status, sol.status)
        return sol, x0

    if initial_conditions is not None:
        if not isinstance(initial_conditions, Tensor):
            raise InvalidTypeError("initial_conditions must be a torch.Tensor of shape [B, dim] or [dim]")
        ics = initial_conditions.reshape(1, -1) if initial_conditions.ndim == 1 else initial_conditions
        if ics.ndim != 2 or ics.shape[-1] != dim or ics.shape[0] == 0:
            raise InvalidInputError(
                f"{system.name}: initial_conditions must have shape [B, {dim}] (B >= 1) or [{dim}], "
                f"got {tuple(initial_conditions.shape)}"
            )
        draws = ics.to(dtype=dtype, device=device)
        check_params(system, cast, draws.shape[0])
        sol, starts = run(ics, sample=False)
    else:
        draws = sample_initial_conditions(system, n_ics, seed).to(dtype=dtype, device=device)
        check_params(system, cast, n_ics)
        sol, starts = run(draws, sample=True)
        for attempt in (RESAMPLE.attempts() if resample_failed else ()):
            failed = (sol.status != 0).nonzero().flatten()
            if failed.numel() == 0:
                break
            fresh = sample_initial_conditions(system, failed.numel(), RESAMPLE.seed(seed, attempt))
            redo, redo_starts = run(fresh, sample=True, keys=failed.to(device) + (attempt << 32),
                                    cast=_rows_of(system, cast, failed, draws.shape[0]))
            sol.y[failed] = redo.y
            sol.status[failed] = redo.status
            sol.n_accepted[failed] = redo.n_accepted
            sol.n_rejected[failed] = redo.n_rejected
            starts[failed] = redo_starts
            draws[failed] = fresh.to(dtype=dtype, device=device)

    x = sol.y
    if postprocess and system.postprocess is not None:
        x = system.postprocess(x, **cast)
    failures = {int(i): Status(int(sol.status[i])).reason for i in (sol.status != 0).nonzero().flatten()}
    span = float(t_eval[-1] - t_eval[0]) / unit
    stats = {
        "n_accepted": sol.n_accepted.cpu(),
        "n_rejected": sol.n_rejected.cpu(),
        "steps_per_period": (sol.n_accepted.double().mean().item() / span) if span > 0 else float("nan"),
        "failures": failures,
        "wall_time": sol.wall_time,
        "method": "rk4" if system.kind == "delay" else ("iterate" if system.kind == "map" else tableau.name),
        "rtol": rtol,
        "atol": atol,
        "dt": step_time if times is None else None,
        "timescale": timescale,
        "pts_per_period": pts_per_period if times is None else None,
        "seed": seed,
        "device": str(device),
    }
    if noise_spec is not None:  # what decides the noisy bytes (redrawn trajectories use key i + attempt * 2**32)
        stats["noise"] = {**noise_spec.to_dict(), "seed": noise_seed, "method": noise_spec.method_name,
                          "max_step": noise_step(system, noise_spec)}
    return Trajectories(
        system=system.name, t=t_eval.to(dtype=dtype, device=device), x=x, valid=sol.status == 0,
        initial_conditions=draws, start_states=starts,
        parameters={k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in bound_params.items()},
        stats=stats,
    )
