"""The one rule for solver tolerances against the state's dtype, shared by `simulate` and
`make_trajectories`.

Far below the rounding unit of the state's dtype an adaptive method's error estimate is rounding
noise and the step shrinks until it underflows: float32 at 1e-13 flagged every trajectory, and
fails from about rtol 1e-8 (Lorenz, Rossler, Aizawa), while float32 errors stop improving near
1e-6. So, for adaptive methods on flows:

- a default tolerance (left as None: the system's own, else `DEFAULT_TOL`) is raised to
  `tolerance_floor(dtype)`, 10 rounding units (1.2e-6 in float32; in float64 the floor is
  2.2e-15 and the 1e-13 default stands, so float64 results do not change);
- an explicit `rtol` below one rounding unit is an error naming the fixes.

Fixed-step methods, delay equations and maps take no tolerance and get their values unchanged.
"""

from __future__ import annotations

import torch

from chaosdata.errors import InvalidInputError
from chaosdata.integrate.tableaux import Tableau, get_tableau
from chaosdata.systems import System

DEFAULT_TOL = 1e-13
TOLERANCE_FLOOR_EPS = 10  # default tolerances are at least this many rounding units of the dtype


def tolerance_floor(dtype: torch.dtype) -> float:
    """The smallest default tolerance in `dtype`: 10 rounding units (1.2e-6 for float32,
    2.2e-15 for float64, where the 1e-13 default stands)."""
    return TOLERANCE_FLOOR_EPS * torch.finfo(dtype).eps


def resolve_tolerances(system: System | None, method: str | Tableau, rtol: float | None, atol: float | None,
                       dtype: torch.dtype) -> tuple[float, float]:
    """`(rtol, atol)` a solve of `system` (None: a bare vector field, `ode.integrate`'s) by
    `method` in `dtype` uses.

    None means the default: the system's own `solver` value, else `DEFAULT_TOL`, raised to
    `tolerance_floor(dtype)` for adaptive methods on flows. Explicit values are kept as given,
    except that an explicit `rtol` below one rounding unit of `dtype` raises `InvalidInputError`
    (every step would underflow). Positivity of explicit values is the caller's check."""
    own = system.solver if system is not None else {}
    flow = system is None or system.kind == "flow"
    floor = tolerance_floor(dtype) if flow and get_tableau(method).adaptive else 0.0
    eps = torch.finfo(dtype).eps
    if floor and rtol is not None and rtol < eps:
        raise InvalidInputError(
            f"rtol={rtol:g} is below the rounding unit of {str(dtype).removeprefix('torch.')} ({eps:.1e}): "
            f"the error estimate would be rounding noise and every step would underflow; pass rtol >= "
            f"{floor:.1e}, leave rtol out (None: defaults follow the dtype), or integrate in float64 "
            f"(dtype=torch.float64; for simulate, a float64 x0)"
        )
    rtol = rtol if rtol is not None else max(own.get("rtol", DEFAULT_TOL), floor)
    atol = atol if atol is not None else max(own.get("atol", DEFAULT_TOL), floor)
    return rtol, atol
