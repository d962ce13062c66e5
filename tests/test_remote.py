"""The remote store's range cache (chaosdata/store/remote.py), read here through a file:// URL;
reads through the loopback Hub are in test_loader.py."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from stores import read_in_a_fork_while_held

from chaosdata.store import open_store
from chaosdata.store.remote import TAIL_BYTES, ZipRangeStore, open_remote


def test_a_range_another_process_is_fetching_is_waited_for_then_read_from_the_cache(tiny_store, tmp_path):
    """DataLoader workers starting on the same shard: the one holding the range's lock fetches it,
    the others wait and read what it cached, so N workers make one request, not N."""
    file = open_remote(tiny_store.as_uri(), revision=None, cache=tmp_path).remote_file("Lorenz")
    entry = file.ranges / "100-50"
    cached_by_the_other = bytes(range(50))  # not the file's bytes: a second fetch would return those
    holding = threading.Event()

    def other_reader() -> None:
        with file.fetching(entry):
            holding.set()
            time.sleep(0.3)
            entry.parent.mkdir(parents=True, exist_ok=True)
            entry.write_bytes(cached_by_the_other)

    other = threading.Thread(target=other_reader)
    other.start()
    holding.wait()
    try:
        assert file.read(100, 50) == cached_by_the_other
    finally:
        other.join()
    assert [p.name for p in entry.parent.iterdir()] == ["100-50"]  # the lock lies outside the ranges


def test_ranges_read_over_a_url_equal_the_local_store(tiny_store, tmp_path):
    remote = open_remote(tiny_store.as_uri(), revision=None, cache=tmp_path).array("Lorenz", "fine", "train")
    local = open_store(tiny_store).array("Lorenz", "fine", "train")
    np.testing.assert_array_equal(remote[...], local[...])  # whole shards: decoded in one call
    np.testing.assert_array_equal(remote[0, 3:17], local[0, 3:17])  # part of one: zarr, chunk by chunk



@pytest.mark.parametrize("tail_bytes", [TAIL_BYTES, 16384], ids=["root in the tail", "root before the tail"])
def test_node_documents_come_from_the_roots_consolidated_copy(tiny_store, tmp_path, monkeypatch, tail_bytes):
    """Opening a system over a URL reads the tail of its zip, which holds the central directory
    and the root document, and no node's own document (each a request over HTTP); the metadata
    read is the node's own document, as JSON."""
    import json
    import zipfile

    monkeypatch.setattr("chaosdata.store.remote.TAIL_BYTES", tail_bytes)
    store = open_remote(tiny_store.as_uri(), revision=None, cache=tmp_path)
    array = store.array("Lorenz", "fine", "train")
    store.variables("Lorenz", "fine", "train", names=("valid",))
    file = store.remote_file("Lorenz")
    spans = {f"{offset}-{size}": key for key, (offset, size, _) in ZipRangeStore(file).spans.items()}
    fetched = {spans.get(entry.name, entry.name) for entry in file.ranges.iterdir()}
    tail = f"{file.size - min(file.size, tail_bytes)}-{min(file.size, tail_bytes)}"
    root = set() if tail_bytes == TAIL_BYTES else {"zarr.json"}  # else read on its own
    assert fetched == {tail, "fine/train/valid/c/0"} | root, fetched
    assert store.group("Lorenz").metadata.consolidated_metadata is None  # not every node's metadata parsed
    with zipfile.ZipFile(tiny_store / "Lorenz.zip") as zf:
        assert array.metadata.to_dict() == open_store(tiny_store).array("Lorenz", "fine", "train").metadata.to_dict()
        assert json.loads(zf.read("fine/train/series/zarr.json")) == json.loads(
            ZipRangeStore(file)._document("fine/train/series/zarr.json"))


def test_a_forked_child_reads_while_a_parent_thread_holds_a_files_lock(tiny_store, tmp_path):
    """A forked DataLoader worker reads through its parent's store (a synchronous filesystem is
    fork-safe); a read waited forever on a file's lock that a parent thread held at the fork.
    Each process now takes a lock of its own."""
    store = open_remote(tiny_store.as_uri(), revision=None, cache=tmp_path)
    assert store.fork_safe
    array = store.array("Lorenz", "fine", "train")
    want = np.asarray(array[...]).tobytes()
    assert read_in_a_fork_while_held(store.remote_file("Lorenz")._lock, array) == want

WITHOUT_HUB_CLIENT = """
import importlib.abc, sys
class Absent(importlib.abc.MetaPathFinder):  # as on a machine without them (or another major version)
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in ("huggingface_hub", "httpx2", "datasets"):
            raise ImportError(f"no {name} here")
sys.meta_path.insert(0, Absent())
import chaosdata, chaosdata.cli
from chaosdata import Sampling
tr = chaosdata.make_trajectories("Lorenz", 20, sampling=Sampling(n_ics=2))
print(tuple(tr.x.shape), bool(tr.valid.all()))
"""


def test_chaosdata_imports_and_integrates_without_the_hub_client():
    """`import chaosdata` imported httpx2 and huggingface_hub (store.remote): on a GPU image whose
    huggingface_hub is 1.x and has no httpx2, nothing of the package could run. The Hub client is
    now imported by the first remote read."""
    out = subprocess.run([sys.executable, "-c", WITHOUT_HUB_CLIENT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["(2,", "20,", "3)", "True"]
