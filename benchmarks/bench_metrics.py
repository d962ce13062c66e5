"""Cost of chaosdata.metrics against dysts.metrics on the same forecasts, side by side.

The forecasts are real ones: 20 Lorenz trajectories (scipy DOP853, rtol 1e-10) against copies
started 1e-6 away, so the error grows as a chaotic forecast's does. Shapes follow the benchmark
protocols: the zero-shot one (`[20, 300, 3]`, 30 points per Lyapunov time) and the attractor one
(`[20, 1500, 3]`). For each metric: our batched torch call on the whole batch, and dysts's
function looped over the 20 series (as `dysts.metrics.compute_metrics` does), median of
`--repeat` runs (one run where a call takes over 5 s), one thread; then `compute_all` for the standard set and the attractor set.

    .venv/bin/python benchmarks/bench_metrics.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import numpy as np
import torch
from scipy.integrate import solve_ivp

import chaosdata.metrics as M

warnings.filterwarnings("ignore")
LYAPUNOV_TIME = 1.0 / 0.906  # Lorenz, literature lambda_max
DT = LYAPUNOV_TIME / 30


def lorenz_pairs(n_ics: int, n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(pred, true) `[n_ics, n, 3]`: trajectories and their twins started 1e-6 away."""
    def f(_, u):
        x, y, z = u
        return [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]

    rng = np.random.default_rng(seed)
    t = np.arange(n) * DT
    true, pred = [], []
    for _ in range(n_ics):
        u0 = solve_ivp(f, (0, 20), rng.normal(size=3) + [0, 0, 25], rtol=1e-10, atol=1e-12).y[:, -1]
        for start, out in ((u0, true), (u0 + 1e-6, pred)):
            out.append(solve_ivp(f, (0, t[-1]), start, t_eval=t, method="DOP853", rtol=1e-10, atol=1e-12).y.T)
    return np.stack(pred), np.stack(true)


def median_time(fn, repeat: int, slow: float = 5.0) -> float:
    """Median wall time of `repeat` calls (a single call when the first takes over `slow` s)."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
        if times[0] > slow:
            break
    return statistics.median(times)


def dysts_fn(name: str):
    import dysts.metrics as dm

    spec = M.get_metric(name)
    if name == "smape":  # ours is on the 0-200 scale: dysts's unscaled sMAPE
        return lambda y_true, y_pred: dm.smape(y_true, y_pred, scaled=False)
    if name == "mutual_information":  # dysts 0.96's wrapper fails under numpy >= 2.4: its sklearn calls
        from sklearn.feature_selection import mutual_info_regression

        return lambda y_true, y_pred: np.mean([mutual_info_regression(y_true[:, i:i + 1], y_pred[:, i])[0]
                                               for i in range(y_true.shape[1])])
    if spec.dysts is None:
        return None
    fn = {"r2_score": dm.r2_score, "kl_divergence": dm.estimate_kl_divergence,
          "hellinger_distance": dm.average_hellinger_distance}.get(spec.dysts) or getattr(dm, spec.dysts)
    return fn


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(1)
    for n in (300, 1500):
        pred, true = lorenz_pairs(20, n)
        p, t = torch.from_numpy(pred), torch.from_numpy(true)
        ctx = M.Context(dt=DT, lyapunov_time=LYAPUNOV_TIME)
        print(f"\n## [20, {n}, 3] (Lorenz, 30 points per Lyapunov time), one thread, median of {args.repeat}")
        print(f"{'metric':28s} {'ours (s)':>10s} {'dysts (s)':>10s} {'dysts/ours':>10s}")
        names = M.list_metrics(standard=True) + (["max_lyapunov_error", "correlation_dimension_error"] if n >= 1000 else [])
        for name in names:
            ours = median_time(lambda: M.get_metric(name)(p, t, ctx), args.repeat)
            fn = dysts_fn(name)
            ref = None
            if fn is not None:
                ref = median_time(lambda: [fn(true[b], pred[b]) for b in range(20)], args.repeat)
            ratio = f"{ref / ours:10.1f}" if ref else f"{'-':>10s}"
            print(f"{name:28s} {ours:10.4f} {ref if ref else float('nan'):10.4f} {ratio}")
        for kind in (None, "attractor"):
            secs = median_time(lambda: M.compute_all(p, t, dt=DT, lyapunov_time=LYAPUNOV_TIME, kind=kind), args.repeat)
            print(f"compute_all(kind={kind!r}): {secs:.3f} s")


if __name__ == "__main__":
    main()
