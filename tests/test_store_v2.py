"""The store as outside tools see it (xarray, consolidated metadata in each system's zip), its
identity (layout, config and code), stored normalization, durability and concurrency."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import xarray as xr
import zarr

from chaosdata import load_dataset
from chaosdata.errors import InvalidInputError
from chaosdata.loader import regenerate_key
from chaosdata.store import StoreError, build, open_store, provenance
from chaosdata.store.config import parse_config
from chaosdata.store.layout import MANIFEST, STAGING, TRAJECTORY_VARIABLES
from chaosdata.store.manifest import OldFormatError, data_sha256, system_code_hash
from chaosdata.windows import Series, fit_statistics
from stores import ROOT, quiet, raw_tiny, store_bytes


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("v2") / "store"
    build(parse_config(raw_tiny()), out, progress=False, log=quiet)
    return out


# ---------------------------------------------------------------------- xarray and zarr
@pytest.mark.parametrize("group, dims", [
    ("Lorenz/fine/train", {"trajectory": 2, "time": 200, "component": 3, "state": 3}),
    ("Lorenz/coarse/test", {"trajectory": 1, "time": 30, "component": 3, "state": 3}),
    ("MackeyGlass/fine/val", {"trajectory": 1, "time": 200, "component": 10, "state": 1}),
    ("Henon/iteration/train", {"trajectory": 2, "time": 50, "component": 2, "state": 2}),
])
def test_every_split_opens_with_xarray(store, group, dims):
    system, granularity, split = group.split("/")
    ds = open_split(store, group)
    assert dict(ds.sizes) == dims
    assert ds.series.dims == ("trajectory", "time", "component") and ds.series.dtype == np.float32
    assert set(TRAJECTORY_VARIABLES) <= set(ds.variables)
    s = open_store(store)
    np.testing.assert_array_equal(ds.series.values, s.array(system, granularity, split)[...])
    grid = s.time(system, granularity)
    np.testing.assert_allclose(ds.time.values, grid["t0"] + grid["dt"] * np.arange(grid["n"]), rtol=1e-15)
    assert ds.trajectory.values.tolist() == list(range(dims["trajectory"]))
    assert ds.valid.values.all() and (ds.failure.values == "").all()
    assert ds.attrs["system"] == system and ds.attrs["split"] == split and "long_name" in ds.series.attrs


def open_split(store: Path, group: str) -> xr.Dataset:
    """`<System>/<granularity>/<split>` as xarray opens it: the system's zip, the split's group."""
    system, split = group.split("/", 1)
    return xr.open_zarr(zarr.storage.ZipStore(store / f"{system}.zip", mode="r"), group=split)


def test_time_coordinate_is_in_the_systems_units(store):
    ds = open_split(store, "Lorenz/fine/train")
    assert ds.time.values[1] == pytest.approx(1.5008 / 100)  # Lorenz's period / 100 points
    assert np.issubdtype(ds.time.dtype, np.floating)  # not decoded as a timedelta
    assert open_split(store, "Henon/iteration/train").time.values[:3].tolist() == [0, 1, 2]


def test_initial_condition_is_the_draw_and_start_state_follows_the_transient(store):
    s = open_store(store)
    v = s.variables("Lorenz", "fine", "train")
    from chaosdata.integrate.ensemble import sample_initial_conditions
    from chaosdata.store import split_seed
    from chaosdata.systems import get_system

    draws = sample_initial_conditions(get_system("Lorenz"), 2, split_seed(7, "Lorenz", "train"))
    np.testing.assert_array_equal(v["initial_condition"], draws.numpy())
    assert not np.allclose(v["start_state"], v["initial_condition"])  # one period of transient apart
    np.testing.assert_allclose(s.array("Lorenz", "fine", "train")[:, 0], v["start_state"], rtol=1e-6, atol=1e-5)


def test_a_system_opens_as_one_datatree(store):
    tree_ = xr.open_datatree(zarr.storage.ZipStore(store / "Lorenz.zip", mode="r"), engine="zarr")
    assert sorted(tree_.children) == ["coarse", "fine", "lyapunov"]
    assert tree_["fine/train"].ds.series.shape == (2, 200, 3)
    assert tree_.attrs["system"]["name"] == "Lorenz"


def test_a_split_opens_through_fsspec_zip_urls(store):
    """`zip::<url>` is how a system opens over HTTP (`zip::hf://datasets/owner/name/Lorenz.zip`)."""
    ds = xr.open_zarr(f"zip::file://{store / 'Lorenz.zip'}", group="fine/train")
    expected = open_store(store).array("Lorenz", "fine", "train")[...]
    np.testing.assert_array_equal(ds.series.values, expected)


class CountingStore(zarr.storage.ZipStore):
    """A system's zip that records every key read, as an HTTP reader would fetch them."""

    reads: list[str]

    async def get(self, key, prototype, byte_range=None):
        self.reads.append(key)
        return await super().get(key, prototype, byte_range)


