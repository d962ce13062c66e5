"""Distances between the states visited by forecast and truth (geometry of the attractor).

Time order is ignored: each batch element's `[time, dim]` points are a sample of a
distribution on state space, and the metrics measure how far the forecast's occupation measure
is from the truth's, as the Kullback-Leibler divergence KL(true || pred) in nats (0 for equal
distributions, growing as the forecast leaves the true attractor). `pred, true`
`[batch, time, dim]` -> `[batch]`. Monte Carlo estimates draw from a seeded generator on the
CPU, so a result depends only on the inputs and `seed`, never on the device or the batch.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.metrics._inputs import pair

GMM_MIN_DIM = 6  # from this many dimensions D_stsp uses the Gaussian mixture, not a histogram


def _log_mixture_density(points: Tensor, centres: Tensor, variance: float) -> Tensor:
    """log of (1/N) sum_j N(x; c_j, variance * I) at each point: `[S, D]`, `[N, D]` -> `[S]`."""
    n, d = centres.shape
    sq = torch.cdist(points, centres) ** 2
    return torch.logsumexp(-sq / (2 * variance), dim=1) - math.log(n) - 0.5 * d * math.log(2 * math.pi * variance)


def gmm_kl_divergence(pred: Tensor, true: Tensor, *, n_samples: int = 1000, variance: float = 1.0,
                      standardize: bool = False, seed: int = 0) -> Tensor:
    """Monte Carlo KL(p_true || p_pred) between Gaussian mixtures placed on the two point sets.

    p_true = (1/T) sum_t N(true_t, variance * I), p_pred likewise; the estimate is the mean of
    log p_true(x) - log p_pred(x) over `n_samples` draws x ~ p_true (Hess et al., ICML 2023).
    This is dysts's `kl_divergence` (its `estimate_kl_divergence` with `sigma_scale=1`), up to
    the Monte Carlo error (standard error ~ std(log ratio) / sqrt(n_samples)); we evaluate the
    densities with log-sum-exp, so far-apart sets give a large finite value where dysts's
    direct densities underflow to NaN. `standardize=True` first maps both sets with the mean
    and standard deviation of `true` per coordinate (the published D_stsp convention).
    Units: nats; ideal 0.
    """
    n_samples = validate.count(n_samples, "n_samples")
    variance = validate.positive(variance, "variance")
    standardize = validate.flag(standardize, "standardize")
    seed = validate.seed(seed)
    p, t = pair(pred, true)
    if standardize:
        mu = t.mean(dim=1, keepdim=True)
        sd = t.std(dim=1, unbiased=False, keepdim=True)
        sd = torch.where(sd > 0, sd, torch.ones_like(sd))
        p, t = (p - mu) / sd, (t - mu) / sd
    batch, n, d = t.shape
    # every batch element draws from a generator seeded alike, so its value does not depend on
    # its place in the batch (the draws pick components by index and add unit normals)
    gen = torch.Generator().manual_seed(seed)
    pick = torch.randint(n, (n_samples,), generator=gen).to(t.device)
    noise = torch.randn(n_samples, d, generator=gen, dtype=torch.float64).to(t.device)
    out = t.new_empty(batch)
    for b in range(batch):
        x = t[b, pick] + math.sqrt(variance) * noise
        out[b] = (_log_mixture_density(x, t[b], variance) - _log_mixture_density(x, p[b], variance)).mean()
    return out


def _histogram_kl(p: Tensor, t: Tensor, n_bins: int, smoothing: float, margin: float) -> Tensor:
    """KL(true || pred) of Laplace-smoothed `n_bins`^D histograms on a box around `t` (`[T, D]` each)."""
    d = t.shape[1]
    if not bool(torch.isfinite(t).all()):
        return t.new_tensor(math.nan)  # the truth's occupation measure is undefined
    lo, hi = t.amin(dim=0), t.amax(dim=0)
    span = hi - lo
    span = torch.where(span > 0, span, torch.ones_like(span))
    lo, span = lo - margin * span, span * (1 + 2 * margin)
    weights = n_bins ** torch.arange(d, device=t.device, dtype=torch.int64)
    n_cells = float(n_bins) ** d

    def counts(x: Tensor) -> tuple[Tensor, Tensor]:
        finite = torch.isfinite(x).all(dim=1)
        cell = torch.floor(n_bins * (x[finite] - lo) / span)
        inside = ((cell >= 0) & (cell < n_bins)).all(dim=1)
        ids = (cell[inside].to(torch.int64) * weights).sum(dim=1)
        keys, hits = torch.unique(ids, return_counts=True)
        return keys, hits.to(torch.float64)

    kt, ht = counts(t)
    kp, hp = counts(p)
    # normalized by all points, outliers included: mass outside the box is mass the truth never has
    zt, zp = t.shape[0] + smoothing * n_cells, p.shape[0] + smoothing * n_cells
    keys = torch.unique(torch.cat([kt, kp]))
    ct = torch.zeros_like(keys, dtype=torch.float64)
    cp = torch.zeros_like(keys, dtype=torch.float64)
    ct[torch.searchsorted(keys, kt)] = ht
    cp[torch.searchsorted(keys, kp)] = hp
    pt, pp = (ct + smoothing) / zt, (cp + smoothing) / zp
    occupied = (pt * (pt.log() - pp.log())).sum()
    # every cell neither set visits holds smoothing / z in each: add them in closed form
    empty = (n_cells - keys.numel()) * (smoothing / zt) * math.log(zp / zt)
    return occupied + empty


def state_space_divergence(pred: Tensor, true: Tensor, *, n_bins: int = 30, smoothing: float = 1e-5,
                           margin: float = 0.1, gmm_min_dim: int = GMM_MIN_DIM, n_samples: int = 1000,
                           seed: int = 0) -> Tensor:
    """D_stsp: KL(p_true || p_pred) between the occupation measures of truth and forecast, in nats.

    Below `gmm_min_dim` (6) dimensions (Koppe et al. 2019; Brenner et al. 2022; Hess et al.
    2023): both point sets are binned on a grid of `n_bins` (30) bins per coordinate spanning the
    truth's range widened by `margin` (10%) of it on each side; counts h become probabilities
    (h + a) / (N + a * n_bins^D) with Laplace smoothing a = `smoothing` (1e-5) and N the number
    of points, so forecast points outside the box (or not finite) are mass the grid misses
    (a `true` with a non-finite value gives NaN). (The published code divides by the points
    inside instead, which makes a forecast that leaves the box entirely score better than one
    that half overlaps: ours grows with the distance.) The
    sum over all n_bins^D cells is exact (the cells neither set visits are added in closed form).
    From `gmm_min_dim` dimensions on, where such a grid is almost empty (its smoothing mass
    a * n_bins^D outweighs the N points and the histogram divergence tends to 0 for any
    forecast; n_bins^D must also fit the int64 cell index): `gmm_kl_divergence`
    with unit variance on data standardized by the truth's mean and std (`n_samples` draws,
    `seed`); there a forecast with a non-finite value gives NaN, not a finite score.
    0 for identical point sets; grows as the forecast's states drift off the truth's.
    """
    n_bins = validate.count(n_bins, "n_bins")
    smoothing = validate.positive(smoothing, "smoothing")
    gmm_min_dim = validate.count(gmm_min_dim, "gmm_min_dim")
    margin = validate.non_negative(margin, "margin", hint="a fraction of the range")
    p, t = pair(pred, true)
    d = t.shape[2]
    if d >= gmm_min_dim:
        return gmm_kl_divergence(p, t, n_samples=n_samples, variance=1.0, standardize=True, seed=seed)
    if n_bins ** d > 2 ** 62:  # cell ids are int64
        raise InvalidInputError(f"a histogram of n_bins^dim = {n_bins}^{d} cells overflows the cell index; lower n_bins, "
                                f"or gmm_min_dim to at most {d} for the Gaussian mixture")
    return torch.stack([_histogram_kl(p[b], t[b], n_bins, smoothing, margin) for b in range(t.shape[0])])
