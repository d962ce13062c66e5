"""`load_dataset` from a local store, a Hub-like folder, and regeneration."""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from chaosdata.errors import InvalidInputError, InvalidTypeError, UnknownNameError
from chaosdata.loader import Source, load_dataset
from chaosdata.store import build, load_preset
from chaosdata.store.config import parse_config
from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.reader import open_array
from chaosdata.store.remote import open_remote
from chaosdata.windows import Observation, collate_padded

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
    ds = load_dataset("Lorenz", source=store, context_length=64, horizon=16,
                      observation=Observation(normalize=None, dtype=torch.float64))
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
    splits = load_dataset("Lorenz", split=None, source=store, context_length=32, horizon=8,
                          observation=Observation(dtype=torch.float64))
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
    uni = load_dataset("Lorenz", source=store, granularity="coarse", context_length=32, horizon=8,
                       observation=Observation(univariate=2))
    assert uni[0][0].shape == (32, 1)
    clean = load_dataset("Lorenz", source=store, context_length=32, horizon=8,
                         observation=Observation(dtype=torch.float64))
    noisy = load_dataset("Lorenz", source=store, context_length=32, horizon=8,
                         observation=Observation(observation_noise=0.05, seed=1, dtype=torch.float64))
    diff = torch.cat([noisy[i][0] - clean[i][0] for i in range(20)])
    assert 0.035 < diff.std().item() < 0.065  # noise of 5% of each std, in normalized units
    again = load_dataset("Lorenz", source=store, context_length=32, horizon=8,
                         observation=Observation(observation_noise=0.05, seed=1, dtype=torch.float64))
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
    clone = pickle.loads(pickle.dumps(ds))  # what a spawned worker gets
    torch.testing.assert_close(clone[3], ds[3])
    loader = DataLoader(ds, batch_size=8, num_workers=2)
    batches = list(loader)
    assert sum(b[0].shape[0] for b in batches) == len(ds)
    torch.testing.assert_close(batches[0][0][3], ds[3][0])


def test_forked_workers_read_through_the_array_their_parent_opened(store, tmp_path, monkeypatch):
    # a worker opened the system's zarr group again (5.5 ms per array, in every worker); it now
    # reuses the parent's, through a zip it reopens for itself (see ProcessLocalZipStore)
    from chaosdata.store import reader

    opened = tmp_path / "opened"

    def logged(path):
        with opened.open("a") as log:
            log.write(f"{os.getpid()}\n")
        return open_system(path)

    open_system = reader.open_system
    monkeypatch.setattr(reader, "open_system", logged)
    ds = load_dataset("Lorenz", source=store, context_length=64, horizon=16)
    want = list(DataLoader(ds, batch_size=8))
    ds._cache = None  # the workers read the store, not the parent's cached blocks
    got = list(DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context="fork", timeout=120))
    assert len(got) == len(want) and all(torch.equal(a, c) and torch.equal(b, d)
                                         for (a, b), (c, d) in zip(got, want, strict=True))
    assert opened.read_text().split() == [str(os.getpid())]


def test_valid_flags_are_read_only_where_the_manifest_counts_flagged_trajectories(store, tmp_path, monkeypatch):
    """`valid` is a read per system (over HTTP a request): skipped where the manifest records no
    flagged trajectory; where it does, the flags are read and the flagged rows left out."""
    import json

    from chaosdata.store.reader import Store

    read, variables = [], Store.variables

    def flagged_row_1(self, system, granularity, split, names):
        read.append(system)
        found = variables(self, system, granularity, split, names)
        return {**found, "valid": np.arange(len(found["valid"])) != 1}

    monkeypatch.setattr(Store, "variables", flagged_row_1)
    load_dataset("Lorenz", source=store, **WINDOWS)
    assert read == []
    flagged = tmp_path / "flagged"
    shutil.copytree(store, flagged, copy_function=os.link)
    manifest = json.loads((flagged / "manifest.json").read_text())
    manifest["systems"]["Lorenz"]["n_invalid"] = 1
    (flagged / "manifest.json").unlink()  # a link to the original's
    (flagged / "manifest.json").write_text(json.dumps(manifest))
    ds = load_dataset("Lorenz", source=flagged, **WINDOWS)
    assert read == ["Lorenz"] and {ds.info(i).trajectory for i in range(len(ds))} == {0}  # of 2


