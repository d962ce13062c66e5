"""Per-system tuning of a forecaster's hyperparameters on a training trajectory (Gilpin 2023).

The grids are data (`GRIDS`): each model's hyperparameters and the values tried, after the
protocol of Gilpin 2023 (dysts `benchmarks/`, before September 2024): input length
{5, 10, 25, 50, 100} with one output step for the window models, lags {3, 5, 10, 25} for the
regression-type models, and a time scale in {2, 5, 15, 30, 60, 120} steps for the ESN (leak
rate = 1 / time scale), NVAR (the delay between its taps, `s`) and the neural ODE (the unit of
time its field is learned in, `time_scale`; our reading of the paper's "time constant"). darts models (`darts:<Model>`)
get the input-length grid when they take `input_chunk_length` (its torch models, with one
output step) and the lags grid when they take `lags` (its regression models). A model without a grid
runs as given. A user's `--params` fix a hyperparameter: it is then not tuned.

`tune` fits each candidate on the first points of the training trajectory and scores the
sMAPE (0-200) of its forecast of the last `horizon` points; the lowest wins (the first in grid
order on a tie). A candidate that fails (a lag longer than the data, a singular fit) scores
infinity; when all fail, the last error is raised.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor

from chaosdata.baselines import forecaster_class, get_forecaster
from chaosdata.errors import ChaosdataError
from chaosdata.metrics import smape

INPUT_LENGTHS = (5, 10, 25, 50, 100)
LAGS = (3, 5, 10, 25)
TIME_SCALES = (2, 5, 15, 30, 60, 120)

GRIDS: dict[str, dict[str, tuple[Any, ...]]] = {
    "mlp": {"lookback": INPUT_LENGTHS, "out_steps": (1,)},
    "nbeats": {"lookback": INPUT_LENGTHS, "out_steps": (1,)},
    "patchtst": {"lookback": INPUT_LENGTHS, "out_steps": (1,)},
    "gru": {"seq_len": INPUT_LENGTHS},
    "linear": {"lags": LAGS},
    "esn": {"leak": tuple(1.0 / t for t in TIME_SCALES)},
    "nvar": {"s": TIME_SCALES},
    "neural_ode": {"time_scale": TIME_SCALES},
}
# what a candidate may raise on data it cannot handle (scored as infinity)
CANDIDATE_ERRORS = (ChaosdataError, RuntimeError, ValueError, torch.linalg.LinAlgError)


def grid_for(model: str, fixed: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The grid of `model` (a registered name) less the hyperparameters `fixed` by the user."""
    cls = forecaster_class(model)
    grid = GRIDS.get(cls.name, {})
    if cls.name.startswith("darts:"):
        names = cls.hyperparam_names()
        if "input_chunk_length" in names:  # one output step, where the model has the setting (RNNModel has not)
            grid = {"input_chunk_length": INPUT_LENGTHS,
                    **({"output_chunk_length": (1,)} if "output_chunk_length" in names else {})}
        elif "lags" in names:
            grid = {"lags": LAGS}
    return {k: v for k, v in grid.items() if k not in fixed}


def candidates(settings: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of `grid` over `settings`, in grid order (`[settings]` for an empty grid)."""
    keys = list(grid)
    return [{**settings, **dict(zip(keys, values, strict=True))} for values in itertools.product(*grid.values())]


def tune(model: str, settings: Mapping[str, Any], grid: Mapping[str, Sequence[Any]], train: Tensor, horizon: int,
         *, dt: float, system: str, device: str = "cpu") -> tuple[dict[str, Any], float]:
    """The candidate of `grid` over `settings` whose forecast of the last `horizon` points of
    `train` (`[time, dim]`), fitted on the points before (on `device`), has the lowest sMAPE;
    returns (its settings, that sMAPE)."""
    fit_part, truth = train[:-horizon], train[-horizon:]
    best: tuple[dict[str, Any], float] | None = None
    last_error: BaseException | None = None
    for candidate in candidates(settings, grid):
        try:
            forecaster = get_forecaster(model, **candidate).to(device).fit(fit_part, dt=dt, system=system)
            pred = forecaster.predict(fit_part[None], horizon)[0, :, : truth.shape[-1]]
            err = float(smape(pred[None].to(torch.float64), truth[None])[0])
        except CANDIDATE_ERRORS as e:
            last_error, err = e, math.inf
        if not math.isfinite(err):
            continue
        if best is None or err < best[1]:
            best = (candidate, err)
    if best is None:
        if last_error is not None:
            raise last_error
        raise ChaosdataError(f"{model}: every tuning candidate forecast NaN or inf on the training trajectory")
    return best
