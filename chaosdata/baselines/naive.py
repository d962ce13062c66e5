"""Naive forecasters: the last value, the training mean, and the last dominant period repeated.

They learn (almost) nothing and so set the floor every other model must beat; dysts 2021
reports the naive mean at a median sMAPE of 148.9 over its systems.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from chaosdata.baselines.base import Forecaster, check_context, hyperparameters, register


@register("naive")
class LastValue(Forecaster):
    """Persistence: every future step equals the last context state."""

    def __init__(self) -> None:
        pass

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        self.dim_ = series[0].shape[-1]

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        return context[:, -1:].expand(-1, horizon, -1).clone()

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        contexts = check_context(contexts, horizon)
        return contexts[:, -1:].expand(-1, horizon, -1).clone()


@register("mean")
class Mean(Forecaster):
    """The per-coordinate mean of the training series (all time steps pooled), held constant."""

    def __init__(self) -> None:
        pass

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        self.mean_ = torch.cat(series).mean(0).to(self.device)

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        return self.mean_.expand(context.shape[0], horizon, -1).clone()

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        contexts = check_context(contexts, horizon)
        mean = contexts.to(torch.float64).mean(1, keepdim=True)
        return mean.expand(-1, horizon, -1).to(contexts.dtype).clone()


def dominant_period(series: list[Tensor], max_period: int | None = None) -> int:
    """The dominant period in steps: the peak of the power spectrum summed over coordinates and
    series (means removed), skipping the zero frequency; at least 1, at most `max_period` steps."""
    n = min(s.shape[0] for s in series)
    power = sum(torch.fft.rfft(s[-n:] - s[-n:].mean(0), dim=0).abs().pow(2).sum(-1) for s in series)
    if power.numel() < 2:
        return 1
    k = int(power[1:].argmax()) + 1
    period = max(1, round(n / k))
    return min(period, max_period) if max_period else period


@register("seasonal")
@hyperparameters
class Seasonal(Forecaster):
    """Seasonal naive: repeat the last `period` context steps, `period` being the dominant
    period of the training series (in steps, found from its power spectrum) unless given."""

    period: int | None = None

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        self.period_ = int(self.period) if self.period else dominant_period(series)

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        p = min(self.period_, context.shape[1])  # a shorter context repeats what it has
        idx = torch.arange(horizon, device=context.device) % p
        return context[:, -p:][:, idx]