def test_bad_input_names_what_exists(store):
    with pytest.raises(UnknownNameError, match="Lorenz"):
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
        load_dataset("Lorenz", source=store, observation=Observation(normalize="minmax"))


def test_a_plain_source_is_a_source_of_that_location(store):
    plain = load_dataset("Lorenz", source=str(store), context_length=32, horizon=8)
    spec = load_dataset("Lorenz", source=Source(store), context_length=32, horizon=8)
    torch.testing.assert_close(plain[5], spec[5], rtol=0, atol=0)


def test_settings_are_checked_when_their_spec_is_made_before_any_store_opens(tmp_path):
    with pytest.raises(InvalidInputError, match="normalize must be one of"):
        Observation(normalize="minmax")
    with pytest.raises(InvalidInputError, match="univariate must be a non-negative integer"):
        Observation(univariate=-1)
    with pytest.raises(InvalidInputError, match="unknown preset .no-such-preset."):
        Source("regenerate", config="no-such-preset", cache_dir=tmp_path)
    assert Source("regenerate", cache_dir=tmp_path).config.name == "quick"  # resolved once, when made
    assert Observation(univariate=True).channels == 0 and Observation().channels is None


def test_an_observation_of_the_wrong_type_is_refused_naming_it(store):
    with pytest.raises(InvalidTypeError, match="observation must be a Observation"):
        load_dataset("Lorenz", source=store, observation={"dtype": torch.float64})


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
        load_dataset("Lorenz", source=Source(copy, verify=True), context_length=32, horizon=8)


# ---------------------------------------------------------------------- streaming from the loopback Hub
REPO = "chaosdata/dysts"
WINDOWS = {"context_length": 32, "horizon": 8}


@pytest.fixture
def served(hub, store):
    hub.serve(REPO, store)
    return hub


@pytest.fixture
def backoff_waits(monkeypatch):
    """huggingface_hub's back-off runs as it is, but its waits are recorded instead of slept (a
    request refused every time waits 1+2+4+8+8 s before the error); the list of waits."""
    import types

    from huggingface_hub.utils import _http

    waits = []
    monkeypatch.setattr(_http, "time", types.SimpleNamespace(sleep=waits.append))
    return waits


def resolve_gets(hub) -> list[tuple[str, int]]:
    """(file, status) of each file GET the Hub answered."""
    return [(path.rsplit("/", 1)[1], status) for method, path, status in hub.log if method == "GET" and "/resolve/" in path]


def assert_same_windows(got, want):
    assert len(got) == len(want) > 0
    for i in (0, len(want) // 2, len(want) - 1):
        for a, b in zip(got[i], want[i], strict=True):
            assert torch.equal(a, b)


def member_span(file: Path, member: str) -> tuple[int, int]:
    """(offset, length) of a stored member's bytes in a zip file."""
    import struct
    import zipfile

    with zipfile.ZipFile(file) as zf:
        info = zf.getinfo(member)
    with open(file, "rb") as f:
        f.seek(info.header_offset + 26)
        name_len, extra_len = struct.unpack("<HH", f.read(4))
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def cache_entries(cache_dir: Path, file: str) -> list[Path]:
    return sorted((cache_dir / "remote").glob(f"*/*/ranges/{file}/*"))


def test_hub_source_streams_only_the_ranges_it_reads_at_one_revision(served, store, tmp_path):
    ds = load_dataset("Henon", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    assert_same_windows(ds, load_dataset("Henon", source=store, **WINDOWS))
    gets = resolve_gets(served)
    assert {f for f, _ in gets} == {"manifest.json", "Henon.zip"}  # nothing of the other systems
    assert {s for f, s in gets if f == "Henon.zip"} == {206}  # ranged reads only
    sha = served.repos[REPO].commits[-1]
    assert all(f"/resolve/{sha}/" in path for _, path, _ in served.log if "/resolve/" in path)  # pinned revision
    cached = {tuple(map(int, p.name.split("-"))) for p in cache_entries(tmp_path, "Henon.zip")}
    assert member_span(store / "Henon.zip", "iteration/train/series/c/0/0/0") in cached
    for split in ("val", "test"):  # their series were not read
        assert member_span(store / "Henon.zip", f"iteration/{split}/series/c/0/0/0") not in cached


def test_hub_source_read_again_comes_from_the_cache(served, store, tmp_path):
    first = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), split=None, **WINDOWS)
    for ds in first.values():
        ds.trajectories()
    served.log.clear()
    again = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), split=None, **WINDOWS)
    for split, ds in again.items():
        assert torch.equal(ds.trajectories(), first[split].trajectories())
    assert resolve_gets(served) == [] and [m for m, _, _ in served.log] == ["GET"]  # the revision's sha only


