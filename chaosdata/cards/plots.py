"""Small PNGs for the cards: attractor projections, a time series, a power spectrum, a gallery.

Every picture is drawn from the store's own data (the train split, valid trajectories only)
with matplotlib's Agg backend, and written without a timestamp or version in the PNG metadata,
so that the same store and the same matplotlib give the same bytes.

```python
data = plot_data(store, "Lorenz")          # PlotData: series [trajectory, time, dim] float64
save_png(attractor_figure(data), "Lorenz_attractor.png")
save_png(gallery_figure([plot_data(store, s) for s in store.systems]), "gallery.png")
```
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from chaosdata.atomic import replacing  # noqa: E402
from chaosdata.store.archive import array_at, group_at, read  # noqa: E402
from chaosdata.store.layout import SERIES, split_path  # noqa: E402
from chaosdata.store.reader import Store  # noqa: E402

PREFERRED_GRANULARITY = ("fine", "lyapunov", "coarse")  # the finest sampling first; maps have `iteration`
MAX_TRAJECTORIES = 4       # trajectories drawn in the projections and averaged in the spectrum
MAX_POINTS = 5000          # points per trajectory drawn in the projections
SPECTRUM_HARMONICS = 8   # the spectrum plot spans frequencies up to this many times 1/period
SERIES_PERIODS = 10        # the time-series plot shows this many dominant periods (maps: 20 x as many points)
DPI = 80
LINE = dict(lw=0.35, alpha=0.8)
DOTS = dict(s=0.4, lw=0, alpha=0.6)


@dataclass(frozen=True)
class PlotData:
    """What the pictures of one system are drawn from.

    `series` is `[trajectory, time, dim]` float64 (valid train trajectories, at most
    `MAX_TRAJECTORIES`), `dt` the sampling step (1 for maps), `period` the stored dominant
    period (None if unknown), `labels` one axis label per component, `shown` the components
    worth drawing (clock coordinates of non-autonomous flows left out).
    """

    name: str
    kind: str
    granularity: str
    series: np.ndarray
    dt: float
    period: float | None
    labels: tuple[str, ...]
    shown: tuple[int, ...]

    @property
    def is_map(self) -> bool:
        return self.kind == "map"


def plot_data(store: Store, name: str) -> PlotData:
    """Read what the pictures of `name` need from the store's train split."""
    attrs = store.attrs(name)
    meta, inv = attrs["system"], attrs.get("invariants") or {}
    grans = store.granularities(name)
    gran = next((g for g in PREFERRED_GRANULARITY if g in grans), grans[0])
    group = group_at(store.group(name), split_path(gran, "train"))
    z = array_at(group, SERIES)
    valid = np.flatnonzero(read(array_at(group, "valid")).astype(bool))[:MAX_TRAJECTORIES]
    series = np.asarray(z.get_orthogonal_selection((valid, slice(None), slice(None))), dtype=np.float64) \
        if valid.size else np.zeros((0,) + tuple(z.shape[1:]))
    dim = series.shape[-1]
    if meta["kind"] == "delay":
        labels = tuple("x(t)" if j == 0 else "x(t-τ)" if j == dim - 1 else f"x(t-{j}τ/{dim - 1})" for j in range(dim))
    else:
        labels = tuple(f"x{j + 1}" for j in range(dim))
    clocks = set(inv.get("clock_coordinates") or [])
    shown = tuple(j for j in range(dim) if j not in clocks) or tuple(range(dim))
    period = inv.get("period") if isinstance(inv.get("period"), (int, float)) else None
    return PlotData(name=name, kind=meta["kind"], granularity=gran, series=series,
                    dt=float(store.time(name, gran)["dt"]), period=period, labels=labels, shown=shown)


