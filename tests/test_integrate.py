"""The integration engine: order of every tableau, dense output, DDEs, maps, flags, accuracy."""

from __future__ import annotations

import dataclasses
import math
import re

import numpy as np
import pytest
import torch
from reference import dysts_entry
from scipy.integrate import solve_ivp

from chaosdata import Sampling, get_system, list_systems, make_trajectories
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate import TABLEAUX, Bound, Controller, Execution, SolverSettings, Status, Tableau, integrate, simulate
from chaosdata.integrate.delay import integrate_delay
from chaosdata.integrate.sde import SDESettings
from chaosdata.integrate.trajectories import union_grid


# y' = y^2, y(0) = 1 has y = 1 / (1 - t): blows up at t = 1.
def riccati(t, y):
    return y * y


def fixed_step(tab: Tableau) -> Tableau:
    return dataclasses.replace(tab, e=None, e_low=None, error_order=None)


def forced_growth_error(tab: Tableau, h: float, t_eval: torch.Tensor) -> torch.Tensor:
    """Error of y' = cos(t) y, y(0) = 1 (exact: exp(sin t)) with fixed steps h, at t_eval."""
    y0 = torch.ones(1, 1, dtype=torch.float64)
    sol = integrate(lambda t, y: torch.cos(t)[:, None] * y, y0, t_eval,
                    SolverSettings(method=fixed_step(tab), fixed_step=h, max_outputs_per_step=64))
    return (sol.y[0, :, 0] - torch.exp(torch.sin(t_eval))).abs()


STEP = {"rk4": 0.1, "dopri5": 0.1, "dop853": 0.2}  # in the asymptotic range, above round-off
# the end error, above round-off: DOP853 at 0.1 ends 2e-14 off (about 40 ulp), where the halving
# ratio measures rounding, not order (it read 245 or 428 as the summation order changed)
END_STEP = {**STEP, "dop853": 0.4}


@pytest.mark.parametrize("name", sorted(TABLEAUX))
def test_order_under_step_halving(name):
    """Global error at the end falls by 2^order when the step is halved."""
    tab = TABLEAUX.get(name)
    t_eval = torch.tensor([0.0, 2.0], dtype=torch.float64)
    e1, e2 = forced_growth_error(tab, END_STEP[name], t_eval), forced_growth_error(tab, END_STEP[name] / 2, t_eval)
    assert (e1[-1] / e2[-1]).item() == pytest.approx(2.0**tab.order, rel=0.25)


@pytest.mark.parametrize("name", sorted(TABLEAUX))
def test_dense_output_between_steps(name):
    """Off-step outputs converge at the interpolant's order, far faster than first order."""
    tab = TABLEAUX.get(name)
    t_eval = torch.tensor([0.0, 0.37, 1.13, 1.71], dtype=torch.float64)
    e1, e2 = forced_growth_error(tab, STEP[name], t_eval), forced_growth_error(tab, STEP[name] / 2, t_eval)
    dense_order = {"rk4": 3, "dopri5": 4, "dop853": 7}[name]
    assert (e1[1:].max() / e2[1:].max()).item() > 2.0 ** (dense_order + 1) * 0.7
    assert e2[1:].max().item() < 1e-6


def test_a_tableau_checks_itself():
    with pytest.raises(ValueError, match="sums to"):
        dataclasses.replace(TABLEAUX.get("rk4"), a=((), (0.4,), (0.0, 0.5), (0.0, 0.0, 1.0)))
    with pytest.raises(ValueError, match="sum"):
        dataclasses.replace(TABLEAUX.get("rk4"), b=(0.2, 1 / 3, 1 / 3, 1 / 6))


def test_adaptive_steps_are_per_trajectory():
    """A hard trajectory in the batch changes neither the steps nor the values of the others."""
    y0 = torch.tensor([[-1.0], [0.5]], dtype=torch.float64)  # 0.5 blows up at t = 2
    t_eval = torch.linspace(0, 1.9, 20, dtype=torch.float64)
    alone = integrate(riccati, y0[:1], t_eval, SolverSettings(rtol=1e-10, atol=1e-10))
    both = integrate(riccati, y0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10))
    # same steps; values equal up to the summation order BLAS picks for another batch size
    assert both.n_accepted[0] == alone.n_accepted[0] and both.n_rejected[0] == alone.n_rejected[0]
    torch.testing.assert_close(both.y[0], alone.y[0], rtol=1e-13, atol=0)
    assert both.n_accepted[1] > 2 * both.n_accepted[0]  # the hard one took many more steps
    exact = -1.0 / (1.0 + t_eval)
    torch.testing.assert_close(both.y[0, :, 0], exact, rtol=1e-8, atol=0)


def test_divergence_is_flagged_not_returned():
    y0 = torch.tensor([[-1.0], [1.0], [math.nan]], dtype=torch.float64)
    t_eval = torch.linspace(0, 1.5, 16, dtype=torch.float64)  # y0 = 1 blows up at t = 1
    sol = integrate(riccati, y0, t_eval, SolverSettings(rtol=1e-8, atol=1e-8), bound=Bound(1e6))
    assert sol.status.tolist() == [Status.OK, Status.OUT_OF_BOUNDS, Status.NONFINITE]
    assert sol.valid.tolist() == [True, False, False]
    assert torch.isnan(sol.y[1:]).all() and torch.isfinite(sol.y[0]).all()


def test_divergent_initial_condition_flagged_by_make_trajectories():
    ics = torch.tensor([[1.0, 1.0, 20.0], [1e7, 1e7, 1e7]], dtype=torch.float64)
    tr = make_trajectories("Lorenz", 50, initial_conditions=ics)
    assert tr.valid.tolist() == [True, False]
    assert tr.stats["failures"] == {1: Status.OUT_OF_BOUNDS.reason}


def test_max_steps_is_a_failure():
    y0 = torch.ones(2, 1, dtype=torch.float64)
    sol = integrate(lambda t, y: -y, y0, torch.tensor([0.0, 100.0], dtype=torch.float64), max_steps=16,
                    execution=Execution(check_every=8))
    assert (sol.status == Status.MAX_STEPS).all()


# ----------------------------------------------------------------------------- accuracy
ACCURACY_SYSTEMS = [
    "Lorenz", "Rossler", "Chen", "Thomas", "SprottB", "Halvorsen", "HyperRossler", "HyperLorenz",
    "Chua", "Duffing", "DoublePendulum", "HindmarshRose", "Hopfield", "GlycolyticOscillation",
]


def reference_solution(system, t_eval: np.ndarray) -> np.ndarray:
    """scipy's DOP853 at rtol = atol = 1e-13 on our vector field (float64)."""
    ic = np.asarray(system.initial_conditions)
    def rhs(t, y):
        return system.rhs(torch.as_tensor(y), t).numpy()
    sol = solve_ivp(rhs, (t_eval[0], t_eval[-1]), ic, method="DOP853", rtol=1e-13, atol=1e-13, t_eval=t_eval)
    assert sol.success
    return sol.y.T


@pytest.mark.parametrize("name", ACCURACY_SYSTEMS)
def test_matches_dop853_reference_over_two_lyapunov_times(name):
    system = get_system(name)
    entry = dysts_entry(system)
    lyapunov_time = 1.0 / entry["maximum_lyapunov_estimated"]
    scale = float(np.max(entry["std"]))  # the attractor's scale
    t_eval = np.linspace(0.0, 2 * lyapunov_time, 201)
    ref = reference_solution(system, t_eval)
    ic = torch.tensor(system.initial_conditions, dtype=torch.float64)
    # default tolerances, no transient: the same initial condition as the reference
    tr = make_trajectories(name, t_eval.size, initial_conditions=ic,
                           pts_per_period=system.period / (t_eval[1] - t_eval[0]), postprocess=False)
    assert tr.valid.all()
    np.testing.assert_allclose(tr.t.numpy(), t_eval, rtol=1e-12, atol=1e-12)
    err = np.abs(tr.x[0].numpy() - ref).max() / scale
    assert err <= 1e-10, f"{name}: error {err:.2e} of the attractor's scale"


def test_lorenz_fidelity_horizon_exceeds_twenty_lyapunov_times():
    system = get_system("Lorenz")
    lam = 0.906  # literature value of the largest exponent
    t_eval = np.linspace(0.0, 26 / lam, 2601)
    ref = reference_solution(system, t_eval)
    ic = torch.tensor(system.initial_conditions, dtype=torch.float64)
    tr = make_trajectories(system, t_eval.size, initial_conditions=ic,
                           pts_per_period=system.period / (t_eval[1] - t_eval[0]))
    err = np.abs(tr.x[0].numpy() - ref).max(-1) / np.max(dysts_entry(system)["std"])
    first = np.argmax(err > 0.01) if (err > 0.01).any() else len(t_eval) - 1
    assert t_eval[first] * lam >= 20.0


