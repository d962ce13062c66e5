"""Building a store (chaosdata.store.writer): its identity (layout, config and code) and its
durability and concurrency (fsync before rename, concurrent regeneration, the lock, Ctrl-C)."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from stores import ROOT, TINY, quiet, raw_tiny, store_bytes

from chaosdata import Source, load_dataset
from chaosdata.loader import regenerate_key
from chaosdata.store import StoreError, build, open_store, provenance
from chaosdata.store.config import parse_config
from chaosdata.store.layout import MANIFEST, STAGING
from chaosdata.store.manifest import OldFormatError, data_sha256, system_code_hash


# ---------------------------------------------------------------------- identity: layout and code
@pytest.mark.parametrize("fmt", ["chaosdata-store/1", "chaosdata-store/2"])
def test_a_store_in_an_old_layout_is_refused_with_how_to_rebuild(tiny_store, tmp_path, fmt):
    old = tmp_path / "old"
    old.mkdir()
    manifest = json.loads((tiny_store / MANIFEST).read_text())
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


def test_the_code_fingerprint_is_part_of_the_identity(tiny_store):
    s = open_store(tiny_store)
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
    config = {"systems": ["Lorenz"], "length": 4, "splits": {"train": 2, "val": 1, "test": 1}}
    ds = load_dataset("Lorenz", source=Source("regenerate", config=config, cache_dir=cache), granularity="coarse",
                      context_length=8, horizon=4)
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
    config_file.write_text(TINY.replace('systems = ["Lorenz", "Henon", "MackeyGlass"]', f"systems = {json.dumps(names)}"))
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
