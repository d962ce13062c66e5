"""`chaosdata demo`: integrate every system briefly and print one line per system."""

from __future__ import annotations

import time

import torch

from chaosdata import validate
from chaosdata.integrate import Sampling, SolverSettings
from chaosdata.integrate.trajectories import make_trajectories
from chaosdata.systems import get_system, list_systems


def run_demo(n_points: int = 200, n_ics: int = 4, systems: str | None = None) -> int:
    """Print kind, dimension, valid trajectories, steps per period and time for each system."""
    names = [get_system(n).name for n in systems.split(",")] if systems else list_systems()
    n_points = validate.count(n_points, "n_points", minimum=2)
    n_ics = validate.count(n_ics, "n_ics")
    header = f"{'system':<24} {'kind':<5} {'dim':>3} {'valid':>5} {'steps/period':>12} {'std':>9} {'seconds':>8}"
    started, n_failed = time.perf_counter(), 0
    for i, name in enumerate(names):
        # make_trajectories refuses sizes past this machine's limits before integrating (chaosdata.budget):
        # the header follows the first system, so that such a refusal comes before any output
        tr = make_trajectories(name, n_points, pts_per_period=20, sampling=Sampling(n_ics=n_ics, transient=5),
                               solver=SolverSettings(rtol=1e-10, atol=1e-10))
        if i == 0:
            print(header)
            print("-" * len(header))
        n_valid = int(tr.valid.sum())
        n_failed += n_ics - n_valid
        spread = torch.nanmean(tr.x.std(dim=1)).item() if n_valid else float("nan")
        steps = tr.stats["steps_per_period"] if tr.stats["method"] not in ("iterate",) else 1.0
        print(f"{name:<24} {get_system(name).kind:<5} {tr.x.shape[-1]:>3} {n_valid:>3}/{n_ics:<1} "
              f"{steps:>12.1f} {spread:>9.3g} {tr.stats['wall_time']:>8.2f}")
    print(f"\n{len(names)} systems, {n_failed} failed trajectories, {time.perf_counter() - started:.1f} s")
    return 0 if n_failed == 0 else 1
