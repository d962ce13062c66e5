"""Pointwise error metrics: each compares `pred` and `true` value by value.

All take `pred, true` of shape `[batch, time, dim]` and return one value per batch element
(`[batch]`, float64), reducing over time and dimensions together unless said otherwise. The
definitions, small constants (`eps = 1e-10` in denominators) and percentage scales follow
`dysts.metrics` (0.96), where each is equal to dysts's function applied to one `[time, dim]`
series (`tests/test_metrics.py` checks it). Argument order is ours, `(pred, true)`; dysts's is
`(y_true, y_pred)`.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.metrics._inputs import pair, per_dim_scale

EPS = 1e-10
SMAPE_SCALES = (100, 200)


def _mean(x: Tensor) -> Tensor:
    return x.mean(dim=(1, 2))


def _sum(x: Tensor) -> Tensor:
    return x.sum(dim=(1, 2))


def mse(pred: Tensor, true: Tensor) -> Tensor:
    """Mean squared error, mean over time and dims of (pred - true)^2. Units of x^2; ideal 0."""
    p, t = pair(pred, true)
    return _mean((p - t) ** 2)


def rmse(pred: Tensor, true: Tensor) -> Tensor:
    """Root mean squared error, sqrt(mse). Units of x; ideal 0."""
    return mse(pred, true).sqrt()


def mae(pred: Tensor, true: Tensor) -> Tensor:
    """Mean absolute error, mean over time and dims of |pred - true|. Units of x; ideal 0."""
    p, t = pair(pred, true)
    return _mean((p - t).abs())


def nrmse(pred: Tensor, true: Tensor, *, scale: Tensor | float | None = None, eps: float = EPS) -> Tensor:
    """Normalized RMSE: sqrt(mean over time and dims of (pred - true)^2 / (sigma_d^2 + eps)).

    sigma_d is `scale` (a number, `[dim]` or `[batch, dim]`; e.g. the attractor's standard
    deviation per coordinate) or, by default, the population standard deviation over time of
    each coordinate of `true`, as in dysts. Dimensionless; 0 is perfect, about sqrt(2) is a
    forecast uncorrelated with the truth at the attractor's spread.
    """
    p, t = pair(pred, true)
    s = per_dim_scale(scale, t)
    sigma2 = t.var(dim=1, unbiased=False, keepdim=True) if s is None else s ** 2
    return _mean((p - t) ** 2 / (sigma2 + eps)).sqrt()


def marre(pred: Tensor, true: Tensor, *, eps: float = EPS) -> Tensor:
    """Mean absolute ranged relative error: 100 * mean |pred - true| / (max(true) - min(true) + eps).

    The range is taken over all times and dims of the series together (as dysts does).
    Percent, 0-100 for errors within the range; ideal 0.
    """
    p, t = pair(pred, true)
    span = t.amax(dim=(1, 2)) - t.amin(dim=(1, 2))
    return 100 * _mean((p - t).abs()) / (span + eps)


def r2(pred: Tensor, true: Tensor) -> Tensor:
    """Coefficient of determination 1 - sum (true - pred)^2 / sum (true - mean(true))^2.

    One mean over all times and dims (dysts's `r2_score`, not a per-dimension average).
    At most 1 (perfect); 0 for the constant forecast mean(true); unbounded below.
    """
    p, t = pair(pred, true)
    centred = t - t.mean(dim=(1, 2), keepdim=True)
    return 1 - _sum((t - p) ** 2) / _sum(centred ** 2)


def rmsle(pred: Tensor, true: Tensor, *, eps: float = EPS) -> Tensor:
    """Root mean squared log error, sqrt(mean (log(1 + p') - log(1 + t'))^2).

    p' = pred - min_time(pred) + eps and t' likewise: each coordinate is first shifted by its own
    minimum over time so the logarithm is defined (dysts's convention). Dimensionless; ideal 0.
    """
    p, t = pair(pred, true)
    ps = p - p.amin(dim=1, keepdim=True) + eps
    ts = t - t.amin(dim=1, keepdim=True) + eps
    return _mean((torch.log1p(ps) - torch.log1p(ts)) ** 2).sqrt()


def smape(pred: Tensor, true: Tensor, *, scale: int = 200, eps: float = EPS) -> Tensor:
    """Symmetric mean absolute percentage error, scale * mean |p - t| / (|p| + |t| + eps).

    Scale 200 (the default here): 200 * mean |p - t| / (|p| + |t|), in [0, 200], the scale of
    the dysts 2021/2023 benchmarks, of published tables and of the VPT threshold 30 (Zhang &
    Gilpin 2025); `dysts.metrics.smape(..., scaled=False)`. Scale 100: half of it, in [0, 100],
    dysts's default since 2025 (`scaled=True`); registered as "smape_100". Symmetric in
    (pred, true) and unchanged by a common rescaling of both; ideal 0.
    """
    if scale not in SMAPE_SCALES:
        raise InvalidInputError(f"scale must be 200 (published tables) or 100 (dysts since 2025), got {scale!r}")
    p, t = pair(pred, true)
    return scale * _mean((p - t).abs() / (p.abs() + t.abs() + eps))


def mape(pred: Tensor, true: Tensor, *, eps: float = EPS) -> Tensor:
    """Mean absolute percentage error, 100 * mean |(true - pred) / (true + eps)|.

    Percent; ideal 0; unbounded and ill-posed where `true` crosses zero (most attractors do),
    which is why sMAPE is the headline metric.
    """
    p, t = pair(pred, true)
    return 100 * _mean(((t - p) / (t + eps)).abs())


def wape(pred: Tensor, true: Tensor, *, eps: float = EPS) -> Tensor:
    """Weighted absolute percentage error, 100 * sum |true - pred| / (sum |true| + eps). Percent; ideal 0."""
    p, t = pair(pred, true)
    return 100 * _sum((t - p).abs()) / (_sum(t.abs()) + eps)


def coefficient_of_variation(pred: Tensor, true: Tensor, *, eps: float = EPS) -> Tensor:
    """100 * std(true - pred) / (mean(true) + eps), std (population) and mean over all times and dims.

    dysts's definition: the spread of the residual relative to the mean level of the truth.
    Percent; ideal 0; meaningless (and sign-changing) when mean(true) is near 0.
    """
    p, t = pair(pred, true)
    resid = (t - p).flatten(1)
    return 100 * resid.std(dim=1, unbiased=False) / (t.mean(dim=(1, 2)) + eps)


def prediction_error(pred: Tensor, true: Tensor, *, n: int = 20) -> Tensor:
    """PE(n), the n-step prediction error: mean over dims of (pred - true)^2 at the n-th step.

    `pred[:, 0]` is taken as the one-step-ahead forecast, so the n-th step is time index n - 1.
    With one forecast per batch element started from different points of a test trajectory,
    the published PE(20) (Hess et al. 2023; Brenner et al. 2022) is the mean of this over the
    batch. Units of x^2; ideal 0. The horizon must hold at least `n` steps.
    """
    n = validate.count(n, "n")
    p, t = pair(pred, true)
    if t.shape[1] < n:
        raise InvalidInputError(f"prediction_error needs a horizon of at least n={n} steps, got {t.shape[1]}; lower n")
    return ((p[:, n - 1] - t[:, n - 1]) ** 2).mean(dim=1)
