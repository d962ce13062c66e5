"""darts models behind the forecaster interface: behaviour specific to the adapter
(`chaosdata/baselines/darts_models.py`). Skipped where darts is absent."""

from __future__ import annotations

import pytest
import torch

from chaosdata.baselines import get_forecaster
from chaosdata.errors import InvalidInputError
from chaosdata.integrate import Sampling
from chaosdata.integrate.trajectories import make_trajectories

pytest.importorskip("darts")


@pytest.fixture(scope="module")
def lorenz_1000():
    """One Lorenz trajectory at 100 points per period, as the gilpin2023 protocol fits on:
    x and y change sign, z stays positive."""
    return make_trajectories("Lorenz", 1000, pts_per_period=100, sampling=Sampling(n_ics=1, seed=0)).x[0]


@pytest.mark.parametrize("name", ["darts:Theta", "darts:FourTheta"])
def test_theta_models_forecast_series_with_negative_values(name, lorenz_1000):
    """Their default multiplicative seasonality raised ValueError on any coordinate <= 0."""
    pred = get_forecaster(name).fit_predict_each(lorenz_1000[None], 50)
    assert pred.shape == (1, 50, 3) and torch.isfinite(pred).all()


@pytest.mark.parametrize("name", ["darts:Theta", "darts:FourTheta"])
def test_seasonality_is_additive_only_where_a_coordinate_is_not_positive(name, lorenz_1000):
    from darts.utils.utils import SeasonalityMode

    assert (lorenz_1000[:, :2] <= 0).any() and (lorenz_1000[:, 2] > 0).all()
    fitted = get_forecaster(name).fit(lorenz_1000)
    modes = [m.season_mode for m in fitted.models_]
    assert modes == [SeasonalityMode.ADDITIVE, SeasonalityMode.ADDITIVE, SeasonalityMode.MULTIPLICATIVE]
    chosen = get_forecaster(name, season_mode=SeasonalityMode.NONE).fit(lorenz_1000)
    assert [m.season_mode for m in chosen.models_] == [SeasonalityMode.NONE] * 3  # a user's choice stands


def test_a_darts_model_whose_package_is_missing_names_the_extra(monkeypatch):
    """As where statsforecast is absent (darts then exports TBATS as a NotImportedModule): the
    test in test_baselines.py that checks this on XGBModel skips where xgboost is installed."""
    import darts.models
    from darts.utils.utils import NotImportedModule

    from chaosdata.errors import ChaosdataError

    monkeypatch.setattr(darts.models, "TBATS", NotImportedModule("StatsForecast", warn=False))
    with pytest.raises(ChaosdataError, match=r"darts:TBATS: The `StatsForecast` module could not be imported; "
                                             r"pip install 'chaosdata\[darts\]' \(its darts extra brings statsforecast"):
        get_forecaster("darts:TBATS")


def test_tbats_runs_by_name_without_a_season_length():
    """darts requires `season_length`; by name it failed with a TypeError at fit time."""
    pytest.importorskip("statsforecast")
    x = make_trajectories("Lorenz", 120, pts_per_period=20, sampling=Sampling(n_ics=1, seed=0)).x
    pred = get_forecaster("darts:TBATS").fit_predict_each(x[:, :100], 5)
    assert pred.shape == (1, 5, 3) and torch.isfinite(pred).all()


@pytest.mark.parametrize("name", ["darts:NBEATSModel", "darts:TransformerModel", "darts:RNNModel"])
def test_a_torch_models_settings_do_not_hold_the_working_directory(name):
    """darts' `work_dir` defaults to the directory darts was imported in: as a setting it went into the results'
    key, so the same model run from two folders was two entries and a rerun from elsewhere fitted all again."""
    import os

    settings = get_forecaster(name).hyperparams()
    assert "work_dir" not in settings
    assert not any(os.getcwd() in repr(value) for value in settings.values())
    with pytest.raises(InvalidInputError, match="work_dir"):
        get_forecaster(name, work_dir="/tmp/elsewhere")
