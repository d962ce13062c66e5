"""Any darts model behind the forecaster interface, by name: `get_forecaster("darts:NBEATSModel")`.

darts (`pip install 'chaosdata[darts]'`) holds the implementations Gilpin 2023 benchmarked.
`darts:<Model>` builds, on first use, a forecaster class whose hyperparameters are the darts
model's constructor arguments (for its torch models, also those of `TorchForecastingModel`:
`n_epochs`, `batch_size`, `random_state`, `pl_trainer_kwargs`, ...), with defaults from darts
except `DEFAULTS` (arguments darts requires, a seed, a quiet CPU trainer). Names are matched
without regard to case; the registry keeps them in lower case (`darts:nbeatsmodel`).

Series become `TimeSeries` of their `[time, dim]` values (time index 0, 1, ...). Global models
(neural, regression) fit on all training series and forecast from any context. Local models
(ARIMA, Theta, ...) forecast from the end of the series they were fitted on, so `predict` takes
only that series' context (the benchmark fits on each context, so this holds there); those
that take one coordinate are fitted per coordinate (channel-independent). Their tuning grids
are in `chaosdata.benchmark.tuning` (`darts_grid`).
"""

from __future__ import annotations

import copy
import inspect
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.baselines.base import Forecaster, register, register_family
from chaosdata.errors import ChaosdataError, InvalidInputError, suggest

INSTALL = "pip install 'chaosdata[darts]'"
# settings of ours where darts has none or needs one: short windows, a seed, a quiet CPU trainer
DEFAULTS: dict[str, Any] = {
    "input_chunk_length": 25, "output_chunk_length": 1, "lags": 10, "random_state": 0, "n_epochs": 20,
    "season_length": 1,  # TBATS requires it: no seasonal period unless given (gilpin2023: 100 points per period)
    "pl_trainer_kwargs": {"accelerator": "cpu", "enable_progress_bar": False, "enable_model_summary": False,
                          "logger": False, "enable_checkpointing": False},
}


# darts arguments that are not a model's settings: `work_dir` (where darts would write logs and checkpoints,
# which DEFAULTS turn off) defaults to the working directory at import, so as a setting it put the directory a run
# started in into the results' key: the same model run from two folders read as two settings, and a rerun from
# another folder fitted everything again
NOT_SETTINGS = frozenset({"work_dir"})


class MissingDependencyError(ChaosdataError, ImportError):
    """An optional package a forecaster needs is not installed (the message names the extra)."""


def _darts_models() -> Any:
    try:
        import darts.models
    except ImportError:
        raise MissingDependencyError(f"darts forecasters need darts, which is not installed: {INSTALL}") from None
    return darts.models


def _darts_class(name: str) -> type[Any]:
    """The darts model class called `name` (any case), or a one-line error naming the fix."""
    models = _darts_models()
    from darts.models.forecasting.forecasting_model import ForecastingModel
    from darts.utils.utils import NotImportedModule

    known = {n.lower(): n for n in dir(models)
             if isinstance(getattr(models, n), NotImportedModule)
             or (isinstance(getattr(models, n), type) and issubclass(getattr(models, n), ForecastingModel))}
    exact = known.get(name.lower())
    if exact is None:
        raise InvalidInputError(f"unknown darts model {name!r} (in --models darts:{name}).{suggest(name, known.values())} "
                                "See darts.models for the names")
    match getattr(models, exact):  # darts holds a placeholder where a model's dependency is missing
        case NotImportedModule(error_message=message):
            raise MissingDependencyError(f"darts:{exact}: {message.split('.')[0]}; {INSTALL} (its darts extra brings "
                                         "statsforecast for AutoARIMA and TBATS, xgboost-cpu for XGBModel)")
        case cls:
            return cls



def _hyperparameters(darts_cls: type[Any]) -> list[inspect.Parameter]:
    """The darts constructor's named arguments (and `TorchForecastingModel`'s for torch models),
    as keyword-only parameters with our defaults where `DEFAULTS` has one; less `NOT_SETTINGS`."""
    sources = [darts_cls]
    try:
        from darts.models.forecasting.torch_forecasting_model import TorchForecastingModel
    except ImportError:
        TorchForecastingModel = None
    if TorchForecastingModel is not None and issubclass(darts_cls, TorchForecastingModel):
        sources.append(TorchForecastingModel)
    wrapped = _statsforecast_class(darts_cls)
    if wrapped is not None:
        sources.append(wrapped)
    params: dict[str, inspect.Parameter] = {}
    for source in sources:
        for p in inspect.signature(source.__init__).parameters.values():
            if p.name == "self" or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in params \
                    or p.name in NOT_SETTINGS:
                continue
            default = copy.deepcopy(DEFAULTS.get(p.name, p.default))
            if default is inspect.Parameter.empty:
                default = None
            params[p.name] = inspect.Parameter(p.name, inspect.Parameter.KEYWORD_ONLY, default=default)
    return list(params.values())


