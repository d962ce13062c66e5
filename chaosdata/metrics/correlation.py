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

from chaosdata import validate
from chaosdata.metrics._inputs import pair

MAX_BLOCK = 1 << 22  # elements of float64 scratch per block of pairwise comparisons (32 MiB)


def _columns(pred: Tensor, true: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """`pred, true` as `[batch * dim, time]` rows (one per coordinate), and `[batch]` finiteness.

    Rows of a batch element with a non-finite value are zeroed here and that element is
    reported as NaN by `_per_batch` (ranks and neighbour counts of NaN would otherwise give
    finite nonsense).
    """
    p, t = pair(pred, true)
    b, n, d = t.shape
    finite = torch.isfinite(p).all(dim=(1, 2)) & torch.isfinite(t).all(dim=(1, 2))
    x = p.transpose(1, 2).reshape(b * d, n).contiguous()
    y = t.transpose(1, 2).reshape(b * d, n).contiguous()
    if not bool(finite.all()):
        bad = (~finite).repeat_interleave(d)[:, None]
        x, y = x.masked_fill(bad, 0.0), y.masked_fill(bad, 0.0)
    return x, y, finite


def _per_batch(values: Tensor, finite: Tensor) -> Tensor:
    """Mean over coordinates per batch element (`[batch * dim]` -> `[batch]`); NaN where not finite."""
    out = values.view(finite.shape[0], -1).mean(dim=1)
    return torch.where(finite, out, torch.full_like(out, math.nan))


def _constant_rows(*rows: Tensor) -> Tensor:
    """Rows (`[rows, n]`) constant in any of `rows`, tested exactly: centring a constant by its
    computed mean leaves rounding noise (~1e-17) that would otherwise pass for a signal."""
    return torch.stack([r.amax(dim=1) == r.amin(dim=1) for r in rows]).any(dim=0)


def _pearson_rows(x: Tensor, y: Tensor) -> Tensor:
    xc = x - x.mean(dim=1, keepdim=True)
    yc = y - y.mean(dim=1, keepdim=True)
    r = (xc * yc).sum(dim=1) / ((xc ** 2).sum(dim=1) * (yc ** 2).sum(dim=1)).sqrt()
    return r.masked_fill(_constant_rows(x, y), math.nan)


def pearson(pred: Tensor, true: Tensor) -> Tensor:
    """Pearson correlation over time, averaged over coordinates.

    r_d = sum (p - mean p)(t - mean t) / sqrt(sum (p - mean p)^2 sum (t - mean t)^2), in [-1, 1];
    ideal 1; NaN for a constant coordinate. (dysts 0.96 returns the Spearman correlation for a
    univariate series; ours is Pearson's for every dimension.)
    """
    x, y, finite = _columns(pred, true)
    return _per_batch(_pearson_rows(x, y), finite)


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

    In [-1, 1]; ideal 1; unchanged by any increasing transformation of either series; NaN for a
    constant coordinate.
    """
    x, y, finite = _columns(pred, true)
    return _per_batch(_pearson_rows(average_ranks(x), average_ranks(y)), finite)


def _block(rows: int, n: int) -> int:
    return max(1, min(n, MAX_BLOCK // max(1, rows * n)))


def _tied_pairs(sorted_values: Tensor) -> Tensor:
    """Pairs of equal values per row of an ascending-sorted `[rows, n]`: sum over runs of t(t-1)/2."""
    n = sorted_values.shape[-1]
    pos = torch.arange(n, device=sorted_values.device).expand_as(sorted_values)
    new = torch.ones_like(sorted_values, dtype=torch.bool)
    new[..., 1:] = sorted_values[..., 1:] != sorted_values[..., :-1]
    start = torch.where(new, pos, torch.zeros_like(pos)).cummax(dim=-1).values
    return (pos - start).sum(dim=-1).to(torch.float64)  # each element pairs with the equal ones before it


def _inversions(y: Tensor) -> Tensor:
    """Pairs i < j with y_i > y_j per row of `[rows, n]`, by a bottom-up merge sort (O(n log^2 n)).

    The row is padded with +inf to a power of two; at each level every right block counts, with
    a batched binary search, the elements of its sorted left neighbour block above each of its
    own, then the two are merged by sorting. Padding sits at the end and adds no inversions.
    """
    rows, n = y.shape
    size = 1 << max(0, (n - 1).bit_length())
    blocks = torch.cat([y, y.new_full((rows, size - n), float("inf"))], dim=1)
    count = y.new_zeros(rows)
    width = 1
    while width < size:
        pairs = blocks.view(rows, size // (2 * width), 2, width)
        left, right = pairs[:, :, 0].contiguous(), pairs[:, :, 1].contiguous()
        not_above = torch.searchsorted(left, right, right=True)  # left elements <= each right one
        count += (width - not_above).sum(dim=(1, 2)).to(torch.float64)
        blocks = pairs.reshape(rows, -1, 2 * width).sort(dim=-1).values.reshape(rows, size)
        width *= 2
    return count


def kendall(pred: Tensor, true: Tensor) -> Tensor:
    """Kendall's tau-b over time, mean over coordinates.

    tau_b = (C - D) / sqrt((P - T_p)(P - T_t)): C and D count concordant and discordant pairs of
    time points, P all pairs, T_p and T_t pairs tied in pred or in true (scipy's default variant).
    Computed as scipy does, in O(time log^2 time) per coordinate: sort by (true, pred), count the
    inversions of pred (= D), and C - D = P - T_t - T_p + T_both - 2 D. In [-1, 1]; ideal 1;
    NaN for a constant coordinate.
    """
    x, y, finite = _columns(pred, true)  # x: pred, y: true
    n = x.shape[1]
    # lexicographic order by (true, pred): stable sort by pred, then by true
    by_p = x.argsort(dim=1, stable=True)
    order = y.gather(1, by_p).argsort(dim=1, stable=True)
    order = by_p.gather(1, order)
    t_sorted, p_in_t_order = y.gather(1, order), x.gather(1, order)
    tied_t = _tied_pairs(t_sorted)
    tied_p = _tied_pairs(x.sort(dim=1).values)
    # pairs tied in both: runs of equal (true, pred) in the lexicographic order
    same = torch.zeros_like(t_sorted, dtype=torch.bool)
    same[:, 1:] = (t_sorted[:, 1:] == t_sorted[:, :-1]) & (p_in_t_order[:, 1:] == p_in_t_order[:, :-1])
    pos = torch.arange(n, device=x.device).expand_as(t_sorted)
    run_start = torch.where(~same, pos, torch.zeros_like(pos)).cummax(dim=1).values
    tied_both = (pos - run_start).sum(dim=1).to(torch.float64)
    discordant = _inversions(p_in_t_order)
    total = n * (n - 1) / 2
    s = total - tied_t - tied_p + tied_both - 2 * discordant
    return _per_batch(s / ((total - tied_p) * (total - tied_t)).sqrt(), finite)


def _unit_scale(x: Tensor) -> Tensor:
    """Each row divided by its population standard deviation (rows with none left as they are)."""
    sd = x.std(dim=1, unbiased=False, keepdim=True)
    return x / torch.where(sd > 0, sd, torch.ones_like(sd))


def _count_within(values: Tensor, radius: Tensor) -> Tensor:
    """For each element i of each row, the other elements j with |v_j - v_i| < radius_i (`[rows, n]`).

    Binary search in the sorted row finds the range approximately (v_i +- r_i rounds); the two
    boundaries are then settled exactly with the differences themselves, checking the two
    positions on either side of each found index (rounding moves a boundary by at most one
    distinct value).
    """
    rows, n = values.shape
    srt = values.sort(dim=1).values

    def first_failing(upper: bool) -> Tensor:
        # first sorted index whose element is no longer within reach above (upper) or,
        # for the lower side, the first index that is within reach
        guess = torch.searchsorted(srt, values + radius if upper else values - radius, right=not upper)
        base = (guess - 2).clamp(0, n)
        count = base.clone()
        for off in range(4):
            pos = base + off
            ok = pos < n
            v = srt.gather(1, pos.clamp(max=n - 1))
            inside = (v - values < radius) if upper else (values - v >= radius)
            count += (ok & inside).to(count.dtype)
        return count

    return (first_failing(True) - first_failing(False) - 1).to(torch.float64)


def mutual_information(pred: Tensor, true: Tensor, *, k: int = 3) -> Tensor:
    """Mutual information between pred and true, in nats, per coordinate, mean over coordinates.

    The Kraskov-Stoegbauer-Grassberger estimator (Phys. Rev. E 69, 066138, 2004, algorithm 1),
    as scikit-learn's `mutual_info_regression` (which dysts calls) computes it: each series is
    divided by its standard deviation; eps_i is the max-norm distance from point i to its k-th
    nearest neighbour in the joint (t, p) plane; n_t(i), n_p(i) count the other points strictly
    closer than eps_i in each coordinate alone; I = psi(N) + psi(k) - <psi(n_t + 1)> - <psi(n_p + 1)>,
    clipped at 0. (scikit-learn also adds noise of relative size 1e-10 to break ties; we do not,
    so exact ties in the data are not supported: a point with k others at the same (t, p) gives
    NaN.) Higher is better; 0 for independent series.
    The neighbour search is O(time^2) per coordinate, the counts O(time log time).
    """
    k = validate.count(k, "k")
    p, t, finite = _columns(pred, true)
    x, y = _unit_scale(t), _unit_scale(p)
    rows, n = x.shape
    if n <= k:
        return torch.full(finite.shape, math.nan, dtype=torch.float64, device=x.device)
    joint = torch.stack([x, y], dim=-1)  # [rows, n, 2]
    radius = torch.empty_like(x)
    step = _block(rows, n)
    for i in range(0, n, step):
        dist = torch.cdist(joint[:, i:i + step], joint, p=math.inf)
        # the (k+1)-th smallest includes the point itself at distance 0
        radius[:, i:i + step] = dist.topk(k + 1, dim=2, largest=False).values[..., -1]
    nx, ny = _count_within(x, radius), _count_within(y, radius)
    psi = torch.special.digamma
    mi = psi(x.new_tensor(float(n))) + psi(x.new_tensor(float(k))) - psi(nx + 1).mean(dim=1) - psi(ny + 1).mean(dim=1)
    return _per_batch(mi.clamp_min(0), finite)
