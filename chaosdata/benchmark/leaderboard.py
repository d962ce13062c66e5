"""Leaderboards derived from `results.csv` alone: per model over systems, and per system.

Each system counts once: a model's score on a system is the median over its initial
conditions; the leaderboard gives, per model, the median and interquartile range of those
per-system scores over the systems, and how many systems it covers. The per-system table
(`per_system.csv`) is what the dataset cards read.

Only results on the same data are ranked together: one table per (protocol, data seed). A
model run with several settings (hyperparameter hashes) in one table is one entry per
setting, labelled with the settings that differ from its defaults.
"""

from __future__ import annotations

import csv
import json
import math
import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from chaosdata.benchmark.results import read_csv

HEADLINE = ("vpt_smape", "vpt_nrmse", "smape", "nrmse")
ATTRACTOR_HEADLINE = ("d_stsp", "d_h", "hellinger_distance")
HIGHER_IS_BETTER = {"vpt_smape", "vpt_nrmse", "r2", "pearson", "spearman"}
# The horizon a model stays useful to: its median sMAPE (0-200) over systems below this. 30 is
# the threshold of the published valid prediction time (Zhang & Gilpin 2025, on 0-200), so the
# two read alike; it is a fifth of the ~150 of forecasts unrelated to the truth (the median of
# naive mean in dysts 2021: 148.9), well clear of it while allowing the error a forecast that
# tracks the orbit accumulates.
SMAPE_THRESHOLD = 30.0


@dataclass(frozen=True)
class Summary:
    """One entry (model and settings) on one protocol's data seed: per metric (median, q25,
    q75) over systems, and counts. `label` names the model, with its settings where the table
    holds the model under more than one."""

    protocol: str
    model: str
    n_systems: int
    stats: dict[str, tuple[float, float, float]]
    seed: str = ""
    params_hash: str = ""
    label: str = ""


Entry = tuple[str, str, str, str, str]  # (protocol, seed, system, model, params_hash)


def read_results(path: str | Path) -> list[dict[str, str]]:
    """The rows of a `results.csv` (refused, with the way out, if written by the earlier key)."""
    return read_csv(Path(path))


def _float(v: str | None) -> float:
    try:
        return float(v) if v not in (None, "") else math.nan
    except ValueError:
        return math.nan


def per_system(rows: Sequence[dict[str, str]], metrics: Sequence[str]) -> dict[Entry, dict[str, float]]:
    """(protocol, seed, system, model, params_hash) -> {metric: median over initial conditions
    (NaNs ignored)}, with `n_ics`."""
    groups: dict[Entry, list[dict[str, str]]] = defaultdict(list)
    for r in rows:
        groups[(r["protocol"], r["seed"], r["system"], r["model"], r["params_hash"])].append(r)
    out = {}
    for key, rs in sorted(groups.items()):
        entry = {"n_ics": float(len(rs))}
        for m in metrics:
            vals = np.array([_float(r.get(m)) for r in rs])
            entry[m] = float(np.nanmedian(vals)) if np.isfinite(vals).any() else math.nan
        out[key] = entry
    return out


def labels(rows: Sequence[dict[str, str]]) -> dict[tuple[str, str, str, str], str]:
    """(protocol, seed, model, params_hash) -> the entry's name in tables and plots: the model,
    plus, where one table has the model with several settings, its non-default settings
    (`params`), "tuned: <names>" when it chose those hyperparameters on a grid, and the first 6
    characters of the settings' hash when two entries would still read the same (defaults that
    changed between two runs, or the same settings with another grid)."""
    settings: dict[tuple[str, str, str], dict[str, str]] = defaultdict(dict)
    for r in rows:
        text = r.get("params") or r["params_hash"]
        if r.get("tuned"):
            text += " tuned: " + ",".join(json.loads(r["tuned"]))
        settings[(r["protocol"], r["seed"], r["model"])][r["params_hash"]] = text
    out = {}
    for (p, seed, model), by_hash in settings.items():
        repeated = Counter(by_hash.values())
        for h, text in by_hash.items():
            label = model if len(by_hash) == 1 else f"{model} {text}"
            out[(p, seed, model, h)] = label + (f" #{h[:6]}" if len(by_hash) > 1 and repeated[text] > 1 else "")
    return out


