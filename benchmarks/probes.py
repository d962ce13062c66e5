"""Small measurements quoted in RESULTS.md, each rerunnable on its own.

    python benchmarks/probes.py kick        # SprottQ: starts lost to infinity per kick size
    python benchmarks/probes.py kinks       # MacArthur: limiting-resource switches and rejected steps
    python benchmarks/probes.py overhead    # per-step overhead of the stepper (compare two commits)
"""

from __future__ import annotations

import argparse
import time

import torch

import chaosdata
from chaosdata import Sampling
from chaosdata.integrate.trajectories import sample_initial_conditions


def kick() -> None:
    """Escapes of kicked SprottQ starts (no transient, no redraws) at several kick sizes."""
    system = chaosdata.get_system("SprottQ")
    for scale, n, periods, seed in ((0.01, 64, 50, 0), (0.005, 128, 110, 1), (0.003, 128, 110, 1)):
        ics = sample_initial_conditions(system, n, seed, scale)
        tr = chaosdata.make_trajectories(system, periods * 10 + 1, initial_conditions=ics, pts_per_period=10, postprocess=False, sampling=Sampling(transient=0))
        print(f"kick {scale:.3f}: {n - int(tr.valid.sum())} of {n} starts lost over {periods} periods "
              f"(seed {seed}; {sorted(set(tr.stats['failures'].values())) or 'none'})")


def kinks(periods: int = 5) -> None:
    """How often MacArthur's limiting resource switches along one orbit, against its rejected steps."""
    system = chaosdata.get_system("MacArthur")
    tr = chaosdata.make_trajectories(system, periods * 2000 + 1, pts_per_period=2000, postprocess=False)
    p = system.bind()
    resources = tr.x[0, :, 5:]
    growth = p["r"] * resources[..., None] / (p["k"] + resources[..., None])  # [time, resource, species]
    limiting = growth.argmin(-2)
    switches = int((limiting[1:] != limiting[:-1]).sum())
    rejected = float(tr.stats["n_rejected"][0]) / periods
    print(f"MacArthur over {periods} periods: {switches / periods:.1f} limiting-resource switches per period, "
          f"{tr.stats['steps_per_period']:.0f} accepted and {rejected:.0f} rejected steps per period "
          f"({rejected / (switches / periods):.0f} rejected per switch)")


def overhead(repeats: int = 4) -> None:
    """Best-of wall time of a short Aizawa ensemble (16 ICs, 5 periods): run it here and under
    `PYTHONPATH=<a checkout of another commit>` to compare two versions of the stepper."""
    system = chaosdata.get_system("Aizawa")

    def run() -> float:
        start = time.perf_counter()
        chaosdata.make_trajectories(system, 51, pts_per_period=10, postprocess=False, sampling=Sampling(n_ics=16, transient=1))
        return time.perf_counter() - start

    run()  # warm-up
    print(f"Aizawa, 16 ICs, 5 periods ({chaosdata.__file__}): best of {repeats} "
          f"{min(run() for _ in range(repeats)):.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("probe", choices=["kick", "kinks", "overhead"])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    {"kick": kick, "kinks": kinks, "overhead": overhead}[args.probe]()


if __name__ == "__main__":
    main()
