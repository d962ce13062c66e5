"""Dynamical noise: measured convergence orders, a sweep of every flow, and speed.

    python benchmarks/bench_sde.py orders            # strong/weak slopes of every scheme (the tests' ladders)
    python benchmarks/bench_sde.py sweep [--out F]   # every flow with dysts-style noise: valid? time?
    python benchmarks/bench_sde.py speed             # Lorenz ensemble, noisy vs clean
    python benchmarks/bench_sde.py step              # pathwise error of the default step on Lorenz, Rossler
    python benchmarks/bench_sde.py dysts             # dysts's noise amplitude against ours (needs sdeint)

The sweep writes one JSON line per flow (resumes: flows already in the file are skipped).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

import chaosdata
from chaosdata import Sampling
from chaosdata.integrate.sde import SDESettings, coarsen, integrate_sde

ROOT = Path(__file__).resolve().parent.parent


def orders() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    import test_sde as t  # the ladders and estimators the tests assert on

    for method, noise in t.CASES:
        s = t.SIGMA["strong"][noise]
        exact = t.exact_on_path(noise, s, 500, 12, seed=1)
        levels = range(3, 8)
        errors = torch.stack([(t.solve_on_path(method, noise, s, 500, lv, 12, seed=1) - exact).abs() for lv in levels])
        slope, se = t.slope_with_error([t.T / 2**lv for lv in levels], errors)
        print(f"| strong | {method} | {noise} | {slope:.3f} +- {se:.3f} | "
              + ", ".join(f"{e:.2e}" for e in errors.mean(1).tolist()) + " |")
    # a nonlinear drift, no closed form: against sra1 at h = 2**-12 on the same path
    dw, dz = t.fine_path(500, 12, 1)

    def nonlinear(method: str, level: int) -> torch.Tensor:
        m = 2 ** (12 - level)

        def increments(first, h):
            return coarsen(dw[first * m:(first + h.numel()) * m], dz[first * m:(first + h.numel()) * m], h / m, m)

        sol = integrate_sde(lambda _, x: torch.sin(3 * x) - x**3, lambda _, x: torch.full_like(x, 0.8),
                            torch.ones(500, 1, dtype=torch.float64), torch.tensor([0.0, 1.0], dtype=torch.float64),
                            SDESettings(method=method, steps_per_output=2**level), increments=increments)
        return sol.y[:, -1, 0]

    reference = nonlinear("sra1", 12)
    for method in ("euler", "sra1"):
        levels = range(3, 8)
        errors = torch.stack([(nonlinear(method, lv) - reference).abs() for lv in levels])
        slope, se = t.slope_with_error([2.0**-lv for lv in levels], errors)
        print(f"| strong, dx = (sin 3x - x^3) dt + 0.8 dW | {method} | additive | {slope:.3f} +- {se:.3f} | "
              + ", ".join(f"{e:.2e}" for e in errors.mean(1).tolist()) + " |")
    for method, noise in t.CASES:
        for moment, f in t.MOMENTS.items():
            s = t.SIGMA["weak"][noise]
            levels = range(3, 9)
            values = torch.stack([f(t.solve_on_path(method, noise, s, 10_000, lv, 8, seed=2)) for lv in levels])
            diffs = values[:-1] - values[1:]
            slope, se = t.slope_with_error([t.T / 2**lv for lv in levels[:-1]], diffs)
            print(f"| weak ({moment}) | {method} | {noise} | {slope:.3f} +- {se:.3f} | "
                  + ", ".join(f"{d:.2e}" for d in diffs.mean(1).tolist()) + " |")


def sweep(out: Path, level: float, periods: int, n_ics: int, reverse: bool = False, scale: str = "initial",
          systems: list[str] | None = None) -> None:
    names = systems or chaosdata.list_systems("flow")
    for name in reversed(names) if reverse else names:
        done = {json.loads(line)["system"] for line in out.read_text().splitlines()} if out.exists() else set()
        if name in done:  # re-read each time: a second process may sweep from the other end
            continue
        start, cpu = time.perf_counter(), time.process_time()
        tr = chaosdata.make_trajectories(name, periods * 100 + 1, noise={"level": level, "scale": scale}, sampling=Sampling(n_ics=n_ics))
        record = {"system": name, "level": level, "scale": scale, "periods": periods, "n_ics": n_ics,
                  "valid": int(tr.valid.sum()), "failures": {str(k): v for k, v in tr.stats["failures"].items()},
                  "steps_per_period": tr.stats["steps_per_period"], "wall_s": time.perf_counter() - start,
                  "cpu_s": time.process_time() - cpu}
        with out.open("a") as fh:
            fh.write(json.dumps(record) + "\n")
        print(name, record["valid"], f"{record['wall_s']:.1f} s", record["failures"] or "", flush=True)


def speed() -> None:
    for noise in (None, 0.01, {"level": 0.01, "kind": "multiplicative"}):
        for n_ics in (1, 32):
            start, cpu = time.perf_counter(), time.process_time()
            tr = chaosdata.make_trajectories("Lorenz", 10_001, noise=noise, sampling=Sampling(n_ics=n_ics))
            print(f"noise={noise} n_ics={n_ics}: {time.perf_counter() - start:.1f} s wall, "
                  f"{time.process_time() - cpu:.1f} CPU-s, "
                  f"{tr.stats['steps_per_period']:.0f} steps per period, valid {int(tr.valid.sum())}")


def dysts_amplitude(n: int = 2000, level: float = 0.1) -> None:
    """dysts 0.96's meaning of `noise` against ours: over one short step from x0, the spread of
    noisy minus clean states divided by `level * |x0_k| * sqrt(h)` (1 if the amplitude is
    `level * |x0_k|`). dysts integrates with sdeint's `itoint` (needs `pip install sdeint`) on
    a grid of its own `dt`; with `(K + 1/2) dt` spanned by K points, that grid is the output
    grid and its Fourier resampling is the identity."""
    import numpy as np
    from dysts.flows import Lorenz
    from dysts.utils.integration_utils import integrate_dyn

    model = Lorenz()
    ic = np.array([1.0, -2.0, 20.0])
    tvals = np.linspace(0.0, 3.5 * model.dt, 3)
    h = tvals[1]
    rhs = lambda t, x: model.rhs(x, t)  # noqa: E731
    clean = integrate_dyn(rhs, ic, tvals, dtval=model.dt, method="DOP853", rtol=1e-12, atol=1e-12)[:, 1]
    np.random.seed(0)
    start = time.perf_counter()
    noisy = np.stack([integrate_dyn(rhs, ic, tvals, noise=level, dtval=model.dt)[:, 1] for _ in range(n)])
    dysts_s = time.perf_counter() - start
    np.random.seed(0)
    again = integrate_dyn(rhs, ic, tvals, noise=level, dtval=model.dt)[:, 1]
    ratio = (noisy - clean).std(0) / (level * np.abs(ic) * np.sqrt(h))
    print(f"dysts: std / (level |x0| sqrt(h)) = {np.round(ratio, 3)} over {n} runs ({dysts_s:.1f} s); "
          f"same np.random.seed gives the same path: {bool(np.array_equal(again, noisy[0]))}")
    x0 = torch.tensor(ic, dtype=torch.float64).expand(n, 3).clone()
    start = time.perf_counter()
    ours = chaosdata.make_trajectories("Lorenz", times=[0.0, h], initial_conditions=x0, noise=level)
    ours_s = time.perf_counter() - start
    ref = chaosdata.make_trajectories("Lorenz", times=[0.0, h], initial_conditions=x0[:1])
    r = ((ours.x[:, 1] - ref.x[0, 1]).std(0) / (level * x0[0].abs() * h**0.5)).numpy()
    print(f"ours:  std / (level |x0| sqrt(h)) = {np.round(r, 3)} over {n} trajectories ({ours_s:.2f} s); "
          f"standard error of each ratio {1 / np.sqrt(2 * n):.3f}")


def step_error(names: tuple[str, ...] = ("Lorenz", "Rossler"), level: float = 0.01) -> None:
    """Why 1000 steps per period: the pathwise error of sra1 after one period (100 outputs),
    against 8000 steps per period on the same Brownian path, in units of each coordinate's
    attractor std, beside how far the noise itself moves the path from the clean one."""
    from chaosdata.integrate.sde import NoiseSpec, noise_amplitude

    for name in names:
        system = chaosdata.get_system(name)
        x0 = chaosdata.make_trajectories(name, 2, sampling=Sampling(n_ics=16, transient=5)).start_states
        t_eval = torch.arange(101, dtype=torch.float64) * system.period / 100
        sigma = noise_amplitude(NoiseSpec(level), system, x0)
        size = torch.tensor(system.invariants["std"], dtype=torch.float64)

        def run(k: int) -> torch.Tensor:
            return integrate_sde(lambda t, y: system.equations(y, t, **system.parameters), lambda t, y: sigma, x0,
                                 t_eval, SDESettings(steps_per_output=k, refine=80 // k), seed=3).y

        ref = run(80)
        for k in (1, 2, 5, 10, 20, 40):
            err = ((run(k) - ref).abs() / size).amax(dim=(1, 2))
            print(f"| {name} | {k * 100} | {err.median():.1e} | {err.max():.1e} |")
        clean = chaosdata.make_trajectories(name, times=t_eval, initial_conditions=x0).x
        moved = ((ref - clean).abs() / size).amax(dim=(1, 2))
        print(f"| {name} | noise itself (noisy - clean) | {moved.median():.1e} | {moved.max():.1e} |")


if __name__ == "__main__":
    torch.set_num_threads(1)
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["orders", "sweep", "speed", "dysts", "step"])
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "sde_sweep.jsonl")
    parser.add_argument("--level", type=float, default=0.01)
    parser.add_argument("--periods", type=int, default=10)
    parser.add_argument("--n-ics", type=int, default=4)
    parser.add_argument("--scale", default="initial", help="NoiseSpec.scale: initial (dysts), absolute or std")
    parser.add_argument("--systems", type=lambda v: v.split(","), default=None, help="comma-separated flows (default: all)")
    parser.add_argument("--reverse", action="store_true", help="sweep from the last flow (run beside a forward sweep)")
    args = parser.parse_args()
    if args.what == "orders":
        orders()
    elif args.what == "sweep":
        sweep(args.out, args.level, args.periods, args.n_ics, args.reverse, args.scale, args.systems)
    elif args.what == "step":
        step_error()
    elif args.what == "dysts":
        dysts_amplitude()
    else:
        speed()
