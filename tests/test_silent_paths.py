"""Regression tests for paths that used to fail silently or obscurely (issue 11, section 4).

Each test here failed on the code before its fix: a crash with an unrelated message, a run that
returned all-invalid trajectories without an error, an argument quietly ignored, a registered
system that could not be found, a CLI command that depended on the working directory, or
packaging metadata that promised a Python the code cannot run on.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path

import pytest
import torch

from chaosdata import make_trajectories
from chaosdata.cli import main as cli_main
from chaosdata.errors import InvalidInputError, UnknownSystemError
from chaosdata.integrate.tableaux import TABLEAUX
from chaosdata.integrate.tolerances import tolerance_floor
from chaosdata.systems import base, get_system, list_systems, stack

ROOT = Path(__file__).resolve().parents[1]
ADAPTIVE = sorted(name for name, tab in TABLEAUX.items() if tab.adaptive)
FLOATS = (torch.float32, torch.float64)
# every adaptive method, DOP853 included: its dense output evaluates its extra stages on
# [steps, B, d] states, so a per-trajectory parameter tensor of length B broadcasts there too
SWEEP_METHODS = ADAPTIVE


# ---------------------------------------------------------------------- parameter sweeps
@pytest.mark.parametrize("method", SWEEP_METHODS)
def test_parameter_sweep_with_resampling_redraws_failed_rows_with_their_own_parameters(method):
    """One row of the sweep diverges; the redraw must run that row with its own rho (it used to
    run the failed subset with the whole parameter tensor and crash on shapes)."""
    rho = torch.tensor([28.0, 28.0, 28.0, 1e9], dtype=torch.float64)
    swept = make_trajectories("Lorenz", 20, n_ics=4, transient=1, rho=rho, resample_failed=True, method=method)
    assert swept.valid.tolist() == [True, True, True, False]
    assert list(swept.stats["failures"]) == [3]
    plain = make_trajectories("Lorenz", 20, n_ics=4, transient=1, method=method)
    torch.testing.assert_close(swept.x[:3], plain.x[:3], rtol=0, atol=0)  # same draws, same rho


@pytest.mark.parametrize("method", SWEEP_METHODS)
def test_parameter_sweep_redraw_recovers_a_row_whose_first_draw_failed(monkeypatch, method):
    """Force the first draw of row 1 out of bounds: the redraw of that row alone must use its
    own rho (here 1e9 on row 1 would fail again; row 1 has an ordinary rho and recovers)."""
    from chaosdata.integrate import trajectories

    real = trajectories.sample_initial_conditions
    calls = []

    def first_draw_bad(system, n, seed, scale=None):
        x = real(system, n, seed, scale)
        calls.append(n)
        if len(calls) == 1:
            x[1] = 1e12  # outside the bound: row 1 fails on its first draw
        return x

    monkeypatch.setattr(trajectories, "sample_initial_conditions", first_draw_bad)
    rho = torch.tensor([1e9, 35.0, 1e9], dtype=torch.float64)
    tr = make_trajectories("Lorenz", 20, n_ics=3, transient=1, rho=rho, resample_failed=True, method=method)
    assert tr.valid.tolist() == [False, True, False]
    assert calls[1] == 3  # the first redraw covers the three failed rows, each with its own rho
    ref = make_trajectories("Lorenz", 20, initial_conditions=tr.start_states[1], rho=35.0, method=method)
    torch.testing.assert_close(tr.x[1], ref.x[0], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- tolerances and dtype
@pytest.mark.parametrize("method", ADAPTIVE)
@pytest.mark.parametrize("dtype", FLOATS, ids=str)
def test_default_tolerances_follow_the_dtype(method, dtype):
    """float32 at the default 1e-13 used to flag every trajectory 'step size underflowed'."""
    tr = make_trajectories("Lorenz", 30, n_ics=3, transient=1, method=method, dtype=dtype)
    assert bool(tr.valid.all()), tr.stats["failures"]
    assert tr.x.dtype == dtype
    floor = tolerance_floor(dtype)
    assert tr.stats["rtol"] == max(1e-13, floor) and tr.stats["atol"] == max(1e-13, floor)


@pytest.mark.parametrize("method", ADAPTIVE)
def test_explicit_tolerance_below_what_the_dtype_resolves_is_an_error(method):
    with pytest.raises(InvalidInputError, match=r"rtol=1e-13 .*float32.*dtype=torch\.float64"):
        make_trajectories("Lorenz", 30, method=method, rtol=1e-13, atol=1e-13, dtype=torch.float32)
    with pytest.raises(InvalidInputError, match="rtol"):
        make_trajectories("Lorenz", 30, method=method, rtol=1e-17, dtype=torch.float64)


def test_tolerance_floor_is_a_few_rounding_units():
    for dtype in FLOATS:
        assert tolerance_floor(dtype) == pytest.approx(10 * torch.finfo(dtype).eps)
    assert tolerance_floor(torch.float64) < 1e-13  # the float64 default is never changed


@pytest.mark.parametrize("method", ADAPTIVE)
def test_explicit_tolerance_between_one_and_ten_rounding_units_is_honoured(method):
    eps = torch.finfo(torch.float32).eps
    tr = make_trajectories("Lorenz", 30, n_ics=2, transient=1, method=method, rtol=2 * eps, dtype=torch.float32)
    assert bool(tr.valid.all()) and tr.stats["rtol"] == 2 * eps


# ---------------------------------------------------------------------- numbers that are not numbers
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0, True, "10"], ids=repr)
def test_transient_must_be_a_finite_non_negative_number(value):
    with pytest.raises(InvalidInputError, match="transient"):
        make_trajectories("Lorenz", 10, transient=value)


@pytest.mark.parametrize("argument", ["rtol", "atol", "dt"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1e-8, 0.0], ids=repr)
def test_solver_numbers_must_be_finite_and_positive(argument, value):
    method = {"dt": "rk4"}.get(argument)
    with pytest.raises(InvalidInputError, match=argument):
        make_trajectories("Lorenz", 10, method=method, **{argument: value})


@pytest.mark.parametrize("value", [0, -3, math.nan, 2.5])
def test_dde_steps_per_period_must_be_a_positive_integer(value):
    with pytest.raises(InvalidInputError, match="dde_steps_per_period"):
        make_trajectories("MackeyGlass", 10, dde_steps_per_period=value)


@pytest.mark.parametrize("name", list_systems("map"))
def test_maps_refuse_a_timescale_they_cannot_follow(name):
    """Maps have one sampling (one point per iteration); timescale='lyapunov' used to be ignored."""
    with pytest.raises(InvalidInputError, match="timescale"):
        make_trajectories(name, 10, timescale="lyapunov")


# ---------------------------------------------------------------------- user-registered systems
@pytest.fixture
def user_registry():
    """The registry as a test may change it, restored in place afterwards (the package holds
    references to these dicts, not copies)."""
    saved = dict(base._REGISTRY), dict(base._BY_LOWER)
    yield base
    for live, old in zip((base._REGISTRY, base._BY_LOWER), saved):
        live.clear()
        live.update(old)


def _register_user_flow(name: str) -> None:
    @base.flow(name=name, parameters={"a": 1.0}, initial_conditions=(1.0, 0.0), period=2 * math.pi, dt=0.01,
               citation="test", description="a harmonic oscillator registered from user code")
    def oscillator(x, t, *, a):
        u, v = x.unbind(-1)
        return stack(v, -a * u, like=x)


def test_a_system_registered_from_user_code_is_found_by_get_system(user_registry):
    _register_user_flow("MyOscillator")
    assert "MyOscillator" in list_systems("flow")
    assert get_system("myoscillator").name == "MyOscillator"  # case-insensitive, like the catalogue
    x0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    tr = make_trajectories("MyOscillator", 11, pts_per_period=10, initial_conditions=x0)
    torch.testing.assert_close(tr.x[0, -1], x0, atol=1e-9, rtol=0)  # one period later


def test_a_name_differing_only_in_case_is_refused(user_registry):
    with pytest.raises(ValueError, match="'Lorenz'"):
        _register_user_flow("LORENZ")
    with pytest.raises(UnknownSystemError):
        get_system("MyOscillator")  # the fixture restored the registry of the previous test


# ---------------------------------------------------------------------- the CLI and the working directory
def test_info_names_a_system_even_inside_a_store_directory(tmp_path, monkeypatch, capsys):
    """`chaosdata info Lorenz` used to open ./Lorenz as a store when run inside a store."""
    (tmp_path / "Lorenz").mkdir()
    (tmp_path / "Lorenz" / "zarr.json").write_text("{}")  # a system group of a store
    monkeypatch.chdir(tmp_path)
    assert cli_main(["info", "Lorenz"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Lorenz"


def test_info_on_a_directory_that_is_not_a_store_says_so(tmp_path, capsys):
    assert cli_main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a chaosdata store" in err and "manifest.json" in err


# ---------------------------------------------------------------------- packaging
def test_requires_python_matches_what_the_code_needs():
    """tomllib (used by the store configs) and zarr 3 need Python 3.11."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["requires-python"] == ">=3.11"
