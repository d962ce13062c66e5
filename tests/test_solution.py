"""The one status classification (`solution.classify`, `status_code`) and its use by every integrator."""

from __future__ import annotations

import math

import pytest
import torch

from chaosdata.integrate.delay import integrate_delay
from chaosdata.integrate.maps import iterate
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.sde import SDESettings, integrate_sde
from chaosdata.integrate.settings import Bound, Execution, SolverSettings
from chaosdata.integrate.solution import Status, classify, status_code

F64 = torch.float64
LIMITS = Bound(100.0, unbounded=(1,)).limits(2, F64, "cpu")


def test_classify_gives_non_finite_before_out_of_bounds():
    y = torch.tensor([
        [1.0, 2.0],  # inside
        [500.0, 2.0],  # past the bound on the bounded coordinate
        [1.0, 1e6],  # past it on the unbounded one: fine
        [math.nan, 500.0],  # NaN and outside: non-finite first
        [math.inf, 1.0],  # inf on the bounded coordinate: non-finite, not outside
        [1.0, -math.inf],  # inf on the unbounded coordinate
    ], dtype=F64)
    assert classify(y, LIMITS).tolist() == [Status.OK, Status.OUT_OF_BOUNDS, Status.OK, Status.NONFINITE,
                                            Status.NONFINITE, Status.NONFINITE]


def test_classify_over_whole_orbits_and_without_a_bound():
    orbits = torch.ones(3, 4, 2, dtype=F64)
    orbits[1, 2, 0] = 500.0
    orbits[2, 1, 0], orbits[2, 3, 1] = 500.0, math.nan  # outside early, non-finite later: non-finite
    assert classify(orbits, LIMITS, axes=2).tolist() == [Status.OK, Status.OUT_OF_BOUNDS, Status.NONFINITE]
    assert classify(orbits, None, axes=2).tolist() == [Status.OK, Status.OK, Status.NONFINITE]
    assert classify(orbits, 100.0, axes=1)[2].tolist() == [Status.OK, Status.OUT_OF_BOUNDS, Status.OK, Status.NONFINITE]


def test_status_code_precedence_includes_step_underflow():
    yes, no = torch.tensor([True]), torch.tensor([False])
    assert status_code(no, no, yes).tolist() == [Status.STEP_UNDERFLOW]
    assert status_code(no, yes, yes).tolist() == [Status.OUT_OF_BOUNDS]
    assert status_code(yes, yes, yes).tolist() == [Status.NONFINITE]
    assert status_code(no).tolist() == [Status.OK]
    assert status_code(no).dtype == torch.int8


def _growth(t, y):
    return 0.1 * y


RK4_005 = SolverSettings(method="rk4", fixed_step=0.05)
# every integrator, started with inf on a bounded coordinate (row 1) beside a valid row (row 0)
SOLVES = {
    "fixed grid": lambda y0, t: integrate(_growth, y0, t, RK4_005, bound=Bound(100.0)),
    "generic fixed step": lambda y0, t: integrate(_growth, y0, t, RK4_005, bound=Bound(100.0),
                                                  execution=Execution(fixed_grid=False)),
    "adaptive": lambda y0, t: integrate(_growth, y0, t, SolverSettings(method="dopri5"), bound=Bound(100.0)),
    "sde": lambda y0, t: integrate_sde(_growth, lambda t, x: torch.zeros_like(x), y0, t, SDESettings(max_step=0.05),
                                       bound=Bound(100.0)),
    "delay": lambda y0, t: integrate_delay(lambda t, y, yd: 0.1 * yd, y0, 1.0, t, bound=Bound(100.0)),
    "map": lambda y0, t: iterate(lambda x: 1.01 * x, y0, t.numel(), bound=Bound(100.0)),
}


@pytest.mark.parametrize("name", list(SOLVES))
def test_every_integrator_classifies_an_infinite_state_as_non_finite(name):
    """One classification: inf on a bounded coordinate is NONFINITE everywhere (the fixed-grid
    path called it OUT_OF_BOUNDS before), and a finite state past the bound OUT_OF_BOUNDS."""
    y0 = torch.tensor([[1.0, 1.0], [math.inf, 1.0], [500.0, 1.0]], dtype=F64)
    sol = SOLVES[name](y0, torch.linspace(0.0, 1.0, 5, dtype=F64))
    assert sol.status.tolist() == [Status.OK, Status.NONFINITE, Status.OUT_OF_BOUNDS]
    assert bool(sol.y[1:].isnan().all()) and not bool(sol.y[0].isnan().any())
