"""The figures behind two issue-11 decisions, as rerunnable commands.

`tolerance`: float32 integration against rtol. For a few flows, 16 starts on the attractor
(float64, 10-period transient) are integrated for 10 periods in float32 by `simulate`
directly (rtol below one float32 rounding unit now raises there too, as in `make_trajectories`,
and is printed as such; the underflow rows in RESULTS.md predate that), recording how
many stay valid, the accepted steps per period, and the largest error after 1 and 2 periods
against a float64 DOP853 run at 1e-13 from the same starts (relative to the largest |x| of
the reference). It shows where float32 stops gaining accuracy (the default floor,
`tolerance_floor`) and where steps start to underflow (below one rounding unit: an error).

`items`: windows per second of `WindowDataset` over an in-memory array (32 trajectories of
10,000 points, dim 3, context 512, horizon 64, stride 64, block cache warm, best of 3 passes,
one thread), without noise, with noise 0.05, and with `return_info=True`.

    python benchmarks/silent_paths.py tolerance [--systems Lorenz,Rossler,Aizawa]
    python benchmarks/silent_paths.py items
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from chaosdata import Sampling, get_system, make_trajectories
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.settings import SolverSettings
from chaosdata.integrate.simulate import simulate
from chaosdata.integrate.tolerances import tolerance_floor
from chaosdata.windows import Observation, Series, WindowDataset

RTOLS = (1e-4, 1e-5, 1e-6, 3e-7, 1e-7, 3e-8, 1e-8, 1e-9, 1e-13)


def tolerance(systems: list[str]) -> None:
    eps = torch.finfo(torch.float32).eps
    print(f"float32: eps {eps:.2e}, default floor (tolerance_floor) {tolerance_floor(torch.float32):.2e}")
    print(f"{'system':10} {'rtol':>7} {'valid':>6} {'steps/period':>12} {'err@1P':>8} {'err@2P':>8}")
    for name in systems:
        system = get_system(name)
        ref = make_trajectories(system, 1001, pts_per_period=100, sampling=Sampling(n_ics=16, transient=10, seed=1))
        starts = ref.start_states
        for rtol in RTOLS:
            settings = SolverSettings(method="dop853", rtol=rtol, atol=rtol)
            try:
                sol = simulate(system, starts.to(torch.float32), ref.t.to(torch.float32), settings)
            except InvalidInputError:  # below one rounding unit: simulate refuses, as make_trajectories does
                print(f"{name:10} {rtol:7.0e} {'raises InvalidInputError (rtol below float32 eps)':>40}")
                continue
            ok = sol.status == 0
            scale = ref.x.abs().amax()
            err = ((sol.y.double() - ref.x).abs().amax(-1)[ok] / scale).amax(0) if ok.any() else None
            spp = sol.n_accepted[ok].double().mean().item() / 10 if ok.any() else float("nan")
            e1, e2 = ("-", "-") if err is None else (f"{err[100]:.1e}", f"{err[200]:.1e}")
            print(f"{name:10} {rtol:7.0e} {int(ok.sum()):>3}/16 {spp:12.0f} {e1:>8} {e2:>8}")


def items() -> None:
    torch.set_num_threads(1)
    data = np.random.default_rng(0).standard_normal((32, 10_000, 3)).astype(np.float32)
    series = Series("Lorenz", lambda: data, 32, 10_000, 3, 0.0, 0.01, block=2048)

    def rate(noise: float = 0.0, **kw) -> float:
        ds = WindowDataset([series], context_length=512, horizon=64, stride=64, scale={"Lorenz": np.ones(3)},
                           observation=Observation(normalize=None, observation_noise=noise), split="train", **kw)
        n = len(ds)
        for i in range(n):  # warm the cache
            ds[i]
        best = 0.0
        for _ in range(3):
            start = time.perf_counter()
            for i in range(n):
                ds[i]
            best = max(best, n / (time.perf_counter() - start))
        return best

    print(f"windows/s: plain {rate():,.0f}; observation_noise=0.05 {rate(noise=0.05):,.0f}; "
          f"return_info {rate(return_info=True):,.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=("tolerance", "items"))
    parser.add_argument("--systems", default="Lorenz,Rossler,Aizawa")
    args = parser.parse_args()
    if args.what == "tolerance":
        tolerance([s for s in args.systems.split(",") if s])
    else:
        items()


if __name__ == "__main__":
    main()
