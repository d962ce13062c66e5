"""The gilpin2023 reproduction's leaderboard files, derived from the run folders alone.

    .venv/bin/python benchmarks/gilpin2023_report.py --runs /work/runs/gilpin2023 \
        --out benchmarks/leaderboard/gilpin2023

Reads `<runs>/<part>/results.csv` and `timings.csv` of the parts `fixed` (cheap models, every
system run), `subset` and `subset_b` (costly models on the seeded subset, its systems split
over two processes, so two output folders) and `long` (gilpin2023-long), and writes into `--out`:

- `results.csv`: every row of the three, cut to the key and the headline columns (what
  `chaosdata card --results` reads for the repo card and the system pages);
- `leaderboard.md`: the fixed task over every system run; the fixed task on the seeded subset
  with every model that ran there (cheap ones included, so the ranking is on the same systems);
  the long task; wall times per model.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from chaosdata.benchmark.leaderboard import markdown, wall_times
from chaosdata.benchmark.protocols import get_protocol, seeded_subset
from chaosdata.benchmark.results import ROW_KEY, read_csv, rewrite

PARTS = ("fixed", "subset", "subset_b", "long")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", required=True, help="folder holding fixed/, subset/ and long/")
    parser.add_argument("--out", required=True, help="folder for results.csv and leaderboard.md")
    args = parser.parse_args()
    runs, out = Path(args.runs), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = {p: read_csv(runs / p / "results.csv") for p in PARTS}
    timings = [t for p in PARTS for t in read_csv(runs / p / "timings.csv")]
    subset = set(seeded_subset(get_protocol("gilpin2023"), SUBSET["n"], SUBSET["seed"]))
    on_subset = [r for r in rows["fixed"] + rows["subset"] + rows["subset_b"] if r["system"] in subset]
    every = [r for p in PARTS for r in rows[p]]
    rewrite(out / "results.csv", [trimmed(r) for r in every], ROW_KEY)
    fixed_systems = len({r["system"] for r in rows["fixed"]})
    text = [
        "# gilpin2023 leaderboards (derived by benchmarks/gilpin2023_report.py from the run folders)\n",
        f"## Fixed task, cheap models, every system run ({fixed_systems} of the 135 flows)\n",
        markdown(rows["fixed"]),
        f"## Fixed task on the seeded subset (seeded_subset(gilpin2023, {SUBSET['n']}, seed={SUBSET['seed']})), "
        "every model that ran there\n",
        markdown(on_subset),
        "## Long task (gilpin2023-long) on the subset\n",
        markdown(rows["long"]),
        wall_times(timings, every),
    ]
    (out / "leaderboard.md").write_text("\n".join(text))
    print(out / "results.csv", out / "leaderboard.md", sep="\n")


if __name__ == "__main__":
    main()
