"""The neural forecasters (neural.py, node.py, dsr.py): one table over every registered model
from those modules. Each overfits a tiny sine/cosine problem far below the naive forecast's
error, keeps its shapes and dtypes, fits deterministically per seed, and round-trips through
save/load with identical forecasts. Sizes are tiny so the file runs in well under a minute."""

from __future__ import annotations

import pytest
import torch

from chaosdata.baselines import Forecaster, NotFittedError, forecaster_class, get_forecaster, list_forecasters
from chaosdata.baselines.dsr import _ShPLRNN
from chaosdata.baselines.node import fixed_step_tableau, rk_solve
from chaosdata.benchmark.tuning import TIME_SCALES, grid_for
from chaosdata.errors import InvalidInputError
from chaosdata.integrate import SolverSettings, integrate

MODULES = {"chaosdata.baselines.neural", "chaosdata.baselines.node", "chaosdata.baselines.dsr"}
NEURAL = [n for n in list_forecasters() if forecaster_class(n).__module__ in MODULES]

# tiny sizes per model: a new model without an entry here fails test_every_model_has_tiny_sizes
TINY = {
    "mlp": dict(lookback=8, out_steps=4, width=32, depth=2, lr=3e-3),
    "nbeats": dict(lookback=8, out_steps=4, width=32, layers=2, blocks=2, lr=3e-3),
    "patchtst": dict(lookback=16, out_steps=4, patch=4, patch_stride=4, d_model=16, heads=2, layers=1, ff=32, lr=1e-2),
    "gru": dict(hidden=16, seq_len=16, burn_in=4, warmup=16, lr=1e-2),
    "neural_ode": dict(width=16, depth=1, rollout=4, substeps=1, lr=1e-2),
    "plrnn": dict(hidden=16, seq_len=16, warmup=8, lr=1e-2),
}
STEPS = 300  # the overfit fits
QUICK = 10  # fits that only need to run (determinism)

T = torch.arange(400, dtype=torch.float64) * 0.1
SINE = torch.stack([torch.sin(T), torch.cos(T)], dim=-1)  # [400, 2], period ~63 points
CONTEXT = SINE[100:150]  # in the training range: this checks that the models can fit
FUTURE = SINE[150:170]


def tiny(name: str, **overrides) -> Forecaster:
    return get_forecaster(name, **{**TINY[name], "batch_size": 16, "steps": STEPS, **overrides})


@pytest.fixture(scope="module")
def fitted() -> dict[str, Forecaster]:
    """Each model fitted once on the sine/cosine pair, shared by the tests that only read it."""
    return {}


def get_fitted(fitted: dict[str, Forecaster], name: str) -> Forecaster:
    if name not in fitted:
        fitted[name] = tiny(name).fit(SINE)
    return fitted[name]


def test_the_issue_models_are_registered():
    assert {"mlp", "nbeats", "gru", "patchtst", "neural_ode", "plrnn"} <= set(NEURAL)


def test_every_model_has_tiny_sizes():
    assert sorted(TINY) == sorted(NEURAL)


@pytest.mark.parametrize("name", NEURAL)
def test_overfits_a_sine_pair(name, fitted):
    model = get_fitted(fitted, name)
    assert model.losses_[-1] < 0.05 * model.losses_[:10].mean()  # training went somewhere
    pred = model.predict(CONTEXT[None], FUTURE.shape[0])[0]
    naive = (CONTEXT[-1] - FUTURE).square().mean().sqrt()
    error = (pred - FUTURE).square().mean().sqrt()
    assert error < 0.1 * naive, f"{name}: RMSE {float(error):.3g} against the naive {float(naive):.3g}"


