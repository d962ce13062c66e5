"""Wall time of one `integrate` solve, for comparing two checkouts in separate processes.

    python benchmarks/bench_batch.py Lorenz 1024 668 100    # system, batch, points, points per period

Integrates the system's field from 1% kicks of its initial condition (seed 0) onto
`arange(points) * period / points_per_period` with DOP853 at rtol = atol = 1e-12, one torch
thread, and prints the best `wall_time` of `--repeat` runs. With `--compile` it prints the
first call (compile included) and then the best of the warm calls. Run it from each checkout with
`PYTHONPATH` set to that checkout (e.g. a `git worktree` of the older revision), alternating.
"""

from __future__ import annotations

import argparse
import time

import torch

import chaosdata
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.settings import SolverSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("system")
    parser.add_argument("batch", type=int)
    parser.add_argument("points", type=int)
    parser.add_argument("points_per_period", type=float)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--compile", action="store_true", help="compile=True; the first call is timed apart")
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
    if args.compile:
        start = time.perf_counter()
        integrate(f, y0, t, SolverSettings(rtol=1e-12, atol=1e-12, compile=True))
        print(f"first call {time.perf_counter() - start:.1f} s, ", end="")
    settings = SolverSettings(rtol=1e-12, atol=1e-12, compile=args.compile)
    best = min(integrate(f, y0, t, settings).wall_time for _ in range(args.repeat))
    print(f"{best:.3f}")


if __name__ == "__main__":
    main()
