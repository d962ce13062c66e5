"""Leaderboards derived from `results.csv` alone: per model over systems, and per system.

Each system counts once: a model's score on a system is the median over its initial
conditions; the leaderboard gives, per model, the median and interquartile range of those
per-system scores over the systems, and how many systems it covers. The per-system table
(`per_system.csv`) is what the dataset cards read.
"""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

HEADLINE = ("vpt_smape", "vpt_nrmse", "smape", "nrmse")
ATTRACTOR_HEADLINE = ("d_stsp", "d_h", "hellinger_distance")
HIGHER_IS_BETTER = {"vpt_smape", "vpt_nrmse", "r2", "pearson", "spearman"}


@dataclass(frozen=True)
class Summary:
    """One model under one protocol: per metric (median, q25, q75) over systems, and counts."""

    protocol: str
    model: str
    n_systems: int
    stats: dict[str, tuple[float, float, float]]


def read_results(path: str | Path) -> list[dict[str, str]]:
    with Path(path).open(newline="") as f:
        return list(csv.DictReader(f))


def _float(v: str | None) -> float:
    try:
        return float(v) if v not in (None, "") else math.nan
    except ValueError:
        return math.nan


def per_system(rows: Sequence[dict[str, str]], metrics: Sequence[str]) -> dict[tuple[str, str, str], dict[str, float]]:
    """(protocol, system, model) -> {metric: median over initial conditions (NaNs ignored)}, with `n_ics`."""
    groups: dict[tuple[str, str, str], list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[(r["protocol"], r["system"], r["model"])].append(r)
    out = {}
    for key, rs in sorted(groups.items()):
        entry = {"n_ics": float(len(rs))}
        for m in metrics:
            vals = np.array([_float(r.get(m)) for r in rs])
            entry[m] = float(np.nanmedian(vals)) if np.isfinite(vals).any() else math.nan
        out[key] = entry
    return out


def summarize(rows: Sequence[dict[str, str]], metrics: Sequence[str]) -> list[Summary]:
    """Per (protocol, model): median and IQR over systems of the per-system medians."""
    table = per_system(rows, metrics)
    by_model: dict[tuple[str, str], list[dict[str, float]]] = defaultdict(list)
    for (protocol, _system, model), entry in table.items():
        by_model[(protocol, model)].append(entry)
    out = []
    for (protocol, model), entries in sorted(by_model.items()):
        stats = {}
        for m in metrics:
            vals = np.array([e[m] for e in entries])
            vals = vals[np.isfinite(vals)]
            stats[m] = tuple(float(q) for q in np.percentile(vals, [50, 25, 75])) if vals.size else (math.nan,) * 3
        out.append(Summary(protocol=protocol, model=model, n_systems=len(entries), stats=stats))
    return out


def metric_columns(rows: Sequence[dict[str, str]], wanted: Sequence[str]) -> list[str]:
    """The metrics of `wanted` that `rows` hold at least one number for."""
    return [m for m in wanted if any(math.isfinite(_float(r.get(m))) for r in rows)]


def _cell(stat: tuple[float, float, float]) -> str:
    med, lo, hi = stat
    if not math.isfinite(med):
        return "n/a"
    fmt = (lambda x: f"{x:.3g}")
    return f"{fmt(med)} [{fmt(lo)}, {fmt(hi)}]"


def markdown(rows: Sequence[dict[str, str]], metrics: Sequence[str] | None = None) -> str:
    """The Markdown leaderboard: one table per protocol, models sorted by the first metric."""
    if not rows:
        return "_no results_\n"
    metrics = list(metrics) if metrics else metric_columns(rows, HEADLINE + ATTRACTOR_HEADLINE)
    parts = []
    for protocol in sorted({r["protocol"] for r in rows}):
        prow = [r for r in rows if r["protocol"] == protocol]
        cols = metric_columns(prow, metrics)
        summaries = summarize(prow, cols)
        if cols:
            first = cols[0]
            sign = -1 if first in HIGHER_IS_BETTER else 1
            summaries.sort(key=lambda s: (not math.isfinite(s.stats[first][0]), sign * s.stats[first][0]))
        n_sys = len({r["system"] for r in prow})
        parts.append(f"### {protocol}: {n_sys} systems\n")
        parts.append("Median over systems [interquartile range] of each system's median over initial conditions"
                     " (VPT in Lyapunov times, higher is better; sMAPE 0-200 and the others, lower is better).\n")
        parts.append("| model | systems | " + " | ".join(cols) + " |")
        parts.append("|---|---:|" + "---:|" * len(cols))
        for s in summaries:
            parts.append(f"| {s.model} | {s.n_systems} | " + " | ".join(_cell(s.stats[c]) for c in cols) + " |")
        parts.append("")
    return "\n".join(parts)


def write_reports(out: str | Path, metrics: Sequence[str] | None = None) -> dict[str, Path]:
    """From `out/results.csv`, write `leaderboard.md` and `per_system.csv`; returns their paths."""
    out = Path(out)
    rows = read_results(out / "results.csv")
    board = out / "leaderboard.md"
    board.write_text("# Leaderboard\n\n" + markdown(rows, metrics))
    cols = metric_columns(rows, list(metrics) if metrics else HEADLINE + ATTRACTOR_HEADLINE)
    table = per_system(rows, cols)
    path = out / "per_system.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["protocol", "system", "model", "n_ics", *cols])
        for (protocol, system, model), e in table.items():
            w.writerow([protocol, system, model, int(e["n_ics"]), *(repr(e[c]) for c in cols)])
    return {"leaderboard": board, "per_system": path}
