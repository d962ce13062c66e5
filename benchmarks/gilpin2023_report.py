"""The gilpin2023 reproduction's leaderboard files, derived from the run folders alone.

    .venv/bin/python benchmarks/gilpin2023_report.py --runs /work/runs/gilpin2023 \
        --out benchmarks/leaderboard/gilpin2023

Reads `<runs>/<part>/results.csv` and `timings.csv` of the parts (a missing one is empty): `fixed`
(the models run over every flow), `subset` and `subset_b` (costly models on the seeded subset, its
systems split over two processes), `subset_tuned` and `subset_tuned_b` (neural models with their
input-length grid; the second holds half the subset's systems for one model, run beside the first),
`subset_budget` (neural models at 10x the training steps), all on the fixed task, and `long` and
`long_b` (gilpin2023-long; the second as `subset_tuned_b`); it writes into `--out`:

- `results.csv`: every row, cut to the key and the headline columns (what `chaosdata card
  --results` reads for the repo card and the system pages);
- `leaderboard.md`: the fixed task, each model (and settings) over every system it ran on; the
  fixed task on the seeded subset with every model that ran there (so that ranking is on the same
  systems); the long task; wall times per model. Entries differ by their settings' hash: a model
  tuned, untuned or trained longer is its own row.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np

from chaosdata.benchmark.leaderboard import (
    SMAPE_THRESHOLD,
    error_curve,
    lyapunov_columns,
    markdown,
    summarize,
    valid_horizon,
    wall_times,
)
from chaosdata.benchmark.protocols import get_protocol, seeded_subset
from chaosdata.benchmark.results import ROW_KEY, read_csv, rewrite

FIXED_PARTS = ("fixed", "subset", "subset_b", "subset_tuned", "subset_tuned_b", "subset_budget")
LONG_PARTS = ("long", "long_b")
PARTS = (*FIXED_PARTS, *LONG_PARTS)
SUBSET = {"n": 20, "seed": 2023}  # the stated draw: seeded_subset(get_protocol("gilpin2023"), 20, seed=2023)
KEEP = (*ROW_KEY, "params", "tuned", "data_seed", "context", "horizon", "dim", "dt", "lyapunov_time",
        "vpt_smape", "vpt_nrmse", "smape", "nrmse")


def trimmed(row: dict[str, str]) -> dict[str, str]:
    """`row` cut to `KEEP` and the cumulative sMAPE at each Lyapunov horizon, numbers to 5 digits."""
    out = {k: row[k] for k in KEEP if k in row}
    out.update({k: v for k, v in row.items() if re.fullmatch(r"smape_lt_[0-9.]+", k)})
    for k, v in out.items():
        if k not in ROW_KEY and k not in ("params", "tuned", "data_seed"):
            try:
                out[k] = f"{float(v):.5g}"
            except ValueError:
                pass
    return out


def condensed(rows: list[dict[str, str]], timings: list[dict[str, str]]) -> str:
    """One Markdown row per entry, by median sMAPE: systems, sMAPE median [IQR], VPT median, the
    horizon with median sMAPE < SMAPE_THRESHOLD, median wall seconds per system (RESULTS.md)."""
    cols = lyapunov_columns(rows)
    summaries = summarize(rows, ["smape", "vpt_smape"] + [c for _, c in cols])
    summaries.sort(key=lambda s: s.stats["smape"][0])
    secs: dict[tuple[str, str, str], list[float]] = {}
    for t in timings:
        secs.setdefault((t["protocol"], t["model"], t["params_hash"]), []).append(float(t["wall_seconds"]))
    lines = [f"| model | systems | sMAPE median [IQR] | VPT (Lyapunov times) | sMAPE < {SMAPE_THRESHOLD:g} up to "
             "(Lyapunov times) | s per system |", "|---|---:|---:|---:|---:|---:|"]
    for s in summaries:
        med, lo, hi = s.stats["smape"]
        wall = secs.get((s.protocol, s.model, s.params_hash), [])
        lines.append(f"| {s.label} | {s.n_systems} | {med:.3g} [{lo:.3g}, {hi:.3g}] | {s.stats['vpt_smape'][0]:.2g} | "
                     f"{valid_horizon(error_curve(s, cols))} | {np.median(wall) if wall else float('nan'):.3g} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", required=True, help="folder holding the parts (fixed/, subset/, ..., long/)")
    parser.add_argument("--out", required=True, help="folder for results.csv and leaderboard.md")
    args = parser.parse_args()
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = {p: read_csv(runs / p / "results.csv") for p in PARTS}
    timings = [t for p in PARTS for t in read_csv(runs / p / "timings.csv")]
    subset = set(seeded_subset(get_protocol("gilpin2023"), SUBSET["n"], SUBSET["seed"]))
    fixed = [r for p in FIXED_PARTS for r in rows[p]]
    on_subset = [r for r in fixed if r["system"] in subset]
    every = [r for p in PARTS for r in rows[p]]
    long = [r for p in LONG_PARTS for r in rows[p]]
    rewrite(out / "results.csv", [trimmed(r) for r in every], ROW_KEY)
    fixed_systems = len({r["system"] for r in fixed})
    text = [
        "# gilpin2023 leaderboards (derived by benchmarks/gilpin2023_report.py from the run folders)\n",
        f"## Fixed task, each model over every system run ({fixed_systems} of the 135 flows)\n",
        markdown(fixed),
        f"## Fixed task on the seeded subset (seeded_subset(gilpin2023, {SUBSET['n']}, seed={SUBSET['seed']})), "
        "every model that ran there\n",
        markdown(on_subset),
        "## Long task (gilpin2023-long) on the subset\n",
        markdown(long),
        wall_times(timings, every),
    ]
    (out / "leaderboard.md").write_text("\n".join(text))
    for name, part in (("fixed, every system run", fixed), ("fixed, seeded subset", on_subset),
                       ("long", long)):
        print(f"\n{name}:\n" + condensed(part, timings))
    print(out / "results.csv", out / "leaderboard.md", sep="\n")


if __name__ == "__main__":
    main()