def files_read_to_open(path: Path, group: str, consolidated: bool) -> list[str]:
    counting = CountingStore(path, mode="r")
    counting.reads = []
    xr.open_zarr(counting, consolidated=consolidated, zarr_format=3, group=group)
    return counting.reads


def test_consolidated_metadata_opens_a_split_in_one_metadata_read(store):
    cold = files_read_to_open(store / "Lorenz.zip", "fine/train", consolidated=False)
    warm = files_read_to_open(store / "Lorenz.zip", "fine/train", consolidated=True)
    assert [k for k in warm if k.endswith("zarr.json")] == ["zarr.json"], warm  # the system's consolidated document
    assert len([k for k in cold if k.endswith("zarr.json")]) > 5


# ---------------------------------------------------------------------- normalization
def test_normalization_is_stored_and_equals_a_scan_of_the_train_split(store):
    s = open_store(store)
    mean, std = s.normalization("Lorenz", "fine")
    z = s.array("Lorenz", "fine", "train")
    scanned = fit_statistics(Series("Lorenz", lambda: z, *z.shape, t0=0.0, dt=1.0))
    np.testing.assert_allclose(mean, scanned[0], rtol=1e-12)
    np.testing.assert_allclose(std, scanned[1], rtol=1e-9)
    assert mean.dtype == np.float64


def test_load_dataset_uses_the_stored_statistics_without_scanning(store, monkeypatch):
    import chaosdata.loader as loader

    def no_scan(series):
        raise AssertionError("the train split was scanned")

    monkeypatch.setattr(loader, "fit_statistics", no_scan)
    ds = load_dataset("Lorenz", source=store, context_length=16, horizon=4)
    np.testing.assert_array_equal(ds.normalizer.mean["Lorenz"], open_store(store).normalization("Lorenz", "fine")[0])


def test_a_train_split_with_no_valid_trajectory_is_a_clear_error(tmp_path):
    config = parse_config(raw_tiny(systems=["Lorenz"], integrator={"method": "rk4", "dt": 0.5}))
    build(config, tmp_path / "bad", progress=False, log=quiet)
    s = open_store(tmp_path / "bad")
    with pytest.raises(InvalidInputError, match="Lorenz .*no valid trajectory in its train split"):
        s.normalization("Lorenz", "fine")
    for normalize in ("standard", None):
        with pytest.raises(InvalidInputError, match="Lorenz has no valid trajectory in its train split"):
            load_dataset("Lorenz", source=tmp_path / "bad", context_length=16, horizon=4, normalize=normalize)


