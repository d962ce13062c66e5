"""Distances between the power spectra of forecast and truth (long-term, phase-free agreement).

Both metrics compare, coordinate by coordinate, the normalized power spectra p and q of the
two series with the Hellinger distance H(p, q) = sqrt(1 - sum_f sqrt(p_f q_f)) (in [0, 1]; 0 for
equal spectra, 1 for spectra with disjoint support) and average over coordinates:
`pred, true` `[batch, time, dim]` -> `[batch]`. Being blind to phase, they suit free-running
forecasts far past the valid prediction time.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.metrics._inputs import pair


def _hellinger(p: Tensor, q: Tensor) -> Tensor:
    """H over the last axis for normalized p and q, as sqrt(sum (sqrt p - sqrt q)^2 / 2).

    Equal to sqrt(1 - sum sqrt(p q)) when p and q sum to 1, without its cancellation: equal
    spectra give exactly 0 (not ~1e-8 from rounding under the square root).
    """
    return (0.5 * ((p.sqrt() - q.sqrt()) ** 2).sum(dim=-1)).sqrt()


def hellinger_distance(pred: Tensor, true: Tensor, *, n_bins: int = 100) -> Tensor:
    """Hellinger distance between the first `n_bins` bins of the power spectra, mean over coordinates.

    dysts's `average_hellinger_distance` (after Mikhaeil et al., NeurIPS 2022): per coordinate
    the periodogram |FFT(x)|^2 of the whole series (mean not removed), its first `n_bins`
    frequency bins (all of them if the series is shorter) normalized to sum 1, then H(p, q).
    In [0, 1]; ideal 0; NaN for a coordinate that is 0 throughout (no power to normalize). With
    a short series the first bins span most of the band; with a long one only the lowest
    frequencies: compare like with like.
    """
    n_bins = validate.count(n_bins, "n_bins")
    p, t = pair(pred, true)
    sp = torch.fft.fft(p, dim=1).abs() ** 2
    st = torch.fft.fft(t, dim=1).abs() ** 2
    sp, st = sp[:, :n_bins], st[:, :n_bins]
    sp = sp / sp.sum(dim=1, keepdim=True)
    st = st / st.sum(dim=1, keepdim=True)
    return _hellinger(sp.transpose(1, 2), st.transpose(1, 2)).mean(dim=1)


def gaussian_smooth(x: Tensor, sigma: float, *, truncate: float = 4.0) -> Tensor:
    """`x` (`[..., n]`) convolved along its last axis with a normalized Gaussian of std `sigma` samples.

    The kernel spans +-round(truncate * sigma) samples and the signal is extended by mirror
    reflection about its ends (d c b a | a b c d | d c b a), so for any length the result equals
    `scipy.ndimage.gaussian_filter1d(x, sigma, truncate=truncate)` (mode "reflect").
    """
    sigma = validate.positive(sigma, "sigma")
    radius = int(truncate * sigma + 0.5)
    n = x.shape[-1]
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    idx = torch.arange(-radius, n + radius, device=x.device) % (2 * n)
    idx = torch.where(idx >= n, 2 * n - 1 - idx, idx)
    lead = x.shape[:-1]
    padded = x.reshape(-1, 1, n)[..., idx].to(torch.float64)
    out = F.conv1d(padded, kernel.view(1, 1, -1))
    return out.reshape(*lead, n)


def power_spectrum_distance(pred: Tensor, true: Tensor, *, sigma: float = 20.0, max_frequency_bins: int | None = None) -> Tensor:
    """D_H: Hellinger distance between Gaussian-smoothed power spectra, mean over coordinates.

    The measure of Mikhaeil et al. (NeurIPS 2022) and Hess et al. (ICML 2023) for
    reconstructed dynamics: per coordinate, the mean is removed, the one-sided periodogram
    |rfft(x)|^2 is smoothed along frequency by a Gaussian of std `sigma` frequency bins (20 in
    those papers; the smoothing makes the estimate robust to the periodogram's noise) and
    normalized to sum 1 (over the first `max_frequency_bins` bins if given), then H(p, q).
    In [0, 1]; ideal 0. Independent of each coordinate's scale and offset; NaN where a
    coordinate of `pred` or `true` is constant (no spectrum once the mean is removed), e.g. a
    forecast of the mean.
    """
    p, t = pair(pred, true)
    if max_frequency_bins is not None:
        max_frequency_bins = validate.count(max_frequency_bins, "max_frequency_bins")

    def spectrum(x: Tensor) -> Tensor:
        # a constant coordinate has no spectrum; tested exactly, as removing its computed mean
        # leaves rounding noise (~1e-17) whose normalized spectrum would score like a signal's
        constant = (x.amax(dim=1) == x.amin(dim=1)).unsqueeze(-1)  # [batch, dim, 1]
        x = x - x.mean(dim=1, keepdim=True)
        s = torch.fft.rfft(x, dim=1).abs().transpose(1, 2) ** 2  # [batch, dim, freq]
        s = gaussian_smooth(s, sigma)
        if max_frequency_bins is not None:
            s = s[..., :max_frequency_bins]
        total = s.sum(dim=-1, keepdim=True)
        return (s / torch.where(total > 0, total, torch.full_like(total, math.nan))).masked_fill(constant, math.nan)

    if t.shape[1] < 2:
        raise InvalidInputError(f"power_spectrum_distance needs at least 2 time points, got {t.shape[1]}")
    return _hellinger(spectrum(p), spectrum(t)).mean(dim=1)
