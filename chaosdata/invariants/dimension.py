"""Attractor dimensions: Kaplan-Yorke from a Lyapunov spectrum, correlation dimension from samples."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError


def kaplan_yorke_dimension(exponents: Sequence[float], *, partial: bool = False) -> float | None:
    """Kaplan-Yorke (Lyapunov) dimension j + (l_1 + ... + l_j) / |l_(j+1)|.

    j is the largest index whose partial sum is non-negative (exponents sorted in descending
    order first); 0 when even l_1 < 0. When every partial sum is non-negative the dimension is
    that of the whole space, len(exponents), for a full spectrum; for a `partial` one (the
    leading exponents only) it is at least that and None is returned.
    """
    values = sorted((float(v) for v in exponents), reverse=True)
    if not values or any(math.isnan(v) for v in values):
        return None
    total = 0.0
    for j, value in enumerate(values):
        if total + value < 0:
            return j + total / abs(value)
        total += value
    return None if partial else float(len(values))


@dataclass
class CorrelationDimension:
    """Grassberger-Procaccia estimate: the slope of log C(r) against log r over `[r_min, r_max]`.

    `spread` is the standard deviation of the local slopes inside the fitted range (how flat
    the plateau is); `curve` holds the sampled (r, C(r)) pairs for inspection.
    """

    value: float
    spread: float
    r_min: float
    r_max: float
    c_min: float
    c_max: float
    n_points: int
    n_pairs: int
    theiler: int
    curve: tuple[tuple[float, float], ...] = ()

    def to_dict(self) -> dict:
        return {
            "value": self.value, "spread": self.spread, "r_min": self.r_min, "r_max": self.r_max,
            "c_min": self.c_min, "c_max": self.c_max, "n_points": self.n_points, "n_pairs": self.n_pairs,
            "theiler": self.theiler,
        }


def correlation_sum(points: Tensor, r_min: float, r_max: float, n_radii: int, *, theiler: int = 0,
                    chunk: int = 1024) -> tuple[Tensor, Tensor, int]:
    """Counts of pairs closer than each of `n_radii` log-spaced radii in `[r_min, r_max]`.

    `points` holds trajectories (`[n_traj, n, D]`); pairs from the same trajectory fewer than
    `theiler` samples apart are left out (they are close because of time continuity, not because
    of the attractor's geometry). Distances are computed `chunk` rows at a time against the rows
    after them, so memory is O(chunk * n_traj * n). Returns the radii, the cumulative counts
    below each, and the number of pairs considered.
    """
    if points.ndim != 3:
        raise InvalidInputError(f"points must have shape [n_traj, n, dim], got {tuple(points.shape)}")
    n_traj, n, D = points.shape
    flat = points.reshape(n_traj * n, D)
    total = flat.shape[0]
    index = torch.arange(total, device=points.device)
    traj, when = index // n, index % n
    lo, hi = math.log(r_min), math.log(r_max)
    counts = torch.zeros(n_radii - 1, dtype=torch.float64, device=points.device)
    n_pairs = 0
    window = max(theiler, 1)
    for start in range(0, total, chunk):
        stop = min(start + chunk, total)
        log_d = torch.cdist(flat[start:stop], flat[start:]).clamp_min(r_min).log()
        # only the first (chunk + window) columns can hold j <= i or pairs inside the Theiler window
        near = min(stop - start + window, total - start)
        i, j = index[start:stop, None], index[None, start:start + near]
        drop = (j <= i) | ((traj[start:stop, None] == traj[None, start:start + near])
                           & ((when[start:stop, None] - when[None, start:start + near]).abs() < window))
        log_d[:, :near].masked_fill_(drop, math.inf)
        n_pairs += log_d.numel() - int(drop.sum())
        counts += torch.histc(log_d, bins=n_radii - 1, min=lo, max=hi).to(torch.float64)
    radii = torch.logspace(lo / math.log(10), hi / math.log(10), n_radii, dtype=torch.float64, device=points.device)
    cum = torch.cat([counts.new_zeros(1), counts.cumsum(0)])
    return radii, cum, n_pairs


def correlation_dimension(points: Tensor, *, theiler: int = 0, n_radii: int = 97, min_pairs: int = 1000,
                          c_min: float = 1e-4, c_max: float = 0.05, fit_width: float = math.log(8.0),
                          chunk: int = 1024) -> CorrelationDimension:
    """Correlation dimension of the samples `points` (`[n_traj, n, D]`, float64), Grassberger-Procaccia.

    C(r) is sampled at `n_radii` log-spaced radii from 1e-6 of the attractor's diameter to all
    of it. The fit range is the window of width `fit_width` in log r (a factor of 8 by default)
    whose local slopes vary least, among radii where C(r) >= `c_min` and at least `min_pairs`
    pairs are closer (small radii are noisy) and C(r) <= `c_max` (large radii see the
    attractor's overall size, not its local scaling).
    """
    finite = torch.isfinite(points).all(-1).all(-1)
    points = points[finite].to(torch.float64)
    if points.shape[0] == 0 or points.shape[0] * points.shape[1] < 10:
        raise InvalidInputError("correlation_dimension needs at least 10 finite points")
    flat = points.reshape(-1, points.shape[-1])
    scale = (flat.max(0).values - flat.min(0).values).norm().item()
    if not scale > 0:
        raise InvalidInputError("correlation_dimension: all points coincide")
    edges, cum, n_pairs = correlation_sum(points, scale * 1e-6, scale, n_radii, theiler=theiler, chunk=chunk)
    C = cum / max(n_pairs, 1)
    usable = (cum >= max(min_pairs, c_min * n_pairs)) & (C <= c_max)
    log_r, log_c = edges.log(), C.clamp_min(1e-300).log()
    curve = tuple((float(r), float(c)) for r, c in zip(edges.tolist(), C.tolist(), strict=True))
    idx = usable.nonzero().flatten()
    if idx.numel() < 3:
        return CorrelationDimension(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan,
                                    flat.shape[0], n_pairs, theiler, curve)
    lo, hi = int(idx.min()), int(idx.max())
    step = float(log_r[1] - log_r[0])
    width = max(2, round(fit_width / step))
    slopes = (log_c[1:] - log_c[:-1]) / (log_r[1:] - log_r[:-1])  # slope between radius k and k+1
    best = None
    for a in range(lo, max(lo, hi - width) + 1):
        b = min(a + width, hi)
        if b - a < 2:
            continue
        s = slopes[a:b]
        score = float(s.std())
        if best is None or score < best[0]:
            best = (score, a, b)
    if best is None:
        a, b = lo, hi
        score = float(slopes[a:b].std()) if b - a >= 2 else math.nan
    else:
        score, a, b = best
    x, y = log_r[a:b + 1], log_c[a:b + 1]
    xm, ym = x.mean(), y.mean()
    value = float(((x - xm) * (y - ym)).sum() / ((x - xm) ** 2).sum())
    return CorrelationDimension(
        value=value, spread=score, r_min=float(edges[a]), r_max=float(edges[b]), c_min=float(C[a]),
        c_max=float(C[b]), n_points=flat.shape[0], n_pairs=n_pairs, theiler=theiler, curve=curve,
    )