# ---------------------------------------------------------------------- identity: layout and code
@pytest.mark.parametrize("fmt", ["chaosdata-store/1", "chaosdata-store/2"])
def test_a_store_in_an_old_layout_is_refused_with_how_to_rebuild(store, tmp_path, fmt):
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((store / MANIFEST).read_text())
    manifest["format"] = fmt
    (old / MANIFEST).write_text(json.dumps(manifest))
    (old / "zarr.json").write_text("{}")  # layout 2: a root document and one directory per system
    (old / "Lorenz" / "fine").mkdir(parents=True)
    (old / "Lorenz" / "zarr.json").write_text("{}")
    with pytest.raises(OldFormatError, match=f"earlier layout '{fmt}'.*one checksummed zip file per system.*--overwrite"):
        open_store(old)
    with pytest.raises(OldFormatError):
        load_dataset("Lorenz", source=old)
    with pytest.raises(StoreError, match="cannot be resumed: it is in the earlier layout.*--overwrite"):
        build(parse_config(raw_tiny()), old, progress=False, log=quiet)
    build(parse_config(raw_tiny(systems=["Henon"])), old, overwrite=True, progress=False, log=quiet)
    assert open_store(old).systems == ["Henon"]
    assert sorted(p.name for p in old.iterdir()) == [".lock", "Henon.zip", "builds.json", "manifest.json"]


def test_the_code_fingerprint_is_part_of_the_identity(store):
    s = open_store(store)
    fp = provenance.fingerprint("cpu")
    assert s.code == fp and s.manifest["code_hash"] == provenance.code_hash(fp)
    assert {"chaosdata", "source_sha256", "torch", "zarr", "device"} <= set(fp)
    assert "code_hash" not in s.manifest["systems"]["Lorenz"]  # written by the store's code: implied
    assert system_code_hash(s.manifest, "Lorenz") == s.manifest["code_hash"]
    assert s.attrs("Lorenz")["provenance"]["source_sha256"] == fp["source_sha256"]


def _pretend_other_code(out: Path) -> None:
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["code"]["torch"] = "1.0.0"
    manifest["code_hash"] = provenance.code_hash(manifest["code"])
    (out / MANIFEST).write_text(json.dumps(manifest))


def test_a_resume_with_other_code_refuses_unless_mixed_code_is_allowed(tmp_path):
    out = tmp_path / "store"
    build(parse_config(raw_tiny()), out, systems=["Henon"], progress=False, log=quiet)
    _pretend_other_code(out)
    before = store_bytes(out)
    with pytest.raises(StoreError, match=r"other code.*torch \('1.0.0' -> .*--allow-mixed-code"):
        build(parse_config(raw_tiny()), out, progress=False, log=quiet)
    assert store_bytes(out) == before
    report = build(parse_config(raw_tiny()), out, allow_mixed_code=True, progress=False, log=quiet)
    assert sorted(r.status for r in report.results) == ["built", "built", "done"]
    manifest = open_store(out).manifest
    current = provenance.code_hash(provenance.fingerprint("cpu"))
    assert manifest["other_code"][current]["torch"] == torch.__version__
    assert manifest["systems"]["Lorenz"]["code_hash"] == current  # another code than the store's: named
    assert system_code_hash(manifest, "Henon") == manifest["code_hash"] != current


def test_the_regenerate_cache_keys_on_the_code(monkeypatch):
    config = parse_config(raw_tiny())
    key = regenerate_key(config, "cpu")
    other = {**provenance.fingerprint("cpu"), "source_sha256": "0" * 64}
    monkeypatch.setattr(provenance, "fingerprint", lambda device: other)
    assert regenerate_key(config, "cpu") != key


# ---------------------------------------------------------------------- durability and concurrency
def test_the_packed_system_is_fsynced_before_the_rename(tmp_path, monkeypatch):
    synced: list[str] = []
    real_open, real_fsync = os.open, os.fsync
    names: dict[int, str] = {}

    def tracking_open(path, flags, *args, **kw):
        fd = real_open(path, flags, *args, **kw)
        names[fd] = str(path)
        return fd

    def tracking_fsync(fd):
        synced.append(names.get(fd, "?"))
        return real_fsync(fd)

    monkeypatch.setattr(os, "open", tracking_open)
    monkeypatch.setattr(os, "fsync", tracking_fsync)
    out = tmp_path / "store"
    build(parse_config(raw_tiny(systems=["Henon"])), out, progress=False, log=quiet)
    packed = [p for p in synced if p.startswith(f"{out}/{STAGING}/Henon.") and p.endswith(".zip")]
    assert len(packed) == 1 and str(out) in synced[synced.index(packed[0]):]  # the file, then the rename in its folder