def summarize(rows: Sequence[dict[str, str]], metrics: Sequence[str]) -> list[Summary]:
    """Per (protocol, seed, model, params_hash): median and IQR over systems of the per-system medians."""
    table = per_system(rows, metrics)
    names = labels(rows)
    by_model: dict[tuple[str, str, str, str], list[dict[str, float]]] = defaultdict(list)
    for (protocol, seed, _system, model, h), entry in table.items():
        by_model[(protocol, seed, model, h)].append(entry)
    out = []
    for (protocol, seed, model, h), entries in sorted(by_model.items()):
        stats: dict[str, tuple[float, float, float]] = {}
        for m in metrics:
            vals = np.array([e[m] for e in entries])
            vals = vals[np.isfinite(vals)]
            median, q25, q75 = np.percentile(vals, [50, 25, 75]).tolist() if vals.size else (math.nan,) * 3
            stats[m] = (median, q25, q75)
        out.append(Summary(protocol=protocol, model=model, n_systems=len(entries), stats=stats, seed=seed,
                           params_hash=h, label=names[(protocol, seed, model, h)]))
    return out


def lyapunov_columns(rows: Sequence[dict[str, str]]) -> list[tuple[float, str]]:
    """The `smape_lt_<h>` columns (cumulative sMAPE at h Lyapunov times) that `rows` hold, by h."""
    names = {c for r in rows[:1] for c in r if re.fullmatch(r"smape_lt_[0-9.]+", c)}
    present = [n for n in names if any(math.isfinite(_float(r.get(n))) for r in rows)]
    return sorted((float(n.removeprefix("smape_lt_")), n) for n in present)


def error_curve(summary: Summary, cols: Sequence[tuple[float, str]]) -> list[tuple[float, float]]:
    """(h, median over systems of the cumulative sMAPE at h Lyapunov times) for an entry, where
    at least one system's forecast reaches h."""
    return [(h, summary.stats[c][0]) for h, c in cols if c in summary.stats and math.isfinite(summary.stats[c][0])]


def valid_horizon(curve: Sequence[tuple[float, float]], threshold: float = SMAPE_THRESHOLD) -> str:
    """The largest horizon (Lyapunov times) up to which the median sMAPE of `curve` stays under
    `threshold`: `"0"` if over at the first, `">h"` if under up to the last recorded `h`."""
    if not curve:
        return "n/a"
    last = 0.0
    for h, value in curve:
        if not value < threshold:
            return f"{last:g}"
        last = h
    return f">{last:g}"


def metric_columns(rows: Sequence[dict[str, str]], wanted: Sequence[str]) -> list[str]:
    """The metrics of `wanted` that `rows` hold at least one number for."""
    return [m for m in wanted if any(math.isfinite(_float(r.get(m))) for r in rows)]


def _cell(stat: tuple[float, float, float]) -> str:
    med, lo, hi = stat
    if not math.isfinite(med):
        return "n/a"
    return f"{med:.3g} [{lo:.3g}, {hi:.3g}]"


def markdown(rows: Sequence[dict[str, str]], metrics: Sequence[str] | None = None) -> str:
    """The Markdown leaderboard: one table per (protocol, data seed), entries sorted by the
    first metric; a note where the file holds results on several data seeds."""
    if not rows:
        return "_no results_\n"
    metrics = list(metrics) if metrics else metric_columns(rows, HEADLINE + ATTRACTOR_HEADLINE)
    parts = []
    for protocol in sorted({r["protocol"] for r in rows}):
        seeds = sorted({r["seed"] for r in rows if r["protocol"] == protocol}, key=int)
        for seed in seeds:
            prow = [r for r in rows if r["protocol"] == protocol and r["seed"] == seed]
            parts.extend(_table(prow, metrics, protocol, seed, seeds))
    return "\n".join(parts)


