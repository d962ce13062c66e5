"""Forecasters: one interface table over the whole registry, a tiny problem each classical model
must fit, NVAR's Lorenz figure (Gauthier et al. 2021), and the oracle's logarithmic horizon."""

from __future__ import annotations

import csv
import importlib.util
import math
import sys

import pytest
import torch

import chaosdata
from chaosdata import Sampling, SolverSettings
from chaosdata.baselines import Forecaster, NotFittedError, forecaster_class, get_forecaster, list_forecasters
from chaosdata.baselines.linear import delay_vectors
from chaosdata.baselines.nvar import n_features, polynomial_features
from chaosdata.errors import ChaosdataError, InvalidInputError
from chaosdata.metrics.valid_time import valid_prediction_time

CLASSICAL_MODULES = {f"chaosdata.baselines.{m}" for m in ("naive", "linear", "nvar", "esn", "oracle")}
CLASSICAL = [n for n in list_forecasters() if forecaster_class(n).__module__ in CLASSICAL_MODULES]
# settings that keep every registered model's fit short in the interface table (applied where the
# hyperparameter exists): neural models train a few steps only there
QUICK = {"steps": 3, "epochs": 1}
LORENZ_DT = 0.01


def periodic(n: int = 240, period: int = 20) -> torch.Tensor:
    """A 2-d periodic series `[n, 2]`: two harmonics of one period, offset from zero."""
    t = torch.arange(n, dtype=torch.float64) * (2 * math.pi / period)
    return torch.stack([torch.sin(t) + 0.3 * torch.sin(2 * t), 0.5 * torch.cos(t) + 1.0], dim=-1)


@pytest.fixture(scope="module")
def lorenz_short() -> torch.Tensor:
    return chaosdata.make_trajectories("Lorenz", times=torch.arange(300) * LORENZ_DT, sampling=Sampling(n_ics=2, seed=3), solver=SolverSettings(rtol=1e-10, atol=1e-10)).x


def quick(name: str) -> Forecaster:
    cls = forecaster_class(name)
    return get_forecaster(name, **{k: v for k, v in QUICK.items() if k in cls.hyperparam_names()})


def fit_quick(model: Forecaster, lorenz: torch.Tensor) -> tuple[Forecaster, torch.Tensor]:
    """Fit on a Lorenz orbit (the oracle integrates Lorenz itself); return the model and contexts."""
    model.fit(lorenz[0, :200], dt=LORENZ_DT, system="Lorenz")
    return model, lorenz[:, :200]


# --- registry ------------------------------------------------------------------------------
def test_registry_has_the_classical_models():
    assert {"naive", "mean", "seasonal", "linear", "nvar", "esn", "oracle"} <= set(CLASSICAL)


def test_unknown_name_and_hyperparameter_are_explained():
    with pytest.raises(InvalidInputError, match="Did you mean 'nvar'"):
        get_forecaster("nvarr")
    with pytest.raises(InvalidInputError, match="no hyperparameter"):
        get_forecaster("nvar", taps=3)


# --- the interface, for every registered forecaster ------------------------------------------
@pytest.mark.parametrize("name", list_forecasters())
def test_interface_shapes_dtype_and_settings(name, lorenz_short):
    model = quick(name)
    assert model.name == name
    with pytest.raises(NotFittedError):
        model.predict(lorenz_short[:, :200], 5)
    hyper = model.hyperparams()
    model, ctx = fit_quick(model, lorenz_short)
    assert model.hyperparams() == hyper  # fitting leaves settings alone
    state = model.state_dict()
    assert state and all(k.endswith("_") for k in state)
    assert not set(state) & set(hyper)
    out = model.predict(ctx.float(), 7)
    assert out.shape == (2, 7, 3) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", list_forecasters())
def test_fit_is_deterministic_and_save_load_round_trips(name, lorenz_short, tmp_path):
    a, ctx = fit_quick(quick(name), lorenz_short)
    b, _ = fit_quick(quick(name), lorenz_short)
    pa = a.predict(ctx, 6)
    assert torch.equal(pa, b.predict(ctx, 6))
    assert torch.equal(pa, a.predict(ctx, 6))  # predict never refits or mutates
    a.save(tmp_path / "m.pt")
    loaded = Forecaster.load(tmp_path / "m.pt")
    assert type(loaded) is type(a) and loaded.hyperparams() == a.hyperparams()
    assert torch.equal(loaded.predict(ctx, 6), pa)
    assert torch.equal(type(a).load(tmp_path / "m.pt").predict(ctx, 6), pa)


