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
from stores import raw_tiny

from chaosdata.errors import InvalidInputError
from chaosdata.export import config_name
from chaosdata.publish import stage
from chaosdata.store import build, open_store
from chaosdata.store.config import HF_SPLITS, SPLITS, parse_config

CONFIG = raw_tiny(name="hub-test", systems=["Lorenz", "Henon"], seed=11, length=3, map_length=60,
                  granularities={"fine": {"timescale": "period", "points": 60}})
REPO = "owner/chaosdata-hub-test"


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
        ds = datasets.load_dataset(REPO, config_name(system, gran), split=HF_SPLITS[split],
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
    got = chaosdata.load_dataset("Lorenz", source=chaosdata.Source(REPO, cache_dir=tmp_path / "cache"), **kw)
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


# ---------------------------------------------------------------------- the server's protocol
@pytest.mark.parametrize("header, status, want", [("bytes=10-19", 206, slice(10, 20)), ("bytes=90-", 206, slice(90, 100)),
                                                  ("bytes=-5", 206, slice(95, 100)), ("bytes=95-500", 206, slice(95, 100)),
                                                  (None, 200, slice(0, 100)), ("bytes=100-", 416, None)])
def test_resolve_answers_ranges(hub, tmp_path, header, status, want):
    blob = bytes(range(100))
    (tmp_path / "f.bin").write_bytes(blob)
    hub.serve("o/r", tmp_path)
    r = get(hub, "/datasets/o/r/resolve/main/f.bin", headers={"Range": header} if header else {})
    assert r.status_code == status
    if want is not None:
        assert r.content == blob[want] and r.headers["Accept-Ranges"] == "bytes"
        assert r.headers["X-Repo-Commit"] == hub.repos["o/r"].commits[-1]
    if status == 206:
        assert r.headers["Content-Range"] == f"bytes {want.start}-{want.stop - 1}/100"
    if status == 416:
        assert r.headers["Content-Range"] == "bytes */100"


def test_missing_repo_revision_and_file_raise_the_clients_own_errors(hub, tmp_path):
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    (tmp_path / "a.txt").write_text("a")
    hub.serve("o/r", tmp_path)
    with pytest.raises(RepositoryNotFoundError):
        HfApi().dataset_info("o/missing")
    with pytest.raises(RevisionNotFoundError):
        HfApi().dataset_info("o/r", revision="v9")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download("o/r", "b.txt", repo_type="dataset", cache_dir=tmp_path / "cache")
    assert [s for _, _, s in hub.log] == [404, 404, 404]


def test_tree_pages_follow_the_link_header(hub, tmp_path):
    from huggingface_hub import HfApi

    for i in range(1203):
        (tmp_path / f"f{i:04d}").write_text(str(i))
    hub.serve("o/r", tmp_path)
    files = [e.path for e in HfApi().list_repo_tree("o/r", repo_type="dataset", recursive=True)]
    assert files == sorted(f"f{i:04d}" for i in range(1203))
    assert hub.counts["tree"] == 2  # 1000 entries a page, as the Hub


def test_a_token_the_hub_does_not_know_gets_401_and_writes_need_one(hub, tmp_path):
    hub.serve("o/r", tmp_path)
    hub.token = "hf_right"
    assert get(hub, "/api/datasets/o/r").status_code == 200  # reads: anonymous is fine
    wrong = get(hub, "/api/datasets/o/r", headers={"Authorization": "Bearer hf_wrong"})
    assert wrong.status_code == 401 and wrong.headers["X-Error-Message"] == "Invalid credentials in Authorization header"
    assert get(hub, "/api/datasets/o/r/tag/main", method="POST", json={"tag": "t"}).status_code == 401
    right = get(hub, "/api/datasets/o/r/tag/main", method="POST", json={"tag": "t"},
                headers={"Authorization": "Bearer hf_right"})
    assert right.status_code == 200 and hub.repos["o/r"].tags == {"t": hub.repos["o/r"].commits[-1]}


def test_faults_drop_or_answer_a_status_on_matching_paths(hub, tmp_path):
    (tmp_path / "a.txt").write_text("a")
    hub.serve("o/r", tmp_path)
    hub.fault(r"/resolve/.*a\.txt$", 500, after=1)
    hub.fault(r"/api/datasets/o/r$", "drop")
    path = "/datasets/o/r/resolve/main/a.txt"
    assert [get(hub, path).status_code for _ in range(3)] == [200, 500, 200]
    with pytest.raises(httpx2.RemoteProtocolError):
        get(hub, "/api/datasets/o/r")
    assert get(hub, "/api/datasets/o/r").status_code == 200
    with pytest.raises(InvalidInputError, match="fault action"):
        hub.fault(".", "explode")


def test_a_repo_created_after_a_reset_starts_empty(hub):
    # create_repo reused the folder of the repo of that name made before the reset (another
    # test's), so a "new" repo held its files and an upload found nothing to send
    from huggingface_hub import HfApi

    hub.token = "hf_right"
    HfApi().create_repo("o/fresh", repo_type="dataset", token="hf_right")
    (hub.repos["o/fresh"].root / "left.txt").write_text("from before")
    hub.reset()
    hub.token = "hf_right"
    HfApi().create_repo("o/fresh", repo_type="dataset", token="hf_right")
    assert [e.path for e in HfApi().list_repo_tree("o/fresh", repo_type="dataset")] == []


def test_a_commit_writes_its_files_and_refuses_paths_outside_the_repo(hub, tmp_path):
    import base64

    hub.serve("o/r", tmp_path)
    head = json.dumps({"key": "header", "value": {"summary": "s"}})

    def commit(path):
        op = json.dumps({"key": "file", "value": {"path": path, "encoding": "base64",
                                                  "content": base64.b64encode(b"hi").decode()}})
        return get(hub, "/api/datasets/o/r/commit/main", method="POST", content=f"{head}\n{op}\n")

    before = hub.repos["o/r"].commits[-1]
    assert commit("d/x.txt").status_code == 200 and (tmp_path / "d" / "x.txt").read_bytes() == b"hi"
    assert hub.repos["o/r"].commits[-1] != before
    assert commit("../escape.txt").status_code == 400 and not (tmp_path.parent / "escape.txt").exists()


def test_a_no_range_fault_answers_the_whole_file_as_a_server_without_range_support(hub, tmp_path):
    blob = bytes(range(100))
    (tmp_path / "f.bin").write_bytes(blob)
    hub.serve("o/r", tmp_path)
    hub.fault(r"f\.bin$", "no-range")
    path = "/datasets/o/r/resolve/main/f.bin"
    ignored = get(hub, path, headers={"Range": "bytes=10-19"})
    assert ignored.status_code == 200 and ignored.content == blob and "Content-Range" not in ignored.headers
    honoured = get(hub, path, headers={"Range": "bytes=10-19"})  # the fault acted once
    assert honoured.status_code == 206 and honoured.content == blob[10:20]
