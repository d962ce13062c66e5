"""`load_dataset` from a local store, a Hub-like folder, and regeneration."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from chaosdata.errors import InvalidInputError, UnknownSystemError
from chaosdata.loader import load_dataset
from chaosdata.store.reader import open_array
from chaosdata.store import build, load_preset
from chaosdata.store.config import parse_config
from chaosdata.store.errors import StoreError
from chaosdata.windows import collate_padded

SMALL = {"name": "small", "systems": ["Lorenz", "Henon", "HyperRossler"], "length": 12, "transient": 2,
         "map_length": 400, "map_transient": 20, "splits": {"train": 2, "val": 1, "test": 1},
         "granularities": {"coarse": {"timescale": "period", "points": 15},
                           "fine": {"timescale": "period", "points": 50}},
         "integrator": {"rtol": 1e-8, "atol": 1e-8}, "storage": {"chunk_time": 128}}


def small_config(**changes):
    raw = load_preset("quick").to_dict()
    raw.update(SMALL)
    raw.update(changes)
    return parse_config(raw, "test")


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store") / "data"
    build(small_config(), out, progress=False, log=lambda m: None)
    return out


def test_windows_match_the_stored_trajectories(store):
    ds = load_dataset("Lorenz", source=store, context_length=64, horizon=16, normalize=None, dtype=torch.float64)
    arr = open_array(store / "Lorenz.zip", "fine/train/series")[...]
    n, t, d = arr.shape
    assert len(ds) == n * ((t - 80) // 16 + 1)
    for i in (0, 7, len(ds) - 1):
        context, target = ds[i]
        info = ds.info(i)
        assert context.shape == (64, 3) and target.shape == (16, 3)
        window = torch.from_numpy(arr[info.trajectory, info.start: info.start + 80].astype(np.float64))
        torch.testing.assert_close(torch.cat([context, target]), window)
    assert ds.trajectories().shape == (n, t, 3)


def test_normalization_comes_from_train_and_is_exposed(store):
    splits = load_dataset("Lorenz", split=None, source=store, context_length=32, horizon=8, dtype=torch.float64)
    assert set(splits) == {"train", "val", "test"}
    train, test = splits["train"], splits["test"]
    raw = open_array(store / "Lorenz.zip", "fine/train/series")[...].reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(train.normalizer.mean["Lorenz"], raw.mean(0), rtol=1e-10)
    np.testing.assert_allclose(test.normalizer.std["Lorenz"], raw.std(0), rtol=1e-8)
    whole = train.trajectories()
    assert abs(whole.mean().item()) < 1e-6 and whole.reshape(-1, 3).std(0).sub(1).abs().max() < 1e-3
    context, _ = test[3]
    info = test.info(3)
    stored = open_array(store / "Lorenz.zip", "fine/test/series")
    raw_window = torch.from_numpy(stored[info.trajectory, info.start: info.start + 32].astype(np.float64))
    torch.testing.assert_close(test.denormalize(context, "Lorenz"), raw_window)


def test_several_systems_maps_and_padding(store):
    ds = load_dataset(["Lorenz", "henon", "HyperRossler"], source=store, context_length=32, horizon=8)
    assert ds.systems == ["Lorenz", "Henon", "HyperRossler"]
    dims = {ds.info(i).system: ds[i][0].shape[-1] for i in range(0, len(ds), 7)}
    assert dims == {"Lorenz": 3, "Henon": 2, "HyperRossler": 4}
    batch = next(iter(DataLoader(ds, batch_size=64, shuffle=True, collate_fn=collate_padded,
                                 generator=torch.Generator().manual_seed(0))))
    context, target, mask = batch
    assert context.shape == (64, 32, 4) and target.shape == (64, 8, 4) and mask.shape == (64, 4)
    assert set(mask.sum(-1).tolist()) <= {2, 3, 4}
    assert len(load_dataset("all", source=store, context_length=32, horizon=8).systems) == 3


def test_univariate_noise_and_granularity(store):
    uni = load_dataset("Lorenz", source=store, granularity="coarse", univariate=2, context_length=32, horizon=8)
    assert uni[0][0].shape == (32, 1)
    clean = load_dataset("Lorenz", source=store, context_length=32, horizon=8, dtype=torch.float64)
    noisy = load_dataset("Lorenz", source=store, context_length=32, horizon=8, dtype=torch.float64, noise=0.05, seed=1)
    diff = torch.cat([noisy[i][0] - clean[i][0] for i in range(20)])
    assert 0.035 < diff.std().item() < 0.065  # noise of 5% of each std, in normalized units
    again = load_dataset("Lorenz", source=store, context_length=32, horizon=8, dtype=torch.float64, noise=0.05, seed=1)
    torch.testing.assert_close(again[5][0], noisy[5][0])


def test_temporal_split_is_the_first_five_sixths(store):
    parts = load_dataset("Lorenz", split=None, temporal=True, source=store, context_length=32, horizon=8, stride=1)
    assert set(parts) == {"train", "val"}
    n_time = open_array(store / "Lorenz.zip", "fine/train/series").shape[1]
    cut = int(n_time * 5 / 6)
    train_ends = max(parts["train"].info(i).start for i in range(len(parts["train"]))) + 40
    val_starts = min(parts["val"].info(i).start for i in range(len(parts["val"])))
    assert train_ends == cut and val_starts == cut
    with pytest.raises(InvalidInputError, match="no test split"):
        load_dataset("Lorenz", split="test", temporal=True, source=store)


def test_dataloader_with_workers(store):
    ds = load_dataset("Lorenz", source=store, context_length=64, horizon=16)
    clone = pickle.loads(pickle.dumps(ds))
    torch.testing.assert_close(clone[3], ds[3])
    loader = DataLoader(ds, batch_size=8, num_workers=2)
    batches = list(loader)
    assert sum(b[0].shape[0] for b in batches) == len(ds)
    torch.testing.assert_close(batches[0][0][3], ds[3][0])


def test_bad_input_names_what_exists(store):
    with pytest.raises(UnknownSystemError, match="Lorenz"):
        load_dataset("Lorentz", source=store)
    with pytest.raises(InvalidInputError, match="not in the store"):
        load_dataset("Rossler", source=store)
    with pytest.raises(InvalidInputError, match="split must be one of"):
        load_dataset("Lorenz", split="training", source=store)
    with pytest.raises(InvalidInputError, match="no granularity 'medium'"):
        load_dataset("Lorenz", granularity="medium", source=store)
    with pytest.raises(InvalidInputError, match="longer than its trajectories"):
        load_dataset("Lorenz", source=store, context_length=5000, horizon=64)
    with pytest.raises(InvalidInputError, match="normalize"):
        load_dataset("Lorenz", source=store, normalize="minmax")


def test_without_a_store_the_error_says_how_to_get_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHAOSDATA_STORE", raising=False)
    with pytest.raises(StoreError, match="chaosdata generate"):
        load_dataset("Lorenz")


def test_a_store_failing_verification_is_refused(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    shard = copy / "Lorenz.zip"
    data = bytearray(shard.read_bytes())
    data[len(data) // 2] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(StoreError, match="Lorenz"):
        load_dataset("Lorenz", source=copy, verify=True, context_length=32, horizon=8)


def test_hub_source_downloads_only_the_requested_systems(store, tmp_path, monkeypatch):
    """A local folder laid out like the Hub repo, served by a patched `snapshot_download`."""
    import fnmatch

    import huggingface_hub

    calls = []

    def fake_snapshot_download(repo_id, *, repo_type, revision, allow_patterns, cache_dir):
        calls.append((repo_id, repo_type, revision, tuple(allow_patterns)))
        target = Path(cache_dir) / repo_id.replace("/", "--")
        for f in store.rglob("*"):
            rel = f.relative_to(store).as_posix()
            if f.is_file() and any(fnmatch.fnmatch(rel, p) for p in allow_patterns):
                (target / rel).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(f, target / rel)
        return str(target)

    monkeypatch.setattr(huggingface_hub, "snapshot_download", fake_snapshot_download)
    ds = load_dataset("Henon", source="chaosdata/dysts", cache_dir=tmp_path, revision="v1",
                      context_length=32, horizon=8)
    assert calls[0][:3] == ("chaosdata/dysts", "dataset", "v1") and "Henon/**" in calls[0][3]
    downloaded = tmp_path / "hub" / "chaosdata--dysts"
    assert (downloaded / "Henon.zip").is_file() and not (downloaded / "Lorenz.zip").exists()
    assert ds[0][0].shape == (32, 2)


def test_regenerate_integrates_on_demand_and_caches(tmp_path):
    config = dict(SMALL, systems=["Lorenz"], length=8, splits={"train": 1, "val": 1, "test": 1})
    ds = load_dataset("Lorenz", source="regenerate", config=config, cache_dir=tmp_path, granularity="coarse",
                      context_length=16, horizon=4)
    assert ds.trajectories().shape == (1, 120, 3)
    stores = list((tmp_path / "regenerated").iterdir())
    assert len(stores) == 1
    stamp = (stores[0] / "manifest.json").stat().st_mtime_ns
    load_dataset("Lorenz", source="regenerate", config=config, cache_dir=tmp_path, granularity="coarse",
                 context_length=16, horizon=4)
    assert (stores[0] / "manifest.json").stat().st_mtime_ns == stamp  # served from the cache


def test_regenerate_raises_the_builds_own_error_and_leaves_no_empty_store(tmp_path, monkeypatch):
    """A build that failed (here a MemoryError, injected where generate plans a system) was
    reported as "system 'Lorenz' is not in the store", and its empty cache store stayed."""
    import chaosdata.store.generate as generate

    def out_of_memory(*args, **kwargs):
        raise MemoryError("cannot allocate 745 GB")

    monkeypatch.setattr(generate, "_plan", out_of_memory)
    config = dict(SMALL, systems=["Lorenz"], length=8, splits={"train": 1, "val": 1, "test": 1})
    with pytest.raises(StoreError, match=r"building Lorenz into .* failed: MemoryError: cannot allocate 745 GB; "
                                         r"the empty cache store was removed"):
        load_dataset("Lorenz", source="regenerate", config=config, cache_dir=tmp_path, context_length=16, horizon=4)
    assert list((tmp_path / "regenerated").iterdir()) == []


@pytest.mark.parametrize("config", [
    {"transient": 1e9},  # a dict of overrides, checked by parse_config
    "made in code",  # a ReleaseConfig built in code skips parse_config: checked on its own
])
def test_regenerate_refuses_an_absurd_span_at_once(tmp_path, config):
    import dataclasses
    import time

    if config == "made in code":
        config = dataclasses.replace(load_preset("quick"), transient=1e9)
    started = time.perf_counter()
    with pytest.raises(InvalidInputError, match=r"transient = 1e\+09 .* more than the limit"):
        load_dataset("Lorenz", source="regenerate", config=config, cache_dir=tmp_path)
    assert time.perf_counter() - started < 2.0
    assert list(tmp_path.iterdir()) == []