# ----------------------------------------------------------------------------- delay equations
def test_dde_is_exact_for_a_piecewise_polynomial_solution():
    """y' = -y(t - 1), y = 1 before 0: y = 1 - t on [0, 1], 1 - t + (t - 1)^2 / 2 on [1, 2]."""
    t_eval = torch.linspace(0, 2, 21, dtype=torch.float64)
    sol = integrate_delay(lambda t, y, yd: -yd, torch.ones(2, 1, dtype=torch.float64), 1.0, t_eval,
                          steps_per_tau=8, t_start=0.0, lags=(0.0, 0.5))
    def exact(t):
        return np.where(t <= 0, 1.0, np.where(t <= 1, 1 - t, 1 - t + (t - 1) ** 2 / 2))
    tt = t_eval.numpy()
    np.testing.assert_allclose(sol.y[0, :, 0].numpy(), exact(tt), atol=1e-14)
    np.testing.assert_allclose(sol.y[0, :, 1].numpy(), exact(tt - 0.5), atol=1e-14)


def test_dde_solver_is_fourth_order():
    def mackey_glass(t, y, yd):
        return 0.2 * yd / (1 + yd**10) - 0.1 * y
    t_eval = torch.linspace(0, 60, 121, dtype=torch.float64)
    history = torch.full((1, 1), 1.2, dtype=torch.float64)
    def solve(m):
        return integrate_delay(mackey_glass, history, 17.0, t_eval, steps_per_tau=m, t_start=0.0).y
    ref = solve(2048)
    e1, e2 = (solve(64) - ref).abs().max(), (solve(128) - ref).abs().max()
    assert (e1 / e2).item() == pytest.approx(16.0, rel=0.3)


def test_delay_embedding_columns_are_lagged_copies():
    system = get_system("MackeyGlass")
    tau = system.parameters["tau"]
    tr = make_trajectories(system, 400, pts_per_period=9 * system.period / tau * 4, sampling=Sampling(n_ics=3))
    assert tr.x.shape == (3, 400, 10) and tr.valid.all()
    # column j is column 0 delayed by j * tau / 9, i.e. by 4 j grid steps here
    for j in (1, 5, 9):
        torch.testing.assert_close(tr.x[:, 4 * j:, j], tr.x[:, : 400 - 4 * j, 0], rtol=0, atol=1e-9)


# ----------------------------------------------------------------------------- maps
def test_map_orbits_follow_the_map_exactly():
    system = get_system("Henon")
    tr = make_trajectories(system, 100, sampling=Sampling(n_ics=4))
    assert tr.x.shape == (4, 100, 2) and tr.valid.all()
    assert torch.equal(system.step(tr.x[:, :-1]), tr.x[:, 1:])


# ----------------------------------------------------------------------------- public API
def test_same_seed_same_bits_other_seed_other_trajectories():
    a = make_trajectories("Lorenz", 64, pts_per_period=20, sampling=Sampling(n_ics=3, seed=5, transient=2))
    b = make_trajectories("Lorenz", 64, pts_per_period=20, sampling=Sampling(n_ics=3, seed=5, transient=2))
    c = make_trajectories("Lorenz", 64, pts_per_period=20, sampling=Sampling(n_ics=3, seed=6, transient=2))
    assert torch.equal(a.x, b.x)
    assert not torch.allclose(a.x, c.x)
    assert a.x.shape == (3, 64, 3) and a.t.shape == (64,)
    assert a.valid.all() and torch.equal(a.start_states, a.x[:, 0])


def test_float32_runs_and_parameter_overrides_apply():
    tr = make_trajectories("Lorenz", 32, dtype=torch.float32, rho=35.0, sampling=Sampling(n_ics=2, transient=1), solver=SolverSettings(rtol=1e-6, atol=1e-6))
    assert tr.x.dtype == torch.float32 and tr.valid.all()
    assert tr.parameters["rho"] == 35.0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_points": 1}, "n_points"),
        ({"pts_per_period": 0}, "pts_per_period"),
        ({"pts_per_period": -3.0}, "pts_per_period"),
        ({"initial_conditions": torch.zeros(2, 4, dtype=torch.float64)}, r"\[B, 3\]"),
        ({"solver": lambda: SolverSettings(method="euler7")}, "unknown method"),
        ({"solver": lambda: SolverSettings(rtol=-1e-9)}, "rtol must be a positive finite number"),
        ({"timescale": "fourier"}, "timescale"),
        ({"sigmaa": 3.0}, "sigma"),
    ],
)
def test_bad_input_is_a_clear_value_error(kwargs, match):
    kwargs = {"n_points": 10, **kwargs}
    with pytest.raises(ValueError, match=match):  # the settings are made inside: their errors are the checks
        make_trajectories("Lorenz", **{k: v() if callable(v) else v for k, v in kwargs.items()})


def test_step_compiles_with_torch_compile():
    """The masked step has no host decisions: torch.compile traces it whole (fullgraph), and
    compiling one system after another in a process is not stopped by dynamo's recompile limit."""
    system = get_system("Lorenz")
    y0 = torch.tensor(system.initial_conditions, dtype=torch.float64).repeat(8, 1)
    t_eval = torch.linspace(0, 0.5, 11, dtype=torch.float64)
    # dynamo's own patch (pytest's monkeypatch would delete the setting when it undoes itself)
    with torch._dynamo.config.patch(recompile_limit=1):  # the second graph exceeds it
        for rho in (28.0, 30.0):  # another parameter set is another graph
            def f(t, y, rho=rho):
                return system.equations(y, t, **system.bind({"rho": rho}))
            eager = integrate(f, y0, t_eval, SolverSettings(method="rk4", fixed_step=0.01), execution=Execution(fixed_grid=False))
            compiled = integrate(f, y0, t_eval, SolverSettings(method="rk4", fixed_step=0.01, compile=True),
                                 execution=Execution(fixed_grid=False))
            torch.testing.assert_close(compiled.y, eager.y, rtol=1e-12, atol=1e-12)


def test_system_solver_defaults_apply_unless_overridden():
    stick = get_system("StickSlipOscillator")  # discontinuous: fixed-step RK4 by default
    tr = make_trajectories(stick, 11, pts_per_period=10, sampling=Sampling(transient=0))
    assert tr.stats["method"] == "rk4" and tr.valid.all()
    assert tr.stats["steps_per_period"] == pytest.approx(stick.solver["steps_per_period"])
    tr = make_trajectories(stick, 3, pts_per_period=10, sampling=Sampling(transient=0), solver=SolverSettings(method="dopri5", rtol=1e-6, atol=1e-6))
    assert tr.stats["method"] == "dopri5"


def test_a_step_budget_stops_a_trajectory_that_needs_too_many_steps():
    tr = make_trajectories("Lorenz", 201, pts_per_period=10, sampling=Sampling(n_ics=2, transient=0), solver=SolverSettings(max_steps_per_unit=1.0))
    assert not tr.valid.any()
    assert set(tr.stats["failures"].values()) == {Status.MAX_STEPS.reason}


def test_union_grid_merges_meeting_times_and_indexes_each_grid():
    times, index = union_grid({"fine": (0.01, 101), "coarse": (1 / 15, 16)})
    assert np.all(np.diff(times) > 0)
    np.testing.assert_allclose(times[index["fine"]], np.arange(101) * 0.01, rtol=0, atol=1e-15)
    np.testing.assert_allclose(times[index["coarse"]], np.arange(16) / 15, rtol=0, atol=1e-15)
    # the grids meet at 0, 0.2, 0.4, ..., 1.0: six shared times
    assert len(times) == 101 + 16 - 6


def test_explicit_times_give_the_same_orbit_as_a_uniform_grid():
    """One pass on an irregular grid (two merged samplings) lands on the reference orbit."""
    lorenz = get_system("Lorenz")
    x0 = torch.tensor(lorenz.initial_conditions, dtype=torch.float64)
    times, index = union_grid({"fine": (0.015, 201), "coarse": (0.1, 31)})
    tr = make_trajectories(lorenz, times=times, initial_conditions=x0)
    ref = solve_ivp(lambda t, y: lorenz.rhs(torch.tensor(y)).numpy(), (0, times[-1]), x0.numpy(), method="DOP853",
                    rtol=1e-13, atol=1e-13, t_eval=times)
    scale = np.abs(ref.y).max()
    assert np.abs(tr.x[0].numpy() - ref.y.T).max() / scale < 1e-10
    assert tr.stats["dt"] is None and tr.t.shape == (len(times),)


