"""Plots derived from `results.csv` alone (matplotlib, from the `publish` extra).

- `vpt_distribution.png`: per model, the distribution over systems of each system's median
  valid prediction time (Lyapunov times), as box plots;
- `error_vs_horizon.png`: per model, the median over systems of the cumulative sMAPE (0-200)
  at each recorded forecast step (`smape_at_<k>` columns);
- `error_vs_lyapunov_time.png`: the same against the horizon in Lyapunov times (`smape_lt_<h>`
  columns), with the threshold of the leaderboard's valid horizon.

One pair of plots per (protocol, data seed), the entries named as in the leaderboard
(`leaderboard.labels`); the file names carry the seed where the results hold several.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from chaosdata.benchmark.leaderboard import (
    SMAPE_THRESHOLD,
    error_curve,
    labels,
    lyapunov_columns,
    per_system,
    read_results,
    summarize,
)
from chaosdata.errors import ChaosdataError


def _pyplot():
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise ChaosdataError("plots need matplotlib: pip install 'chaosdata[publish]'") from err
    return plt


def horizon_columns(rows: Sequence[dict[str, str]]) -> list[tuple[int, str]]:
    """The `smape_at_<k>` columns present, as (k, name), by k."""
    names = {c for r in rows[:1] for c in r if re.fullmatch(r"smape_at_\d+", c)}
    return sorted((int(n.rsplit("_", 1)[1]), n) for n in names)


def write_plots(out: str | Path, metric: str = "vpt_smape") -> list[Path]:
    """Draw the plots of each (protocol, data seed) in `out/results.csv` into `out/`; returns their paths."""
    plt = _pyplot()
    out = Path(out)
    rows = read_results(out / "results.csv")
    written = []
    for protocol in sorted({r["protocol"] for r in rows}):
        seeds = sorted({r["seed"] for r in rows if r["protocol"] == protocol}, key=int)
        for seed in seeds:
            prow = [r for r in rows if r["protocol"] == protocol and r["seed"] == seed]
            name = protocol if len(seeds) == 1 else f"{protocol}_seed{seed}"
            written.extend(_plots(plt, out, prow, name, metric))
    return written


def _plots(plt, out: Path, prow: Sequence[dict[str, str]], name: str, metric: str) -> list[Path]:
    names = labels(prow)
    entries = sorted({(r["model"], r["params_hash"]) for r in prow})
    title = [names[(prow[0]["protocol"], prow[0]["seed"], m, h)] for m, h in entries]
    cols = horizon_columns(prow)
    table = per_system(prow, [metric] + [c for _, c in cols])
    per_entry = [[e for (_, _, _, m, h), e in table.items() if (m, h) == entry] for entry in entries]
    written = []
    values = [[e[metric] for e in es if math.isfinite(e[metric])] for es in per_entry]
    if any(values):
        fig, ax = plt.subplots(figsize=(1.2 * len(entries) + 2, 4))
        ax.boxplot([v if v else [math.nan] for v in values], showfliers=True)
        ax.set_xticks(range(1, len(entries) + 1), title, rotation=30)
        ax.set_ylabel("valid prediction time (Lyapunov times)")
        ax.set_title(f"{name}: {metric} per system (median over initial conditions)")
        fig.tight_layout()
        path = out / f"vpt_distribution_{name}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    if cols:
        fig, ax = plt.subplots(figsize=(6, 4))
        for label, es in zip(title, per_entry, strict=True):
            curve = [_median([e[c] for e in es]) for _, c in cols]
            ax.plot([k for k, _ in cols], curve, marker="o", label=label)
        ax.set_xscale("log")
        ax.set_xlabel("forecast step")
        ax.set_ylabel("cumulative sMAPE (0-200), median over systems")
        ax.set_title(f"{name}: error against horizon")
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = out / f"error_vs_horizon_{name}.png"
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written.append(path)
    lt_cols = lyapunov_columns(prow)
    if lt_cols:
        written.append(_lyapunov_plot(plt, out / f"error_vs_lyapunov_time_{name}.png", prow, lt_cols, name))
    return written


def _median(values: Sequence[float]) -> float:
    """The median of the finite values (NaN when there is none: a horizon no system reached)."""
    finite = [v for v in values if math.isfinite(v)]
    return float(np.median(finite)) if finite else math.nan


def _lyapunov_plot(plt, path: Path, prow: Sequence[dict[str, str]], lt_cols: list[tuple[float, str]],
                   name: str) -> Path:
    fig, ax = plt.subplots(figsize=(6, 4))
    for s in summarize(prow, [c for _, c in lt_cols]):
        curve = error_curve(s, lt_cols)
        ax.plot([h for h, _ in curve], [v for _, v in curve], marker="o", label=s.label)
    ax.axhline(SMAPE_THRESHOLD, color="grey", linestyle="--", linewidth=1)
    ax.set_xscale("log")
    ax.set_xlabel("horizon (Lyapunov times)")
    ax.set_ylabel("cumulative sMAPE (0-200), median over systems")
    ax.set_title(f"{name}: error against Lyapunov time")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