def test_hub_all_systems_makes_requests_per_system_read_not_per_file(hub, store, tmp_path):
    """A repo holding 1,500 more files (exports, cards) costs no more requests."""
    plain, crowded = tmp_path / "plain", tmp_path / "crowded"
    for folder in (plain, crowded):
        shutil.copytree(store, folder, copy_function=os.link)
    for i in range(1500):
        (crowded / "data" / f"{i // 500}").mkdir(parents=True, exist_ok=True)
        (crowded / "data" / f"{i // 500}" / f"train-{i:05d}.parquet").write_bytes(b"x")
    counts = []
    for name, folder in (("o/plain", plain), ("o/crowded", crowded)):
        hub.serve(name, folder)
        hub.counts.clear()
        ds = load_dataset("all", source=Source(name, cache_dir=tmp_path / name), **WINDOWS)
        for system in ds.systems:
            ds[next(i for i in range(len(ds)) if ds.info(i).system == system)]
        # not counted: what the client asks once per process outside the repo API (unknown here)
        counts.append({k: v for k, v in hub.counts.items() if k != "unknown"})
    assert counts[0] == counts[1]
    assert counts[1]["resolve GET"] <= 1 + 2 * len(ds.systems)  # manifest; per system: tail (with metadata), series
    assert counts[1].get("tree", 0) <= 1
    assert_same_windows(ds, load_dataset("all", source=store, **WINDOWS))  # the systems were opened side by side


def test_a_batch_over_many_systems_reads_them_side_by_side(served, store, tmp_path, monkeypatch):
    """A batch that needs the blocks of several systems of a remote store loads them on threads
    (`RemoteArray.read_threads`), one task per system; the windows are the local store's."""
    import threading

    from chaosdata.store.remote import RemoteArray

    readers, getitem = [], RemoteArray.__getitem__

    def recorded(self, selection):
        readers.append(threading.current_thread().name)
        return getitem(self, selection)

    ds = load_dataset("all", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    monkeypatch.setattr(RemoteArray, "__getitem__", recorded)
    everything = list(range(len(ds)))
    got = ds.__getitems__(everything)
    want = load_dataset("all", source=store, **WINDOWS).__getitems__(everything)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, want, strict=True))
    assert len(readers) == len(ds.systems) and all(name.startswith("chaosdata-read") for name in readers)
    readers.clear()
    ds.__getitems__(everything)  # from the cache: nothing read
    assert readers == []

def test_hub_all_systems_with_a_file_missing_names_it(hub, store, tmp_path):
    """Systems are opened several at a time (`RemoteStore.open_threads`); one that fails raises
    its own error, naming its file."""
    folder = tmp_path / "repo"
    shutil.copytree(store, folder, copy_function=os.link)
    (folder / "Henon.zip").unlink()
    hub.serve("o/missing", folder)
    with pytest.raises(StoreError, match="Henon.zip"):
        load_dataset("all", source=Source("o/missing", cache_dir=tmp_path / "cache"), **WINDOWS)