@pytest.mark.parametrize("kwargs, match", [
    ({"n_points": 10, "times": [0.0, 1.0]}, "not both"),
    ({"times": [0.0, 1.0, 0.5]}, "strictly increasing"),
    ({"times": [[0.0, 1.0]]}, "1-D"),
    ({}, "n_points is required"),
])
def test_explicit_times_are_validated(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_trajectories("Lorenz", **kwargs)


def test_explicit_times_are_for_flows():
    with pytest.raises(ValueError, match="explicit times are for flows"):
        make_trajectories("Henon", times=[0.0, 1.0, 2.0])


def test_sampled_initial_conditions_stay_in_the_declared_domain():
    """CellCycle's fractions sit 0.011 below a pole at 1 + K: a 1% kick must not cross it."""
    from chaosdata.integrate.ensemble import sample_initial_conditions

    system = get_system("CellCycle")
    x = sample_initial_conditions(system, 4096, seed=3)
    for i, (lo, hi) in enumerate(system.domain):
        assert lo is None or bool((x[:, i] >= lo).all())
        assert hi is None or bool((x[:, i] <= hi).all())
    assert bool((x[:, 2] == 1.0).any())  # the clamp was needed: some draws went past 1


def test_a_domain_must_hold_the_initial_condition():
    from chaosdata.systems.base import System, _register

    bad = System(name="Bad", kind="flow", equations=lambda x, t: x, parameters={}, initial_conditions=(2.0,),
                 description="", citation="", domain=((0.0, 1.0),))
    with pytest.raises(ValueError, match="contain the initial condition"):
        _register(bad)


def test_sampled_kick_size_is_the_systems_perturbation():
    from chaosdata.integrate.ensemble import sample_initial_conditions

    lorenz, sprott_q = get_system("Lorenz"), get_system("SprottQ")
    assert lorenz.perturbation == 0.01 and sprott_q.perturbation < 0.01
    for system in (lorenz, sprott_q):
        ic = torch.tensor(system.initial_conditions, dtype=torch.float64)
        kick = (sample_initial_conditions(system, 4096, seed=0) - ic) / (ic.abs() + 0.1)
        assert kick.std().item() == pytest.approx(system.perturbation, rel=0.05)  # 12,288 normal draws


def test_sprott_q_sampled_starts_stay_on_its_thin_basin():
    """At a 1% kick, 1 in 8 SprottQ starts escaped to infinity; its own smaller kick keeps all."""
    tr = make_trajectories("SprottQ", 301, pts_per_period=10, sampling=Sampling(n_ics=16, resample_failed=False))
    assert tr.stats["failures"] == {} and bool(tr.valid.all())


def test_a_perturbation_must_be_a_relative_size():
    from chaosdata.systems.base import System, _register

    bad = System(name="Bad", kind="flow", equations=lambda x, t: x, parameters={}, initial_conditions=(2.0,),
                 description="", citation="", perturbation=0.0)
    with pytest.raises(ValueError, match="perturbation must be a relative kick size"):
        _register(bad)


# ----------------------------------------------------------------------------- integrator v2 layers
def test_a_trajectory_left_running_alone_gives_what_it_gives_alone(monkeypatch):
    """Once half the batch is done the finished rows are dropped from the working batch: the
    one left running must still land in its own output rows with its own steps."""
    import chaosdata.integrate.ode as ode

    monkeypatch.setattr(ode, "COMPACT_MIN_ELEMENTS", 0)  # compact this small batch too
    y0 = torch.tensor([[-1.0], [0.5], [-0.5], [-2.0]], dtype=torch.float64)  # row 1 blows up at t = 2
    t_eval = torch.linspace(0, 1.9, 20, dtype=torch.float64)
    both = integrate(riccati, y0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10), execution=Execution(check_every=4))
    alone = integrate(riccati, y0[1:2], t_eval, SolverSettings(rtol=1e-10, atol=1e-10), execution=Execution(check_every=4))
    assert both.n_accepted[1] > 2 * both.n_accepted[0]  # so the batch was compacted while row 1 ran
    assert both.n_accepted[1] == alone.n_accepted[0] and both.n_rejected[1] == alone.n_rejected[0]
    torch.testing.assert_close(both.y[1], alone.y[0], rtol=1e-13, atol=0)
    torch.testing.assert_close(both.y[3, :, 0], -2.0 / (1.0 + 2.0 * t_eval), rtol=1e-8, atol=0)


def lorenz_batch(n: int, seed: int = 0) -> tuple:
    system = get_system("Lorenz")
    gen = torch.Generator().manual_seed(seed)
    x0 = torch.tensor(system.initial_conditions, dtype=torch.float64) + 0.01 * torch.randn(n, 3, generator=gen,
                                                                                           dtype=torch.float64)
    return system, (lambda t, y: system.equations(y, t, **system.parameters)), x0


def test_a_dop853_step_dispatches_about_half_the_operations_of_v1():
    """Integrator v1 dispatched 409 aten operations per DOP853 step on Lorenz (batch 16, 1e-13;
    benchmarks/bench_integrate.py --per-step); v2 must stay at about half, outputs included."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    system, f, x0 = lorenz_batch(16)
    ops, steps = [], []
    for n in (100, 250):  # the difference leaves out the per-solve setup
        Count.n = 0
        with Count():
            sol = integrate(f, x0, torch.arange(n, dtype=torch.float64) * (system.period / 100),
                            SolverSettings(rtol=1e-13, atol=1e-13))
        ops.append(Count.n)
        steps.append(int((sol.n_accepted + sol.n_rejected).max()))
    assert (ops[1] - ops[0]) / (steps[1] - steps[0]) <= 409 / 2 + 5


def test_dense_stages_are_skipped_where_no_output_falls():
    """A two-point grid (a transient) evaluates DOP853's 3 dense-output stages only in the
    flush that holds the end, not on every step."""
    system, f, x0 = lorenz_batch(4)
    sol = integrate(f, x0, torch.tensor([0.0, 20.0], dtype=torch.float64), SolverSettings(rtol=1e-10, atol=1e-10))
    attempts = int((sol.n_accepted + sol.n_rejected).max())
    assert attempts > 200
    assert sol.n_evaluations <= 12 * attempts + 3 * 64  # v1: 15 per attempt


@pytest.mark.parametrize("flush", [1, 3])
def test_batched_dense_output_equals_step_by_step(monkeypatch, flush):
    """The writer evaluates the interpolant for many steps at once; doing it every step (or
    every third) gives the same outputs up to the summation order of the batched products."""
    import chaosdata.integrate.ode as ode

    system, f, x0 = lorenz_batch(8)
    t_eval = torch.linspace(0.0, 3.0, 301, dtype=torch.float64)
    batched = integrate(f, x0, t_eval, SolverSettings(rtol=1e-12, atol=1e-12))
    monkeypatch.setattr(ode, "MAX_FLUSH_STEPS", flush)
    single = integrate(f, x0, t_eval, SolverSettings(rtol=1e-12, atol=1e-12))
    assert torch.equal(batched.n_accepted, single.n_accepted)
    torch.testing.assert_close(batched.y, single.y, rtol=1e-13, atol=1e-12)


def test_pi_control_is_an_option_and_integral_control_the_default():
    from chaosdata.integrate.controller import Controller

    system, f, x0 = lorenz_batch(8)
    t_eval = torch.linspace(0.0, 5.0, 101, dtype=torch.float64)
    default = integrate(f, x0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10))
    integral = integrate(f, x0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10, controller=Controller()))
    pi = integrate(f, x0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10, controller=Controller.pi()))
    assert torch.equal(default.y, integral.y)
    assert not torch.equal(default.n_accepted + default.n_rejected, pi.n_accepted + pi.n_rejected)
    torch.testing.assert_close(pi.y[:, :21], default.y[:, :21], rtol=0, atol=1e-6)  # both within tolerance early on


@pytest.mark.parametrize("kwargs, match", [
    ({"safety": 1.5}, "safety"), ({"min_factor": 1.2}, "min_factor"), ({"icoeff": 0.0}, "icoeff"),
])
def test_a_controller_checks_its_coefficients(kwargs, match):
    from chaosdata.integrate.controller import Controller

    with pytest.raises(ValueError, match=match):
        Controller(**kwargs)


@pytest.mark.parametrize("n_elements, available, expected", [
    (0, 2, 1), (16 * 3, 2, 1), (256 * 3, 16, 1), (2**18 - 1, 16, 1),  # small work: one thread
    (2**18, 16, 2), (2**20 * 3, 16, 16), (2**20 * 3, 2, 2), (2**22, 1, 1),  # large: by size, capped
])
def test_threads_are_chosen_by_work_size(n_elements, available, expected):
    from chaosdata.integrate.threads import threads_for

    assert threads_for(n_elements, available) == expected


def test_a_solve_restores_the_thread_setting():
    before = torch.get_num_threads()
    system, f, x0 = lorenz_batch(4)
    integrate(f, x0, torch.linspace(0, 0.1, 3, dtype=torch.float64), SolverSettings(threads=1))
    assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads"):
        integrate(f, x0, torch.linspace(0, 0.1, 3, dtype=torch.float64), SolverSettings(threads=0))


@pytest.mark.parametrize("name", ["Lorenz", "Henon", "MackeyGlass", "StickSlipOscillator"])
def test_make_trajectories_is_a_thin_caller_of_simulate(name):
    """One kind of each solver path: simulate from the same start states gives the same bytes."""

    system = get_system(name)
    tr = make_trajectories(system, 12, pts_per_period=40, postprocess=False, sampling=Sampling(n_ics=2, transient=0))
    t = tr.t if system.kind != "map" else torch.arange(12, dtype=torch.float64)
    sol = simulate(system, tr.initial_conditions, t, SolverSettings().for_system(system))
    assert torch.equal(sol.y, tr.x)


def test_solver_settings_resolve_system_defaults_and_validate():

    stick = get_system("StickSlipOscillator")  # fixed-step RK4 by its own solver defaults
    own = SolverSettings().for_system(stick)
    assert own.method == "rk4" and own.fixed_step == pytest.approx(stick.period / stick.solver["steps_per_period"])
    assert SolverSettings(method="dopri5", rtol=1e-6, atol=1e-6).for_system(stick).fixed_step is None
    assert SolverSettings().for_system(get_system("Lorenz")).to_dict()["controller"]["icoeff"] == 1.0
    for kwargs, match in (({"method": "rk4"}, "fixed_step"), ({"rtol": 0.0}, "rtol must be a positive"),
                          ({"method": "euler7"}, "unknown method")):
        with pytest.raises(ValueError, match=match):  # rk4 without a step: refused where the method is resolved
            SolverSettings(**kwargs).for_system(get_system("Lorenz"))


def test_time_unit_is_public_and_names_the_fix():
    from chaosdata.integrate.simulate import time_unit

    lorenz = get_system("Lorenz")
    assert time_unit(lorenz, "period") == lorenz.period
    assert time_unit(lorenz, "lyapunov") == lorenz.invariants["lyapunov_time"]
    assert time_unit(get_system("Henon"), "period") == 1.0
    with pytest.raises(ValueError, match="timescale must be one of"):
        time_unit(lorenz, "fourier")


def test_one_resample_policy_one_seed_scheme():
    from chaosdata.integrate.simulate import RESAMPLE, ResamplePolicy

    assert RESAMPLE.max_resamples == 4
    assert [RESAMPLE.seed(7, a) for a in range(3)] == [7, 7 + 1_000_003, 7 + 2_000_006]
    assert list(RESAMPLE.attempts()) == [1, 2, 3, 4]
    with pytest.raises(ValueError, match="attempt"):
        RESAMPLE.seed(7, 5)
    with pytest.raises(ValueError, match="max_resamples"):
        ResamplePolicy(max_resamples=-1)


@pytest.mark.parametrize("method, per_graph", [("dop853", 1), ("dop853", 3), ("dopri5", 2)])
def test_compiled_multi_step_graphs_match_eager(method, per_graph):
    """Several steps in one compiled graph (3 does not divide the check block of 16) take the
    eager solver's steps, flag the same trajectory, and agree to rounding."""
    system = get_system("Lorenz")
    y0 = torch.tensor(system.initial_conditions, dtype=torch.float64).repeat(6, 1)
    y0[1:] += 0.1 * torch.arange(1, 6, dtype=torch.float64)[:, None]
    y0[3, 0] = math.nan  # flagged at the start, in both paths
    t_eval = torch.linspace(0, 0.5, 26, dtype=torch.float64)

    def f(t, y):
        return system.equations(y, t, **system.bind())
    eager = integrate(f, y0, t_eval, SolverSettings(method=method, rtol=1e-10, atol=1e-10))
    compiled = integrate(f, y0, t_eval, SolverSettings(method=method, rtol=1e-10, atol=1e-10, compile=True),
                         execution=Execution(steps_per_graph=per_graph))
    assert compiled.status.tolist() == eager.status.tolist() == [0, 0, 0, Status.NONFINITE, 0, 0]
    assert compiled.n_accepted.tolist() == eager.n_accepted.tolist()
    assert compiled.n_rejected.tolist() == eager.n_rejected.tolist()
    ok = eager.valid
    # stage sums in another order: differences of a few rounding units, grown over ~0.5 time units
    torch.testing.assert_close(compiled.y[ok], eager.y[ok], rtol=1e-11, atol=1e-11)


