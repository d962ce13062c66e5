"""Forecasters with one fit/predict/save interface, found by name.

`get_forecaster("nvar", k=2)` builds one; `list_forecasters()` names them all. Importing this
package registers every module's forecasters (the classical ones here, the neural ones when
their modules are present).
"""

from __future__ import annotations

import importlib

from chaosdata.baselines.base import Forecaster, NotFittedError, forecaster_class, get_forecaster, list_forecasters, register
from chaosdata.baselines.zeroshot import Predictor, ZeroShotForecaster, register_predictor

_MODULES = ("naive", "linear", "nvar", "esn", "oracle", "neural", "node", "dsr", "darts_models",
            "chronos_models")

for _module in _MODULES:
    try:
        importlib.import_module(f"chaosdata.baselines.{_module}")
    except ModuleNotFoundError as _err:  # a module not written yet; a missing dependency inside one still raises
        if _err.name != f"chaosdata.baselines.{_module}":
            raise

__all__ = ["Forecaster", "NotFittedError", "Predictor", "ZeroShotForecaster", "forecaster_class", "get_forecaster",
           "list_forecasters", "register", "register_predictor"]
