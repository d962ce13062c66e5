"""Review of the public integration API: what a user calling it directly would hit.

Each test pins a defect found by the review (bad input accepted, silently ignored, or refused
with an unrelated error) and checks that valid calls keep their bytes.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chaosdata import make_trajectories
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate import Controller, SolverSettings, simulate
from chaosdata.systems import get_system

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
        make_trajectories("Lorenz", 10, dtype=dtype, transient=0)


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
        make_trajectories("Lorenz", 10, n_ics=3, rho=rho)  # was a RuntimeError from broadcasting
    with pytest.raises(InvalidInputError, match="'rho' has 2 values"):
        simulate(LORENZ, torch.ones(3, 3, dtype=D), T, params=LORENZ.bind({"rho": rho}))


def test_a_sweep_is_checked_on_the_noisy_path_without_a_transient_too():
    with pytest.raises(InvalidInputError, match="'rho' has 2 values"):
        make_trajectories("Lorenz", 10, n_ics=3, transient=0, noise=0.01, rho=torch.tensor([20.0, 28.0], dtype=D))


def test_a_sweep_of_one_value_or_one_per_trajectory_still_runs():
    one = make_trajectories("Lorenz", 10, n_ics=3, seed=2, transient=1, rho=torch.tensor([28.0], dtype=D))
    scalar = make_trajectories("Lorenz", 10, n_ics=3, seed=2, transient=1, rho=28.0)
    assert torch.equal(one.x, scalar.x)
    each = make_trajectories("Lorenz", 10, n_ics=3, seed=2, transient=1,
                             rho=torch.tensor([28.0, 28.0, 28.0], dtype=D))
    assert torch.equal(each.x, scalar.x)


# ----------------------------------------------------------------------------- SolverSettings
@pytest.mark.parametrize("kwargs, error, match", [
    ({"atol": float("inf")}, InvalidInputError, "tolerances must be positive finite"),
    ({"rtol": "1e-3"}, InvalidInputError, "tolerances must be positive finite"),  # was a TypeError from '>'
    ({"method": "rk4", "fixed_step": float("inf")}, InvalidInputError, "fixed_step must be a positive finite"),
    ({"fixed_step": -0.1}, InvalidInputError, "fixed_step must be a positive finite"),
    ({"max_steps_per_unit": float("inf")}, InvalidInputError, "max_steps_per_unit"),  # OverflowError at the solve
    ({"max_outputs_per_step": 0}, InvalidInputError, "max_outputs_per_step must be a positive integer"),
    ({"max_outputs_per_step": 1.5}, InvalidInputError, "max_outputs_per_step must be a positive integer"),
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
@pytest.mark.parametrize("seed", [1.5, "a", True, 2**70])
def test_seed_must_be_an_integer_torch_takes(seed):
    # 1.5 / "a" / True were RuntimeErrors of torch.manual_seed, 2**70 an OverflowError
    with pytest.raises(InvalidInputError, match=r"seed must be an integer in \[-2\*\*63, 2\*\*63\)"):
        make_trajectories("Lorenz", 10, seed=seed, transient=0)


def test_numpy_integers_are_integers_with_the_same_bytes():
    # np.int64 n_points was refused as 'not a positive integer', an np.int64 seed a TypeError
    a = make_trajectories("Lorenz", np.int64(20), n_ics=np.int64(2), seed=np.int64(3), transient=1)
    b = make_trajectories("Lorenz", 20, n_ics=2, seed=3, transient=1)
    assert torch.equal(a.x, b.x) and a.stats["seed"] == 3 and type(a.stats["seed"]) is int


@pytest.mark.parametrize("flag", ["postprocess", "resample_failed", "compile"])
def test_flags_must_be_booleans(flag):
    # the string "no" is truthy: compile="no" compiled, postprocess="no" postprocessed
    with pytest.raises(InvalidTypeError, match=f"{flag} must be True or False"):
        make_trajectories("Lorenz", 10, transient=0, **{flag: "no"})


@pytest.mark.parametrize("kwargs, match", [({"n_ics": 5}, "n_ics=5 applies only to sampled starts"),
                                           ({"resample_failed": True}, "resample_failed=True applies only")])
def test_given_initial_conditions_refuse_what_only_sampling_uses(kwargs, match):
    # n_ics=5 with two given starts gave two trajectories; resample_failed redrew nothing
    with pytest.raises(InvalidInputError, match=match):
        make_trajectories("Lorenz", 10, initial_conditions=X0, **kwargs)


def test_an_empty_batch_of_initial_conditions_is_refused():
    with pytest.raises(InvalidInputError, match=r"\[B, 3\] \(B >= 1\)"):  # was a RuntimeError from a reshape
        make_trajectories("Lorenz", 10, initial_conditions=torch.ones(0, 3, dtype=D))


def test_a_negative_seed_with_noise_names_the_noise():
    with pytest.raises(InvalidInputError, match="with noise, seed seeds the Brownian paths"):
        make_trajectories("Lorenz", 10, seed=-1, transient=0, noise=0.01)


# ----------------------------------------------------------------------------- integrate_sde
def _drift(t, x):
    return -x


def _additive(t, x):
    return torch.full_like(x, 0.3)


def test_sde_seeds_past_64_bits_are_refused_as_they_repeat_smaller_ones():
    from chaosdata.integrate.sde import integrate_sde, standard_normals

    keys = torch.arange(2)
    assert torch.equal(standard_normals(0, keys, 0, 3, 2)[0], standard_normals(2**64, keys, 0, 3, 2)[0])
    with pytest.raises(InvalidTypeError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        integrate_sde(_drift, _additive, X0, T, dt=0.1, seed=2**64)  # was seed 0's Brownian paths


def test_sde_takes_a_numpy_seed_as_the_integer_it_is():
    from chaosdata.integrate.sde import integrate_sde

    a = integrate_sde(_drift, _additive, X0, T, dt=0.1, seed=np.int64(7))  # was 'must be a non-negative integer'
    b = integrate_sde(_drift, _additive, X0, T, dt=0.1, seed=7)
    assert torch.equal(a.y, b.y)


def test_sde_refuses_float_keys_that_would_be_truncated_onto_other_paths():
    from chaosdata.integrate.sde import integrate_sde

    with pytest.raises(InvalidTypeError, match="keys must be an integer tensor"):  # [0.5, 1.7] drew keys [0, 1]
        integrate_sde(_drift, _additive, X0, T, dt=0.1, keys=torch.tensor([0.5, 1.7]))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"t_eval": torch.tensor([0.0, 1.0, float("inf")], dtype=D)}, InvalidInputError, "finite"),  # RuntimeError
    ({"x0": X0.long()}, InvalidTypeError, "floating-point"),  # RuntimeError: int64_t overflow
    ({"bound": -1.0}, InvalidInputError, "bound must be a positive"),  # every row flagged OUT_OF_BOUNDS
    ({"bound": float("nan")}, InvalidInputError, "bound must be a positive"),  # silently no bound
])
def test_sde_checks_its_input(kwargs, error, match):
    from chaosdata.integrate.sde import integrate_sde

    args = {"x0": X0, "t_eval": T, **kwargs}
    x0, t_eval = args.pop("x0"), args.pop("t_eval")
    with pytest.raises(error, match=match):
        integrate_sde(_drift, _additive, x0, t_eval, dt=0.1, **args)


def test_sde_of_an_empty_batch_is_an_empty_solution():
    from chaosdata.integrate.sde import integrate_sde

    sol = integrate_sde(_drift, _additive, torch.ones(0, 3, dtype=D), T, dt=0.1)  # was a ZeroDivisionError
    assert sol.y.shape == (0, 6, 3) and sol.status.shape == (0,)


# ----------------------------------------------------------------------------- integrate_delay
def _lagged(t, y, yd):
    return -yd


@pytest.mark.parametrize("kwargs, error, match", [
    ({"t_eval": torch.tensor([0.0, float("nan"), 1.0], dtype=D)}, InvalidInputError, "t_eval"),  # ValueError
    ({"t_eval": torch.zeros(0, dtype=D)}, InvalidInputError, "t_eval"),  # IndexError
    ({"history": torch.ones(2, 1, dtype=torch.int64)}, InvalidTypeError, "floating-point"),  # RuntimeError
    ({"steps_per_tau": 2.7}, InvalidInputError, "steps_per_tau must be an integer"),  # silently int(2.7) = 2
    ({"lags": []}, InvalidInputError, "lags must be one or more"),  # ValueError from max()
    ({"lags": [0.0, float("nan")]}, InvalidInputError, "lags must be one or more finite"),
    ({"t_start": float("nan")}, InvalidInputError, "t_start must be a finite"),  # ValueError
    ({"bound": -1.0}, InvalidInputError, "bound must be a positive"),  # every row flagged
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


def test_a_delay_solution_leaving_the_bound_is_out_of_bounds_not_non_finite():
    from chaosdata.integrate.delay import integrate_delay
    from chaosdata.integrate.solution import Status

    t = torch.linspace(0.0, 5.0, 6, dtype=D)
    grows = integrate_delay(lambda t, y, yd: y, torch.ones(2, 1, dtype=D), 1.0, t, bound=5.0)  # e^5 > 5, finite
    assert grows.status.tolist() == [Status.OUT_OF_BOUNDS] * 2  # was NONFINITE: "became non-finite"
    blows_up = integrate_delay(lambda t, y, yd: y * y, torch.full((1, 1), 10.0, dtype=D), 1.0, t, bound=5.0)
    assert blows_up.status.tolist() in ([Status.OUT_OF_BOUNDS], [Status.NONFINITE])
    assert bool(torch.isnan(grows.y).all())


# ----------------------------------------------------------------------------- iterate
@pytest.mark.parametrize("x0, n, kwargs, error, match", [
    (X0, 0, {}, InvalidInputError, "n_points must be a positive integer"),  # was an empty orbit
    (X0, -1, {}, InvalidInputError, "n_points must be a positive integer"),  # RuntimeError
    (X0, 2.5, {}, InvalidInputError, "n_points must be a positive integer"),  # TypeError
    (X0[0], 3, {}, InvalidInputError, r"x0 must have shape \[batch, dim\]"),  # 'not enough values to unpack'
    (X0.long(), 3, {}, InvalidTypeError, "floating-point"),  # RuntimeError from the NaN fill
    (X0, 3, {"bound": -1.0}, InvalidInputError, "bound must be a positive"),  # every orbit flagged
])
def test_iterate_checks_its_input(x0, n, kwargs, error, match):
    from chaosdata.integrate.maps import iterate

    with pytest.raises(error, match=match):
        iterate(lambda x: 0.5 * x, x0, n, **kwargs)


# ----------------------------------------------------------------------------- silently ignored arguments
def test_pts_per_period_with_explicit_times_is_refused():
    # times set their own spacing: pts_per_period=5 was silently ignored
    with pytest.raises(InvalidInputError, match="leave pts_per_period out"):
        make_trajectories("Lorenz", times=[0.0, 0.1, 0.2], pts_per_period=5, transient=0)


def test_a_positive_transient_with_given_initial_conditions_is_refused():
    # transient=50 with given starts discarded nothing and said nothing
    with pytest.raises(InvalidInputError, match="transient=50 applies to sampled starts"):
        make_trajectories("Lorenz", 10, initial_conditions=X0, transient=50)


def test_defaults_left_out_and_given_explicitly_give_the_same_bytes():
    a = make_trajectories("Lorenz", 20, n_ics=2, seed=4)  # the defaults: 100 points per period, 10 periods
    b = make_trajectories("Lorenz", 20, n_ics=2, seed=4, pts_per_period=100, transient=10.0)
    assert torch.equal(a.x, b.x) and a.stats["pts_per_period"] == 100
    given = make_trajectories("Lorenz", 20, initial_conditions=X0, transient=0)  # no transient: as before
    assert torch.equal(given.x, make_trajectories("Lorenz", 20, initial_conditions=X0).x)


@pytest.mark.parametrize("grid", [(0.1, 2.5), ("0.1", 3), (0.1, True)])
def test_union_grid_wants_a_whole_number_of_points(grid):
    from chaosdata.integrate.trajectories import union_grid

    # (0.1, 2.5) was silently two points; ("0.1", 3) a TypeError from '>'
    with pytest.raises(InvalidInputError, match="n an integer of at least 1"):
        union_grid({"a": grid})


def test_a_numpy_noise_level_is_the_number_it_holds():
    from chaosdata.integrate.sde import NoiseSpec

    # np.float32(0.01) was 'noise must be a number ..., got float32'; NoiseSpec(np.float32) refused it
    level = np.float32(0.5)
    assert NoiseSpec(level).to_dict()["level"] == 0.5 and type(NoiseSpec(level).level) is float
    a = make_trajectories("Lorenz", 10, transient=0, noise=np.float32(0.01))
    b = make_trajectories("Lorenz", 10, transient=0, noise=float(np.float32(0.01)))
    assert torch.equal(a.x, b.x)


@pytest.fixture
def user_flow_without_period():
    """A flow registered from user code with no period; the registry is restored afterwards."""
    from chaosdata.systems import base
    from chaosdata.systems.base import stack

    saved = dict(base._REGISTRY), dict(base._BY_LOWER)

    @base.flow(name="ReviewOscillator", parameters={"a": 1.0}, initial_conditions=(1.0, 0.0), dt=0.01,
               citation="test", description="a harmonic oscillator without a period")
    def oscillator(x, t, *, a):
        u, v = x.unbind(-1)
        return stack(v, -a * u, like=x)

    yield get_system("ReviewOscillator")
    for live, old in zip((base._REGISTRY, base._BY_LOWER), saved):
        live.clear()
        live.update(old)


def test_simulate_of_a_flow_without_a_period_asks_for_its_unit(user_flow_without_period):
    x0 = torch.tensor([[1.0, 0.0]], dtype=D)
    with pytest.raises(InvalidInputError, match="has no period: pass unit="):  # was float(None): a TypeError
        simulate(user_flow_without_period, x0, T)
    sol = simulate(user_flow_without_period, x0, T, unit=1.0)
    torch.testing.assert_close(sol.y[0, :, 0], torch.cos(T), atol=1e-9, rtol=0)


def test_sde_refuses_dt_and_steps_per_output_together():
    from chaosdata.integrate.sde import integrate_sde

    with pytest.raises(InvalidInputError, match="not both"):  # dt was silently ignored
        integrate_sde(_drift, _additive, X0, T, dt=0.01, steps_per_output=3)


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": float("nan")}, "scale must be a finite non-negative"),  # every draw NaN, every trajectory flagged
    ({"scale": -0.1}, "scale must be a finite non-negative"),
    ({"n_ics": 0}, "n_ics must be a positive integer"),  # an empty batch
    ({"seed": 0.5}, "seed must be an integer"),  # a torch RuntimeError
])
def test_sample_initial_conditions_checks_its_arguments(kwargs, match):
    from chaosdata.integrate.trajectories import sample_initial_conditions

    args = {"n_ics": 2, "seed": 0, **kwargs}
    with pytest.raises(InvalidInputError, match=match):
        sample_initial_conditions(LORENZ, **args)
