"""Invariants: literature values, estimator unit tests, the stored package data."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch

import chaosdata
from chaosdata import Sampling, SolverSettings
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.invariants import (
    Invariants,
    Settings,
    compute,
    correlation_dimension,
    dominant_period,
    kaplan_yorke_dimension,
    lyapunov_time,
    pesin_entropy,
)
from chaosdata.invariants.dimension import correlation_sum
from chaosdata.invariants.lyapunov import clock_coordinates, delay_lyapunov
from chaosdata.invariants.tangent import flow_rk4_step, record
from chaosdata.systems import base

LORENZ = {"sigma": 10.0, "rho": 28.0, "beta": 2.667}


@pytest.fixture(scope="module")
def lorenz() -> Invariants:
    return compute("Lorenz", **LORENZ)


@pytest.fixture(scope="module")
def henon() -> Invariants:
    return compute("Henon", a=1.4, b=0.3)


# ---------------------------------------------------------------------------- literature values
def test_lorenz_largest_exponent(lorenz):
    assert lorenz.lyapunov_spectrum[0] == pytest.approx(0.906, rel=0.02)


def test_lorenz_middle_exponent_is_zero(lorenz):
    assert abs(lorenz.lyapunov_spectrum[1]) < 0.01


def test_lorenz_exponents_sum_to_divergence(lorenz):
    expected = -(LORENZ["sigma"] + 1 + LORENZ["beta"])
    assert sum(lorenz.lyapunov_spectrum) == pytest.approx(expected, rel=0.005)


def test_lorenz_kaplan_yorke(lorenz):
    assert abs(lorenz.kaplan_yorke_dimension - 2.06) <= 0.02


def test_lorenz_correlation_dimension(lorenz):
    assert abs(lorenz.correlation_dimension - 2.05) <= 0.05


def test_lorenz_passes_self_checks(lorenz):
    assert lorenz.passed, lorenz.checks
    assert lorenz.chaotic and lorenz.lyapunov_time == pytest.approx(1 / lorenz.lyapunov_spectrum[0])


def test_henon_exponents(henon):
    assert henon.lyapunov_spectrum[0] == pytest.approx(0.419, rel=0.02)
    assert henon.lyapunov_spectrum[1] == pytest.approx(-1.623, rel=0.02)
    assert sum(henon.lyapunov_spectrum) == pytest.approx(math.log(0.3), rel=1e-9)  # |det J| = b


def test_logistic_at_r4_is_ln2():
    inv = compute("Logistic", r=4.0)
    assert inv.lyapunov_spectrum[0] == pytest.approx(math.log(2), rel=0.01)


@pytest.mark.slow
def test_rossler_largest_exponent():
    inv = compute("Rossler", a=0.2, b=0.2, c=5.7)
    assert inv.lyapunov_spectrum[0] == pytest.approx(0.0714, rel=0.10)
    assert inv.passed, inv.checks


@pytest.mark.slow
def test_lorenz_correlation_dimension_many_points():
    traj = chaosdata.make_trajectories("Lorenz", 2000, pts_per_period=10, **LORENZ, sampling=Sampling(n_ics=16, transient=20), solver=SolverSettings(method="dopri5", rtol=1e-9, atol=1e-9))
    cd = correlation_dimension(traj.x, theiler=10)
    assert abs(cd.value - 2.05) <= 0.05


def test_linear_delay_equation_exponents():
    """x' = -x(t - 1): the leading characteristic roots are -0.3181 +- 1.3372i."""
    system = base.System(name="LinearDelay", kind="delay", equations=lambda x, xd, t, *, a, tau: -a * xd,
                         parameters={"a": 1.0, "tau": 1.0}, initial_conditions=(1.0,) * 10, description="",
                         citation="", period=1.0, state_dim=1, delay_parameter="tau")
    x0 = torch.ones(2, 1, dtype=torch.float64)
    run = delay_lyapunov(system, x0, system.bind(), h_target=1 / 18, n_exponents=3, n_transient=0, n_align=45,
                         n_measure=450, sample_spacing=0.5)
    pair = run.exponents[:, :2].sum(1) / 2
    assert torch.allclose(pair, torch.full_like(pair, -0.31813), rtol=0.01)


# ---------------------------------------------------------------------------- estimators
@pytest.mark.parametrize("spectrum, expected", [
    ((0.9056, 0.0, -14.5723), 2 + 0.9056 / 14.5723),
    ((1.0, -2.0), 1.5),
    ((-2.0, -1.0), 0.0),  # sorted first
    ((0.5, 0.3, -0.2, -1.2), 3 + 0.6 / 1.2),
    ((0.7,), 1.0),  # a full spectrum whose partial sums never turn negative fills the space
])
def test_kaplan_yorke(spectrum, expected):
    assert kaplan_yorke_dimension(spectrum) == pytest.approx(expected)


def test_kaplan_yorke_partial_spectrum_without_negative_sum_is_unknown():
    assert kaplan_yorke_dimension([0.2, 0.1, -0.05], partial=True) is None
    assert kaplan_yorke_dimension([0.1, float("nan")]) is None


