"""Reads of a staged release through the real Hugging Face clients (`huggingface_hub`, `datasets`,
`HfFileSystem` with xarray/zarr) from the loopback Hub (`chaosdata.publish.loopback`, fixture
`hub` in conftest.py), and the server's own protocol: ranges, errors, pagination, token, faults.
Each read test also bounds the requests it made (the counts are in benchmarks/RESULTS.md)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx2
import numpy as np
import pytest
from test_store import raw_tiny

from chaosdata.export import config_name
from chaosdata.publish import stage
from chaosdata.store import build, open_store
from chaosdata.store.config import SPLITS, parse_config

CONFIG = raw_tiny(name="hub-test", systems=["Lorenz", "Henon"], seed=11, length=3, map_length=60,
                  granularities={"fine": {"timescale": "period", "points": 60}})
REPO = "owner/chaosdata-hub-test"
HF_SPLIT = {"train": "train", "val": "validation", "test": "test"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("hub") / "store"
    assert build(parse_config(CONFIG, "hub-test"), out, progress=False, log=lambda m: None).ok
    return open_store(out)


@pytest.fixture(scope="module")
def staged(store, tmp_path_factory):
    return stage(store, tmp_path_factory.mktemp("hub") / "staged", repo_id=REPO).root


@pytest.fixture
def served(hub, staged):
    hub.serve(REPO, staged)
    return hub


def get(hub, path, **kwargs):
    return httpx2.request(kwargs.pop("method", "GET"), hub.url + path, **kwargs)


# ---------------------------------------------------------------------- the real clients
@pytest.mark.parametrize("system", ["Lorenz", "Henon"])
def test_datasets_load_dataset_from_the_hub_equals_the_store(served, store, system, tmp_path):
    import datasets

    gran = store.granularities(system)[0]
    for split in SPLITS:
        ds = datasets.load_dataset(REPO, config_name(system, gran), split=HF_SPLIT[split],
                                   cache_dir=str(tmp_path / "hf")).with_format("numpy")
        np.testing.assert_array_equal(ds[:]["series"], store.array(system, gran, split)[...])
    assert served.counts["resolve GET"] + served.counts["resolve HEAD"] < 30  # 18 measured for Lorenz
    assert served.counts["unknown"] <= 1  # /api/agent-harnesses, a fetch huggingface_hub makes on its own


def test_xarray_reads_a_system_over_hf_urls_with_partial_reads_of_the_sharded_series(served, store):
    import xarray as xr

    ds = xr.open_zarr(f"zip::hf://datasets/{REPO}/Lorenz.zip", group="fine/train")
    want = store.array("Lorenz", "fine", "train")[...]
    served.log.clear()
    part = ds["series"][1, 64:128].values  # one inner chunk of the shard: a ranged read
    np.testing.assert_array_equal(part, want[1, 64:128])
    statuses = [status for method, path, status in served.log if "/resolve/" in path]
    assert statuses and set(statuses) == {206}
    np.testing.assert_array_equal(ds["series"].values, want)


def test_hf_file_system_lists_and_reads_ranges(served, staged):
    from huggingface_hub import HfFileSystem

    fs = HfFileSystem()
    found = {p.split(REPO + "/", 1)[1] for p in fs.find(f"datasets/{REPO}")}
    assert found == {p.relative_to(staged).as_posix() for p in staged.rglob("*") if p.is_file()}
    blob = (staged / "Lorenz.zip").read_bytes()
    served.log.clear()
    assert fs.cat_file(f"datasets/{REPO}/Lorenz.zip", start=100, end=150) == blob[100:150]
    assert [s for _, path, s in served.log if "/resolve/" in path] == [206]


def test_chaosdata_load_dataset_from_the_hub(served, store, tmp_path):
    import torch

    import chaosdata

    kw = {"split": None, "context_length": 32, "horizon": 8}
    got = chaosdata.load_dataset("Lorenz", source=REPO, cache_dir=tmp_path / "cache", **kw)
    local = chaosdata.load_dataset("Lorenz", source=store.path, **kw)
    assert sorted(got) == sorted(local)
    for split in got:
        assert len(got[split]) == len(local[split]) > 0
        for i in (0, len(got[split]) - 1):
            for a, b in zip(got[split][i], local[split][i], strict=True):
                assert torch.equal(a, b)
    assert sum(served.counts.values()) < 40  # snapshot_download of the root files and the system


def test_a_429_with_retry_after_is_waited_out(served, tmp_path):
    from huggingface_hub import hf_hub_download

    served.rate_limit(after=0, retry_after=1)
    path = hf_hub_download(REPO, "manifest.json", repo_type="dataset", cache_dir=tmp_path)
    assert json.loads(Path(path).read_text())["systems"]
    assert [s for _, _, s in served.log].count(429) == 1 and served.log[-1][2] == 200
