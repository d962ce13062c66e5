"""The solve spec: frozen values, each validated once, that every solver layer takes.

- `SolverSettings`: how a flow is integrated (method, tolerances, fixed step, controller,
  limits, threads, compile); the release config, `make_trajectories`, `simulate` and
  `ode.integrate` all take it;
- `Bound`: when a trajectory has diverged;
- `Execution`: how `ode.integrate` runs its step loop (graph size, host checks, buckets,
  compaction, the fixed-grid path): performance knobs, not part of what a solve means.

Below `ode.py` (it imports nothing from the solvers), so every solver can take these values
in the manner of diffrax's `diffeqsolve(terms, solver, t0, t1, dt0, y0, saveat, stepsize_controller)`.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.controller import Controller
from chaosdata.integrate.tableaux import Tableau, get_tableau
from chaosdata.integrate.tolerances import resolve_tolerances
from chaosdata.systems import System

DEFAULT_METHOD = "dop853"
# the dtypes a solve runs in: half precision rounds the output times themselves (float16 spaces
# times 0.5 apart past t = 512) and its tolerance floor (1e-2) is no accuracy at all
STATE_DTYPES = (torch.float32, torch.float64)


def _is_count(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_state_dtype(dtype: Any, what: str = "dtype") -> None:
    """Raise unless `dtype` is one a solve runs in (`STATE_DTYPES`), naming the fix."""
    if dtype not in STATE_DTYPES:
        raise InvalidInputError(
            f"{what} must be torch.float32 or torch.float64, got {dtype!r}: solves run in single or "
            "double precision (half precision cannot even hold the output times); integrate in float32 "
            "and cast the result, e.g. x.to(torch.float16)")


@dataclass(frozen=True)
class SolverSettings:
    """How a system is integrated; everything that decides the bytes of a solve but the start.

    One value for every layer: the release config's `[integrator]` table is parsed into it,
    `make_trajectories(solver=...)`, `simulate`, the ensemble runner and `ode.integrate` take it.
    `method`: a tableau name, None for the system's own (`for_system`; DOP853 for a bare field),
    or a `Tableau` of one's own (kept as given; not a name a release config can hold);
    `rtol`, `atol`: tolerances of adaptive methods, None for the default that follows the
    state's dtype (`resolve`: the system's own, else 1e-13, at least `tolerance_floor(dtype)`,
    so 1e-13 in float64 and 1.2e-6 in float32); `fixed_step`: the step of a fixed-step method
    (time units); `controller`: step-size control (integral unless given; `Controller.pi()` for
    PI); `max_steps_per_unit`: a trajectory needing more steps per time unit (period, or Lyapunov
    time when sampled per Lyapunov time) is stopped and flagged; `max_outputs_per_step`: the
    longest step covers at most this many outputs; `dde_steps_per_period`: RK4 steps per period
    for delay equations; `compile`: run the step through `torch.compile`; `threads`: torch CPU
    threads (None: by work size).
    """

    method: str | Tableau | None = None
    rtol: float | None = None
    atol: float | None = None
    fixed_step: float | None = None
    controller: Controller = field(default_factory=Controller)
    max_steps_per_unit: float = 5_000
    max_outputs_per_step: int = 16
    dde_steps_per_period: int = 400
    compile: bool = False
    threads: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.method, str):  # a name (any case) as the tableau's: raises on an unknown one, listing them
            object.__setattr__(self, "method", get_tableau(self.method).name)
        elif self.method is not None:
            validate.instance(self.method, "method", Tableau, hint="a method name such as 'dop853', or a Tableau")
        # checked, the values kept as given (their JSON, to_dict, is what stored settings hash)
        for name in ("rtol", "atol", "fixed_step"):
            if getattr(self, name) is not None:
                validate.positive(getattr(self, name), name, hint="or None for the default")
        validate.positive(self.max_steps_per_unit, "max_steps_per_unit")
        for name in ("max_outputs_per_step", "dde_steps_per_period"):
            validate.count(getattr(self, name), name)
        if self.threads is not None:
            validate.count(self.threads, "threads", hint="or None to choose by the work's size")
        validate.instance(self.controller, "controller", Controller, hint="Controller() or Controller.pi()")
        validate.flag(self.compile, "compile")
        # numpy scalars as the Python values they hold, so that to_dict() is plain JSON
        for name in ("compile", "max_outputs_per_step", "dde_steps_per_period", "threads"):
            value = getattr(self, name)
            if isinstance(value, (np.bool_, np.integer)):
                object.__setattr__(self, name, value.item())

    def for_system(self, system: System | None) -> SolverSettings:
        """These settings with the method and step a solve of `system` uses: the method given,
        else the system's own `solver` method, else DOP853 (a bare vector field, `system` None:
        DOP853); the fixed step given, else the system's `steps_per_period` when the method is
        its own. Tolerances left out stay None: `resolve` follows the state's dtype. Raises when
        a fixed-step method is left without a step."""
        own = system.solver if system is not None else {}
        method = self.method if self.method is not None else get_tableau(own.get("method", DEFAULT_METHOD)).name
        fixed_step = self.fixed_step
        period = system.period if system is not None else None
        if fixed_step is None and period is not None and "steps_per_period" in own and method == own.get("method"):
            fixed_step = float(period) / own["steps_per_period"]
        if not get_tableau(method).adaptive and fixed_step is None:
            raise InvalidInputError(f"method {method!r} takes fixed steps: pass a positive fixed_step "
                                    f"(SolverSettings(fixed_step=...), integrator.dt in a release config)")
        return replace(self, method=method, fixed_step=fixed_step)

    def replace(self, **changes: Any) -> SolverSettings:
        return replace(self, **changes)

    def resolve(self, system: System | None, dtype: torch.dtype) -> SolverSettings:
        """These settings as a solve of `system` (None: a bare vector field) in `dtype` runs
        them: method and step by `for_system`, tolerances by `tolerances.resolve_tolerances`
        (None becomes the default raised to `tolerance_floor(dtype)`; an explicit rtol below
        one rounding unit of `dtype` raises, naming the fixes)."""
        settings = self.for_system(system)
        rtol, atol = resolve_tolerances(system, settings.method or DEFAULT_METHOD, self.rtol,
                                        self.atol, dtype)
        return replace(settings, rtol=rtol, atol=atol)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["controller"] = self.controller.to_dict()
        return d


@dataclass(frozen=True)
class Bound:
    """When a trajectory has diverged: the one rule of every integrator, the ensemble runner and
    the invariants. A state is out of bounds once a coordinate's absolute value passes `value`
    (for a catalogue system, `Bound.of`: 1e4 times the size of its initial condition, plus one);
    the `unbounded` coordinates (angles, time phases, which grow by design) are exempt."""

    value: float
    unbounded: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if self.value is None:
            raise InvalidInputError("Bound.value must be a positive number (inf: none); for no bound pass bound=None")
        # a negative bound would stop every trajectory, a NaN none; inf is no bound
        if not (isinstance(self.value, (float, np.floating)) and self.value == math.inf):
            validate.positive(self.value, "bound", hint="the largest |x| a trajectory may reach; inf or None for no bound")
        if not all(_is_count(k) and k >= 0 for k in self.unbounded):
            raise InvalidInputError(f"Bound.unbounded must be coordinate indices (non-negative integers), got "
                                    f"{self.unbounded!r}")
        object.__setattr__(self, "unbounded", tuple(int(k) for k in self.unbounded))

    @classmethod
    def of(cls, system: System) -> Bound:
        """The bound of `system`, built from its catalogue entry."""
        return cls(1e4 * (1.0 + max(abs(v) for v in system.initial_conditions)), tuple(system.unbounded_indices))

    def mask(self, d: int) -> Tensor:
        """`[d]` bool: the coordinates the bound applies to."""
        if any(k >= d for k in self.unbounded):
            raise InvalidInputError(f"Bound.unbounded {self.unbounded} names a coordinate past the state's {d}; "
                                    f"give indices below {d}")
        mask = torch.ones(d, dtype=torch.bool)
        mask[list(self.unbounded)] = False
        return mask

    def limits(self, d: int, dtype: torch.dtype, device: torch.device | str) -> Tensor:
        """`[d]`: the largest `|x_k|` allowed, inf on the exempt coordinates (so `x.abs() > limits`
        tests them all at once; NaN compares false)."""
        return torch.where(self.mask(d).to(device), float(self.value), math.inf).to(dtype)


@dataclass(frozen=True)
class Execution:
    """How `ode.integrate` runs its step loop; the values of a solve do not depend on it, but
    for `fixed_grid` (the same steps, rounded differently: within 1e-12 over a time unit).

    `steps_per_graph`: steps per `torch.compile` graph call (with `SolverSettings.compile`);
    `check_every`: steps between reads on the host of whether every trajectory has stopped;
    `bucket`: pad the batch to the next power of two (with `compile`) so that a new batch size
    in the same bucket reuses the compiled step, only for fields that work on any batch;
    `compact`: drop finished rows from the working batch (False when the field holds
    per-trajectory tensors, a parameter sweep, which must stay aligned with the rows);
    `fixed_grid`: a fixed-step method whose outputs are a whole number of steps apart takes
    `fixed.integrate_fixed_grid` (False keeps it on the generic path).
    """

    steps_per_graph: int = 4
    check_every: int = 16
    bucket: bool = False
    compact: bool = True
    fixed_grid: bool = True

    def __post_init__(self) -> None:
        for name in ("steps_per_graph", "check_every"):
            object.__setattr__(self, name, validate.count(getattr(self, name), name))
        for name in ("bucket", "compact", "fixed_grid"):
            object.__setattr__(self, name, validate.flag(getattr(self, name), name))