def test_pesin_entropy_and_lyapunov_time():
    assert pesin_entropy([0.3, 0.1, 0.0, -2.0]) == pytest.approx(0.4)
    assert pesin_entropy(torch.tensor([-0.1, -1.0])) == 0.0
    assert lyapunov_time(0.5) == pytest.approx(2.0)
    assert lyapunov_time(0.01, 0.01) is None  # not positive beyond its uncertainty
    assert lyapunov_time(-0.1) is None


def test_correlation_sum_matches_brute_force():
    gen = torch.Generator().manual_seed(1)
    pts = torch.rand(3, 40, 2, generator=gen, dtype=torch.float64)
    radii, cum, n_pairs = correlation_sum(pts, 1e-3, 2.0, 25, theiler=3, chunk=17)
    flat = pts.reshape(-1, 2).numpy()
    traj, when = np.repeat(np.arange(3), 40), np.tile(np.arange(40), 3)
    i, j = np.triu_indices(len(flat), k=1)
    keep = ~((traj[i] == traj[j]) & (np.abs(when[i] - when[j]) < 3))
    d = np.linalg.norm(flat[i] - flat[j], axis=1)[keep]
    assert n_pairs == keep.sum()
    brute = [(d < r).sum() for r in radii.numpy()[1:-1]]
    np.testing.assert_allclose(cum.numpy()[1:-1], brute)


def test_correlation_dimension_of_a_plane():
    gen = torch.Generator().manual_seed(2)
    pts = torch.rand(1, 4000, 2, generator=gen, dtype=torch.float64)
    assert correlation_dimension(pts).value == pytest.approx(2.0, abs=0.1)


def test_dominant_period_of_a_sine():
    t = torch.arange(2000, dtype=torch.float64) * 0.05
    x = torch.stack([torch.sin(2 * math.pi * t / 3.7), torch.cos(2 * math.pi * t / 3.7) ** 3], -1)[None]
    period = dominant_period(x, 0.05)
    assert period.value == pytest.approx(3.7, rel=0.01)
    assert period.by_coordinate[0] == pytest.approx(3.7, rel=0.01)


def test_recorded_step_equals_eager_step():
    system = chaosdata.get_system("Lorenz")
    params = system.bind()
    x = torch.tensor([[1.0, 2.0, 20.0], [-3.0, 1.0, 30.0]], dtype=torch.float64)
    V = torch.eye(3, dtype=torch.float64).expand(2, 3, 3).clone()
    t = torch.zeros(2, dtype=torch.float64)
    eager = flow_rk4_step(system, params, 0.01)
    graph, traced = record(eager, t, x, V)
    assert traced
    for a, b in zip(graph(t, x, V), eager(t, x, V), strict=True):
        assert torch.equal(a, b)


def test_the_tangent_step_moves_the_state_as_the_fixed_step_solver_does():
    """RK4 is written once (`fixed.rk_step`): the state columns of the tangent step are the
    fixed-step solver's steps to the last bit, over many steps of a chaotic flow."""
    from chaosdata.integrate.fixed import fixed_step
    from chaosdata.integrate.tableaux import RK4

    system = chaosdata.get_system("Lorenz")
    params = system.bind()
    x = torch.tensor([[1.0, 2.0, 20.0], [-3.0, 1.0, 30.0]], dtype=torch.float64)
    V = torch.eye(3, dtype=torch.float64).expand(2, 3, 3).clone()
    tangent = flow_rk4_step(system, params, 0.01)
    solver = fixed_step(lambda t, y: system.equations(y, t, **params), RK4, 0.01, 200)
    t, y = torch.zeros(2, dtype=torch.float64), x
    for _ in range(200):
        t, y, V, _ = tangent(t, y, V)
    assert torch.equal(y, solver(x, torch.zeros((), dtype=torch.float64))[-1])


def test_clock_coordinates():
    duffing, lorenz = chaosdata.get_system("Duffing"), chaosdata.get_system("Lorenz")
    states = torch.randn(4, 3, dtype=torch.float64)
    assert clock_coordinates(duffing, duffing.bind(), states) == [2]
    assert clock_coordinates(lorenz, lorenz.bind(), states) == []


def test_invariants_json_round_trip(henon):
    text = json.dumps(henon.to_dict(), allow_nan=False)
    again = Invariants.from_dict(json.loads(text))
    assert again.to_dict() == henon.to_dict()
    assert again.settings["parameters"] == {"a": 1.4, "b": 0.3}


def test_compute_rejects_unknown_parameter():
    with pytest.raises(InvalidInputError, match="no parameter"):
        compute("Henon", c=1.0)


# ---------------------------------------------------------------------------- stored package data
STORED = base._stored_invariants()


def test_every_catalogue_system_has_stored_invariants():
    missing = sorted(set(chaosdata.list_systems()) - set(STORED))
    assert not missing, f"run generation/compute_invariants.py --systems {','.join(missing)}"


