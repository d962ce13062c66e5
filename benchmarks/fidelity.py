"""Fidelity horizons: how long our default integration follows scipy's DOP853 at 1e-13.

For each system, one trajectory from the default initial condition with `make_trajectories`'s
defaults and scipy's DOP853 (rtol = atol = 1e-13) on the same grid. Printed per system:
the error over the first two Lyapunov times and the time until the two differ by 1% of the
attractor's scale (max per-coordinate std), in Lyapunov times (1 / lambda_max from the
invariants chaosdata stores; dysts's estimate is printed beside it). The reference has its own
error, so horizons near ~25 Lyapunov times measure the reference as much as us.

    python benchmarks/fidelity.py [--systems Lorenz,Rossler] [--lyapunov-times 30]
"""

from __future__ import annotations

import argparse
import json
import warnings
from importlib import resources

import numpy as np
import torch
from scipy.integrate import solve_ivp

import chaosdata

warnings.filterwarnings("ignore", message="Numba not installed")

SYSTEMS = ("Lorenz,Rossler,Chen,Thomas,SprottB,Halvorsen,HyperRossler,HyperLorenz,Chua,Duffing,"
           "DoublePendulum,HindmarshRose,Hopfield,GlycolyticOscillation")


def dysts_lyapunov(name: str) -> float:
    with open(resources.files("dysts").joinpath("data", "chaotic_attractors.json")) as f:
        return float(json.load(f)[name]["maximum_lyapunov_estimated"])


def our_lyapunov(system: chaosdata.System) -> float:
    stored = system.invariants
    if not stored or not stored.get("max_lyapunov", 0) > 0:
        raise SystemExit(f"{system.name} has no positive stored lambda_max: run generation/compute_invariants.py")
    return float(stored["max_lyapunov"])


def horizon(name: str, n_lyapunov: float, pts_per_lyapunov: int = 50) -> dict:
    system = chaosdata.get_system(name)
    lam = our_lyapunov(system)
    pts_per_period = pts_per_lyapunov * lam * system.period
    n = int(n_lyapunov * pts_per_lyapunov) + 1
    ic = torch.tensor(system.initial_conditions, dtype=torch.float64)
    tr = chaosdata.make_trajectories(system, n, pts_per_period=pts_per_period, initial_conditions=ic,
                                     postprocess=False)
    t = tr.t.numpy()
    params = system.bind(None)

    def f(ti, y):
        return system.equations(torch.from_numpy(y), ti, **params).numpy()

    ref = solve_ivp(f, (t[0], t[-1]), ic.numpy(), method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13).y.T
    ours = tr.x[0].numpy()
    scale = ref.std(0).max()
    err = np.abs(ours - ref).max(-1) / scale
    past = np.nonzero(err > 0.01)[0]
    return {
        "system": name, "lambda_max": lam, "dysts_lambda_max": dysts_lyapunov(system.dysts_name or name),
        "steps_per_period": tr.stats["steps_per_period"],
        "method": tr.stats["method"], "error_2lt": float(err[: 2 * pts_per_lyapunov + 1].max()),
        "horizon_lt": (past[0] / pts_per_lyapunov) if past.size else float("inf"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=SYSTEMS)
    parser.add_argument("--lyapunov-times", type=float, default=30)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f"{'system':22s} {'lambda_max':>10s} {'dysts':>8s} {'method':>7s} {'steps/period':>12s} {'err 2 LT':>10s} {'horizon LT':>10s}")
    for name in args.systems.split(","):
        r = horizon(name, args.lyapunov_times)
        print(f"{name:22s} {r['lambda_max']:10.4f} {r['dysts_lambda_max']:8.4f} {r['method']:>7s} {r['steps_per_period']:12.1f} "
              f"{r['error_2lt']:10.2e} {r['horizon_lt']:10.1f}", flush=True)


if __name__ == "__main__":
    main()
