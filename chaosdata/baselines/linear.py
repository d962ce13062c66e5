"""Ridge regression on delay vectors: the linear autoregression, and the machinery NVAR shares.

A model here maps the delay vector `[x_t, x_{t-s}, ..., x_{t-(k-1)s}]` (through a feature map)
to the next state, or to the increment `x_{t+1} - x_t`, by ridge regression in float64, and
forecasts by feeding its own output back. States are standardized with the training mean and
standard deviation per coordinate (unless `standardize=False`); forecasts are clamped to
`clip` training standard deviations about the training mean, so a diverging model gives
large, finite errors instead of overflowing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.baselines.base import Forecaster, check_context, hyperparameters, register
from chaosdata.errors import InvalidInputError

FeatureMap = Callable[[Tensor], Tensor]


def delay_vectors(x: Tensor, k: int, s: int) -> Tensor:
    """`x` `[..., time, dim]` -> `[..., time - (k-1)s, k*dim]`: row `t` holds
    `x[t + (k-1)s], x[t + (k-2)s], ..., x[t]` (newest first)."""
    span = (k - 1) * s
    n = x.shape[-2] - span
    return torch.cat([x[..., span - j * s: span - j * s + n, :] for j in range(k)], dim=-1)


def ridge(features: Tensor, targets: Tensor, alpha: float) -> Tensor:
    """Ridge weights `W` `[..., n_features, n_out]` minimizing `|F W - Y|^2 + alpha |W|^2`
    (float64), for `features` `[..., n, n_features]` and `targets` `[..., n, n_out]`; leading
    axes are independent problems solved together."""
    gram = features.mT @ features
    gram.diagonal(dim1=-2, dim2=-1).add_(alpha)
    rhs = features.mT @ targets
    chol, info = torch.linalg.cholesky_ex(gram)
    if bool((info == 0).all()):
        return torch.cholesky_solve(rhs, chol)
    return torch.linalg.lstsq(gram, rhs).solution  # singular (alpha = 0 with collinear features)


def context_standardizer(contexts: Tensor, enabled: bool) -> tuple[Tensor, Tensor]:
    """Per-context, per-coordinate (mean, std), each `[batch, 1, dim]` (as `standardizer` does
    for one series); (0, 1) when disabled."""
    if not enabled:
        return torch.zeros_like(contexts[:, :1]), torch.ones_like(contexts[:, :1])
    std = contexts.std(1, keepdim=True)
    return contexts.mean(1, keepdim=True), torch.where(std > 0, std, torch.ones_like(std))


def finite_contexts(contexts: Tensor) -> Tensor:
    """`contexts` in float64, refused when they hold NaN or inf (a model cannot fit on them)."""
    if not torch.isfinite(contexts).all():
        raise InvalidInputError("contexts hold NaN or inf; drop invalid trajectories before fitting")
    return contexts.to(torch.float64)


def standardizer(series: list[Tensor], enabled: bool) -> tuple[Tensor, Tensor]:
    """Per-coordinate (mean, std) of the pooled training series; (0, 1) when disabled.
    A constant coordinate gets std 1 so it is not divided by zero."""
    pooled = torch.cat(series)
    if not enabled:
        return torch.zeros(pooled.shape[-1], dtype=pooled.dtype), torch.ones(pooled.shape[-1], dtype=pooled.dtype)
    std = pooled.std(0)
    return pooled.mean(0), torch.where(std > 0, std, torch.ones_like(std))


def fit_delay_ridge(series: list[Tensor], k: int, s: int, features: FeatureMap, alpha: float,
                    increment: bool, skip: int = 0) -> Tensor:
    """Ridge weights from the features of each delay vector to the next state (or increment).
    `series` are standardized `[time, dim]`; the first `skip` usable rows of each are dropped
    (a warm-up); returns `[n_features, dim]`."""
    span = (k - 1) * s
    rows, targets = [], []
    for x in series:
        if x.shape[0] - span - 1 - skip < 1:
            raise InvalidInputError(
                f"a training series of {x.shape[0]} steps is too short for k={k}, s={s} and a warm-up of {skip}; "
                f"give at least {span + skip + 2} steps or fewer taps"
            )
        d = delay_vectors(x[:-1], k, s)[skip:]
        nxt = x[span + 1 + skip:]
        rows.append(features(d))
        targets.append(nxt - x[span + skip:-1] if increment else nxt)
    return ridge(torch.cat(rows), torch.cat(targets), alpha)


def rollout(context: Tensor, weights: Tensor, k: int, s: int, features: FeatureMap, horizon: int,
            increment: bool, bounds: tuple[Tensor, Tensor]) -> Tensor:
    """Feed the model its own output: standardized `context` `[batch, len, dim]` -> `[batch, horizon, dim]`.
    `weights` `[n_features, dim]` (one model) or `[batch, n_features, dim]` (one per row);
    each new state is clamped to `bounds` (low, high; broadcasting to `[batch, dim]`), NaN to high."""
    span = (k - 1) * s
    if context.shape[1] < span + 1:
        raise InvalidInputError(
            f"context of {context.shape[1]} steps is shorter than the {span + 1} the delay vector needs (k={k}, s={s})"
        )
    buf = context[:, -(span + 1):]
    out = []
    for _ in range(horizon):
        f = features(delay_vectors(buf, k, s)[:, -1])
        y = f @ weights if weights.ndim == 2 else (f[:, None] @ weights)[:, 0]  # one model per row
        nxt = clamp(buf[:, -1] + y if increment else y, bounds)
        out.append(nxt)
        buf = torch.cat([buf[:, 1:], nxt[:, None]], dim=1)
    return torch.stack(out, dim=1)


def clip_bounds(series_mean: Tensor, series_std: Tensor, mean: Tensor, std: Tensor, clip: float) -> tuple[Tensor, Tensor]:
    """`series_mean -/+ clip * series_std` (the data's own statistics) in the working units
    `(x - mean) / std`; all arguments broadcast."""
    return (series_mean - clip * series_std - mean) / std, (series_mean + clip * series_std - mean) / std


def clamp(x: Tensor, bounds: tuple[Tensor, Tensor]) -> Tensor:
    """`x` clamped to `bounds`; NaN (a diverged step) to the upper bound."""
    lo, hi = bounds
    x = torch.minimum(torch.maximum(x, lo), hi)
    return torch.where(torch.isnan(x), hi.expand_as(x), x)


def with_constant(d: Tensor) -> Tensor:
    """`[..., m]` -> `[..., 1 + m]`: a constant 1 then the linear terms."""
    return torch.cat([torch.ones_like(d[..., :1]), d], dim=-1)


@hyperparameters
class DelayRidge(Forecaster):
    """Shared fit/predict of ridge-on-delays models; subclasses set `taps`, `skip`, `features`.
    Shared hyperparameters: the ridge penalty (on standardized data when `standardize`), whether
    the increments are regressed rather than the next state, and the forecast's clip (in stds)."""

    ridge: float = 1e-6
    increment: bool = False
    standardize: bool = True
    clip: float = 20.0

    def taps(self) -> tuple[int, int]:
        raise NotImplementedError

    def features(self, d: Tensor) -> Tensor:
        raise NotImplementedError

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        k, s = self.taps()
        series = [x.to(self.device) for x in series]
        mean, std = standardizer(series, self.standardize)
        z = [(x - mean) / std for x in series]
        self.weights_ = fit_delay_ridge(z, k, s, self.features, float(self.ridge), self.increment)
        self.mean_, self.std_ = mean, std
        self.bounds_ = torch.stack(clip_bounds(*standardizer(series, True), mean, std, float(self.clip)))

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        k, s = self.taps()
        z = (context - self.mean_) / self.std_
        out = rollout(z, self.weights_, k, s, self.features, horizon, self.increment, tuple(self.bounds_))
        return out * self.std_ + self.mean_

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        """One ridge model per context, all solved and rolled out together (batched)."""
        contexts = check_context(contexts, horizon)
        k, s = self.taps()
        x = finite_contexts(contexts).to(self.device)
        mean, std = context_standardizer(x, self.standardize)
        z = (x - mean) / std
        span = (k - 1) * s
        if z.shape[1] - span - 1 < 1:
            raise InvalidInputError(
                f"contexts of {z.shape[1]} steps are too short for k={k}, s={s}; give at least {span + 2} steps"
            )
        nxt = z[:, span + 1:]
        targets = nxt - z[:, span:-1] if self.increment else nxt
        weights = ridge(self.features(delay_vectors(z[:, :-1], k, s)), targets, float(self.ridge))
        bounds = clip_bounds(*context_standardizer(x, True), mean, std, float(self.clip))
        out = rollout(z, weights, k, s, self.features, horizon, self.increment, (bounds[0][:, 0], bounds[1][:, 0]))
        return (out * std + mean).to(contexts.device, contexts.dtype)


@register("linear")
@hyperparameters
class LinearAR(DelayRidge):
    """Linear autoregression: the next state as an affine function of the last `lags` states,
    fitted by ridge regression (`ridge` is the penalty on standardized data)."""

    lags: int = 8

    def taps(self) -> tuple[int, int]:
        validate.count(self.lags, "lags")
        return self.lags, 1

    def features(self, d: Tensor) -> Tensor:
        return with_constant(d)