def test_hub_source_waits_out_a_429(served, store, tmp_path):
    served.rate_limit(after=4, retry_after=1)  # a resolve GET: the manifest or the zip's tail
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    assert_same_windows(ds, load_dataset("Lorenz", source=store, **WINDOWS))
    statuses = [s for _, _, s in served.log]
    assert statuses.count(429) == 1 and statuses[statuses.index(429) + 1] in (200, 206)


def opened_in(tmp_path: Path, monkeypatch) -> Path:
    """A file to which each `RemoteStore._open_group` call writes the id of its process."""
    from chaosdata.store.remote import RemoteStore

    log, open_group = tmp_path / "opened", RemoteStore._open_group

    def logged(self, system):
        with log.open("a") as out:
            out.write(f"{os.getpid()}\n")
        return open_group(self, system)

    monkeypatch.setattr(RemoteStore, "_open_group", logged)
    return log


@pytest.mark.parametrize("transport", ["hub", "http"])
def test_remote_source_with_dataloader_workers(served, store, tmp_path, monkeypatch, transport):
    """Over the Hub (HfFileSystem, which survives a fork) a forked worker reads through the store
    its parent opened; over a plain HTTP URL (fsspec's asynchronous HTTPFileSystem, which refuses
    to run in a forked child) each worker opens a copy of its own. Both read the same windows."""
    opened = opened_in(tmp_path, monkeypatch)
    source = REPO if transport == "hub" else f"{os.environ['HF_ENDPOINT']}/datasets/{REPO}/resolve/main"
    ds = load_dataset("Lorenz", source=Source(source, cache_dir=tmp_path / "cache"), **WINDOWS)
    local = load_dataset("Lorenz", source=store, **WINDOWS)
    # the workers fetch the series (the parent has read only metadata and `valid`)
    got = list(DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context="fork", timeout=120))
    want = list(DataLoader(local, batch_size=8))
    assert len(got) == len(want)
    for (a, b), (c, d) in zip(got, want, strict=True):
        assert torch.equal(a, c) and torch.equal(b, d)
    workers = set(opened.read_text().split()) - {str(os.getpid())}
    assert len(workers) == (0 if transport == "hub" else 2)
    torch.testing.assert_close(pickle.loads(pickle.dumps(ds))[3], local[3])  # what a spawned worker gets


def test_hub_connection_dropped_mid_read_names_the_file_and_a_rerun_fetches_only_the_rest(
        served, store, tmp_path, backoff_waits):
    load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path / "clean"), **WINDOWS).trajectories()
    cold = [g for g in resolve_gets(served) if g[0] == "Lorenz.zip"]
    served.log.clear()
    served.fault(r"Lorenz\.zip$", "drop", after=1, times=None)  # the tail is read; the series shard is not
    with pytest.raises(StoreError, match=r"reading bytes \d+-\d+ of hf://datasets/chaosdata/dysts@\w+/Lorenz\.zip "
                                         r"failed: RemoteProtocolError.*run again"):
        load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS).trajectories()
    assert backoff_waits == [1, 2, 4, 8, 8]  # huggingface_hub's back-off, then the error
    assert not list((tmp_path / "remote").rglob("*.tmp-*"))  # nothing half-written
    served.faults.clear()
    served.log.clear()
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    assert torch.equal(ds.trajectories(), load_dataset("Lorenz", source=store, **WINDOWS).trajectories())
    assert len([g for g in resolve_gets(served) if g[0] == "Lorenz.zip"]) == len(cold) - 1


@pytest.mark.parametrize("status", [404, 500])
def test_hub_error_answers_name_the_file(served, tmp_path, backoff_waits, status):
    served.fault(r"Lorenz\.zip$", status, times=None)
    with pytest.raises(StoreError, match=rf"Lorenz\.zip failed: .*{status}.*run again"):
        load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)[0]
    assert len(backoff_waits) == (5 if status == 500 else 0)
    assert cache_entries(tmp_path, "Lorenz.zip") == []


