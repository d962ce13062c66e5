"""Chronos and Chronos-Bolt, zero-shot, by checkpoint: `get_forecaster("chronos:amazon/chronos-bolt-small")`.

`chronos:<checkpoint>` is a pretrained model from `chronos-forecasting`
(`pip install 'chaosdata[chronos]'`): `<checkpoint>` is a local folder written by
`save_pretrained` or a Hub id (amazon/chronos-t5-{tiny,mini,small,base,large},
amazon/chronos-bolt-{tiny,mini,small,base}), loaded with `BaseChronosPipeline.from_pretrained`,
which picks the pipeline its config names. Under the zero-shot protocol of Zhang & Gilpin 2025
each coordinate is forecast on its own (channel-independent: a `[batch, T, dim]` context is
`batch x dim` series) and the point forecast is one sample for Chronos (`num_samples`: the median
of that many) and the median quantile for Chronos-Bolt. Forecasts past the model's own prediction
length are rolled out by the pipeline (its warning that quality may degrade is silenced: the
protocol asks for it).

Hyperparameters: `num_samples` (Chronos only), `context_length` (None: the whole context; the
pipeline keeps at most its model's context length), `batch_size` (series per pipeline call),
`dtype` ("float32" or "bfloat16"), `seed` (of the sampling). The device is the forecaster's
(`.to("cuda")`). Pipelines are loaded once per process and (checkpoint, device, dtype).
"""

from __future__ import annotations

import json
import logging
import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.baselines.base import Forecaster, hyperparameters, register, register_family
from chaosdata.baselines.darts_models import MissingDependencyError
from chaosdata.baselines.zeroshot import ZeroShotForecaster
from chaosdata.errors import ChaosdataError, InvalidInputError

INSTALL = "pip install 'chaosdata[chronos]'"
PIPELINES = ("ChronosPipeline", "ChronosBoltPipeline")  # what the config's chronos_pipeline_class may name
DTYPES = (torch.float32, torch.bfloat16)
EXAMPLE = "amazon/chronos-bolt-small"
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")


def _chronos() -> Any:
    try:
        import chronos
    except ImportError:
        raise MissingDependencyError(f"chronos:<checkpoint> models need chronos-forecasting, which is not "
                                     f"installed: {INSTALL}") from None
    return chronos


