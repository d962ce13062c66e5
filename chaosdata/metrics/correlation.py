"""Correlation and dependence between forecast and truth, coordinate by coordinate.

Each metric is computed for every coordinate of every batch element, over time, and averaged
over coordinates (dysts's "dimensionwise mean"): `pred, true` `[batch, time, dim]` -> `[batch]`.
Rank and neighbour statistics need all pairs of time points, O(time^2) work and memory per
coordinate; they run in row blocks so memory stays near `MAX_BLOCK` elements.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from chaosdata.metrics._inputs import pair, positive_int

MAX_BLOCK = 1 << 22  # elements of float64 scratch per block of pairwise comparisons (32 MiB)


def _columns(pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor, int, int]:
    """`pred, true` as `[batch * dim, time]` rows (one per coordinate), with batch and dim."""
    p, t = pair(pred, true)
    b, n, d = t.shape
    return p.transpose(1, 2).reshape(b * d, n), t.transpose(1, 2).reshape(b * d, n), b, d


def _per_batch(values: Tensor, b: int, d: int) -> Tensor:
    return values.view(b, d).mean(dim=1)


def _pearson_rows(x: Tensor, y: Tensor) -> Tensor:
    xc = x - x.mean(dim=1, keepdim=True)
    yc = y - y.mean(dim=1, keepdim=True)
    return (xc * yc).sum(dim=1) / ((xc ** 2).sum(dim=1) * (yc ** 2).sum(dim=1)).sqrt()


def pearson(pred: Tensor, true: Tensor) -> Tensor:
    """Pearson correlation over time, averaged over coordinates.

    r_d = sum (p - mean p)(t - mean t) / sqrt(sum (p - mean p)^2 sum (t - mean t)^2), in [-1, 1];
    ideal 1; NaN for a constant coordinate. (dysts 0.96 returns the Spearman correlation for a
    univariate series; ours is Pearson's for every dimension.)
    """
    x, y, b, d = _columns(pred, true)
    return _per_batch(_pearson_rows(x, y), b, d)


def average_ranks(x: Tensor) -> Tensor:
    """Ranks 1..n along the last axis, ties given the mean of the ranks they span (`[..., n]`)."""
    n = x.shape[-1]
    values, order = x.sort(dim=-1, stable=True)
    pos = torch.arange(n, device=x.device).expand_as(values)
    new = torch.ones_like(values, dtype=torch.bool)
    new[..., 1:] = values[..., 1:] != values[..., :-1]
    last = torch.ones_like(new)
    last[..., :-1] = new[..., 1:]
    start = torch.where(new, pos, torch.zeros_like(pos)).cummax(dim=-1).values
    end = torch.where(last, pos, torch.full_like(pos, n)).flip(-1).cummin(dim=-1).values.flip(-1)
    sorted_ranks = (start + end).to(torch.float64) / 2 + 1
    return torch.empty_like(sorted_ranks).scatter_(-1, order, sorted_ranks)


def spearman(pred: Tensor, true: Tensor) -> Tensor:
    """Spearman rank correlation over time (Pearson's r of the ranks, ties averaged), mean over coordinates.

    In [-1, 1]; ideal 1; unchanged by any increasing transformation of either series.
    """
    x, y, b, d = _columns(pred, true)
    return _per_batch(_pearson_rows(average_ranks(x), average_ranks(y)), b, d)


def _block(rows: int, n: int) -> int:
    return max(1, min(n, MAX_BLOCK // max(1, rows * n)))


def kendall(pred: Tensor, true: Tensor) -> Tensor:
    """Kendall's tau-b over time, mean over coordinates.

    tau_b = (C - D) / sqrt((P - T_p)(P - T_t)): C and D count concordant and discordant pairs of
    time points, P all pairs, T_p and T_t pairs tied in pred or in true (scipy's default variant).
    In [-1, 1]; ideal 1. O(time^2) per coordinate.
    """
    x, y, b, d = _columns(pred, true)
    rows, n = x.shape
    s = x.new_zeros(rows)
    nx = x.new_zeros(rows)
    ny = x.new_zeros(rows)
    step = _block(rows, n)
    for i in range(0, n, step):
        sx = (x[:, i:i + step, None] - x[:, None, :]).sign()
        sy = (y[:, i:i + step, None] - y[:, None, :]).sign()
        s += (sx * sy).sum(dim=(1, 2))
        nx += sx.abs().sum(dim=(1, 2))
        ny += sy.abs().sum(dim=(1, 2))
    return _per_batch(s / (nx * ny).sqrt(), b, d)


def _unit_scale(x: Tensor) -> Tensor:
    """Each row divided by its population standard deviation (rows with none left as they are)."""
    sd = x.std(dim=1, unbiased=False, keepdim=True)
    return x / torch.where(sd > 0, sd, torch.ones_like(sd))


def mutual_information(pred: Tensor, true: Tensor, *, k: int = 3) -> Tensor:
    """Mutual information between pred and true, in nats, per coordinate, mean over coordinates.

    The Kraskov-Stoegbauer-Grassberger estimator (Phys. Rev. E 69, 066138, 2004, algorithm 1),
    as scikit-learn's `mutual_info_regression` (which dysts calls) computes it: each series is
    divided by its standard deviation; eps_i is the max-norm distance from point i to its k-th
    nearest neighbour in the joint (t, p) plane; n_t(i), n_p(i) count the other points strictly
    closer than eps_i in each coordinate alone; I = psi(N) + psi(k) - <psi(n_t + 1)> - <psi(n_p + 1)>,
    clipped at 0. (scikit-learn also adds noise of relative size 1e-10 to break ties; we do not.)
    Higher is better; 0 for independent series. O(time^2) per coordinate.
    """
    k = positive_int(k, "k")
    p, t, b, d = _columns(pred, true)
    x, y = _unit_scale(t), _unit_scale(p)
    rows, n = x.shape
    if n <= k:
        return torch.full((b,), math.nan, dtype=torch.float64, device=x.device)
    psi_x = x.new_zeros(rows)
    psi_y = x.new_zeros(rows)
    step = _block(rows, n)
    idx = torch.arange(n, device=x.device)
    for i in range(0, n, step):
        dx = (x[:, i:i + step, None] - x[:, None, :]).abs()
        dy = (y[:, i:i + step, None] - y[:, None, :]).abs()
        joint = torch.maximum(dx, dy)
        self_pair = idx[i:i + step, None] == idx[None, :]
        joint.masked_fill_(self_pair, math.inf)
        radius = joint.kthvalue(k, dim=2, keepdim=True).values
        nx = ((dx < radius) & ~self_pair).sum(dim=2).to(torch.float64)
        ny = ((dy < radius) & ~self_pair).sum(dim=2).to(torch.float64)
        psi_x += torch.special.digamma(nx + 1).sum(dim=1)
        psi_y += torch.special.digamma(ny + 1).sum(dim=1)
    mi = torch.special.digamma(x.new_tensor(float(n))) + torch.special.digamma(x.new_tensor(float(k))) - (psi_x + psi_y) / n
    return _per_batch(mi.clamp_min(0), b, d)
