"""The low-level entry point: one system, given start states, given output times, one `Solution`.

`simulate(system, x0, t_eval, settings)` integrates a flow (`integrate`), a delay equation
(`integrate_delay`, method of steps) or iterates a map (`iterate`) with the system's bound
and unbounded coordinates applied, and nothing else: no sampling, no transient, no
resampling. `make_trajectories` and the store's builder are callers of it.

Names used across the integrators (one per idea):

- `System.dt` is the catalogue's integration step (dysts's field), kept only as metadata;
- `SolverSettings.fixed_step` is the step of a fixed-step method (`rk4`), in time units;
- the spacing of the outputs is `time_unit(system, timescale) / points_per_unit`, held by
  the output grid `t_eval` (`Trajectories.stats["dt"]` keeps its old name for that spacing);
- `f(t, y)` is the vector field as the solver sees it (`t: [B]`, `y: [B, d]`), built from
  the catalogue's `equations(x, t, **params)` (state first, as dysts writes `rhs(X, t)`);
- `Solution.y` is the solver's output `[B, n_times, d]`; `Trajectories.x` is the state of
  a system's ensemble after postprocessing, the same array when there is none.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.delay import integrate_delay
from chaosdata.integrate.maps import iterate
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.settings import Bound, Execution, SolverSettings, check_state_dtype
from chaosdata.integrate.solution import Solution
from chaosdata.systems import System

TIMESCALES = ("period", "lyapunov")


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


@dataclass(frozen=True)
class ResamplePolicy:
    """What happens to a trajectory that fails: it is drawn again, up to `max_resamples`
    times, attempt `a` from `seed(base, a)`; one that still fails is kept, flagged and NaN.

    One seed scheme for every caller: attempt 0 is the base seed itself, attempt `a` adds
    `a * stride` (a prime, so the attempts of nearby base seeds do not collide early)."""

    max_resamples: int = 4
    stride: int = 1_000_003

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_resamples", validate.count(self.max_resamples, "max_resamples", minimum=0))

    def seed(self, base: int, attempt: int) -> int:
        """The seed of draw `attempt` (0: the first draw) for a base seed."""
        if not 0 <= attempt <= self.max_resamples:
            raise InvalidInputError(f"attempt must be in 0..{self.max_resamples}, got {attempt!r}")
        return base + self.stride * attempt

    def attempts(self) -> range:
        """The redraw attempts, 1 .. max_resamples."""
        return range(1, self.max_resamples + 1)


RESAMPLE = ResamplePolicy()


def time_unit(system: System, timescale: str) -> float:
    """Time units per period (`timescale="period"`) or per Lyapunov time (`"lyapunov"`,
    from the stored invariants); maps: 1 (one iteration). Raises, naming the fix, when the
    system has no such unit."""
    if timescale not in TIMESCALES:
        raise InvalidInputError(f"timescale must be one of {TIMESCALES}, got {timescale!r}")
    if system.kind == "map":
        return 1.0
    if timescale == "lyapunov":
        invariants = system.invariants
        lyapunov_time = invariants.get("lyapunov_time") if invariants else None
        if lyapunov_time is None:
            why = ("has no stored invariants" if not invariants else
                   "is not chaotic by its stored invariants (lambda_1 is not positive beyond its uncertainty)")
            raise InvalidInputError(
                f"timescale='lyapunov' needs a Lyapunov time, and {system.name} {why}; use timescale='period'"
            )
        return float(lyapunov_time)
    return system.required_period("it cannot be sampled per period")


def _check_solve_input(system: System, x0: Any, t_eval: Any) -> Tensor:
    """Raise, naming the fix, unless `x0` is a `[B, state_dim]` float32/float64 tensor and
    `t_eval` a 1-D tensor of finite times (flows and delay equations: at least 2, increasing;
    maps: at least 1, only their number counts); returns `t_eval`."""
    dim = system.state_dim or system.dim
    x0 = validate.tensor(x0, f"{system.name}: x0", shape=f"[batch, {dim}]")
    t_eval = validate.tensor(t_eval, f"{system.name}: t_eval", shape="[n_times]")
    check_state_dtype(x0.dtype, "x0's dtype")
    if x0.ndim != 2 or x0.shape[-1] != dim:
        what = f" (a delay equation starts from its {dim}-dimensional state, not the delay embedding)" if (
            system.kind == "delay") else ""
        raise InvalidInputError(f"{system.name}: x0 must have shape [batch, {dim}]{what}, got {tuple(x0.shape)}; "
                                "a single state x of shape [dim] is x[None]")
    flow_like = system.kind != "map"
    if t_eval.ndim != 1 or t_eval.numel() < (2 if flow_like else 1) or not bool(torch.isfinite(t_eval).all()) or (
            flow_like and not bool((t_eval[1:] > t_eval[:-1]).all())):
        what = "at least 2 finite, strictly increasing times" if flow_like else "at least 1 finite time (one per iterate)"
        raise InvalidInputError(f"{system.name}: t_eval must be a 1-D tensor of {what}, got shape {tuple(t_eval.shape)}")
    return t_eval


def check_params(system: System, params: Mapping[str, Any], batch: int) -> None:
    """Raise unless `params` binds every parameter of `system` (as `system.bind(...)` gives
    them) and each per-trajectory tensor (a sweep) has 1 or `batch` values on its batch axis."""
    validate.instance(params, f"{system.name}: params", Mapping, hint="system.bind(...)")
    unknown = sorted(set(params) - set(system.parameters))
    missing = sorted(set(system.parameters) - set(params))
    if unknown or missing:
        raise InvalidInputError(
            f"{system.name}: params must bind every parameter and no other; unknown {unknown}, missing {missing}; "
            f"pass system.bind(overrides) (the defaults updated by your overrides)")
    for key, value in params.items():
        if not isinstance(value, Tensor):
            continue
        axis = value.ndim - np.ndim(system.parameters[key]) - 1  # the batch axis, as `_rows_of` reads it
        if axis >= 0 and value.shape[axis] not in (1, batch):
            raise InvalidInputError(
                f"{system.name}: parameter {key!r} has {value.shape[axis]} values on its batch axis (shape "
                f"{tuple(value.shape)}) for {batch} trajectories; a sweep gives one value per trajectory "
                f"({batch}) or one for all")


def simulate(system: System, x0: Tensor, t_eval: Tensor, settings: SolverSettings | None = None, *,
             params: Mapping[str, Any] | None = None, t_start: float | None = None,
             unit: float | None = None) -> Solution:
    """Integrate (or iterate) `system` from `x0` (`[B, state_dim]`, float32 or float64) onto
    `t_eval` (`[n]`: finite and increasing; for maps only its length counts).

    `settings`: the system's defaults (`SolverSettings.for_system`) unless given, resolved
    against `x0.dtype` (`settings.resolve(system, x0.dtype)` gives the tolerances used: None
    follows the dtype, 1e-13 in float64, 1.2e-6 in float32; an explicit rtol below the
    dtype's rounding unit raises `InvalidInputError`); `params`:
    the bound parameters (`system.bind(...)`, floats or tensors broadcasting over B; the
    catalogue's by default). Maps ignore the times but their number. Delay equations start
    from the constant history `x0` at `t_start` (default: one delay before `t_eval[0]`, so
    every lagged output lies in the solution or the history). `unit` is the time unit of the
    step budget `settings.max_steps_per_unit` (default: the period).
    """
    t_eval = _check_solve_input(system, x0, t_eval)
    if settings is not None:
        validate.instance(settings, "settings", SolverSettings, hint="e.g. SolverSettings(method='rk4', fixed_step=0.01)")
    settings = (settings if settings is not None else SolverSettings()).resolve(system, x0.dtype)
    params = system.bind() if params is None else params
    check_params(system, params, x0.shape[0])
    for name, value in (("t_start", t_start), ("unit", unit)):
        if value is not None and not (_is_real(value) and math.isfinite(value) and (name == "t_start" or value > 0)):
            what = "a finite time" if name == "t_start" else "a positive finite number of time units"
            raise InvalidInputError(f"{name} must be {what} (or None), got {value!r}")
    bound = Bound.of(system)
    if system.kind == "map":
        return iterate(lambda x: system.equations(x, **params), x0, t_eval.numel(), bound=bound)
    if system.kind == "delay":
        h_target = system.required_period("its RK4 step is period / dde_steps_per_period") / settings.dde_steps_per_period
        tau = validate.real(system.delay_of(params), f"{system.name}: the delay {system.delay_parameter!r}",
                            what="one finite number")
        lags = np.linspace(0.0, tau, system.dim).tolist()
        return integrate_delay(
            lambda t, y, yd: system.equations(y, yd, t, **params), x0, tau, t_eval,
            lags=lags, steps_per_tau=max(2, math.ceil(tau / h_target)),
            t_start=float(t_eval[0]) - tau if t_start is None else t_start,
            bound=bound,
        )
    if unit is None:
        unit = system.required_period("pass unit= (the time unit of the step budget max_steps_per_unit)")
    span = float(t_eval[-1] - t_eval[0]) / unit
    # per-trajectory parameter tensors must stay aligned with the rows: no compaction
    sweep = any(isinstance(v, Tensor) and v.ndim > 0 and v.shape[0] == x0.shape[0] > 1 for v in params.values())
    return integrate(lambda t, y: system.equations(y, t, **params), x0, t_eval, settings, bound=bound,
                     max_steps=math.ceil(settings.max_steps_per_unit * span) + 1000,
                     execution=Execution(compact=not sweep))