def test_bucketed_batches_reuse_one_compiled_graph():
    system = get_system("Lorenz")
    t_eval = torch.linspace(0, 0.1, 6, dtype=torch.float64)

    def f(t, y):
        return system.equations(y, t, **system.bind())
    stats = torch._dynamo.utils.counters["stats"]
    before = stats["unique_graphs"]
    integrate(f, torch.tensor(system.initial_conditions, dtype=torch.float64).repeat(5, 1), t_eval,
              SolverSettings(compile=True), execution=Execution(bucket=True, steps_per_graph=2))
    assert stats["unique_graphs"] == before + 1  # one graph, compiled once (not again for inference tensors)
    sol = integrate(f, torch.tensor(system.initial_conditions, dtype=torch.float64).repeat(7, 1), t_eval,
                    SolverSettings(compile=True), execution=Execution(bucket=True, steps_per_graph=2))
    assert stats["unique_graphs"] == before + 1  # 7 and 5 both pad to 8: no new graph
    assert sol.y.shape[0] == 7 and bool(sol.valid.all())


@pytest.mark.parametrize("bad, error", [(0, InvalidInputError), (-1, InvalidInputError), (2.5, InvalidTypeError),
                                        (True, InvalidTypeError)])
def test_steps_per_graph_must_be_a_positive_integer(bad, error):
    y0 = torch.ones(2, 3, dtype=torch.float64)
    with pytest.raises(error, match="steps_per_graph"):
        integrate(lambda t, y: -y, y0, torch.linspace(0, 1, 3, dtype=torch.float64), execution=Execution(steps_per_graph=bad))


def test_fixed_step_solves_on_an_aligned_grid_take_the_fixed_grid_path(monkeypatch):
    from chaosdata.integrate import ode
    calls = []

    def spy(*args, **kwargs):
        sol = fixed_path(*args, **kwargs)
        calls.append(sol is not None)
        return sol
    fixed_path = ode.integrate_fixed_grid
    monkeypatch.setattr(ode, "integrate_fixed_grid", spy)
    system = get_system("Lorenz")
    y0 = torch.tensor(system.initial_conditions, dtype=torch.float64).repeat(3, 1)

    def f(t, y):
        return system.equations(y, t, **system.bind())
    aligned = torch.linspace(0, 0.5, 11, dtype=torch.float64)  # 5 steps of 0.01 per output
    fast = integrate(f, y0, aligned, SolverSettings(method="rk4", fixed_step=0.01))
    generic = integrate(f, y0, aligned, SolverSettings(method="rk4", fixed_step=0.01), execution=Execution(fixed_grid=False))
    assert calls == [True]
    torch.testing.assert_close(fast.y, generic.y, rtol=1e-12, atol=1e-12)
    integrate(f, y0, torch.linspace(0, 0.5, 8, dtype=torch.float64),
              SolverSettings(method="rk4", fixed_step=0.01))  # 7.14 steps apart
    integrate(f, y0, aligned, SolverSettings(method="dop853"))  # adaptive: never asked
    assert calls == [True, False]


def test_the_cuda_graph_protocol_keeps_the_results(monkeypatch):
    """The CUDA-graph branch (state copied in before each call, step marked, records flushed
    before the next call) run on the CPU, where "reduce-overhead" has no graphs to replay:
    the same steps and outputs as the ordinary compiled solve. The graphs themselves need a
    GPU (tests/test_gpu.py)."""
    from chaosdata.integrate import ode

    system, f, x0 = lorenz_batch(6)
    t_eval = torch.linspace(0.0, 0.5, 26, dtype=torch.float64)
    plain = integrate(f, x0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10, compile=True), execution=Execution(steps_per_graph=3))
    marks = []
    monkeypatch.setattr(ode, "uses_cuda_graphs", lambda device: True)
    monkeypatch.setattr(torch.compiler, "cudagraph_mark_step_begin", lambda: marks.append(1))
    flushes = []
    flush = ode.DenseWriter.flush
    monkeypatch.setattr(ode.DenseWriter, "flush", lambda self, *a: (flushes.append(len(self)), flush(self, *a))[1])
    graphed = integrate(f, x0, t_eval, SolverSettings(rtol=1e-10, atol=1e-10, compile=True),
                        execution=Execution(steps_per_graph=3))
    assert marks and max(flushes) == 3  # a flush after every call of 3 steps, never more held
    assert torch.equal(graphed.n_accepted, plain.n_accepted)
    torch.testing.assert_close(graphed.y, plain.y, rtol=0, atol=0)


# ------------------------------------------------------------ fields written for [B] and [B, d] only
RATES = torch.tensor([1.0, 5.0, 20.0, 3.0], dtype=torch.float64)


