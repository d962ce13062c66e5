"""Tolerances that follow the dtype (chaosdata.integrate.tolerances): one rule for simulate,
SolverSettings and make_trajectories; float32 defaults raised to the dtype's floor, explicit
values below what the dtype resolves refused, float64 keeping 1e-13 to the byte."""

from __future__ import annotations

import pytest
import torch

from chaosdata import Sampling, get_system, make_trajectories
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.settings import SolverSettings
from chaosdata.integrate.simulate import simulate
from chaosdata.integrate.tableaux import TABLEAUX
from chaosdata.integrate.tolerances import DEFAULT_TOL, tolerance_floor

ADAPTIVE = sorted(name for name, tab in TABLEAUX.items() if tab.adaptive)
FLOATS = (torch.float32, torch.float64)


def _lorenz_starts(n: int = 4) -> tuple:
    """Float64 states on the Lorenz attractor and a 3-period grid of 60 points."""
    tr = make_trajectories("Lorenz", 60, pts_per_period=20, sampling=Sampling(n_ics=n, transient=5, seed=7))
    return get_system("Lorenz"), tr.start_states, tr.t


# ---------------------------------------------------------------------- simulate
@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_in_float32_with_default_settings_keeps_every_trajectory(method):
    """On the old code the 1e-13 default flagged every float32 trajectory 'step size underflowed'."""
    system, x0, t = _lorenz_starts()
    settings = SolverSettings(method=method)
    sol = simulate(system, x0.float(), t.float(), settings)
    assert sol.y.dtype == torch.float32
    assert bool(sol.valid.all()), sol.status.tolist()
    used = settings.resolve(system, torch.float32)
    assert (used.rtol, used.atol) == (tolerance_floor(torch.float32),) * 2


def test_simulate_without_settings_in_float32_follows_the_dtype():
    system, x0, t = _lorenz_starts()
    sol = simulate(system, x0.float(), t.float())
    assert bool(sol.valid.all()), sol.status.tolist()


@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_and_make_trajectories_share_one_rule_in_float32(method):
    """Same start states, default tolerances, float32: the same bytes from both entry points."""
    system, x0, t = _lorenz_starts(3)
    tr = make_trajectories(system, t.numel(), pts_per_period=20, initial_conditions=x0, dtype=torch.float32, postprocess=False, solver=SolverSettings(method=method))
    sol = simulate(system, x0.float(), t.float(), SolverSettings(method=method))
    assert torch.equal(sol.y, tr.x)
    assert tr.stats["rtol"] == SolverSettings(method=method).resolve(system, torch.float32).rtol


@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_refuses_an_explicit_tolerance_below_the_float32_rounding_unit(method):
    system, x0, t = _lorenz_starts(2)
    with pytest.raises(InvalidInputError, match=r"rtol=1e-13 .*float32.*leave rtol out.*float64 x0"):
        simulate(system, x0.float(), t.float(), SolverSettings(method=method, rtol=1e-13, atol=1e-13))


@pytest.mark.parametrize("method", ADAPTIVE)
def test_an_explicit_float32_tolerance_above_the_rounding_unit_is_kept(method):
    eps = torch.finfo(torch.float32).eps
    used = SolverSettings(method=method, rtol=2 * eps, atol=1e-9).resolve(get_system("Lorenz"), torch.float32)
    assert (used.rtol, used.atol) == (2 * eps, 1e-9)  # honoured, not raised to the floor


@pytest.mark.parametrize("method", ADAPTIVE)
def test_float64_default_is_still_1e_13_to_the_byte(method):
    """The None default resolves to 1e-13 in float64, and solves exactly as explicit 1e-13 does
    (the bytes equal those of the code before this change: checked once against HEAD, see the report)."""
    system, x0, t = _lorenz_starts(3)
    default = SolverSettings(method=method)
    assert default.resolve(system, torch.float64).rtol == DEFAULT_TOL == 1e-13
    a = simulate(system, x0, t, default)
    b = simulate(system, x0, t, SolverSettings(method=method, rtol=1e-13, atol=1e-13))
    assert torch.equal(a.y, b.y)


@pytest.mark.parametrize("name", ["StickSlipOscillator", "Henon", "MackeyGlass"])
def test_float32_without_adaptive_steps_takes_no_floor(name):
    """Fixed-step methods, maps and delay equations have no error estimate: no floor, no error."""
    system = get_system(name)
    settings = SolverSettings(rtol=1e-13, atol=1e-13).for_system(system)
    assert settings.resolve(system, torch.float32).rtol == 1e-13


def test_solver_settings_tolerances_must_be_positive_or_none():
    with pytest.raises(InvalidInputError, match="rtol must be a positive finite number"):
        SolverSettings(rtol=-1.0)
    assert SolverSettings().for_system(get_system("Lorenz")).rtol is None  # follows the dtype at solve time



# ---------------------------------------------------------------------- make_trajectories
@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_default_tolerances_follow_the_dtype(method, dtype):
    """float32 at the default 1e-13 used to flag every trajectory 'step size underflowed'."""
    tr = make_trajectories("Lorenz", 30, dtype=dtype, sampling=Sampling(n_ics=3, transient=1), solver=SolverSettings(method=method))
    assert bool(tr.valid.all()), tr.stats["failures"]
    assert tr.x.dtype == dtype
    floor = tolerance_floor(dtype)
    assert tr.stats["rtol"] == max(1e-13, floor) and tr.stats["atol"] == max(1e-13, floor)


@pytest.mark.parametrize("method", ADAPTIVE)
def test_explicit_tolerance_below_what_the_dtype_resolves_is_an_error(method):
    with pytest.raises(InvalidInputError, match=r"rtol=1e-13 .*float32.*dtype=torch\.float64"):
        make_trajectories("Lorenz", 30, dtype=torch.float32, solver=SolverSettings(method=method, rtol=1e-13, atol=1e-13))
    with pytest.raises(InvalidInputError, match="rtol"):
        make_trajectories("Lorenz", 30, dtype=torch.float64, solver=SolverSettings(method=method, rtol=1e-17))


def test_tolerance_floor_is_a_few_rounding_units():
    for dtype in FLOATS:
        assert tolerance_floor(dtype) == pytest.approx(10 * torch.finfo(dtype).eps)
    assert tolerance_floor(torch.float64) < 1e-13  # the float64 default is never changed


@pytest.mark.parametrize("method", ADAPTIVE)
def test_explicit_tolerance_between_one_and_ten_rounding_units_is_honoured(method):
    eps = torch.finfo(torch.float32).eps
    tr = make_trajectories("Lorenz", 30, dtype=torch.float32, sampling=Sampling(n_ics=2, transient=1), solver=SolverSettings(method=method, rtol=2 * eps))
    assert bool(tr.valid.all()) and tr.stats["rtol"] == 2 * eps
