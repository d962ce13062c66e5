"""chaosdata.store.reader.Store: reads that stay correct across processes."""

from __future__ import annotations

import multiprocessing

import numpy as np
import pytest

from chaosdata.store import build, load_preset, open_store
from chaosdata.store.config import parse_config

SMALL = {"name": "reader", "systems": ["Lorenz"], "length": 40, "transient": 2,
         "splits": {"train": 8, "val": 1, "test": 1},
         "granularities": {"fine": {"timescale": "period", "points": 100}},
         "integrator": {"rtol": 1e-8, "atol": 1e-8}, "storage": {"chunk_time": 128}}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    raw = load_preset("quick").to_dict()
    raw.update(SMALL)
    out = tmp_path_factory.mktemp("reader") / "store"
    assert build(parse_config(raw, "reader-test"), out, progress=False, log=lambda m: None).ok
    return open_store(out)


def _read_windows(array, full: np.ndarray, seed: int, queue) -> None:
    """Read 300 random 64-point windows of `array` (opened by the parent) and report what went wrong."""
    rng = np.random.default_rng(seed)
    try:
        wrong = 0
        for _ in range(300):
            row, start = int(rng.integers(0, full.shape[0])), int(rng.integers(0, full.shape[1] - 64))
            wrong += not np.array_equal(np.asarray(array[row, start:start + 64]), full[row, start:start + 64])
        queue.put("ok" if wrong == 0 else f"{wrong} wrong windows")
    except Exception as err:  # noqa: BLE001 - reported to the parent, which fails the test with it
        queue.put(f"{type(err).__name__}: {err}")


def test_forked_processes_read_an_array_their_parent_opened(store):
    # a forked child (a DataLoader worker) inherited the parent's open zip, whose file offset the
    # processes share: children reading at once interleaved their seeks and reads, a ChecksumError
    # on a sound zip; each process now reopens the file for itself
    array = store.array("Lorenz", "fine", "train")
    full = np.asarray(array[...])
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_read_windows, args=(array, full, seed, queue)) for seed in range(3)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=300) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert results == ["ok"] * len(workers)
    assert np.array_equal(np.asarray(array[...]), full)  # and the parent's own handle still reads