def test_hub_repo_or_revision_that_does_not_exist(served, tmp_path):
    with pytest.raises(StoreError, match=r"'chaosdata/nothing'.*RepositoryNotFoundError.*Check the repo id"):
        load_dataset("Lorenz", source=Source("chaosdata/nothing", cache_dir=tmp_path))
    with pytest.raises(StoreError, match=r"revision 'v9'.*RevisionNotFoundError"):
        load_dataset("Lorenz", source=Source(REPO, revision="v9", cache_dir=tmp_path))


def test_hub_server_without_range_support_is_named(served, tmp_path):
    from chaosdata.store.remote import RangeNotSupportedError

    served.fault(r"Lorenz\.zip$", "no-range", times=None)
    with pytest.raises(RangeNotSupportedError, match=r"Lorenz\.zip: the server sent \d+ bytes for a \d+-byte range .*"
                                                     r"does not answer HTTP Range requests"):
        load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)[0]


def test_hub_corrupt_cache_entry_is_evicted_and_fetched_again(served, store, tmp_path):
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    want = ds.trajectories()
    offset, length = member_span(store / "Lorenz.zip", "fine/train/series/c/0/0/0")  # the shard read whole
    entry = next(p for p in cache_entries(tmp_path, "Lorenz.zip") if p.name == f"{offset}-{length}")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    served.log.clear()
    again = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    assert torch.equal(again.trajectories(), want)
    assert resolve_gets(served) == [("Lorenz.zip", 206)] and entry.read_bytes() != bytes(data)


def test_hub_corrupt_cached_chunk_range_is_evicted_and_fetched_again(served, store, tmp_path):
    """A part of a shard is read chunk by chunk (ranges that zarr checks with their CRC32C)."""
    series = open_remote(REPO, revision=None, cache=tmp_path / "remote").array("Lorenz", "fine", "train")
    want = series[0, 200:300]
    start, length = member_span(store / "Lorenz.zip", "fine/train/series/c/0/0/0")
    spans = {p: tuple(map(int, p.name.split("-"))) for p in cache_entries(tmp_path, "Lorenz.zip")}
    ranges = [p for p, (o, n) in spans.items() if start <= o and o + n < start + length]  # the shard's index, chunks
    chunk = max(ranges, key=lambda p: p.stat().st_size)
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    served.log.clear()
    fresh = open_remote(REPO, revision=None, cache=tmp_path / "remote").array("Lorenz", "fine", "train")
    assert np.array_equal(fresh[0, 200:300], want)
    assert resolve_gets(served) and chunk.read_bytes() != bytes(data)


def test_hub_source_verified(served, store, tmp_path):
    ds = load_dataset("Lorenz", source=Source(REPO, verify=True, cache_dir=tmp_path), **WINDOWS)
    assert_same_windows(ds, load_dataset("Lorenz", source=store, **WINDOWS))


def test_hub_corrupt_chunk_from_the_server_is_never_cached(hub, store, tmp_path):
    repo = tmp_path / "repo"
    shutil.copytree(store, repo)
    offset, length = member_span(repo / "Lorenz.zip", "fine/train/series/c/0/0/0")
    good = (repo / "Lorenz.zip").read_bytes()
    bad = bytearray(good)
    bad[offset + length // 2] ^= 0xFF
    (repo / "Lorenz.zip").write_bytes(bytes(bad))
    hub.serve(REPO, repo)
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path / "cache"), **WINDOWS)
    with pytest.raises(ChecksumError, match=r"Lorenz\.zip \(fine/train/series/c/0/0/0\): the server sent bytes "
                                            r"that fail their checksum \(CRC-32"):
        ds.trajectories()  # the whole shard: checked against the zip's CRC-32
    remote = open_remote(REPO, revision=None, cache=tmp_path / "cache" / "remote")
    series = remote.array("Lorenz", "fine", "train")
    with pytest.raises(ChecksumError, match=r"Lorenz\.zip \(fine/train/series\): the server sent bytes that fail "
                                            r"their checksum twice"):
        series[0], series[1]  # one row: its chunks by range, each checked by zarr's CRC32C
    (repo / "Lorenz.zip").write_bytes(good)  # the server repaired (same revision)
    want = load_dataset("Lorenz", source=store, **WINDOWS).trajectories()
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path / "cache"), **WINDOWS)
    assert torch.equal(ds.trajectories(), want)
    local = open_array(store / "Lorenz.zip", "fine/train/series")
    assert np.array_equal(series[0], local[0]) and np.array_equal(series[1], local[1])


