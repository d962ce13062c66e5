"""Dominant period from the power spectrum, and per-coordinate mean and standard deviation."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError


@dataclass
class Period:
    """The period of the highest peak of the mean power spectrum, and how sharp that peak is.

    `value` is in the units of `spacing` (time, or iterations for maps); `peak_fraction` is the
    share of the spectrum's power in the three bins around the peak (1 for a pure tone, small
    for broadband chaos); `resolution` is the period's uncertainty from the frequency spacing.
    """

    value: float
    resolution: float
    peak_fraction: float
    coordinates: tuple[int, ...]
    by_coordinate: tuple[float | None, ...] = ()

    def to_dict(self) -> dict:
        return {"value": self.value, "resolution": self.resolution, "peak_fraction": self.peak_fraction,
                "coordinates": list(self.coordinates), "by_coordinate": list(self.by_coordinate)}


def _peak(spectrum: Tensor) -> tuple[int, float]:
    """Index of the highest bin and its parabolic refinement (on log power)."""
    k = int(spectrum.argmax())
    shift = 0.0
    if 1 <= k < spectrum.numel() - 1:
        a, b, c = (spectrum[k - 1:k + 2].clamp_min(1e-300).log()).tolist()
        denom = a - 2 * b + c
        shift = 0.5 * (a - c) / denom if denom < 0 else 0.0
    return k, k + shift


def dominant_period(samples: Tensor, spacing: float, *, exclude: Sequence[int] = ()) -> Period:
    """Dominant period of trajectories `samples` (`[B, n, dim]`) sampled every `spacing`.

    Each coordinate (other than `exclude`, e.g. forcing clocks, and constant ones) is
    centred, Hann-windowed and Fourier transformed; its power spectrum is normalized to unit
    total power, so every coordinate counts the same, and averaged over coordinates and
    trajectories. The peak (zero frequency excluded) is refined by a parabola through the log
    power of its neighbours. `by_coordinate` gives each coordinate's own peak (None where
    excluded or constant): coordinates can disagree (Lorenz's z turns twice per x cycle).
    """
    if samples.ndim != 3 or samples.shape[1] < 8:
        raise InvalidInputError(f"samples must have shape [B, n >= 8, dim], got {tuple(samples.shape)}")
    samples = samples[torch.isfinite(samples).all(-1).all(-1)].to(torch.float64)
    if samples.shape[0] == 0:
        raise InvalidInputError("dominant_period: no finite trajectory")
    n = samples.shape[1]
    # when every coordinate is excluded (a field that depends on no coordinate, e.g. Torus's),
    # the coordinates are the signal: use them all
    keep = [i for i in range(samples.shape[-1]) if i not in set(exclude)] or list(range(samples.shape[-1]))
    x = samples[..., keep]
    x = x - x.mean(1, keepdim=True)
    varying = x.std(1) > 1e-12 * (1.0 + samples[..., keep].abs().amax(1))  # [B, c]
    window = torch.hann_window(n, periodic=False, dtype=torch.float64, device=samples.device)
    power = torch.fft.rfft(x * window[None, :, None], dim=1).abs().square()  # [B, n_f, c]
    power[:, 0] = 0.0
    total = power.sum(1, keepdim=True)
    power = torch.where(varying[:, None, :], power / total.clamp_min(1e-300), 0.0)
    used = varying.any(0)
    spectrum = power.sum((0, 2))
    if not bool(used.any()) or not float(spectrum.sum()) > 0:
        return Period(math.nan, math.nan, math.nan, ())
    spectrum = spectrum / spectrum.sum()
    k, refined = _peak(spectrum)
    period = n * spacing / refined if refined > 0 else math.inf
    resolution = period * period / (2 * n * spacing)
    peak = float(spectrum[max(k - 1, 0):k + 2].sum())
    by_coordinate: list[float | None] = [None] * samples.shape[-1]
    for c, i in enumerate(keep):
        if bool(used[c]):
            _, f = _peak(power[..., c].sum(0))
            by_coordinate[i] = n * spacing / f if f > 0 else None
    return Period(period, resolution, peak, tuple(keep[i] for i in range(len(keep)) if bool(used[i])),
                  tuple(by_coordinate))


def moments(samples: Tensor) -> tuple[list[float], list[float]]:
    """Per-coordinate mean and standard deviation over all finite samples (`[B, n, dim]`)."""
    flat = samples.reshape(-1, samples.shape[-1]).to(torch.float64)
    flat = flat[torch.isfinite(flat).all(-1)]
    if flat.shape[0] < 2:
        nan = [math.nan] * samples.shape[-1]
        return nan, nan
    return flat.mean(0).tolist(), flat.std(0).tolist()