def test_stored_values_agree_with_the_literature():
    """The shipped entries themselves (not only a fresh computation) meet the literature."""
    lorenz, henon = STORED["Lorenz"], STORED["Henon"]
    assert lorenz["max_lyapunov"] == pytest.approx(0.906, rel=0.02)
    assert lorenz["kaplan_yorke_dimension"] == pytest.approx(2.06, abs=0.02)
    assert STORED["Rossler"]["max_lyapunov"] == pytest.approx(0.0714, rel=0.1)
    assert henon["lyapunov_spectrum"] == pytest.approx([0.419, -1.623], rel=0.02)


def test_a_field_that_depends_on_no_coordinate_has_a_zero_spectrum():
    """Torus's velocity depends on time only: every exponent is exactly zero, and the period
    still comes from its coordinates."""
    quick = Settings(n_ics=4, transient=1.0, pick_periods=1.0, align=1.0, periods=3.0, lyapunov_times=0.0)
    inv = compute("Torus", settings=quick).to_dict()
    assert inv["lyapunov_spectrum"] == [0.0, 0.0, 0.0]
    assert math.isfinite(inv["period"])


@pytest.mark.parametrize("name", sorted(STORED))
def test_stored_invariants_are_well_formed(name):
    system = chaosdata.get_system(name)
    entry = system.invariants
    assert entry is not None
    n = entry["settings"]["config"]["delay_exponents"] if system.kind == "delay" else system.dim
    assert len(entry["lyapunov_spectrum"]) == len(entry["lyapunov_spectrum_stderr"]) == n
    assert entry["lyapunov_spectrum"] == sorted(entry["lyapunov_spectrum"], reverse=True)
    assert set(entry["checks"]) >= {"sum_vs_divergence", "members"}
    assert len(entry["mean"]) == len(entry["std"]) == system.dim
    assert entry["provenance"]["code_hash"]
    Invariants.from_dict(entry)


def test_stored_invariants_record_provenance():
    path = base.resources.files("chaosdata.systems").joinpath("data", base.INVARIANTS_FILE)
    with path.open() as f:
        prov = json.load(f)["provenance"]
    assert {"chaosdata_version", "git_commit", "torch_version", "device", "settings", "timestamp"} <= set(prov)


def test_invariants_property_returns_a_copy():
    system = chaosdata.get_system(sorted(STORED)[0])
    first = system.invariants
    first["lyapunov_spectrum"][0] = -1.0
    assert system.invariants["lyapunov_spectrum"][0] != -1.0


# ---------------------------------------------------------------------------- timescale="lyapunov"
def test_make_trajectories_per_lyapunov_time(monkeypatch):
    monkeypatch.setattr(base, "_stored_invariants", lambda: {"Lorenz": {"lyapunov_time": 1.104}})
    system = chaosdata.get_system("Lorenz")
    t_lyap = system.invariants["lyapunov_time"]
    traj = chaosdata.make_trajectories(system, 21, pts_per_period=10, timescale="lyapunov", sampling=Sampling(transient=1))
    assert float(traj.t[1] - traj.t[0]) == pytest.approx(t_lyap / 10)
    assert traj.stats["timescale"] == "lyapunov"


def test_lyapunov_timescale_needs_a_chaotic_system(monkeypatch):
    monkeypatch.setattr(base, "_stored_invariants", lambda: {"Lorenz": {"lyapunov_time": None}})
    with pytest.raises(InvalidInputError, match="not chaotic"):
        chaosdata.make_trajectories("Lorenz", 5, timescale="lyapunov")
    monkeypatch.setattr(base, "_stored_invariants", lambda: {})
    with pytest.raises(InvalidInputError, match="no stored invariants"):
        chaosdata.make_trajectories("Lorenz", 5, timescale="lyapunov")


@pytest.mark.parametrize("dt", [np.float32(0.1), np.float64(0.1), torch.tensor(0.1), 1])
def test_rosenstein_takes_any_real_dt_and_gives_the_float_result(dt):
    """numpy scalars and 0-d tensors used to be refused as 'not a finite number > 0'."""
    from chaosdata.invariants.series import max_lyapunov_rosenstein

    x = torch.randn(300, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64).cumsum(0)
    assert max_lyapunov_rosenstein(x, dt).value == max_lyapunov_rosenstein(x, float(dt)).value


@pytest.mark.parametrize("bad, error", [
    (dict(dt=0.0), InvalidInputError), (dict(dt=float("nan")), InvalidInputError), (dict(dt=True), InvalidTypeError),
    (dict(dt="0.1"), InvalidTypeError), (dict(dt=0.1, divergence_steps=0), InvalidInputError),
    (dict(dt=0.1, divergence_steps=1), InvalidInputError), (dict(dt=0.1, divergence_steps=5.5), InvalidTypeError),
])
def test_rosenstein_refuses_a_bad_dt_or_divergence_steps_by_name(bad, error):
    from chaosdata.invariants.series import max_lyapunov_rosenstein

    x = torch.randn(300, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64).cumsum(0)
    with pytest.raises(error, match="divergence_steps must be" if "divergence_steps" in bad else "dt must be"):
        max_lyapunov_rosenstein(x, **bad)