def projection_pairs(data: PlotData) -> list[tuple[int, int]]:
    """Coordinate pairs drawn: delay equations x(t) against two lags; others the first three
    shown coordinates pairwise (one pair in 2-D, none in 1-D)."""
    dim = data.series.shape[-1]
    if data.kind == "delay" and dim > 2:
        return [(0, dim // 2), (0, dim - 1)]
    s = data.shown[:3]
    return [(s[i], s[j]) for i in range(len(s)) for j in range(i + 1, len(s))]


def _draw(ax, data: PlotData, i: int, j: int, n_traj: int | None = None) -> None:
    for traj in data.series[:n_traj, :MAX_POINTS]:
        ok = np.isfinite(traj[:, i]) & np.isfinite(traj[:, j])
        if data.is_map:
            ax.scatter(traj[ok, i], traj[ok, j], **DOTS)
        else:
            ax.plot(traj[ok, i], traj[ok, j], **LINE)


def _empty(fig: Figure, text: str) -> Figure:
    fig.text(0.5, 0.5, text, ha="center", va="center", fontsize=9)
    return fig


def attractor_figure(data: PlotData) -> Figure:
    """Pairwise projections of the attractor, one panel per pair (a single axis if 1-D)."""
    pairs = projection_pairs(data)
    n = max(1, len(pairs))
    fig = Figure(figsize=(2.6 * n, 2.5), dpi=DPI)
    if not data.series.size:
        return _empty(fig, f"{data.name}: no valid training trajectory to draw")
    axes = fig.subplots(1, n, squeeze=False)[0]
    fig.subplots_adjust(left=0.2 / n + 0.02, right=0.98, bottom=0.19, top=0.86, wspace=0.45)
    if not pairs:  # 1-D: x(t) against x(t + dt) (a return plot)
        x = data.series[..., 0]
        ax = axes[0]
        for traj in x:
            ax.scatter(traj[:-1], traj[1:], **DOTS)
        ax.set_xlabel(f"{data.labels[0]}[n]", fontsize=8)
        ax.set_ylabel(f"{data.labels[0]}[n+1]", fontsize=8)
    for ax, (i, j) in zip(axes, pairs, strict=False):  # 1-D: one axis, no pair
        _draw(ax, data, i, j)
        ax.set_xlabel(data.labels[i], fontsize=8)
        ax.set_ylabel(data.labels[j], fontsize=8)
    for ax in axes:
        ax.tick_params(labelsize=6)
    fig.suptitle(f"{data.name}: attractor ({data.granularity}, train)", fontsize=9)
    return fig


def series_figure(data: PlotData) -> Figure:
    """The first trajectory's first three shown coordinates against time (maps: iterations)."""
    fig = Figure(figsize=(7.5, 2.2), dpi=DPI)
    if not data.series.size:
        return _empty(fig, f"{data.name}: no valid training trajectory to draw")
    n_time = data.series.shape[1]
    if data.is_map:
        n = min(n_time, 20 * SERIES_PERIODS)
    else:
        n = n_time if data.period is None else min(n_time, max(2, math.ceil(SERIES_PERIODS * data.period / data.dt)))
    t = np.arange(n) * data.dt
    ax = fig.subplots()
    fig.subplots_adjust(left=0.07, right=0.99, bottom=0.2, top=0.86)
    for j in data.shown[:3]:
        style = dict(marker=".", ms=2, lw=0.4) if data.is_map else dict(lw=0.7)
        ax.plot(t, data.series[0, :n, j], label=data.labels[j], **style)
    ax.set_xlabel("iteration" if data.is_map else "time", fontsize=8)
    ax.tick_params(labelsize=6)
    ax.legend(fontsize=6, loc="upper right", ncols=3)
    ax.set_title(f"{data.name}: one training trajectory ({data.granularity})", fontsize=9)
    return fig


def power_spectrum(series: np.ndarray, dt: float) -> tuple[np.ndarray, np.ndarray]:
    """Frequencies (cycles per time unit) and power, Hann-windowed periodogram of each
    component after removing its mean, averaged over trajectories and components.

    `series`: `[trajectory, time, dim]`; rows with non-finite values are left out.
    """
    ok = np.isfinite(series).all(axis=(1, 2))
    x = series[ok]
    if x.shape[0] == 0 or x.shape[1] < 4:
        return np.zeros(0), np.zeros(0)
    x = x - x.mean(axis=1, keepdims=True)
    window = np.hanning(x.shape[1])[None, :, None]
    power = np.abs(np.fft.rfft(x * window, axis=1)) ** 2
    return np.fft.rfftfreq(x.shape[1], d=dt), power.mean(axis=(0, 2))


def spectrum_figure(data: PlotData) -> Figure:
    """Power spectrum (log scale) with the stored dominant frequency 1/period marked."""
    fig = Figure(figsize=(4.0, 2.4), dpi=DPI)
    freq, power = power_spectrum(data.series[:, :, list(data.shown)], data.dt)
    if not freq.size:
        return _empty(fig, f"{data.name}: too little data for a spectrum")
    ax = fig.subplots()
    fig.subplots_adjust(left=0.17, right=0.97, bottom=0.2, top=0.88)
    keep = power > 0
    ax.semilogy(freq[keep], power[keep], lw=0.7)
    if data.period:
        ax.axvline(1.0 / data.period, color="tab:red", lw=0.7, ls="--", label="1 / stored period")
        ax.legend(fontsize=6)
        ax.set_xlim(0, min(freq[-1], SPECTRUM_HARMONICS / data.period))
    ax.set_xlabel("frequency (per iteration)" if data.is_map else "frequency (per time unit)", fontsize=8)
    ax.set_ylabel("power", fontsize=8)
    ax.tick_params(labelsize=6)
    ax.set_title(f"{data.name}: power spectrum", fontsize=9)
    return fig


def gallery_pair(data: PlotData) -> tuple[int, int] | None:
    """The gallery's projection: first against last shown coordinate (delay: x(t) vs x(t - tau))."""
    if data.kind == "delay":
        return (0, data.series.shape[-1] - 1)
    return (data.shown[0], data.shown[-1]) if len(data.shown) > 1 else None


def gallery_figure(datas: list[PlotData], columns: int = 12) -> Figure:
    """A grid of every system's attractor, one small tile each, titled with its name."""
    columns = max(1, min(columns, len(datas)))
    rows = max(1, math.ceil(len(datas) / columns))
    fig = Figure(figsize=(1.15 * columns, 1.2 * rows), dpi=DPI)
    fig.subplots_adjust(left=0.005, right=0.995, bottom=0.005, top=0.995 - 0.1 / rows, wspace=0.05, hspace=0.3)
    axes = fig.subplots(rows, columns, squeeze=False).ravel()
    for ax, data in zip(axes, datas, strict=False):
        pair = gallery_pair(data)
        if data.series.size and pair is not None:
            _draw(ax, data, *pair, n_traj=1)
        elif data.series.size:  # 1-D: return plot
            x = data.series[0, :, 0]
            ax.scatter(x[:-1], x[1:], **DOTS)
        ax.set_title(data.name, fontsize=5, pad=1)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
        for spine in ax.spines.values():
            spine.set_linewidth(0.3)
    for ax in axes[len(datas):]:
        ax.set_visible(False)
    return fig


def save_png(fig: Figure, path: str | Path) -> Path:
    """Write `fig` as a PNG with no metadata that changes between runs (no Software, no date)."""
    path = Path(path)
    with replacing(path) as tmp:
        fig.savefig(tmp, format="png", dpi=DPI, metadata={"Software": None})
    return path
