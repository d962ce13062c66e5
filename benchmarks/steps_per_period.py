"""Every flow and delay equation through `make_trajectories` at default settings.

Integrates `--n-ics` initial conditions per system over `--periods` periods (after the default
transient) and prints, per system: steps per period (mean over trajectories), rejected-step
fraction, failed trajectories with reasons, and wall time. Results append to a JSON-lines file,
so an interrupted run resumes where it stopped.

    python benchmarks/steps_per_period.py --out benchmarks/steps_per_period.jsonl
    python benchmarks/steps_per_period.py --systems Lorenz,StickSlipOscillator
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

import chaosdata


def survey(name: str, n_ics: int, periods: float, pts_per_period: int) -> dict:
    system = chaosdata.get_system(name)
    start = time.perf_counter()
    tr = chaosdata.make_trajectories(system, int(periods * pts_per_period) + 1, n_ics=n_ics,
                                     pts_per_period=pts_per_period)
    wall = time.perf_counter() - start
    acc, rej = tr.stats["n_accepted"].double(), tr.stats["n_rejected"].double()
    return {
        "system": name, "kind": system.kind, "dim": system.dim, "method": tr.stats["method"],
        "steps_per_period": tr.stats["steps_per_period"],
        "max_steps_per_period": float(acc.max()) / periods,
        "rejected_fraction": float(rej.sum() / (acc.sum() + rej.sum()).clamp_min(1)),
        "valid": int(tr.valid.sum()), "n_ics": n_ics, "failures": {str(k): v for k, v in tr.stats["failures"].items()},
        "wall_s": wall,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=None, help="comma-separated (default: all flows and delay equations)")
    parser.add_argument("--n-ics", type=int, default=16)
    parser.add_argument("--periods", type=float, default=100)
    parser.add_argument("--pts-per-period", type=int, default=10, help="output density (steps do not depend on it)")
    parser.add_argument("--out", type=Path, default=None, help="JSON-lines file to append to (resumes)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = args.systems.split(",") if args.systems else chaosdata.list_systems("flow") + chaosdata.list_systems("delay")
    done = set()
    if args.out is not None and args.out.exists():
        done = {json.loads(line)["system"] for line in args.out.read_text().splitlines() if line.strip()}
    print(f"{'system':28s} {'kind':5s} {'dim':>3s} {'steps/period':>12s} {'max':>8s} {'rejected':>8s} "
          f"{'valid':>6s} {'wall s':>7s}")
    for name in names:
        if name in done:
            continue
        r = survey(name, args.n_ics, args.periods, args.pts_per_period)
        print(f"{name:28s} {r['kind']:5s} {r['dim']:3d} {r['steps_per_period']:12.1f} {r['max_steps_per_period']:8.1f} "
              f"{r['rejected_fraction']:8.2f} {r['valid']:3d}/{r['n_ics']:<2d} {r['wall_s']:7.1f}"
              + (f"  {sorted(set(r['failures'].values()))}" if r["failures"] else ""), flush=True)
        if args.out is not None:
            with args.out.open("a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