@pytest.mark.parametrize("batch", [3, 4])  # B == d used to mix rows silently, B != d to raise
@pytest.mark.parametrize("method", ["dop853", "dopri5"])
def test_a_field_written_for_one_batch_gets_its_exact_solution(batch, method):
    """dy/dt = c_b t y, y(0) = 1: y = exp(c_b t^2 / 2). DOP853's dense output used to call this
    field on [steps, B] times, where `t[:, None]` picked the wrong rows (29% error, status OK)."""
    c = RATES[:batch]
    t = torch.linspace(0, 1, 7, dtype=torch.float64)
    sol = integrate(lambda tt, y: y * (tt[:, None] * c[:, None]), torch.ones(batch, 3, dtype=torch.float64), t,
                    SolverSettings(method=method))
    exact = torch.exp(c[:, None, None] * t[None, :, None] ** 2 / 2).expand(batch, 7, 3)
    assert (sol.status == Status.OK).all()
    assert float(((sol.y - exact) / exact).abs().max()) < 1e-8


def test_catalogue_fields_and_sweeps_keep_the_batched_dense_output():
    from chaosdata.integrate.output import stacks_batches

    lorenz = get_system("Lorenz")
    params = dict(lorenz.parameters, rho=torch.linspace(20, 30, 5, dtype=torch.float64))  # one rho per trajectory
    y0 = torch.tensor(lorenz.initial_conditions, dtype=torch.float64).repeat(5, 1)
    t = torch.linspace(0, 1, 5, dtype=torch.float64)
    assert stacks_batches(lambda tt, y: lorenz.equations(y, tt, **params), t, y0)
    assert not stacks_batches(lambda tt, y: y * tt[:, None], t, y0[:3])  # mixes rows when stacked


def test_stacks_batches_lets_out_of_memory_through():
    # before: any error on the stacked probe read as "unbatched field", a CUDA OOM included
    from chaosdata.integrate.output import stacks_batches

    def field(t, y):
        if t.ndim == 2:
            raise torch.OutOfMemoryError("CUDA out of memory")
        return -y

    with pytest.raises(torch.OutOfMemoryError):
        stacks_batches(field, torch.linspace(0, 1, 5, dtype=torch.float64), torch.ones(3, 2, dtype=torch.float64))


def _decay_call(settings=None, **kwargs):
    """`integrate` of y' = -y for 2 starts in 3 dimensions, with the settings given."""
    y0 = torch.ones(2, 3, dtype=torch.float64)
    return integrate(lambda t, y: -y, y0, torch.linspace(0, 1, 5, dtype=torch.float64), settings, **kwargs)


@pytest.mark.parametrize("call, error, match", [
    (lambda: _decay_call(SolverSettings(rtol=math.nan)), InvalidInputError, "rtol must be a positive finite number"),
    (lambda: _decay_call(SolverSettings(atol=math.inf)), InvalidInputError, "atol must be a positive finite number"),
    (lambda: _decay_call(SolverSettings(rtol=0.0, atol=0.0)), InvalidInputError, "rtol must be a positive finite number"),
    (lambda: _decay_call(SolverSettings(atol=torch.tensor([1e-9] * 3))), InvalidTypeError,
     "atol must be a positive finite number, got a tensor of shape"),
    (lambda: _decay_call(execution=Execution(check_every=0)), InvalidInputError, "check_every must be a positive integer"),
    (lambda: _decay_call(SolverSettings(max_outputs_per_step=1.5)), InvalidTypeError,
     "max_outputs_per_step must be a positive integer"),
    (lambda: _decay_call(max_steps=0), InvalidInputError, "max_steps must be a positive integer"),
    (lambda: _decay_call(bound=Bound(-1.0)), InvalidInputError, "bound must be a positive finite number.*inf or None"),
    (lambda: _decay_call(bound=Bound(math.nan)), InvalidInputError, "bound must be a positive finite number.*inf or None"),
    (lambda: _decay_call(bound=Bound(10.0, unbounded=(3,))), InvalidInputError, "names a coordinate past the state's 3"),
    (lambda: _decay_call(SolverSettings(method="rk4", fixed_step=math.inf)), InvalidInputError,
     "fixed_step must be a positive finite number"),
    (lambda: _decay_call(SolverSettings(method="rk4")), InvalidInputError, "'rk4' takes fixed steps: pass a positive fixed_step"),
    (lambda: _decay_call("dop853"), InvalidTypeError, "settings must be a SolverSettings"),
    (lambda: _decay_call(bound=1e6), InvalidTypeError, "bound must be a Bound"),
    (lambda: _decay_call(execution={"check_every": 4}), InvalidTypeError, "execution must be a Execution"),
])
def test_integrate_refuses_settings_that_would_flag_every_trajectory_or_fail_late(call, error, match):
    with pytest.raises(error, match=match):
        call()


@pytest.mark.parametrize("y0, t_eval, match", [
    (torch.ones(2, 3, dtype=torch.int64), torch.linspace(0, 1, 5), "y0 must be float32 or float64"),
    (torch.ones(2, 3, dtype=torch.float16), torch.linspace(0, 1, 5), "y0 must be float32 or float64"),
    (torch.ones(0, 3, dtype=torch.float64), torch.linspace(0, 1, 5), "at least one trajectory"),
    (torch.ones(2, 3, dtype=torch.float64), torch.tensor([0.0, 1.0, math.inf]), "finite times"),
])
def test_integrate_names_a_bad_start_or_grid(y0, t_eval, match):
    with pytest.raises(InvalidInputError, match=match):
        integrate(lambda t, y: -y, y0, t_eval)


# ============================================================ input checks of the public API
# what a user calling simulate, SolverSettings, make_trajectories, integrate_sde,
# integrate_delay and iterate directly would hit: bad input accepted, silently ignored, or
# refused with an unrelated error; and valid calls keep their bytes
D = torch.float64
LORENZ = get_system("Lorenz")
MACKEY_GLASS = get_system("MackeyGlass")
HENON = get_system("Henon")
X0 = torch.tensor([[1.0, 2.0, 3.0], [0.5, 0.1, 20.0]], dtype=D)
T = torch.linspace(0.0, 1.0, 6, dtype=D)


# ----------------------------------------------------------------------------- dtypes
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.int64, "float32"])
def test_make_trajectories_refuses_a_dtype_it_cannot_solve_in(dtype):
    # float16 used to return every trajectory NaN ("step size underflowed"), int64 a torch.finfo TypeError
    with pytest.raises(InvalidInputError, match="dtype must be torch.float32 or torch.float64"):
        make_trajectories("Lorenz", 10, dtype=dtype, sampling=Sampling(transient=0))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_simulate_refuses_half_precision_instead_of_a_wrong_ok_result(dtype):
    # float16 over two time units gave (6.6, 10.8, 15.9) against (-8.0, -10.1, 23.2), status OK
    with pytest.raises(InvalidInputError, match="float32 or torch.float64"):
        simulate(LORENZ, X0.to(dtype), torch.linspace(0.0, 2.0, 9, dtype=D))


def test_simulate_refuses_integer_states_by_name():
    with pytest.raises(InvalidInputError, match="x0's dtype"):
        simulate(LORENZ, X0.long(), T)


# ----------------------------------------------------------------------------- shapes and times
def test_simulate_refuses_a_delay_embedding_as_the_start_of_a_delay_equation():
    # Mackey-Glass is 1-dimensional: a [B, 10] x0 ran ten independent copies, [B, n, 100] out
    with pytest.raises(InvalidInputError, match=r"shape \[batch, 1\].*not the delay embedding"):
        simulate(MACKEY_GLASS, torch.ones(2, 10, dtype=D), T)


@pytest.mark.parametrize("system, x0", [(LORENZ, torch.ones(2, 4, dtype=D)), (HENON, torch.ones(2, 3, dtype=D)),
                                        (LORENZ, torch.ones(3, dtype=D))])
def test_simulate_names_the_expected_state_shape(system, x0):
    with pytest.raises(InvalidInputError, match=rf"x0 must have shape \[batch, {system.dim}\]"):
        simulate(system, x0, T)


@pytest.mark.parametrize("system, t", [
    (LORENZ, torch.tensor([0.0, 1.0, float("inf")], dtype=D)),  # was an OverflowError
    (LORENZ, torch.linspace(0, 1, 6, dtype=D)[None]),  # 2-D: was a ValueError
    (MACKEY_GLASS, torch.tensor([0.0, float("nan"), 1.0], dtype=D)),  # was a ValueError
    (MACKEY_GLASS, torch.linspace(1.0, 0.0, 6, dtype=D)),  # was accepted: outputs before the history start
    (HENON, torch.zeros(0, dtype=D)),  # was an empty orbit
])
def test_simulate_checks_its_output_times(system, t):
    x0 = torch.full((2, system.state_dim or system.dim), 0.1, dtype=D)
    with pytest.raises(InvalidInputError, match="t_eval must be a 1-D tensor"):
        simulate(system, x0, t)