def check_checkpoint(checkpoint: str) -> None:
    """A local folder must hold a Chronos or Chronos-Bolt config; a name that is no folder must
    read as a Hub id (found when loaded). Else a one-line error naming the fix."""
    where = f"chronos:{checkpoint}"
    if not checkpoint.strip():
        raise InvalidInputError(f"{where}: no checkpoint named; write chronos:<folder or Hub id>, e.g. chronos:{EXAMPLE}")
    path = Path(checkpoint).expanduser()
    if not path.is_dir():
        if path.exists() or not _HUB_ID.match(checkpoint):
            raise InvalidInputError(f"{where}: no folder {checkpoint!r}; give a folder written by save_pretrained "
                                    f"or a Hub id such as {EXAMPLE}")
        return
    config = path / "config.json"
    fix = f"give a Chronos or Chronos-Bolt checkpoint folder (config.json with chronos_config) or a Hub id such as {EXAMPLE}"
    try:
        data = json.loads(config.read_text())
    except FileNotFoundError:
        raise InvalidInputError(f"{where}: the folder has no config.json, so it is not a saved model; {fix}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InvalidInputError(f"{where}: {config} is not JSON ({err}); {fix}") from None
    match data:
        case {"chronos_config": _}:
            pipeline = data.get("chronos_pipeline_class", "ChronosPipeline")
        case _:
            kind = data.get("model_type", "unknown") if isinstance(data, dict) else "unknown"
            raise InvalidInputError(f"{where}: {config} has no chronos_config, so it is not a Chronos model "
                                    f"(model_type {kind!r}); {fix}")
    if pipeline not in PIPELINES:
        raise InvalidInputError(f"{where}: its pipeline is {pipeline}; only {' and '.join(PIPELINES)} forecast one "
                                f"coordinate at a time as the zero-shot protocol does; {fix}")


@lru_cache(maxsize=4)
def load_pipeline(checkpoint: str, device: str, dtype: str) -> Any:
    """The pipeline of `checkpoint` on `device` in `dtype` (loaded once per process)."""
    chronos = _chronos()
    torch_dtype = validate.dtype(dtype, f"chronos:{checkpoint}: dtype", DTYPES)
    try:
        return chronos.BaseChronosPipeline.from_pretrained(checkpoint, device_map=device, dtype=torch_dtype)
    except OSError as err:  # no such Hub repository, or no network and nothing in the cache
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise ChaosdataError(f"chronos:{checkpoint}: could not load the checkpoint ({first}); download it where "
                             f"the Hub can be reached (`hf download {checkpoint}`) or give its local folder") from None


@dataclass(frozen=True)
class ChronosPredictor:
    """Channel-independent point forecasts of a Chronos pipeline (see the module docstring)."""

    checkpoint: str
    device: torch.device
    num_samples: int = 1
    batch_size: int = 256
    dtype: str = "float32"
    seed: int = 0

    def predict(self, context: Tensor, horizon: int) -> Tensor:
        """`context` `[batch, T, dim]` -> `[batch, horizon, dim]` float64, on the CPU."""
        validate.count(self.num_samples, "num_samples")
        validate.count(self.batch_size, "batch_size")
        pipeline = load_pipeline(self.checkpoint, str(self.device), self.dtype)
        sampling = type(pipeline).__name__ == "ChronosPipeline"
        b, t, d = context.shape
        series = context.permute(0, 2, 1).reshape(b * d, t).to("cpu", torch.float32)
        kw = {"num_samples": self.num_samples} if sampling else {}
        out = []
        devices = [self.device] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices), warnings.catch_warnings(), _quiet("chronos"):
            warnings.filterwarnings("ignore", message="We recommend keeping prediction length")
            torch.manual_seed(self.seed)
            for chunk in series.split(self.batch_size):
                quantiles, _ = pipeline.predict_quantiles(chunk, prediction_length=horizon, quantile_levels=[0.5], **kw)
                out.append(quantiles[..., 0])
        return torch.cat(out).reshape(b, d, horizon).permute(0, 2, 1).to(torch.float64)


class _quiet:
    """Silence a logger below ERROR inside a `with` block."""

    def __init__(self, name: str) -> None:
        self.logger = logging.getLogger(name)

    def __enter__(self) -> None:
        self.level = self.logger.level
        self.logger.setLevel(logging.ERROR)

    def __exit__(self, *exc: object) -> None:
        self.logger.setLevel(self.level)


@hyperparameters
class ChronosForecaster(ZeroShotForecaster):
    """Base of the `chronos:<checkpoint>` classes (`checkpoint` set on each)."""

    checkpoint = ""

    num_samples: int = 1
    context_length: int | None = None
    batch_size: int = 256
    dtype: str = "float32"
    seed: int = 0

    def predictor(self) -> ChronosPredictor:
        return ChronosPredictor(self.checkpoint, self.device, self.num_samples, self.batch_size, self.dtype, self.seed)


def make_chronos_class(checkpoint: str) -> type[Forecaster]:
    """The forecaster class of `checkpoint`, registered as `chronos:<checkpoint>` on first use."""
    _chronos()
    check_checkpoint(checkpoint)
    made = type(f"Chronos[{checkpoint}]", (ChronosForecaster,), {
        "checkpoint": checkpoint, "__doc__": f"Chronos checkpoint {checkpoint}, zero-shot."})
    return register(f"chronos:{checkpoint}", keep_case=True)(made)


register_family("chronos", make_chronos_class)
