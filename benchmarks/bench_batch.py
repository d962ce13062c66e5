"""Wall time of one `integrate` solve, for comparing two checkouts in separate processes.

    python benchmarks/bench_batch.py Lorenz 1024 668 100    # system, batch, points, points per period

Integrates the system's field from 1% kicks of its initial condition (seed 0) onto
`arange(points) * period / points_per_period` with DOP853 at rtol = atol = 1e-12, one torch
thread, and prints the best `wall_time` of `--repeat` runs. Run it from each checkout with
`PYTHONPATH` set to that checkout (e.g. a `git worktree` of the older revision), alternating.
"""

from __future__ import annotations

import argparse

import torch

import chaosdata
from chaosdata.integrate.ode import integrate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system")
    parser.add_argument("batch", type=int)
    parser.add_argument("points", type=int)
    parser.add_argument("points_per_period", type=float)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(1)
    system = chaosdata.get_system(args.system)
    params = system.bind()

    def f(t, y):
        return system.equations(y, t, **params)
    gen = torch.Generator().manual_seed(0)
    ic = torch.tensor(system.initial_conditions, dtype=torch.float64)
    y0 = ic * (1 + 0.01 * torch.randn(args.batch, system.dim, generator=gen, dtype=torch.float64))
    t = torch.arange(args.points, dtype=torch.float64) * (system.period / args.points_per_period)
    print(f"{min(integrate(f, y0, t, rtol=1e-12, atol=1e-12).wall_time for _ in range(args.repeat)):.3f}")


if __name__ == "__main__":
    main()
