"""Invariants estimated from a sampled time series alone (no equations, no tangent dynamics).

For data whose generator is unknown, e.g. the free-running output of a forecaster: the largest
Lyapunov exponent by the nearest-neighbour divergence method of Rosenstein, Collins & De Luca
(Physica D 65, 117, 1993). The correlation dimension of samples is
`chaosdata.invariants.correlation_dimension`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError


@dataclass(frozen=True)
class DivergenceFit:
    """A Rosenstein estimate: `value` = slope of the mean log divergence over the fitted steps.

    `curve` is the mean log distance between initially nearest neighbours after k steps
    (k = 0 .. len - 1), `fit` the [start, stop) step range of the line fit, `theiler` the
    temporal exclusion window (samples) and `n_pairs` the number of neighbour pairs averaged.
    """

    value: float
    curve: tuple[float, ...]
    fit: tuple[int, int]
    theiler: int
    n_pairs: int


def mean_period_samples(points: Tensor) -> float:
    """Mean period in samples, 1 / (power-weighted mean frequency) of the centred series `[n, D]`."""
    x = points - points.mean(dim=0, keepdim=True)
    power = torch.fft.rfft(x, dim=0).abs().square().sum(dim=1)
    power[0] = 0.0
    freq = torch.fft.rfftfreq(points.shape[0], dtype=torch.float64, device=points.device)
    total = float(power.sum())
    if not total > 0:
        return math.inf
    mean_f = float((freq * power).sum()) / total
    return 1.0 / mean_f if mean_f > 0 else math.inf


def divergence_curve(points: Tensor, *, divergence_steps: int, theiler: int, chunk: int = 1024) -> tuple[Tensor, int]:
    """Mean log distance of initially nearest neighbours after k = 0..divergence_steps-1 steps (the
    Rosenstein divergence length; a forecast's length is its `horizon`).

    `points` is one trajectory `[n, D]`. For each reference point i < n - divergence_steps + 1 the
    nearest other such point j with |i - j| > `theiler` and a non-zero distance is its
    neighbour; the curve averages log |x_{i+k} - x_{j+k}| over all pairs, skipping zero or
    non-finite distances. Returns the curve `[divergence_steps]` and the number of pairs.
    """
    n = points.shape[0]
    m = n - divergence_steps + 1
    if m < 2 * theiler + 3:
        raise InvalidInputError(
            f"a series of {n} points is too short for divergence_steps={divergence_steps} and theiler={theiler}; "
            "use a longer series or fewer divergence_steps"
        )
    ref = points[:m]
    idx = torch.arange(m, device=points.device)
    nearest = torch.empty(m, dtype=torch.int64, device=points.device)
    for start in range(0, m, chunk):
        stop = min(start + chunk, m)
        dist = torch.cdist(ref[start:stop], ref)
        near_in_time = (idx[start:stop, None] - idx[None, :]).abs() <= theiler
        dist = dist.masked_fill(near_in_time | (dist == 0) | ~torch.isfinite(dist), math.inf)
        nearest[start:stop] = dist.argmin(dim=1)
    steps = torch.arange(divergence_steps, device=points.device)
    a = points[idx[:, None] + steps[None, :]]
    b = points[nearest[:, None] + steps[None, :]]
    d = (a - b).norm(dim=-1)  # [m, divergence_steps]
    logd = torch.where((d > 0) & torch.isfinite(d), d.log(), torch.full_like(d, math.nan))
    return logd.nanmean(dim=0), m


def _fit_window(curve: Tensor, low: float, high: float) -> tuple[int, int]:
    """[start, stop) of the steps whose rise above curve[0] lies between `low` and `high` of the total rise.

    The total rise is to the plateau, taken as the mean of the last fifth of the curve.
    """
    y = curve
    n = y.numel()
    plateau = float(y[-max(1, n // 5):].nanmean())
    y0 = float(y[0])
    rise = plateau - y0
    if not rise > 0:
        return 0, n
    frac = (y - y0) / rise
    above_low = (frac >= low).nonzero()
    start = int(above_low[0]) if above_low.numel() else 0
    after = (frac[start:] >= high).nonzero()
    stop = start + int(after[0]) + 1 if after.numel() else n
    if stop - start < 3:
        stop = min(n, start + 3)
        start = max(0, stop - 3)
    return start, stop


def max_lyapunov_rosenstein(points: Tensor, dt: float, *, divergence_steps: int | None = None, theiler: int | None = None,
                            fit: tuple[int, int] | None = None, fit_levels: tuple[float, float] = (0.1, 0.6)) -> DivergenceFit:
    """Largest Lyapunov exponent of the trajectory `points` (`[n, D]`, sampled every `dt`), per unit time.

    Rosenstein's method: the mean log distance y(k) between initially nearest neighbours (kept
    `theiler` samples apart in time; default the mean period, from the power spectrum) grows
    like lambda_max * k * dt until it saturates at the attractor's size; lambda_max is the
    least-squares slope of y against k * dt over `fit` = [start, stop) steps. By default the
    fit covers the steps where y has risen between `fit_levels` (10% and 60%) of the way from
    y(0) to its plateau, which skips the initial alignment along the unstable direction and the
    saturation. `divergence_steps` (default n // 4 steps) must reach the plateau. For a map, dt = 1.
    The estimate has a bias of several per cent that depends on the sampling and the series
    length; use it to compare series estimated alike.
    """
    if points.ndim != 2:
        raise InvalidInputError(f"points must have shape [n, D] (one trajectory), got {tuple(points.shape)}")
    dt = validate.positive(dt, "dt", hint="the sampling interval")
    points = points.to(torch.float64)
    n = points.shape[0]
    if divergence_steps is None:
        divergence_steps = max(8, n // 4)
    divergence_steps = validate.count(divergence_steps, "divergence_steps", minimum=2, hint="steps; the fit needs two")
    if theiler is None:
        period = mean_period_samples(points)
        theiler = int(min(round(period), n // 10)) if math.isfinite(period) else n // 10
    curve, pairs = divergence_curve(points, divergence_steps=divergence_steps, theiler=theiler)
    start, stop = fit if fit is not None else _fit_window(curve, *fit_levels)
    if not 0 <= start < stop <= divergence_steps or stop - start < 2:
        raise InvalidInputError(f"fit must be a range [start, stop) of at least 2 steps within [0, {divergence_steps}), "
                                f"got {(start, stop)}")
    k = torch.arange(start, stop, dtype=torch.float64, device=points.device) * dt
    y = curve[start:stop]
    ok = torch.isfinite(y)
    k, y = k[ok], y[ok]
    if k.numel() < 2:
        value = math.nan
    else:
        km, ym = k.mean(), y.mean()
        value = float(((k - km) * (y - ym)).sum() / ((k - km) ** 2).sum())
    return DivergenceFit(value, tuple(curve.tolist()), (start, stop), int(theiler), pairs)