def _regenerate(cache: str, queue) -> None:  # a DDP rank: same call, same cache
    ds = load_dataset("Lorenz", source="regenerate", cache_dir=cache, granularity="coarse", context_length=8,
                      horizon=4, config={"systems": ["Lorenz"], "length": 4,
                                         "splits": {"train": 2, "val": 1, "test": 1}})
    queue.put(data_sha256(ds.trajectories().numpy()))


@pytest.mark.slow  # three fresh interpreters (about 40 s on a loaded 2-core machine)
def test_three_processes_regenerating_at_once_get_the_same_bytes(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_regenerate, args=(str(tmp_path), queue)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(240)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    digests = {queue.get(timeout=5) for _ in procs}
    assert len(digests) == 1
    assert len(list((tmp_path / "regenerated").iterdir())) == 1


@pytest.mark.slow  # a fresh interpreter (about 20 s on a loaded 2-core machine)
def test_a_waiting_build_blocks_on_the_lock_instead_of_failing(tmp_path):
    import fcntl

    out = tmp_path / "store"
    out.mkdir()
    config = parse_config(raw_tiny(systems=["Henon"]))
    with open(out / ".lock", "a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        with pytest.raises(StoreError, match="being built by another process"):
            build(config, out, progress=False, log=quiet)
        ctx = multiprocessing.get_context("spawn")  # fork after torch has started threads can hang
        proc = ctx.Process(target=build, args=(config, out), kwargs={"wait": True, "progress": False, "log": quiet})
        proc.start()
        time.sleep(3.0)
        assert proc.is_alive() and not (out / MANIFEST).exists()  # waiting, not failing
    proc.join(180)
    assert proc.exitcode == 0 and open_store(out).systems == ["Henon"]


@pytest.mark.slow  # spawns worker processes (about 40 s on a loaded 2-core machine)
def test_ctrl_c_stops_a_parallel_build_quickly_and_it_resumes(tmp_path):
    config_file = tmp_path / "c.toml"
    names = ["Lorenz", "Rossler", "Henon", "Chua", "Duffing", "Ikeda", "Logistic", "Thomas"]
    config_file.write_text((ROOT / "tests" / "test_store.py").read_text().split('TINY = """')[1].split('"""')[0]
                           .replace('systems = ["Lorenz", "Henon", "MackeyGlass"]', f"systems = {json.dumps(names)}"))
    out = tmp_path / "store"
    env = {**os.environ, provenance.COMMIT_ENV: "test-commit", "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "chaosdata.cli", "generate", "--config", str(config_file),
                             "--out", str(out), "--workers", "2"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and proc.poll() is None:
        if (out / MANIFEST).exists() and json.loads((out / MANIFEST).read_text())["systems"]:
            break
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal's Ctrl-C does: the whole process group
    sent = time.monotonic()
    _, err = proc.communicate(timeout=60)
    stopped = time.monotonic() - sent
    assert proc.returncode == 130 and "run the same command again" in err.decode().lower()
    assert stopped < 5, f"took {stopped:.1f} s to stop"
    committed = json.loads((out / MANIFEST).read_text())["systems"]
    assert 1 <= len(committed) < len(names)
    report = build(parse_config(json.loads(json.dumps(open_store(out).manifest["config"]))), out,
                   progress=False, log=quiet)
    assert report.ok and open_store(out).verify().ok and len(open_store(out).systems) == len(names)
