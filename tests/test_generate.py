"""chaosdata.store.generate: which granularities a system's passes produce, which are skipped, and the runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chaosdata import Sampling
from chaosdata.integrate.ensemble import OutputGrid, run_passes
from chaosdata.store.config import parse_config, split_seed
from chaosdata.store.generate import _plan, generate_system
from chaosdata.systems import base, get_system

RAW = {"name": "plan", "systems": ["Lorenz"], "seed": 0, "length": 2, "transient": 1, "map_length": 50, "map_transient": 10,
       "splits": {"train": 1, "val": 1, "test": 1},
       "granularities": {"fine": {"timescale": "period", "points": 100},
                         "lyapunov": {"timescale": "lyapunov", "points": 50}}}


def test_a_system_without_a_lyapunov_time_skips_that_granularity_with_the_reason(monkeypatch):
    monkeypatch.setattr(base, "_stored_invariants", lambda: {})
    passes, skipped = _plan(get_system("Lorenz"), parse_config(RAW))
    assert list(skipped) == ["lyapunov"] and "no Lyapunov time for Lorenz" in skipped["lyapunov"]
    assert [list(p.members) for p in passes] == [["fine"]]


def test_a_damaged_stored_lyapunov_time_is_raised_not_skipped(monkeypatch):
    # before: any error of the timescale became a quiet "skipped" (a damaged invariants.json hid)
    monkeypatch.setattr(base, "_stored_invariants", lambda: {"Lorenz": {"lyapunov_time": "n/a"}})
    with pytest.raises(ValueError, match="n/a"):
        _plan(get_system("Lorenz"), parse_config(RAW))


def test_a_stored_system_is_one_run_of_the_ensemble_runner():
    # each split a block of one batch, drawn from the split's seed, through the config's transient
    config = parse_config({**RAW, "splits": {"train": 3, "val": 1, "test": 1}})
    data = generate_system("Lorenz", config)
    blocks = [Sampling(n_ics=config.splits[s], seed=split_seed(0, "Lorenz", s), transient=1, resample_failed=True)
              for s in ("train", "val", "test")]
    (run,) = run_passes(get_system("Lorenz"), [OutputGrid(n_points=2)], sampling=blocks, solver=config.integrator)
    for j, (lo, hi) in enumerate([(0, 3), (3, 4), (4, 5)]):
        split = ("train", "val", "test")[j]
        assert torch.equal(torch.as_tensor(data.arrays[f"fine/{split}/initial_condition"].values), run.draws[lo:hi])
        assert torch.equal(torch.as_tensor(data.arrays[f"fine/{split}/start_state"].values), run.starts[lo:hi])


def test_the_grids_of_a_delay_equation_share_their_draws():
    # coarse (15) and fine (100 points per period) do not nest: two passes of the runner, one set of draws
    config = parse_config({**RAW, "systems": ["MackeyGlass"], "granularities": {
        "coarse": {"points": 15}, "fine": {"points": 100}}, "integrator": {"dde_steps_per_period": 50}})
    passes, _ = _plan(get_system("MackeyGlass"), config)
    data = generate_system("MackeyGlass", config)
    assert len(passes) == 2
    for split in ("train", "val", "test"):
        draws = [data.arrays[f"{g}/{split}/initial_condition"].values for g in ("coarse", "fine")]
        assert np.array_equal(draws[0], draws[1])