@pytest.mark.parametrize("name", CLASSICAL)
def test_to_device_keeps_forecasts(name, lorenz_short):
    a, ctx = fit_quick(quick(name), lorenz_short)
    assert torch.equal(a.to("cpu").predict(ctx, 4), a.predict(ctx, 4))


def test_load_rejects_another_class(tmp_path, lorenz_short):
    fit_quick(get_forecaster("mean"), lorenz_short)[0].save(tmp_path / "m.pt")
    with pytest.raises(InvalidInputError, match="holds a 'mean'"):
        forecaster_class("nvar").load(tmp_path / "m.pt")


# --- every classical model fits a tiny problem -------------------------------------------------
def constant_series() -> torch.Tensor:
    return torch.tensor([2.0, -1.0], dtype=torch.float64).expand(100, 2).clone()


# name -> (training series, max error of the continuation relative to the series' std)
TINY = {
    "naive": (constant_series, 1e-12),
    "mean": (constant_series, 1e-12),
    "seasonal": (periodic, 1e-12),
    "linear": (periodic, 1e-6),
    "nvar": (periodic, 1e-4),
    "esn": (periodic, 2e-2),
}


def test_tiny_table_covers_every_classical_model():
    assert set(TINY) | {"oracle"} == set(CLASSICAL)