@pytest.mark.parametrize("name", NEURAL)
def test_shapes_and_dtypes(name, fitted):
    model = get_fitted(fitted, name)
    context = torch.stack([SINE[100:150], SINE[200:250], SINE[300:350]])
    out = model.predict(context, 13)  # 13: not a multiple of any model's out_steps
    assert out.shape == (3, 13, 2) and out.dtype == torch.float64 and torch.isfinite(out).all()
    assert model.predict(context.float(), 5).dtype == torch.float32
    assert model.predict(CONTEXT, 5).shape == (1, 5, 2)  # a [ctx, dim] context is one batch
    assert model.predict(context, 1).shape == (3, 1, 2)
    # each forecast depends on its own context only
    torch.testing.assert_close(model.predict(context[1:2], 13), out[1:2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NEURAL)
def test_determinism_per_seed(name):
    runs = [tiny(name, steps=QUICK, seed=s).fit(SINE).predict(CONTEXT, 7) for s in (0, 0, 1)]
    assert torch.equal(runs[0], runs[1])
    assert not torch.equal(runs[0], runs[2])


@pytest.mark.parametrize("name", NEURAL)
def test_fit_leaves_the_global_rng_alone(name):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny(name, steps=2).fit(SINE)
    assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("name", NEURAL)
def test_save_load_round_trip(name, fitted, tmp_path):
    model = get_fitted(fitted, name)
    path = tmp_path / f"{name}.pt"
    model.save(path)
    for loaded in (Forecaster.load(path), forecaster_class(name).load(path)):
        assert type(loaded) is type(model) and loaded.hyperparams() == model.hyperparams()
        assert torch.equal(loaded.predict(CONTEXT, 9), model.predict(CONTEXT, 9))
        assert torch.equal(loaded.losses_, model.losses_)


@pytest.mark.parametrize("name", NEURAL)
def test_state_dict_round_trip(name, fitted):
    model = get_fitted(fitted, name)
    fresh = tiny(name)
    fresh.load_state_dict(model.state_dict())
    assert torch.equal(fresh.predict(CONTEXT, 9), model.predict(CONTEXT, 9))
    with pytest.raises(InvalidInputError, match="weights_"):
        tiny(name).load_state_dict({k: v for k, v in model.state_dict().items() if k != "weights_"})


@pytest.mark.parametrize("name", NEURAL)
def test_bad_inputs_are_named(name, fitted):
    model = get_fitted(fitted, name)
    with pytest.raises(NotFittedError):
        tiny(name).predict(CONTEXT, 3)
    with pytest.raises(InvalidInputError, match="coordinates"):
        model.predict(torch.zeros(1, 50, 3, dtype=torch.float64), 3)
    with pytest.raises(InvalidInputError, match="horizon"):
        model.predict(CONTEXT, 0)
    with pytest.raises(InvalidInputError, match="steps"):
        get_forecaster(name, steps=0).fit(SINE)
    with pytest.raises(InvalidInputError, match="series"):
        tiny(name).fit(SINE[:3])  # shorter than one training window


@pytest.mark.parametrize("name", [n for n in NEURAL if "lookback" in forecaster_class(n).hyperparam_names()])
def test_short_context_is_refused(name, fitted):
    model = get_fitted(fitted, name)
    with pytest.raises(InvalidInputError, match="lookback"):
        model.predict(CONTEXT[-(model.lookback - 1):], 3)


@pytest.mark.parametrize("name", NEURAL)
def test_to_device_and_back(name, fitted):
    model = get_fitted(fitted, name)
    before = model.predict(CONTEXT, 5)
    assert torch.equal(model.to("cpu").predict(CONTEXT, 5), before)


# ----------------------------------------------------------------------------- neural ODE
def test_training_solver_matches_our_integrator():
    """rk_solve (differentiable, used in training) and chaosdata.integrate (used to forecast)
    step the same tableau: on one field they agree to rounding."""
    torch.manual_seed(0)
    field = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    y0 = torch.randn(4, 3, dtype=torch.float64)
    tab = fixed_step_tableau("rk4")
    with torch.no_grad():
        ours = rk_solve(field, y0, 6, 3, tab)
        theirs = integrate(lambda t, y: field(y), y0, torch.arange(7, dtype=torch.float64),
                           SolverSettings(method="rk4", fixed_step=1 / 3)).y
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-12)


def test_rk_solve_is_fourth_order():
    """dy/ds = -y: halving the step cuts RK4's error about 16-fold."""
    y0 = torch.ones(1, 1, dtype=torch.float64)
    exact = torch.exp(torch.tensor(-4.0, dtype=torch.float64))
    errors = [float((rk_solve(lambda y: -y, y0, 4, n, fixed_step_tableau("rk4"))[0, -1, 0] - exact).abs())
              for n in (8, 16)]
    assert 15 < errors[0] / errors[1] < 18  # 16.9 measured; order 3 would give 8, order 5 32


def test_neural_ode_gradients_flow_through_the_solver():
    model = tiny("neural_ode", steps=1)
    net = model.build(2).double()
    batch = SINE[None, :5].expand(3, -1, -1)
    model.loss(net, batch).backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in net.parameters())


