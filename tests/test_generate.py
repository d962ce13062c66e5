"""chaosdata.store.generate: which granularities a system's passes produce, and which are skipped."""

from __future__ import annotations

import pytest

from chaosdata.store.config import parse_config
from chaosdata.store.generate import _plan
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