def _statsforecast_class(darts_cls: type[Any]) -> type[Any] | None:
    """The statsforecast model a darts wrapper (`darts.models.forecasting.sf_*`: TBATS,
    AutoARIMA, ...) passes its `*args, **kwargs` to, where it has the same name: its arguments
    (TBATS's `season_length`) are then hyperparameters here too."""
    if not darts_cls.__module__.startswith("darts.models.forecasting.sf_"):
        return None
    import statsforecast.models

    wrapped = getattr(statsforecast.models, darts_cls.__name__, None)
    return wrapped if isinstance(wrapped, type) else None


class DartsForecaster(Forecaster):
    """Base of the generated `darts:<Model>` classes (`darts_name` set on each)."""

    darts_name = ""

    def __init__(self, **hyperparams: Any) -> None:
        for p in _hyperparameters(_darts_class(self.darts_name)):
            setattr(self, p.name, hyperparams.pop(p.name, p.default))
        if hyperparams:
            raise InvalidInputError(f"darts:{self.darts_name} has no hyperparameter(s) {sorted(hyperparams)}")

    def _new_model(self, values: np.ndarray | None = None) -> Any:
        """A fresh darts model of these settings; given the `values` it will be fitted on, with
        the seasonality those values allow (`_seasonality_for`)."""
        cls = _darts_class(self.darts_name)
        accepted = set(inspect.signature(cls.__init__).parameters)
        has_kwargs = any(p.kind == p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())
        settings = {k: v for k, v in self.hyperparams().items() if has_kwargs or k in accepted}
        if values is not None:
            settings = _seasonality_for(settings, values)
        return cls(**{k: v for k, v in settings.items() if v is not None or k in accepted})

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        from darts import TimeSeries

        probe = self._new_model()
        self.local_ = _is_local(probe)
        if self.local_ and len(series) != 1:
            raise InvalidInputError(f"darts:{self.darts_name} is a local model: fit it on one series, got {len(series)}")
        per_channel = not probe.supports_multivariate
        values = [s.numpy() for s in series]
        if per_channel:
            self.models_ = []
            for c in range(values[0].shape[1]):
                column = values[0][:, c: c + 1]
                model = self._new_model(column)
                model.fit(TimeSeries.from_values(column))
                self.models_.append(model)
        else:
            ts = [TimeSeries.from_values(v) for v in values]
            probe.fit(ts if len(ts) > 1 else ts[0])
            self.models_ = [probe]
        self.last_ = series[-1][-1].clone()

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        from darts import TimeSeries

        if self.local_:
            if context.shape[0] != 1 or not torch.equal(context[0, -1], self.last_.to(context)):
                raise InvalidInputError(f"darts:{self.darts_name} is a local model: it forecasts from the end of the "
                                        "series it was fitted on; fit it on this context first")
            cols = [m.predict(horizon).values() for m in self.models_]
            return torch.from_numpy(np.concatenate(cols, axis=1)).to(torch.float64)[None]
        ts = [TimeSeries.from_values(c.cpu().numpy()) for c in context]
        out = self.models_[0].predict(horizon, series=ts)
        return torch.from_numpy(np.stack([o.values() for o in out])).to(torch.float64)

    def save(self, path: Any) -> None:
        raise InvalidInputError(f"darts:{self.darts_name} is saved with darts: forecaster.models_[0].save(path)")


def _seasonality_for(settings: dict[str, Any], values: np.ndarray) -> dict[str, Any]:
    """`settings` with additive seasonality in place of multiplicative where `values` are not all
    positive. Multiplicative seasonality (darts' default for Theta and FourTheta) divides the series
    by its seasonal component, which statsmodels refuses for values <= 0, as most coordinates of a
    chaotic flow have; adding the component is what a user sets there (`season_mode=ADDITIVE`),
    and matches darts' own fallback to an additive trend model on such series. Positive series,
    and a mode the user set to additive or none, are left as they are."""
    from darts.utils.utils import SeasonalityMode

    if settings.get("season_mode") is SeasonalityMode.MULTIPLICATIVE and bool((values <= 0).any()):
        return {**settings, "season_mode": SeasonalityMode.ADDITIVE}
    return settings


def _is_local(model: Any) -> bool:
    from darts.models.forecasting.forecasting_model import GlobalForecastingModel

    return not isinstance(model, GlobalForecastingModel)


def make_darts_class(name: str) -> type[Forecaster]:
    """The forecaster class of darts model `name`, registered as `darts:<name>` on first use."""
    cls = _darts_class(name)
    key = f"darts:{cls.__name__}".lower()  # forecaster_class finds it registered from then on
    params = _hyperparameters(cls)

    def __init__(self: DartsForecaster, **hyperparams: Any) -> None:
        DartsForecaster.__init__(self, **hyperparams)

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature([self_param, *params])  # type: ignore[attr-defined]
    made = type(f"Darts{cls.__name__}", (DartsForecaster,), {"__init__": __init__, "darts_name": cls.__name__,
                                                            "__doc__": f"darts' {cls.__name__} (see darts.models)."})
    return register(key)(made)


register_family("darts", make_darts_class)

