"""The size and work refusals of issue 20 section 3, timed: each absurd request of the issue,
and the cost of `check_budget` on the presets. Run: python benchmarks/bench_budget.py"""
import copy
import time

from chaosdata import Sampling
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.trajectories import make_trajectories
from chaosdata.store.config import check_budget, load_preset, parse_config


def main() -> None:
    base = load_preset("quick").to_dict()
    def cfg(f):
        d = copy.deepcopy(base); f(d); return d
    cases = {
        "config transient=1e9": lambda: parse_config(cfg(lambda d: d.update(transient=1e9))),
        "config splits.train=10**9": lambda: parse_config(cfg(lambda d: d["splits"].update(train=10**9))),
        "config length=1e9": lambda: parse_config(cfg(lambda d: d.update(length=1e9))),
        "config map_length=10**10": lambda: parse_config(cfg(lambda d: d.update(map_length=10**10))),
        "config fine.points=1e12": lambda: parse_config(cfg(lambda d: d["granularities"]["fine"].update(points=1e12))),
        "config corpus.variants=10**9": lambda: parse_config(cfg(lambda d: d.update(corpus={"variants": 10**9}))),
        "make_trajectories pts_per_period=1e-9": lambda: make_trajectories("Lorenz", 100, pts_per_period=1e-9),
        "make_trajectories transient=1e12": lambda: make_trajectories("Lorenz", 100, sampling=Sampling(transient=1e12)),
        "make_trajectories n_ics=10**9": lambda: make_trajectories("Lorenz", 100, sampling=Sampling(n_ics=10**9)),
        "make_trajectories n_points=10**11": lambda: make_trajectories("Lorenz", 10**11),
    }
    for name, call in cases.items():
        t = time.perf_counter()
        try:
            call(); print(name, "ACCEPTED")
        except InvalidInputError as err:
            print(f"{name}: refused in {1e3 * (time.perf_counter() - t):.1f} ms: {str(err)[:90]}...")
    for p in ("quick", "release"):
        c = load_preset(p); t = time.perf_counter()
        for _ in range(10): check_budget(c)
        print(f"check_budget({p}): {1e2 * (time.perf_counter() - t):.1f} ms")


if __name__ == "__main__":
    main()