@pytest.mark.parametrize("name", sorted(TINY))
def test_overfits_a_tiny_problem(name):
    make, tol = TINY[name]
    full = make()
    x = torch.cat([full, full[: len(full) // 2]])  # the true continuation (periodic)
    n_train = len(full)
    model = get_forecaster(name).fit(x[:n_train])
    pred = model.predict(x[None, :n_train], 40)[0]
    scale = x.std(0).clamp_min(1.0)
    assert ((pred - x[n_train:n_train + 40]).abs() / scale).max() < tol


def test_oracle_reproduces_its_system(lorenz_short):
    model = get_forecaster("oracle", eps=0.0).fit(None, dt=LORENZ_DT, system="Lorenz")
    pred = model.predict(lorenz_short[:, :200], 50)
    # not 1e-12: the reference's own outputs between solver steps come from the dense-output
    # interpolant, which differs from scipy's DOP853 at 1e-13 by up to ~1e-6 on this grid
    assert (pred - lorenz_short[:, 200:250]).abs().max() < 1e-4


def test_oracle_refuses_delay_equations():
    with pytest.raises(InvalidInputError, match="delay equation"):
        get_forecaster("oracle").fit(None, dt=0.1, system="MackeyGlass")


@pytest.mark.parametrize("series", [[], torch.zeros(0, 5, 3)], ids=["empty list", "stack of none"])
def test_fitting_on_no_series_says_so(series):
    with pytest.raises(InvalidInputError, match="series holds no series"):
        get_forecaster("mean").fit(series)


def test_a_series_of_four_dimensions_names_the_layouts_taken():
    with pytest.raises(InvalidInputError, match=r"series must be a tensor \[time, dim\], \[n, time, dim\] or a list"):
        get_forecaster("mean").fit(torch.zeros(2, 3, 4, 5))


# --- published figures and scaling laws ------------------------------------------------------
def test_nvar_feature_count_is_the_papers():
    assert n_features(3, 2, 2) == 28
    d = torch.randn(5, 6, dtype=torch.float64)
    assert polynomial_features(d, 2).shape == (5, 28)
    x = torch.arange(10.0).reshape(5, 2)
    assert delay_vectors(x, 2, 2)[0].tolist() == [4.0, 5.0, 0.0, 1.0]  # newest tap first


def gauthier_nrmse(n_seeds: int) -> torch.Tensor:
    """NVAR on Lorenz as in Gauthier et al. 2021: dt 0.025, 5 time units of warm-up, 10 of
    training (400 points), NRMSE over one Lyapunov time (1.104) normalized by the variance
    pooled over coordinates, one trajectory per seed."""
    from chaosdata.benchmark.reproductions import nvar_lorenz

    return nvar_lorenz(n_seeds=n_seeds, rtol=1e-10)  # data accurate far below the 1e-3 scored


def test_nvar_lorenz_figure_is_of_the_published_order():
    nrmse = gauthier_nrmse(10)
    assert nrmse.shape == (10,)
    assert 3e-4 < nrmse.median() < 1e-2, nrmse  # the paper: of order 1e-3
    assert (nrmse < 0.1).all(), nrmse


def test_oracle_vpt_grows_logarithmically_as_its_perturbation_shrinks():
    lt = chaosdata.get_system("Lorenz").invariants["lyapunov_time"]
    dt = lt / 10  # 10 points per Lyapunov time, 15 Lyapunov times of horizon
    tol = {"rtol": 1e-10, "atol": 1e-10}  # far below the smallest kick
    x = chaosdata.make_trajectories("Lorenz", times=torch.arange(180) * dt, sampling=Sampling(n_ics=4, seed=11),
                                    solver=SolverSettings(**tol)).x
    # kicks above ~1e-6: the reference's own interpolation error (see test_oracle_reproduces_its_system)
    eps = [1e-1, 1e-3, 1e-5]
    vpt = []
    for e in eps:
        oracle = get_forecaster("oracle", eps=e, **tol).fit(None, dt=dt, system="Lorenz")
        pred = oracle.predict(x[:, :30], 150)
        vpt.append(valid_prediction_time(pred, x[:, 30:], dt=dt, lyapunov_time=lt).median().item())
    gains = [b - a for a, b in zip(vpt, vpt[1:])]
    # each 100-fold smaller kick buys about ln(100) = 4.6 Lyapunov times
    assert all(2.5 < g < 8.0 for g in gains), (vpt, gains)
    slope = (vpt[-1] - vpt[0]) / math.log(eps[0] / eps[-1])  # Lyapunov times per e-fold of the kick
    assert 0.6 < slope < 1.6, (vpt, slope)


@pytest.mark.parametrize("name", CLASSICAL)
def test_fit_predict_each_equals_one_fit_per_context(name, lorenz_short):
    model = get_forecaster(name)
    ctx = lorenz_short[:, :200]
    batched = model.fit_predict_each(ctx, 30, dt=LORENZ_DT, system="Lorenz")
    looped = Forecaster.fit_predict_each(model, ctx, 30, dt=LORENZ_DT, system="Lorenz")
    assert batched.shape == (2, 30, 3)
    # batched matmuls round differently; the ESN's readout Gram matrix (300+ features, ridge
    # 1e-6) amplifies that to ~1e-6 after 30 free-running steps
    tol = 1e-5 if name == "esn" else 1e-7
    torch.testing.assert_close(batched, looped, rtol=tol, atol=tol)
    assert not model.is_fitted  # settings only: nothing learned stays on the instance


# --- darts behind the interface (skipped where darts is absent) -------------------------------
def lorenz_series(n_ics=2, n=160):
    from chaosdata.integrate.trajectories import make_trajectories

    return make_trajectories("Lorenz", n, pts_per_period=20, sampling=Sampling(n_ics=n_ics, seed=0)).x


@pytest.mark.parametrize("name, kw", [
    ("darts:LinearRegressionModel", {"lags": 5}),  # global, multivariate
    ("darts:NaiveDrift", {}),  # local, multivariate
    ("darts:FFT", {}),  # local, one coordinate: fitted per coordinate
    ("darts:NLinearModel", {"input_chunk_length": 10, "n_epochs": 1}),  # torch
])
def test_a_darts_model_forecasts_through_the_interface(name, kw):
    pytest.importorskip("darts")
    x = lorenz_series()
    f = get_forecaster(name, **kw)
    pred = f.fit_predict_each(x[:, :140], 20)
    assert pred.shape == (2, 20, 3) and pred.dtype == torch.float64 and torch.isfinite(pred).all()
    assert torch.equal(pred, get_forecaster(name, **kw).fit_predict_each(x[:, :140], 20))  # seeded


def test_darts_names_resolve_in_any_case_with_darts_arguments_as_hyperparameters():
    pytest.importorskip("darts")
    cls = forecaster_class("darts:NBEATSModel")
    assert cls is forecaster_class("DARTS:nbeatsmodel") and cls.name == "darts:nbeatsmodel"
    assert {"input_chunk_length", "output_chunk_length", "n_epochs", "random_state"} <= set(cls.hyperparam_names())
    assert cls().hyperparams()["input_chunk_length"] == 25  # darts requires it: ours by default


def test_a_global_darts_model_forecasts_any_context_a_local_one_only_its_own():
    pytest.importorskip("darts")
    x = lorenz_series()
    assert get_forecaster("darts:LinearRegressionModel", lags=5).fit(x[0]).predict(x[:, :50], 4).shape == (2, 4, 3)
    local = get_forecaster("darts:NaiveDrift").fit(x[0, :100])
    with pytest.raises(InvalidInputError, match="local model: it forecasts from the end of the series"):
        local.predict(x[1:, :100], 4)


@pytest.mark.parametrize("name, match", [
    ("darts:NBEATS", r"unknown darts model 'NBEATS' \(in --models darts:NBEATS\)\. Did you mean .*'NBEATSModel'"),
    ("darts:XGBModel", r"darts:XGBModel: The `XGBoost` module could not be imported; pip install 'chaosdata\[darts\]'"),
])
def test_bad_darts_names_are_one_line_errors(name, match):
    pytest.importorskip("darts")
    if name == "darts:XGBModel" and importlib.util.find_spec("xgboost") is not None:
        pytest.skip("xgboost is installed: XGBModel is not missing here")
    with pytest.raises(ChaosdataError, match=match) as err:
        forecaster_class(name)
    assert "\n" not in str(err.value)


def test_without_darts_a_darts_model_names_the_extra(monkeypatch):
    """As where darts is not installed: `import darts` fails."""
    for module in [m for m in sys.modules if m == "darts" or m.startswith("darts.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "darts", None)
    with pytest.raises(ChaosdataError, match=r"need darts, which is not installed: pip install 'chaosdata\[darts\]'"):
        forecaster_class("darts:SomeModelNotYetMade")


def test_darts_models_are_tuned_on_the_gilpin_grids():
    pytest.importorskip("darts")
    from chaosdata.benchmark.tuning import grid_for

    assert grid_for("darts:NBEATSModel", {}) == {"input_chunk_length": (5, 10, 25, 50, 100), "output_chunk_length": (1,)}
    assert grid_for("darts:LinearRegressionModel", {}) == {"lags": (3, 5, 10, 25)}
    assert grid_for("darts:LinearRegressionModel", {"lags": 4}) == {} and grid_for("darts:NaiveMean", {}) == {}


def test_the_benchmark_runs_darts_models_by_name(tmp_path, capsys):
    pytest.importorskip("darts")
    from chaosdata.cli import main

    args = ["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--protocol", "dysts2021-coarse",
            "--models", "darts:LinearRegressionModel,darts:NaiveMean", "--no-progress"]
    assert main(args) == 0
    with open(tmp_path / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["model"] for r in rows) == ["darts:linearregressionmodel", "darts:naivemean"]
    assert main(["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--models", "darts:NBEATS"]) == 2
    assert "unknown darts model 'NBEATS'" in capsys.readouterr().err


# --- zero-shot: Chronos checkpoints and a user's own model ----------------------------------------
def test_chronos_bolt_forecasts_each_coordinate_with_the_real_pipelines_median(tiny_chronos, lorenz_short):
    from chronos import BaseChronosPipeline

    name = f"chronos:{tiny_chronos['bolt']}"
    contexts = lorenz_short[:, :100]
    pred = get_forecaster(name).fit(contexts[0]).predict(contexts, 20)
    assert pred.shape == (2, 20, 3) and pred.dtype == torch.float64
    pipeline = BaseChronosPipeline.from_pretrained(tiny_chronos["bolt"])
    series = contexts.permute(0, 2, 1).reshape(6, 100).float()  # each coordinate a series of its own
    median, _ = pipeline.predict_quantiles(series, prediction_length=20, quantile_levels=[0.5])
    torch.testing.assert_close(pred, median[..., 0].reshape(2, 3, 20).permute(0, 2, 1).double())


def test_chronos_t5_samples_are_seeded_and_the_name_keeps_the_folders_case(tiny_chronos, lorenz_short, tmp_path):
    name = f"chronos:{tiny_chronos['t5']}"
    cls = forecaster_class(name)
    assert cls.name == name and forecaster_class(name.upper()) is cls  # kept as written, found in any case
    model = get_forecaster(name, seed=1).fit(lorenz_short[0, :100])
    a, b = model.predict(lorenz_short[:, :100], 5), model.predict(lorenz_short[:, :100], 5)
    assert a.shape == (2, 5, 3) and torch.equal(a, b)
    assert not torch.equal(a, get_forecaster(name, seed=2).fit(lorenz_short[0]).predict(lorenz_short[:, :100], 5))
    model.save(tmp_path / "m.pt")
    assert torch.equal(Forecaster.load(tmp_path / "m.pt").predict(lorenz_short[:, :100], 5), a)


def test_a_folder_that_is_not_a_chronos_model_is_a_one_line_error(tmp_path):
    pytest.importorskip("chronos")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidInputError, match=r"has no config.json, so it is not a saved model; give a Chronos"):
        forecaster_class(f"chronos:{tmp_path / 'empty'}")
    (tmp_path / "t5").mkdir()
    (tmp_path / "t5" / "config.json").write_text('{"model_type": "t5"}')
    with pytest.raises(InvalidInputError, match=r"has no chronos_config, so it is not a Chronos model \(model_type 't5'\)"):
        forecaster_class(f"chronos:{tmp_path / 't5'}")
    (tmp_path / "listed").mkdir()
    (tmp_path / "listed" / "config.json").write_text('["chronos_config"]')
    with pytest.raises(InvalidInputError, match=r"has no chronos_config, so it is not a Chronos model \(model_type 'unknown'\)"):
        forecaster_class(f"chronos:{tmp_path / 'listed'}")
    with pytest.raises(InvalidInputError, match=r"no folder .*; give a folder written by save_pretrained or a Hub id"):
        forecaster_class(f"chronos:{tmp_path / 'absent'}")


def test_without_chronos_forecasting_a_chronos_model_names_the_extra(monkeypatch):
    """As where chronos-forecasting is not installed: `import chronos` fails."""
    for module in [m for m in sys.modules if m == "chronos" or m.startswith("chronos.")]:
        monkeypatch.delitem(sys.modules, module)
    monkeypatch.setitem(sys.modules, "chronos", None)
    with pytest.raises(ChaosdataError, match=r"need chronos-forecasting, which is not installed: "
                                             r"pip install 'chaosdata\[chronos\]'"):
        forecaster_class("chronos:amazon/chronos-bolt-tiny")


def test_a_context_length_longer_than_the_data_names_the_fix(tiny_chronos, lorenz_short):
    model = get_forecaster(f"chronos:{tiny_chronos['bolt']}", context_length=150).fit(lorenz_short[0])
    with pytest.raises(InvalidInputError, match=r"context_length 150 is longer than the context given \(100 points\); "
                                                r"set context_length <= 100"):
        model.predict(lorenz_short[:, :100], 5)
    assert model.predict(lorenz_short[:, :150], 5).shape == (2, 5, 3)


def test_a_hub_checkpoint_that_cannot_be_reached_fails_at_load_naming_the_download(lorenz_short):
    pytest.importorskip("chronos")
    model = get_forecaster("chronos:amazon/chronos-bolt-tiny")  # a Hub id: checked when loaded (no network here)
    with pytest.raises(ChaosdataError, match=r"could not load the checkpoint .*hf download amazon/chronos-bolt-tiny"):
        model.fit_predict_each(lorenz_short[:, :50], 5)


class LastValue:
    """A user's own zero-shot model: any object with predict(context, horizon)."""

    def predict(self, context: torch.Tensor, horizon: int) -> torch.Tensor:
        return context[:, -1:].expand(-1, horizon, -1)


def test_a_users_own_model_plugs_in_by_name_and_runs_in_the_benchmark(tmp_path):
    from chaosdata.baselines import register_predictor
    from chaosdata.benchmark import run_benchmark
    from chaosdata.benchmark.protocols import Protocol

    tiny = Protocol(name="tiny", description="test: 2 ICs, 30 points per Lyapunov time, context 60, horizon 30",
                    n_ics=2, context=60, horizon=30, timescale="lyapunov", pts_per_step=30, transient=2.0)

    register_predictor("last-value-test", LastValue())
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    assert torch.equal(get_forecaster("last-value-test").fit(x[0]).predict(x, 4), x[:, -1:].expand(-1, 4, -1))
    run_benchmark(tiny, ["Lorenz"], ["last-value-test", "naive"], tmp_path, progress=False)
    with open(tmp_path / "results.csv", newline="") as f:
        rows = {r["model"]: r for r in csv.DictReader(f) if r["ic"] == "0"}
    assert rows["last-value-test"]["smape"] == rows["naive"]["smape"]  # the same forecast as our naive model


def test_a_user_model_of_the_wrong_shape_or_without_predict_is_refused():
    from chaosdata.baselines import register_predictor
    from chaosdata.errors import InvalidTypeError

    with pytest.raises(InvalidTypeError, match=r"must have a method predict\(context, horizon\); got int"):
        register_predictor("no-predict-test", 3)

    class Flat:
        def predict(self, context, horizon):
            return context[:, -horizon:, 0]

    register_predictor("flat-test", Flat())
    x = torch.randn(2, 30, 3, dtype=torch.float64)
    with pytest.raises(InvalidInputError, match=r"returned \(2, 4\); a zero-shot model must return a tensor"):
        get_forecaster("flat-test").fit(x[0]).predict(x, 4)