@pytest.mark.parametrize("time_scale", [1.0, 5.0])
def test_neural_ode_vector_field_in_data_units(time_scale):
    """Integrating `vector_field` over physical time with dt reproduces predict, whatever the
    field's unit of time (`time_scale` samples)."""
    model = tiny("neural_ode", steps=50, time_scale=time_scale).fit(SINE * 3 + 1, dt=0.1)
    context = (SINE * 3 + 1)[100:150]
    pred = model.predict(context, 10)[0]
    t = 0.1 * torch.arange(11, dtype=torch.float64)
    path = integrate(model.vector_field, context[-1:], t, SolverSettings(method="rk4", fixed_step=0.1)).y[0, 1:]
    torch.testing.assert_close(path, pred, rtol=1e-4, atol=1e-4)  # the model computes in float32


def test_neural_ode_time_scale_is_the_fields_unit_of_time():
    """The same learned network read with `time_scale` 4 moves states 4x slower: its field in data
    units is a quarter, and `time_scale` is the neural ODE's tuned hyperparameter (Gilpin 2023's
    time constant, on the ESN's and NVAR's grid)."""
    fast = tiny("neural_ode", steps=5).fit(SINE, dt=0.1)
    slow = tiny("neural_ode", steps=5, time_scale=4.0).fit(SINE, dt=0.1)
    slow._net = fast._net
    x = SINE[:7]
    torch.testing.assert_close(slow.vector_field(None, x), fast.vector_field(None, x) / 4)
    assert grid_for("neural_ode", {}) == {"time_scale": TIME_SCALES}
    with pytest.raises(InvalidInputError, match="time_scale"):
        tiny("neural_ode", time_scale=0.0).fit(SINE)


def test_neural_ode_refuses_an_adaptive_method():
    with pytest.raises(InvalidInputError, match="fixed-step"):
        tiny("neural_ode", method="dopri5").fit(SINE)


# ----------------------------------------------------------------------------- shPLRNN
def test_plrnn_forcing_interpolates_observed_units_only():
    net = _ShPLRNN(dim=2, latent=4, hidden=3, clipped=False)
    z = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    x = torch.tensor([[5.0, 6.0]])
    assert torch.equal(net.force(z, x, 0.25), torch.tensor([[2.0, 3.0, 3.0, 4.0]]))
    assert torch.equal(net.force(z, x, 1.0), torch.tensor([[5.0, 6.0, 3.0, 4.0]]))
    assert torch.equal(net.force(z, x, 0.0), z)


def test_plrnn_map_is_the_shallow_plrnn():
    torch.manual_seed(0)
    net = _ShPLRNN(dim=2, latent=3, hidden=5, clipped=False)
    z = torch.randn(4, 3)
    expected = net.A * z + torch.relu(z @ net.W2.T + net.h2) @ net.W1.T + net.h1
    torch.testing.assert_close(net(z), expected)
    clipped = _ShPLRNN(dim=2, latent=3, hidden=5, clipped=True)
    far = 1e6 * torch.randn(4, 3)  # the clipped map grows at most like A z far from the origin
    assert (clipped(far) - clipped.A * far).abs().max() < 1e3


def test_plrnn_teacher_forcing_one_is_one_step_error():
    """alpha = 1 with M = N: the loss is the mean one-step prediction error."""
    model = tiny("plrnn", alpha=1.0)
    torch.manual_seed(0)
    net = model.build(2)
    batch = SINE[None, :16].float()
    one_step = (net(batch[0, :-1]) - batch[0, 1:]).square().mean()
    torch.testing.assert_close(model.loss(net, batch), one_step)


def test_plrnn_latent_checks():
    with pytest.raises(InvalidInputError, match="latent"):
        tiny("plrnn", latent=1).fit(SINE)
    with pytest.raises(InvalidInputError, match="alpha"):
        tiny("plrnn", alpha=1.5).fit(SINE)
    model = tiny("plrnn", latent=4, steps=QUICK).fit(SINE)
    assert model.state_dict()["weights_"]["C"].shape == (2, 2)
    assert model.predict(CONTEXT, 4).shape == (1, 4, 2)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("name", NEURAL)
def test_fits_and_predicts_on_cuda(name):
    model = tiny(name).to("cuda").fit(SINE)
    pred = model.predict(CONTEXT.cuda(), FUTURE.shape[0])
    assert pred.device.type == "cuda"
    naive = (CONTEXT[-1] - FUTURE).square().mean().sqrt()
    assert (pred[0].cpu() - FUTURE).square().mean().sqrt() < 0.1 * naive