def test_simulate_wants_tensors_and_says_so():
    with pytest.raises(InvalidTypeError, match="t_eval must be a torch.Tensor"):
        simulate(LORENZ, X0, [0.0, 1.0])
    with pytest.raises(InvalidTypeError, match="x0 must be a torch.Tensor"):
        simulate(LORENZ, X0.numpy(), T)


@pytest.mark.parametrize("kwargs, match", [
    ({"unit": 0.0}, "unit must be a positive finite"),  # was a ZeroDivisionError
    ({"unit": -1.0}, "unit must be a positive finite"),  # was every trajectory flagged "maximum number of steps"
    ({"t_start": float("nan")}, "t_start must be a finite time"),
])
def test_simulate_checks_unit_and_t_start(kwargs, match):
    system, x0 = (MACKEY_GLASS, torch.ones(2, 1, dtype=D)) if "t_start" in kwargs else (LORENZ, X0)
    with pytest.raises(InvalidInputError, match=match):
        simulate(system, x0, T, **kwargs)


def test_simulate_wants_solver_settings():
    with pytest.raises(InvalidTypeError, match="settings must be a SolverSettings"):
        simulate(LORENZ, X0, T, {"method": "rk4"})


# ----------------------------------------------------------------------------- parameters
@pytest.mark.parametrize("params, match", [
    ({"rho": 28.0}, r"missing \['beta', 'sigma'\]"),  # was a TypeError from the equations
    ({**LORENZ.bind(), "rhoo": 1.0}, r"unknown \['rhoo'\]"),
])
def test_simulate_params_must_bind_every_parameter(params, match):
    with pytest.raises(InvalidInputError, match=match):
        simulate(LORENZ, X0, T, params=params)


def test_a_sweep_with_one_value_per_trajectory_of_another_batch_is_refused():
    rho = torch.tensor([20.0, 28.0], dtype=D)
    with pytest.raises(InvalidInputError, match="'rho' has 2 values on its batch axis .* for 3 trajectories"):
        make_trajectories("Lorenz", 10, rho=rho, sampling=Sampling(n_ics=3))  # was a RuntimeError from broadcasting
    with pytest.raises(InvalidInputError, match="'rho' has 2 values"):
        simulate(LORENZ, torch.ones(3, 3, dtype=D), T, params=LORENZ.bind({"rho": rho}))


def test_a_sweep_is_checked_on_the_noisy_path_without_a_transient_too():
    with pytest.raises(InvalidInputError, match="'rho' has 2 values"):
        make_trajectories("Lorenz", 10, noise=0.01, rho=torch.tensor([20.0, 28.0], dtype=D), sampling=Sampling(n_ics=3, transient=0))


def test_a_sweep_of_one_value_or_one_per_trajectory_still_runs():
    one = make_trajectories("Lorenz", 10, rho=torch.tensor([28.0], dtype=D), sampling=Sampling(n_ics=3, seed=2, transient=1))
    scalar = make_trajectories("Lorenz", 10, rho=28.0, sampling=Sampling(n_ics=3, seed=2, transient=1))
    assert torch.equal(one.x, scalar.x)
    each = make_trajectories("Lorenz", 10, rho=torch.tensor([28.0, 28.0, 28.0], dtype=D), sampling=Sampling(n_ics=3, seed=2, transient=1))
    assert torch.equal(each.x, scalar.x)


# ----------------------------------------------------------------------------- SolverSettings
@pytest.mark.parametrize("kwargs, error, match", [
    ({"atol": float("inf")}, InvalidInputError, "atol must be a positive finite number"),
    ({"rtol": "1e-3"}, InvalidTypeError, "rtol must be a positive finite number"),  # was a TypeError from '>'
    ({"method": "rk4", "fixed_step": float("inf")}, InvalidInputError, "fixed_step must be a positive finite"),
    ({"fixed_step": -0.1}, InvalidInputError, "fixed_step must be a positive finite"),
    ({"max_steps_per_unit": float("inf")}, InvalidInputError, "max_steps_per_unit"),  # OverflowError at the solve
    ({"max_outputs_per_step": 0}, InvalidInputError, "max_outputs_per_step must be a positive integer"),
    ({"max_outputs_per_step": 1.5}, InvalidTypeError, "max_outputs_per_step must be a positive integer"),
    ({"dde_steps_per_period": 0}, InvalidInputError, "dde_steps_per_period"),  # ZeroDivisionError at the solve
    ({"threads": 0}, InvalidInputError, "threads must be a positive integer"),
    ({"controller": "pi"}, InvalidTypeError, r"Controller\(\) or Controller.pi\(\)"),  # AttributeError at the solve
    ({"compile": "no"}, InvalidTypeError, "compile must be True or False"),  # "no" compiled
])
def test_solver_settings_check_every_field_when_made(kwargs, error, match):
    with pytest.raises(error, match=match):
        SolverSettings(**kwargs)


def test_solver_settings_still_take_what_they_took():
    import json

    settings = SolverSettings(method="rk4", fixed_step=0.01, rtol=1e-6, threads=2, controller=Controller.pi(),
                              max_outputs_per_step=np.int64(8), compile=np.bool_(False))
    assert settings.max_outputs_per_step == 8 and settings.compile is False
    json.dumps(settings.to_dict())  # numpy scalars are kept as the Python values they hold
    SolverSettings(fixed_step=0.01)  # a fixed step is kept for when the method is fixed-step (store configs)


# ----------------------------------------------------------------------------- make_trajectories arguments
def test_numpy_integers_are_integers_with_the_same_bytes():
    # np.int64 n_points was refused as 'not a positive integer', an np.int64 seed a TypeError
    a = make_trajectories("Lorenz", np.int64(20), sampling=Sampling(n_ics=np.int64(2), seed=np.int64(3), transient=1))
    b = make_trajectories("Lorenz", 20, sampling=Sampling(n_ics=2, seed=3, transient=1))
    assert torch.equal(a.x, b.x) and a.stats["seed"] == 3 and type(a.stats["seed"]) is int


@pytest.mark.parametrize("flag", ["postprocess", "resample_failed", "compile"])
def test_flags_must_be_booleans(flag):
    # the string "no" is truthy: compile="no" compiled, postprocess="no" postprocessed
    with pytest.raises(InvalidTypeError, match=f"{flag} must be True or False"):
        if flag == "postprocess":
            make_trajectories("Lorenz", 10, postprocess="no", sampling=Sampling(transient=0))
        elif flag == "resample_failed":
            make_trajectories("Lorenz", 10, sampling=Sampling(transient=0, resample_failed="no"))
        else:
            make_trajectories("Lorenz", 10, sampling=Sampling(transient=0), solver=SolverSettings(compile="no"))


@pytest.mark.parametrize("kwargs, match", [({"n_ics": 5}, "n_ics=5 applies only to sampled starts"),
                                           ({"resample_failed": True}, "resample_failed=True applies only")])
def test_given_initial_conditions_refuse_what_only_sampling_uses(kwargs, match):
    # n_ics=5 with two given starts gave two trajectories; resample_failed redrew nothing
    with pytest.raises(InvalidInputError, match=match):
        make_trajectories("Lorenz", 10, initial_conditions=X0, sampling=Sampling(transient=0, **kwargs))


def test_an_empty_batch_of_initial_conditions_is_refused():
    with pytest.raises(InvalidInputError, match=r"\[B, 3\] \(B >= 1\)"):  # was a RuntimeError from a reshape
        make_trajectories("Lorenz", 10, initial_conditions=torch.ones(0, 3, dtype=D))


def test_a_negative_seed_with_noise_names_the_noise():
    with pytest.raises(InvalidInputError, match="with noise, seed seeds the Brownian paths"):
        make_trajectories("Lorenz", 10, noise=0.01, sampling=Sampling(seed=-1, transient=0))


# ----------------------------------------------------------------------------- integrate_sde
def _drift(t, x):
    return -x


def _additive(t, x):
    return torch.full_like(x, 0.3)