def test_hub_source_offline_once_read(served, store, tmp_path, monkeypatch):
    from huggingface_hub import constants

    load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)[0]
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    served.log.clear()
    ds = load_dataset("Lorenz", source=Source(REPO, cache_dir=tmp_path), **WINDOWS)
    assert_same_windows(ds, load_dataset("Lorenz", source=store, **WINDOWS))
    assert served.log == []
    with pytest.raises(StoreError, match="HF_HUB_OFFLINE is set"):
        load_dataset("Lorenz", source=Source("chaosdata/other", cache_dir=tmp_path))


def test_any_fsspec_url_of_a_store(store, tmp_path):
    ds = load_dataset("Henon", source=Source(f"file://{store}", cache_dir=tmp_path), **WINDOWS)
    assert_same_windows(ds, load_dataset("Henon", source=store, **WINDOWS))
    assert cache_entries(tmp_path, "Henon.zip")
    with pytest.raises(InvalidInputError, match="revision='v1' picks a version of a Hub dataset repo"):
        load_dataset("Henon", source=Source(f"file://{store}", revision="v1", cache_dir=tmp_path))


def test_regenerate_integrates_on_demand_and_caches(tmp_path):
    config = dict(SMALL, systems=["Lorenz"], length=8, splits={"train": 1, "val": 1, "test": 1})
    ds = load_dataset("Lorenz", source=Source("regenerate", config=config, cache_dir=tmp_path), granularity="coarse",
                      context_length=16, horizon=4)
    assert ds.trajectories().shape == (1, 120, 3)
    stores = list((tmp_path / "regenerated").iterdir())
    assert len(stores) == 1
    stamp = (stores[0] / "manifest.json").stat().st_mtime_ns
    load_dataset("Lorenz", source=Source("regenerate", config=config, cache_dir=tmp_path), granularity="coarse",
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
        load_dataset("Lorenz", source=Source("regenerate", config=config, cache_dir=tmp_path), context_length=16,
                     horizon=4)
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
        load_dataset("Lorenz", source=Source("regenerate", config=config, cache_dir=tmp_path))
    assert time.perf_counter() - started < 2.0
    assert list(tmp_path.iterdir()) == []


# ============================================================ edge cases a training script hits
# bad arguments that used to be accepted silently (or fail with a bare TypeError/KeyError),
# and window addressing at its limits; on the same small store
def stored(store: Path, split: str = "train") -> np.ndarray:
    return open_array(store / "Lorenz.zip", f"fine/{split}/series")[...].astype(np.float64)


def small(store: Path, systems="Lorenz", **kw):
    return load_dataset(systems, source=store, **{"context_length": 32, "horizon": 8, **kw})


# ---------------------------------------------------------------------- windows at their limits
def test_a_window_as_long_as_the_series_is_the_whole_trajectory(store):
    arr = stored(store)
    n, t, _ = arr.shape
    ds = small(store, context_length=t - 8, observation=Observation(normalize=None, dtype=torch.float64))
    assert len(ds) == n
    for i in range(n):
        context, target = ds[i]
        np.testing.assert_array_equal(torch.cat([context, target]).numpy(), arr[i])
    with pytest.raises(InvalidInputError, match="longer than its trajectories"):
        small(store, context_length=t - 7)


def test_the_last_window_ends_inside_the_series_whatever_the_stride(store):
    t = stored(store).shape[1]
    for stride in (1, 7, t - 40, t):
        ds = small(store, stride=stride)
        last = ds.info(len(ds) - 1)
        assert last.start + 40 <= t and last.start + stride + 40 > t, stride


# ---------------------------------------------------------------------- dtype
@pytest.mark.parametrize("dtype, error", [(torch.int32, InvalidInputError), (torch.int64, InvalidInputError),
                                          (torch.bool, InvalidInputError), (torch.complex64, InvalidInputError),
                                          ("float32", InvalidTypeError), (np.float32, InvalidTypeError)])
def test_a_dtype_that_is_not_a_torch_float_is_refused(store, dtype, error):
    """dtype=torch.int32 used to truncate the standardized values to integers, silently."""
    with pytest.raises(error, match="dtype must be one of"):
        small(store, observation=Observation(dtype=dtype))


def test_bfloat16_items(store):
    """dtype=torch.bfloat16 used to fail with numpy's 'Got unsupported ScalarType BFloat16'."""
    ref = small(store, observation=Observation(observation_noise=0.1, seed=2, dtype=torch.float64))
    ds = small(store, observation=Observation(observation_noise=0.1, seed=2, dtype=torch.bfloat16))
    context, target = ds[5]
    assert context.dtype == target.dtype == torch.bfloat16 and ds.trajectories().dtype == torch.bfloat16
    torch.testing.assert_close(context, ref[5][0].to(torch.bfloat16), rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(ds.trajectories(), ref.trajectories().to(torch.bfloat16), rtol=0, atol=0)


# ---------------------------------------------------------------------- arguments accepted silently
def test_noise_true_is_refused_not_read_as_one_std(store):
    """noise=True became float(True) = 1.0 (noise of a whole std) before WindowDataset saw it."""
    with pytest.raises(InvalidTypeError, match="observation_noise must be a non-negative finite number"):
        small(store, observation=Observation(observation_noise=True))


@pytest.mark.parametrize("noise, error", [(float("nan"), InvalidInputError), (float("inf"), InvalidInputError),
                                          (-1, InvalidInputError), ("0.1", InvalidTypeError)])
def test_noise_must_be_a_finite_non_negative_number(store, noise, error):
    with pytest.raises(error, match="observation_noise must be a non-negative finite number"):
        small(store, observation=Observation(observation_noise=noise))


@pytest.mark.parametrize("systems", [["Lorenz", "Lorenz"], ["Lorenz", "lorenz"], ("Henon", "Lorenz", "henon")])
def test_a_system_named_twice_is_refused(store, systems):
    """Each spelling used to add the system's windows again, weighting it twice, silently."""
    with pytest.raises(InvalidInputError, match="more than once"):
        small(store, systems)


def test_config_without_regenerate_is_refused(store):
    """config=... shapes a regenerated store; with a local store it was ignored, silently."""
    with pytest.raises(InvalidInputError, match="source='regenerate'"):
        Source(store, config={"length": 500})


def test_revision_without_a_hub_source_is_refused(store):
    with pytest.raises(InvalidInputError, match="revision"):
        Source(store, revision="v1")


@pytest.mark.parametrize("seed", ["1", 1.5, True, None])
def test_seed_must_be_an_integer(store, seed):
    """seed='1' and seed=1 drew the same noise; seed=True, 1.5 or None were accepted."""
    with pytest.raises(InvalidTypeError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        small(store, observation=Observation(observation_noise=0.1, seed=seed))


def test_a_numpy_integer_seed_draws_the_noise_of_the_same_python_int(store):
    a = small(store, observation=Observation(observation_noise=0.1, seed=np.int64(4)))
    b = small(store, observation=Observation(observation_noise=0.1, seed=4))
    torch.testing.assert_close(a[3], b[3], rtol=0, atol=0)


@pytest.mark.parametrize("cache_bytes, error", [(-1, InvalidInputError), (1.5, InvalidTypeError),
                                                ("64MB", InvalidTypeError), (True, InvalidTypeError)])
def test_cache_bytes_must_be_a_non_negative_integer(store, cache_bytes, error):
    with pytest.raises(error, match="cache_bytes must be a non-negative integer"):
        small(store, cache_bytes=cache_bytes)


@pytest.mark.parametrize("temporal", ["yes", 1, None])
def test_temporal_must_be_a_bool(store, temporal):
    with pytest.raises(InvalidTypeError, match="temporal must be True or False"):
        small(store, temporal=temporal)


# ---------------------------------------------------------------------- denormalize
def test_denormalize_names_the_systems_it_knows(store):
    """An unknown name used to be a bare KeyError: 'lorenz'."""
    ds = small(store, observation=Observation(dtype=torch.float64))
    context, _ = ds[0]
    with pytest.raises(InvalidInputError, match=r"'Henon' is not in this dataset; it holds \['Lorenz'\]"):
        ds.denormalize(context, "Henon")
    torch.testing.assert_close(ds.denormalize(context, "lorenz"), ds.denormalize(context, "Lorenz"))
    info = ds.info(0)
    raw = stored(store)[info.trajectory, info.start:info.start + 32]
    torch.testing.assert_close(ds.denormalize(context, "lorenz").numpy(), raw)


def test_denormalize_works_on_the_device_of_its_input(store):
    """Model outputs on a GPU failed: the statistics were CPU tensors ('Tensor on device cpu is
    not on the expected device'). The meta device stands in for a GPU here."""
    for univariate in (False, 1):
        ds = small(store, observation=Observation(univariate=univariate))
        context, _ = ds[0]
        on_meta = ds.denormalize(context.to("meta"), "Lorenz")
        assert on_meta.device.type == "meta" and on_meta.shape == context.shape
        normalized = ds.normalizer.normalize(context.to("meta"), "Lorenz") if not univariate else on_meta
        assert normalized.device.type == "meta"


def test_repr_shows_the_first_coordinate_too(store):
    """univariate=True (coordinate 0) left `channels` out of the repr (0 is falsy), so the
    dataset read as multivariate; coordinate 1 was shown."""
    assert "channels=0" in repr(small(store, observation=Observation(univariate=True)))
    assert "channels=1" in repr(small(store, observation=Observation(univariate=1)))
    assert "channels" not in repr(small(store)) and "observation_noise" not in repr(small(store))


def test_systems_as_a_numpy_array_or_a_set(store):
    """A numpy array of names (e.g. `df.system.unique()`) failed with numpy's 'truth value of an
    array is ambiguous'; a set gave an order that changes with PYTHONHASHSEED, so window i was
    another window in another run."""
    assert small(store, np.array(["Lorenz", "Henon"])).systems == ["Lorenz", "Henon"]
    assert small(store, {"Lorenz", "Henon"}).systems == ["Henon", "Lorenz"]


@pytest.mark.parametrize("systems", [None, 5, ["Lorenz", 3]])
def test_systems_that_are_not_names_are_refused(store, systems):
    """None said 'systems is empty'; 5 or a list holding 3 raised a bare TypeError."""
    with pytest.raises(InvalidTypeError, match="systems must be"):
        small(store, systems)


@pytest.mark.parametrize("granularity", [None, 1])
def test_granularity_must_be_a_name(store, granularity):
    """granularity=None raised AttributeError: 'NoneType' object has no attribute 'lower'."""
    with pytest.raises(InvalidTypeError, match="granularity must be"):
        small(store, granularity=granularity)


def test_verify_must_be_a_bool(store):
    """verify='no' was truthy: the store was verified (decoding every array) when asked not to."""
    with pytest.raises(InvalidTypeError, match="verify must be True or False"):
        Source(store, verify="no")


def test_a_relative_source_still_reads_after_a_chdir(store, tmp_path, monkeypatch):
    """Windows are read lazily; the store's path was kept relative, so after a chdir (Hydra
    runs jobs in their own directory) reads failed, or read another store at that path."""
    monkeypatch.chdir(store.parent)
    ds = load_dataset("Lorenz", source=store.name, context_length=32, horizon=8,
                      observation=Observation(normalize=None, dtype=torch.float64))
    monkeypatch.chdir(tmp_path)
    context, _ = ds[0]
    np.testing.assert_array_equal(context.numpy(), stored(store)[0, :32])