def _table(prow: Sequence[dict[str, str]], metrics: Sequence[str], protocol: str, seed: str,
           seeds: Sequence[str]) -> list[str]:
    cols = metric_columns(prow, metrics)
    lt_cols = lyapunov_columns(prow)
    summaries = summarize(prow, cols + [c for _, c in lt_cols])
    if cols:
        first = cols[0]
        sign = -1 if first in HIGHER_IS_BETTER else 1
        summaries.sort(key=lambda s: (not math.isfinite(s.stats[first][0]), sign * s.stats[first][0]))
    n_sys = len({r["system"] for r in prow})
    parts = [f"### {protocol}, data seed {seed}: {n_sys} systems\n"]
    if len(seeds) > 1:
        others = ", ".join(s for s in seeds if s != seed)
        parts.append(f"Results on data seed {seed} only: those on seed {others} are in their own table, "
                     "not ranked with these.\n")
    parts.append("Median over systems [interquartile range] of each system's median over initial conditions"
                 " (VPT in Lyapunov times, higher is better; sMAPE 0-200 and the others, lower is better).\n")
    horizon = [f"sMAPE < {SMAPE_THRESHOLD:g} up to (Lyapunov times)"] if lt_cols else []
    if lt_cols:
        parts.append(f"The last column: the horizon up to which the entry's median sMAPE over systems (cumulative, "
                     f"0-200) stays under {SMAPE_THRESHOLD:g}, read at {', '.join(f'{h:g}' for h, _ in lt_cols)} "
                     "Lyapunov times (each median over the systems whose forecast reaches that far).\n")
    parts.append("| model | systems | " + " | ".join(cols + horizon) + " |")
    parts.append("|---|---:|" + "---:|" * (len(cols) + len(horizon)))
    for s in summaries:
        cells = [_cell(s.stats[c]) for c in cols] + ([valid_horizon(error_curve(s, lt_cols))] if lt_cols else [])
        parts.append(f"| {s.label} | {s.n_systems} | " + " | ".join(cells) + " |")
    parts.append("")
    return parts


def wall_times(timings: Sequence[dict[str, str]], rows: Sequence[dict[str, str]]) -> str:
    """Markdown: per (protocol, data seed, entry), the wall seconds per system (median, and the
    sum over systems) from `timings.csv` (fit, forecast and scoring of all initial conditions)."""
    if not timings:
        return ""
    names = labels(rows)
    groups: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for t in timings:
        label = names.get((t["protocol"], t["seed"], t["model"], t["params_hash"]), t["model"])
        groups[(t["protocol"], t["seed"], label)].append(_float(t["wall_seconds"]))
    note = ("Seconds per system: fit, forecast and scoring of all its initial conditions "
            "(threads as recorded in timings.csv).\n")
    parts = ["\n### Wall time\n", note, "| protocol | data seed | model | systems | median s | total s |",
             "|---|---:|---|---:|---:|---:|"]
    for (protocol, seed, label), secs in sorted(groups.items()):
        parts.append(f"| {protocol} | {seed} | {label} | {len(secs)} | {np.median(secs):.3g} | {sum(secs):.3g} |")
    return "\n".join(parts) + "\n"


def write_reports(out: str | Path, metrics: Sequence[str] | None = None) -> dict[str, Path]:
    """From `out/results.csv`, write `leaderboard.md` and `per_system.csv`; returns their paths."""
    out = Path(out)
    rows = read_results(out / "results.csv")
    board = out / "leaderboard.md"
    board.write_text("# Leaderboard\n\n" + markdown(rows, metrics) + wall_times(read_csv(out / "timings.csv"), rows))
    cols = metric_columns(rows, list(metrics) if metrics else HEADLINE + ATTRACTOR_HEADLINE)
    table = per_system(rows, cols)
    names = labels(rows)
    path = out / "per_system.csv"
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["protocol", "seed", "system", "model", "params_hash", "label", "n_ics", *cols])
        for (protocol, seed, system, model, h), e in table.items():
            w.writerow([protocol, seed, system, model, h, names[(protocol, seed, model, h)], int(e["n_ics"]),
                        *(repr(e[c]) for c in cols)])
    return {"leaderboard": board, "per_system": path}