def test_sde_seeds_past_64_bits_are_refused_as_they_repeat_smaller_ones():
    from chaosdata.integrate.sde import integrate_sde, standard_normals

    keys = torch.arange(2)
    assert torch.equal(standard_normals(0, keys, 0, 3, 2)[0], standard_normals(2**64, keys, 0, 3, 2)[0])
    with pytest.raises(InvalidInputError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        integrate_sde(_drift, _additive, X0, T, SDESettings(max_step=0.1), seed=2**64)  # was seed 0's Brownian paths


def test_sde_takes_a_numpy_seed_as_the_integer_it_is():
    from chaosdata.integrate.sde import integrate_sde

    a = integrate_sde(_drift, _additive, X0, T,
                      SDESettings(max_step=0.1), seed=np.int64(7))  # was 'must be a non-negative integer'
    b = integrate_sde(_drift, _additive, X0, T, SDESettings(max_step=0.1), seed=7)
    assert torch.equal(a.y, b.y)


def test_sde_refuses_float_keys_that_would_be_truncated_onto_other_paths():
    from chaosdata.integrate.sde import integrate_sde

    with pytest.raises(InvalidTypeError, match="keys must be an integer tensor"):  # [0.5, 1.7] drew keys [0, 1]
        integrate_sde(_drift, _additive, X0, T, SDESettings(max_step=0.1), keys=torch.tensor([0.5, 1.7]))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"t_eval": torch.tensor([0.0, 1.0, float("inf")], dtype=D)}, InvalidInputError, "finite"),  # RuntimeError
    ({"x0": X0.long()}, InvalidTypeError, "floating-point"),  # RuntimeError: int64_t overflow
    ({"bound": 10.0}, InvalidTypeError, "bound must be a Bound"),  # its value is checked by Bound
])
def test_sde_checks_its_input(kwargs, error, match):
    from chaosdata.integrate.sde import integrate_sde

    args = {"x0": X0, "t_eval": T, **kwargs}
    x0, t_eval = args.pop("x0"), args.pop("t_eval")
    with pytest.raises(error, match=match):
        integrate_sde(_drift, _additive, x0, t_eval, SDESettings(max_step=0.1), **args)


def test_sde_of_an_empty_batch_is_an_empty_solution():
    from chaosdata.integrate.sde import integrate_sde

    sol = integrate_sde(_drift, _additive, torch.ones(0, 3, dtype=D), T, SDESettings(max_step=0.1))  # was a ZeroDivisionError
    assert sol.y.shape == (0, 6, 3) and sol.status.shape == (0,)


# ----------------------------------------------------------------------------- integrate_delay
def _lagged(t, y, yd):
    return -yd


@pytest.mark.parametrize("kwargs, error, match", [
    ({"t_eval": torch.tensor([0.0, float("nan"), 1.0], dtype=D)}, InvalidInputError, "t_eval"),  # ValueError
    ({"t_eval": torch.zeros(0, dtype=D)}, InvalidInputError, "t_eval"),  # IndexError
    ({"history": torch.ones(2, 1, dtype=torch.int64)}, InvalidTypeError, "floating-point"),  # RuntimeError
    ({"steps_per_tau": 2.7}, InvalidTypeError, "steps_per_tau must be an integer"),  # silently int(2.7) = 2
    ({"lags": []}, InvalidInputError, "lags must be one or more"),  # ValueError from max()
    ({"lags": [0.0, float("nan")]}, InvalidInputError, "lags must be one or more finite"),
    ({"t_start": float("nan")}, InvalidInputError, "t_start must be a finite"),  # ValueError
    ({"bound": 10.0}, InvalidTypeError, "bound must be a Bound"),  # its value is checked by Bound
])
def test_delay_checks_its_input(kwargs, error, match):
    from chaosdata.integrate.delay import integrate_delay

    args = {"history": torch.ones(2, 1, dtype=D), "t_eval": T, **kwargs}
    history, t_eval = args.pop("history"), args.pop("t_eval")
    with pytest.raises(error, match=match):
        integrate_delay(_lagged, history, 1.0, t_eval, **args)


def test_delay_takes_a_zero_dimensional_tensor_delay_as_its_value():
    from chaosdata.integrate.delay import integrate_delay

    history = torch.ones(2, 1, dtype=D)
    a = integrate_delay(_lagged, history, torch.tensor(1.0, dtype=D), T)  # was a TypeError (ndarray - Tensor)
    assert torch.equal(a.y, integrate_delay(_lagged, history, 1.0, T).y)


def test_the_delay_step_is_the_fixed_step_solvers_step():
    """RK4 is written once (`fixed.rk_step`): with a field that ignores the delayed state, the
    method of steps steps as the fixed-step ODE solver does, to the last bit."""
    from chaosdata.integrate.delay import delay_step
    from chaosdata.integrate.fixed import fixed_step
    from chaosdata.integrate.tableaux import RK4

    lorenz = get_system("Lorenz")

    def f(t, y):
        return lorenz.equations(y, t, **lorenz.parameters)

    step = delay_step(lambda t, y, yd: f(t, y), 0.01)
    y0 = torch.tensor([[1.0, 2.0, 20.0], [-3.0, 1.0, 30.0]], dtype=D)
    y = y0
    for n in range(300):
        y, _ = step(torch.tensor(0.01 * n, dtype=D), y, y, y, y, y)  # the delayed arguments go unused
    assert torch.equal(y, fixed_step(f, RK4, 0.01, 300)(y0, torch.zeros((), dtype=D))[-1])


def test_a_delay_solution_leaving_the_bound_is_out_of_bounds_not_non_finite():
    from chaosdata.integrate.delay import integrate_delay
    from chaosdata.integrate.solution import Status

    t = torch.linspace(0.0, 5.0, 6, dtype=D)
    grows = integrate_delay(lambda t, y, yd: y, torch.ones(2, 1, dtype=D), 1.0, t, bound=Bound(5.0))  # e^5 > 5, finite
    assert grows.status.tolist() == [Status.OUT_OF_BOUNDS] * 2  # was NONFINITE: "became non-finite"
    blows_up = integrate_delay(lambda t, y, yd: y * y, torch.full((1, 1), 10.0, dtype=D), 1.0, t, bound=Bound(5.0))
    assert blows_up.status.tolist() in ([Status.OUT_OF_BOUNDS], [Status.NONFINITE])
    assert bool(torch.isnan(grows.y).all())


# ----------------------------------------------------------------------------- iterate
@pytest.mark.parametrize("x0, n, kwargs, error, match", [
    (X0, 0, {}, InvalidInputError, "n_points must be a positive integer"),  # was an empty orbit
    (X0, -1, {}, InvalidInputError, "n_points must be a positive integer"),  # RuntimeError
    (X0, 2.5, {}, InvalidTypeError, "n_points must be a positive integer"),  # TypeError
    (X0[0], 3, {}, InvalidInputError, r"x0 must have shape \[batch, dim\]"),  # 'not enough values to unpack'
    (X0.long(), 3, {}, InvalidTypeError, "floating-point"),  # RuntimeError from the NaN fill
    (X0, 3, {"bound": 10.0}, InvalidTypeError, "bound must be a Bound"),  # its value is checked by Bound
])
def test_iterate_checks_its_input(x0, n, kwargs, error, match):
    from chaosdata.integrate.maps import iterate

    with pytest.raises(error, match=match):
        iterate(lambda x: 0.5 * x, x0, n, **kwargs)


# ----------------------------------------------------------------------------- silently ignored arguments
def test_pts_per_period_with_explicit_times_is_refused():
    # times set their own spacing: pts_per_period=5 was silently ignored
    with pytest.raises(InvalidInputError, match="leave pts_per_period out"):
        make_trajectories("Lorenz", times=[0.0, 0.1, 0.2], pts_per_period=5, sampling=Sampling(transient=0))


def test_a_positive_transient_with_given_initial_conditions_is_refused():
    # transient=50 with given starts discarded nothing and said nothing
    with pytest.raises(InvalidInputError, match="transient=50 applies to sampled starts"):
        make_trajectories("Lorenz", 10, initial_conditions=X0, sampling=Sampling(transient=50))


def test_given_initial_conditions_take_the_noise_seed_from_the_sampling():
    # after 7ad5f25 any sampling with given starts was refused: the seed of their noise could not be set
    from chaosdata.integrate.sde import NoiseSpec

    seeded = make_trajectories("Lorenz", 10, initial_conditions=X0, noise=0.05, sampling=Sampling(seed=1, transient=0))
    own = make_trajectories("Lorenz", 10, initial_conditions=X0, noise=NoiseSpec(level=0.05, seed=1))
    default = make_trajectories("Lorenz", 10, initial_conditions=X0, noise=0.05)
    assert torch.equal(seeded.x, own.x) and not torch.equal(seeded.x[:, 1:], default.x[:, 1:])


def test_defaults_left_out_and_given_explicitly_give_the_same_bytes():
    a = make_trajectories("Lorenz", 20, sampling=Sampling(n_ics=2, seed=4))  # the defaults: 100 points per period, 10 periods
    b = make_trajectories("Lorenz", 20, pts_per_period=100, sampling=Sampling(n_ics=2, seed=4, transient=10.0))
    assert torch.equal(a.x, b.x) and a.stats["pts_per_period"] == 100
    given = make_trajectories("Lorenz", 20, initial_conditions=X0, sampling=Sampling(transient=0))  # no transient: as before
    assert torch.equal(given.x, make_trajectories("Lorenz", 20, initial_conditions=X0).x)


