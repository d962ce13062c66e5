"""Integration speed and accuracy, chaosdata against dysts, side by side in one process.

CPU mode (default): dysts's `make_trajectory` with its defaults (Radau, rtol = atol = 1e-12,
one initial condition, numba JIT when installed) against `chaosdata.make_trajectories` with its
defaults (DOP853, 1e-13) on a batch of initial conditions, same `n` and `pts_per_period`. Both
are scored against scipy's DOP853 at rtol = atol = 1e-13 from the same initial condition on
their own time grid; errors are divided by the attractor's scale (per-coordinate std).

    python benchmarks/bench_integrate.py                      # Lorenz and MacArthur (10-D)
    python benchmarks/bench_integrate.py --systems Lorenz --n 1000 --batch 64

Throughput mode (`--throughput`, meant for `--device cuda`): trajectory-steps per second for
fixed-step float32 RK4 on 2^20 Lorenz trajectories and for adaptive float64 DOP853.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import torch
from scipy.integrate import solve_ivp

import chaosdata
from chaosdata.integrate import integrate

warnings.filterwarnings("ignore", message="Numba not installed")


def reference(system, ic: np.ndarray, t: np.ndarray) -> np.ndarray:
    """scipy DOP853 at 1e-13 from `ic` on `t`, through our (dysts-verified) vector field."""
    def f(ti, y):
        return system.rhs(torch.from_numpy(y), float(ti)).numpy()

    sol = solve_ivp(f, (t[0], t[-1]), ic, method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13)
    return sol.y.T


def scaled_error(x: np.ndarray, ref: np.ndarray, scale: np.ndarray, n_early: int) -> tuple[float, int]:
    """(max error over the first `n_early` points, index where the error first passes 1%)."""
    err = np.abs(x - ref).max(-1) / scale.max()
    early = float(err[: max(2, n_early)].max())
    past = np.nonzero(err > 0.01)[0]
    return early, (int(past[0]) if past.size else len(err))


def run_dysts(name: str, n: int, ppp: int):
    import dysts.flows

    model = getattr(dysts.flows, name)()
    model.make_trajectory(20, pts_per_period=ppp)  # numba compilation outside the timing
    start = time.perf_counter()
    t, x = model.make_trajectory(n, pts_per_period=ppp, return_times=True)
    lyap = float(model.maximum_lyapunov_estimated)
    return time.perf_counter() - start, np.asarray(t), np.asarray(x), np.asarray(model.ic, dtype=float), lyap


def run_ours(system, n: int, ppp: int, batch: int, ic: np.ndarray, compile: bool):
    gen = torch.Generator().manual_seed(1)
    ics = torch.from_numpy(ic)[None].repeat(batch, 1)
    ics[1:] += 1e-3 * (ics[1:].abs() + 0.1) * torch.randn(batch - 1, ic.size, generator=gen, dtype=torch.float64)
    # warm-up (and compilation, whose one-off cost is reported separately): the same shapes
    # (batch, n) over a very short span, so the compiled step is reused by the timed run
    start = time.perf_counter()
    chaosdata.make_trajectories(system, n, pts_per_period=ppp * 1000, initial_conditions=ics, compile=compile)
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    tr = chaosdata.make_trajectories(system, n, pts_per_period=ppp, initial_conditions=ics, compile=compile)
    elapsed = time.perf_counter() - start
    assert bool(tr.valid.all()), tr.stats["failures"]
    return elapsed, tr.t.numpy(), tr.x[0].numpy(), dict(tr.stats, warmup=warmup)


def compare(name: str, n: int, ppp: int, batch: int, compile: bool) -> dict:
    system = chaosdata.get_system(name)
    t_d, times_d, x_d, ic, lyap = run_dysts(name, n, ppp)
    t_o, times_o, x_o, stats = run_ours(system, n, ppp, batch, ic, compile)
    scale = x_o.std(0)
    two_lt = int(2.0 / lyap / (times_o[1] - times_o[0]))  # points in two Lyapunov times (dysts's estimate)
    err_d, hor_d = scaled_error(x_d, reference(system, ic, times_d), scale, two_lt)
    err_o, hor_o = scaled_error(x_o, reference(system, ic, times_o), scale, two_lt)
    pps_d, pps_o = n / t_d, batch * n / t_o
    return {
        "system": name, "n": n, "batch": batch,
        "dysts_s": t_d, "ours_s": t_o, "dysts_pts_s": pps_d, "ours_pts_s": pps_o, "ratio": pps_o / pps_d,
        "dysts_err": err_d, "ours_err": err_o,
        "dysts_horizon_periods": hor_d / ppp, "ours_horizon_periods": hor_o / ppp,
        "steps_per_period": stats["steps_per_period"], "warmup_s": stats["warmup"],
    }


def throughput(device: str, n_traj: int, n_steps: int) -> None:
    """Trajectory-steps per second: fixed-step float32 RK4, then adaptive float64 DOP853."""
    lorenz = chaosdata.get_system("Lorenz")

    def f(t, y):
        return lorenz.equations(y, t, **lorenz.parameters)

    for label, dtype, method, kw, n in (
        ("rk4 float32", torch.float32, "rk4", {"dt": 0.005, "compile": True}, n_traj),
        ("dop853 float64", torch.float64, "dop853", {"rtol": 1e-10, "atol": 1e-10, "compile": True}, n_traj // 16),
    ):
        y0 = (torch.randn(n, 3, generator=torch.Generator().manual_seed(0)) * 5 + torch.tensor([0, 0, 25.0]))
        y0 = y0.to(device=device, dtype=dtype)
        t_eval = torch.linspace(0, n_steps * 0.005, 2, dtype=dtype, device=device)
        # compile on the timed shapes (a graph is specialised to them) over a few steps
        integrate(f, y0, t_eval * 0.01, method=method, check_every=64, max_outputs_per_step=1, **kw)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        start = time.perf_counter()
        sol = integrate(f, y0, t_eval, method=method, check_every=64, max_outputs_per_step=1, **kw)
        if device.startswith("cuda"):
            torch.cuda.synchronize()
        elapsed = time.perf_counter() - start
        steps = float((sol.n_accepted + sol.n_rejected).sum())
        print(f"{label:16s} {n:>9d} trajectories  {steps / elapsed:.3e} trajectory-steps/s  "
              f"({elapsed:.2f} s, valid {int(sol.valid.sum())}/{n})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="Lorenz,MacArthur")
    parser.add_argument("--n", type=int, default=2000, help="points per trajectory")
    parser.add_argument("--pts-per-period", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256, help="our initial conditions")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="torch.compile our step (one-off cost shown)")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-traj", type=int, default=2**20)
    parser.add_argument("--n-steps", type=int, default=1000)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.throughput:
        throughput(args.device, args.n_traj, args.n_steps)
        return
    header = (f"{'system':10s} {'dysts s':>8s} {'ours s':>8s} {'dysts pts/s':>12s} {'ours pts/s':>12s} "
              f"{'ratio':>7s} {'dysts err':>10s} {'ours err':>10s} {'dysts hor':>9s} {'ours hor':>9s} {'steps/per':>9s}")
    print(f"n = {args.n}, pts_per_period = {args.pts_per_period}, ours: {args.batch} initial conditions, "
          f"torch threads = {torch.get_num_threads()}, compile = {args.compile}; err = max |x - ref| / max std over the first "
          "two Lyapunov times; hor = periods until the error passes 1%")
    print(header)
    for name in args.systems.split(","):
        r = compare(name, args.n, args.pts_per_period, args.batch, args.compile)
        print(f"{r['system']:10s} {r['dysts_s']:8.2f} {r['ours_s']:8.2f} {r['dysts_pts_s']:12.0f} "
              f"{r['ours_pts_s']:12.0f} {r['ratio']:7.1f} {r['dysts_err']:10.2e} {r['ours_err']:10.2e} "
              f"{r['dysts_horizon_periods']:9.1f} {r['ours_horizon_periods']:9.1f} {r['steps_per_period']:9.1f}"
              f"  (warm-up {r['warmup_s']:.1f} s)")


if __name__ == "__main__":
    main()
