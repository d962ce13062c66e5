"""Dynamical noise on the coordinates a system declares unbounded (clocks, phases, angles, positions on a torus).

`NoiseSpec(scale='initial')` (dysts's convention, the default of `make_trajectories(noise=level)`) sets
each coordinate's diffusion to `level * |x0_k|`, `x0` the state after the transient; 'std' to
`level * std_k` from the stored invariants. On a coordinate that grows by design, `|x0_k|` is how far
it has run by then (it depends on the transient's length), not a size of the state. For every flow
with `unbounded_indices`, this prints, per such coordinate: `|x0_k|` over a few draws, how far it
moves in one period without noise, and the std of the noise it then receives over one period
(`scale * sqrt(period)`) at `--level`, for both scales.

    python benchmarks/noise_unbounded.py [--level 0.01] [--draws 4]
"""

from __future__ import annotations

import argparse
import math

import numpy as np

from chaosdata import Sampling, make_trajectories
from chaosdata.systems import get_system, list_systems

POINTS = 100  # per period: the advance over one period is x[100] - x[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--level", type=float, default=0.01)
    parser.add_argument("--draws", type=int, default=4)
    args = parser.parse_args()
    print("| system | coordinate | abs(x0) after the transient | advance per period | noise per period, 'initial' "
          "| noise per period, 'std' |\n|---|---:|---:|---:|---:|---:|")
    for name in list_systems():
        system = get_system(name)
        if system.kind != "flow" or not system.unbounded_indices:
            continue
        run = make_trajectories(system, POINTS + 1, sampling=Sampling(args.draws, seed=0), postprocess=False)
        x = run.x.numpy()
        root_period = math.sqrt(float(system.period))
        std = (system.invariants or {}).get("std")
        for k in system.unbounded_indices:
            start = np.abs(x[:, 0, k])
            advance = np.abs(x[:, POINTS, k] - x[:, 0, k]).mean()
            by_std = f"{args.level * std[k] * root_period:.3g}" if std is not None else "-"
            print(f"| {name} | {k} | {start.min():.3g}-{start.max():.3g} | {advance:.3g} | "
                  f"{args.level * np.median(start) * root_period:.3g} | {by_std} |")


if __name__ == "__main__":
    main()