def test_a_numpy_noise_level_is_the_number_it_holds():
    from chaosdata.integrate.sde import NoiseSpec

    # np.float32(0.01) was 'noise must be a number ..., got float32'; NoiseSpec(np.float32) refused it
    level = np.float32(0.5)
    assert NoiseSpec(level).to_dict()["level"] == 0.5 and type(NoiseSpec(level).level) is float
    a = make_trajectories("Lorenz", 10, noise=np.float32(0.01), sampling=Sampling(transient=0))
    b = make_trajectories("Lorenz", 10, noise=float(np.float32(0.01)), sampling=Sampling(transient=0))
    assert torch.equal(a.x, b.x)


@pytest.fixture
def user_flow_without_period(restore_systems):
    """A flow registered from user code with no period; the registry is restored afterwards."""
    from chaosdata.systems import base
    from chaosdata.systems.base import stack


    @base.flow(name="ReviewOscillator", parameters={"a": 1.0}, initial_conditions=(1.0, 0.0), dt=0.01,
               citation="test", description="a harmonic oscillator without a period")
    def oscillator(x, t, *, a):
        u, v = x.unbind(-1)
        return stack(v, -a * u, like=x)

    return get_system("ReviewOscillator")


def test_simulate_of_a_flow_without_a_period_asks_for_its_unit(user_flow_without_period):
    x0 = torch.tensor([[1.0, 0.0]], dtype=D)
    with pytest.raises(InvalidInputError, match="has no period: pass unit="):  # was float(None): a TypeError
        simulate(user_flow_without_period, x0, T)
    sol = simulate(user_flow_without_period, x0, T, unit=1.0)
    torch.testing.assert_close(sol.y[0, :, 0], torch.cos(T), atol=1e-9, rtol=0)


def test_sde_refuses_dt_and_steps_per_output_together():
    from chaosdata.integrate.sde import integrate_sde

    with pytest.raises(InvalidInputError, match="one of the two"):  # dt was silently ignored
        integrate_sde(_drift, _additive, X0, T, SDESettings(max_step=0.01, steps_per_output=3))


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": float("nan")}, "scale must be a non-negative finite number"),  # every draw NaN, every one flagged
    ({"scale": -0.1}, "scale must be a non-negative finite number"),
    ({"n_ics": 0}, "n_ics must be a positive integer"),  # an empty batch
])  # a seed of the wrong type: tests/test_ensemble.py
def test_sample_initial_conditions_checks_its_arguments(kwargs, match):
    from chaosdata.integrate.ensemble import sample_initial_conditions

    args = {"n_ics": 2, "seed": 0, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        sample_initial_conditions(LORENZ, **args)


# ============================================================ size and work checked first (chaosdata.budget)
@pytest.mark.parametrize("kwargs, key, estimate", [
    (dict(n_points=100, pts_per_period=1e-9), "pts_per_period = 1e-09", "integration steps per trajectory"),
    (dict(n_points=100, sampling=Sampling(transient=1e12)), "transient = 1e+12", "integration steps per trajectory"),
    (dict(n_points=100, sampling=Sampling(n_ics=10**9)), "n_ics = 1000000000", "held at once"),
    (dict(n_points=10**11), "n_points = 100000000000", "held at once"),
])
def test_make_trajectories_refuses_what_cannot_fit_at_once(kwargs, key, estimate):
    """These hung with no output, or tried to allocate terabytes, before failing."""
    import time

    started = time.perf_counter()
    with pytest.raises(InvalidInputError) as err:
        make_trajectories("Lorenz", **kwargs)
    assert time.perf_counter() - started < 2.0
    message = str(err.value)
    assert key in message and estimate in message and "more than the limit" in message


def test_make_trajectories_counts_every_given_initial_condition(monkeypatch):
    monkeypatch.setenv("CHAOSDATA_MEMORY_LIMIT", "1e5")
    make_trajectories("Lorenz", 100, initial_conditions=torch.ones(10, 3, dtype=torch.float64))  # 48 kB
    with pytest.raises(InvalidInputError, match=r"n_ics = 1000 trajectories x n_points = 100 .* limit 100 kB"):
        make_trajectories("Lorenz", 100, initial_conditions=torch.ones(1000, 3, dtype=torch.float64))


# ============================================================ make_trajectories: sweeps and numbers
# every adaptive method, DOP853 included: its dense output evaluates its extra stages on
# [steps, B, d] states, so a per-trajectory parameter tensor of length B broadcasts there too
SWEEP_METHODS = sorted(name for name, tab in TABLEAUX.items() if tab.adaptive)


# ---------------------------------------------------------------------- parameter sweeps
@pytest.mark.parametrize("method", SWEEP_METHODS)
def test_parameter_sweep_with_resampling_redraws_failed_rows_with_their_own_parameters(method):
    """One row of the sweep diverges; the redraw must run that row with its own rho (it used to
    run the failed subset with the whole parameter tensor and crash on shapes)."""
    rho = torch.tensor([28.0, 28.0, 28.0, 1e9], dtype=torch.float64)
    swept = make_trajectories("Lorenz", 20, rho=rho, sampling=Sampling(n_ics=4, transient=1, resample_failed=True), solver=SolverSettings(method=method))
    assert swept.valid.tolist() == [True, True, True, False]
    assert list(swept.stats["failures"]) == [3]
    plain = make_trajectories("Lorenz", 20, sampling=Sampling(n_ics=4, transient=1), solver=SolverSettings(method=method))
    torch.testing.assert_close(swept.x[:3], plain.x[:3], rtol=0, atol=0)  # same draws, same rho


@pytest.mark.parametrize("method", SWEEP_METHODS)
def test_parameter_sweep_redraw_recovers_a_row_whose_first_draw_failed(monkeypatch, method):
    """Force the first draw of row 1 out of bounds: the redraw of that row alone must use its
    own rho (here 1e9 on row 1 would fail again; row 1 has an ordinary rho and recovers)."""
    from chaosdata.integrate import ensemble

    real = ensemble.sample_initial_conditions
    calls = []

    def first_draw_bad(system, n, seed, scale=None):
        x = real(system, n, seed, scale)
        calls.append(n)
        if len(calls) == 1:
            x[1] = 1e12  # outside the bound: row 1 fails on its first draw
        return x

    monkeypatch.setattr(ensemble, "sample_initial_conditions", first_draw_bad)
    rho = torch.tensor([1e9, 35.0, 1e9], dtype=torch.float64)
    tr = make_trajectories("Lorenz", 20, rho=rho, sampling=Sampling(n_ics=3, transient=1, resample_failed=True), solver=SolverSettings(method=method))
    assert tr.valid.tolist() == [False, True, False]
    assert calls[1] == 3  # the first redraw covers the three failed rows, each with its own rho
    ref = make_trajectories("Lorenz", 20, initial_conditions=tr.start_states[1], rho=35.0, solver=SolverSettings(method=method))
    torch.testing.assert_close(tr.x[1], ref.x[0], rtol=0, atol=1e-9)


# ---------------------------------------------------------------------- numbers that are not numbers
@pytest.mark.parametrize("value, error", [(math.nan, InvalidInputError), (math.inf, InvalidInputError),
                                          (-1.0, InvalidInputError), (True, InvalidTypeError),
                                          ("10", InvalidTypeError)], ids=repr)
def test_transient_must_be_a_finite_non_negative_number(value, error):
    # a bool or a string is the wrong kind (InvalidTypeError, as everywhere in chaosdata.validate)
    with pytest.raises(error, match="transient must be a non-negative finite number"):
        make_trajectories("Lorenz", 10, sampling=Sampling(transient=value))


@pytest.mark.parametrize("argument", ["rtol", "atol", "fixed_step"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1e-8, 0.0], ids=repr)
def test_solver_numbers_must_be_finite_and_positive(argument, value):
    # the old keywords rtol/atol/dt of make_trajectories are these SolverSettings fields now
    method = {"fixed_step": "rk4"}.get(argument)
    match = f"{argument} must be a positive finite number, got {value!r}"
    with pytest.raises(InvalidInputError, match=re.escape(match)):
        make_trajectories("Lorenz", 10, solver=SolverSettings(method=method, **{argument: value}))


@pytest.mark.parametrize("value", [0, -3, math.nan, 2.5])
def test_dde_steps_per_period_must_be_a_positive_integer(value):
    error = InvalidInputError if float(value).is_integer() else InvalidTypeError  # not a whole number: a type error
    with pytest.raises(error, match="dde_steps_per_period"):
        make_trajectories("MackeyGlass", 10, solver=SolverSettings(dde_steps_per_period=value))


@pytest.mark.parametrize("name", list_systems("map"))
def test_maps_refuse_a_timescale_they_cannot_follow(name):
    """Maps have one sampling (one point per iteration); timescale='lyapunov' used to be ignored."""
    with pytest.raises(InvalidInputError, match="timescale"):
        make_trajectories(name, 10, timescale="lyapunov")
