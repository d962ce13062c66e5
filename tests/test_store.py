"""The release store: config validation, layout, checksums, determinism, crash safety, CLI."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
import zarr

from chaosdata import SolverSettings, make_trajectories
from chaosdata.cli import main as cli
from chaosdata.errors import InvalidInputError, UnknownNameError
from chaosdata.integrate.trajectories import union_grid
from chaosdata.store import ChecksumError, StoreError, build, load_config, load_preset, open_store, provenance, split_seed
from chaosdata.store.archive import open_zip
from chaosdata.store.config import parse_config
from chaosdata.store.layout import BUILD_LOG, LOCK, MANIFEST, STAGING
from chaosdata.store.reader import open_array
from stores import ROOT, TINY, quiet, raw_tiny, store_bytes

@pytest.fixture(scope="module", autouse=True)
def fixed_commit():
    """Builds record the source commit; others commit to this checkout meanwhile, so pin it."""
    old = os.environ.get(provenance.COMMIT_ENV)
    os.environ[provenance.COMMIT_ENV] = "test-commit"
    provenance.git_commit.cache_clear()
    yield
    if old is None:
        os.environ.pop(provenance.COMMIT_ENV)
    else:
        os.environ[provenance.COMMIT_ENV] = old
    provenance.git_commit.cache_clear()


@pytest.fixture(scope="module")
def config_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("config") / "tiny.toml"
    path.write_text(TINY)
    return path


@pytest.fixture(scope="module")
def built(tmp_path_factory, config_file) -> tuple[Path, str]:
    """The tiny store, built through the CLI in this process: (path, printed summary)."""
    out = tmp_path_factory.mktemp("built") / "store"
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli(["generate", "--config", str(config_file), "--out", str(out)]) == 0
    return out, buf.getvalue()


@pytest.fixture
def copy_of(built, tmp_path):
    dst = tmp_path / "copy"
    shutil.copytree(built[0], dst)
    return dst


# ---------------------------------------------------------------------- config
def test_config_unknown_system_suggests_a_name():
    with pytest.raises(UnknownNameError, match="Lorenz"):
        parse_config(raw_tiny(systems=["Lorenzz"]))


def test_config_file_errors(tmp_path):
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("name = \n")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        load_config(bad)
    with pytest.raises(InvalidInputError, match="unknown preset"):
        load_preset("quik")


def test_config_round_trips_and_hash_ignores_the_name():
    config = parse_config(raw_tiny())
    assert parse_config(config.to_dict()) == config
    assert parse_config(raw_tiny(name="renamed", description="x")).config_hash == config.config_hash
    assert parse_config(raw_tiny(length=3)).config_hash != config.config_hash


@pytest.mark.parametrize("name", ["quick", "release"])
def test_presets(name):
    config = load_preset(name)
    assert config.systems is None  # every system
    assert {g.name: g.points for g in config.granularities if g.timescale == "period"} == {"coarse": 15, "fine": 100}
    assert any(g.timescale == "lyapunov" for g in config.granularities)
    assert load_config(ROOT / "generation" / "presets" / f"{name}.toml") == config
    if name == "release":
        assert config.length >= 100 and config.length * 100 >= 10_000
        assert (config.splits["train"], config.splits["val"], config.splits["test"]) == (32, 8, 8)


def test_split_seeds_are_distinct_and_stable():
    seeds = {s: split_seed(0, "Lorenz", s) for s in ("train", "val", "test")}
    assert len(set(seeds.values())) == 3 and all(0 <= v < 2**53 for v in seeds.values())
    assert split_seed(0, "Lorenz", "train") == split_seed(0, "Lorenz", "train") != split_seed(1, "Lorenz", "train")
    assert split_seed(0, "Lorenz", "train") == 3934648057023219  # sha256-derived: same in every process


# ---------------------------------------------------------------------- layout
def zip_group(path: Path) -> zarr.Group:
    return zarr.open_group(zarr.storage.ZipStore(path, mode="r"), mode="r")


def test_store_opens_with_plain_zarr(built):
    out, _ = built
    lorenz = zip_group(out / "Lorenz.zip")
    attrs = lorenz.attrs.asdict()
    assert attrs["system"]["name"] == "Lorenz" and attrs["system"]["parameters"]["rho"] == 28.0
    assert attrs["provenance"]["git_commit"] == "test-commit" and attrs["provenance"]["zarr"] == zarr.__version__
    assert attrs["generation"]["splits"]["train"]["seed"] == split_seed(7, "Lorenz", "train")
    fine = lorenz["fine/train/series"]
    assert fine.shape == (2, 200, 3) and fine.dtype == np.float32
    assert fine.chunks == (1, 64, 3) and fine.shards == (2, 256, 3)
    assert fine.metadata.dimension_names == ("trajectory", "time", "component")
    assert lorenz["fine"].attrs["time"] == {"t0": 0.0, "dt": pytest.approx(1.5008 / 100), "n": 200}
    assert lorenz["coarse/val/series"].shape == (1, 30, 3)
    assert lorenz["fine/train/valid"][...].tolist() == [True, True]
    assert lorenz["fine/train/initial_condition"].shape == (2, 3)
    np.testing.assert_allclose(lorenz["fine/train/time"][...], np.arange(200) * 1.5008 / 100)
    assert np.isfinite(fine[...]).all()
    if "lyapunov" not in attrs["generation"]["granularities"]:  # until the invariants give a Lyapunov time
        assert "Lyapunov" in attrs["generation"]["skipped_granularities"]["lyapunov"]
    henon = zip_group(out / "Henon.zip")
    assert henon["iteration/train/series"].shape == (2, 50, 2)
    assert zip_group(out / "MackeyGlass.zip")["fine/test/series"].shape == (1, 200, 10)


def test_a_store_is_one_file_per_system_and_a_small_manifest(built):
    out = built[0]
    assert sorted(p.name for p in out.iterdir() if p.name != LOCK) == sorted([
        BUILD_LOG, "Henon.zip", "Lorenz.zip", "MackeyGlass.zip", MANIFEST])
    manifest = json.loads((out / MANIFEST).read_text())
    entry = manifest["systems"]["Lorenz"]
    assert entry["bytes"] == (out / "Lorenz.zip").stat().st_size
    assert entry["splits"]["fine/train"] == [2, 200, 3]


def test_the_manifest_grows_by_under_half_a_kilobyte_per_system(built):
    """2,000 corpus groups must stay under 1 MB: compact JSON, nothing the zip already says."""
    written = (built[0] / MANIFEST).read_bytes()
    manifest = json.loads(written)
    without_systems = json.dumps({**manifest, "systems": {}}, sort_keys=True, separators=(",", ":"))
    per_system = (len(written) - len(without_systems)) / len(manifest["systems"])
    assert per_system < 450, per_system  # Lorenz: 9 splits
    assert b"\n " not in written and "code_hash" not in manifest["systems"]["Lorenz"]


def test_system_files_are_deterministic_zips(built):
    """Members sorted, stored, with no build time or umask in them: the same build, the same bytes."""
    with zipfile.ZipFile(built[0] / "Lorenz.zip") as zf:
        infos = zf.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names) and "zarr.json" in names and "fine/train/series/c/0/0/0" in names
    assert {(i.date_time, i.compress_type, i.external_attr >> 16) for i in infos} == {
        ((1980, 1, 1, 0, 0, 0), zipfile.ZIP_STORED, 0o100644)}


def test_every_chunk_carries_a_crc32c(built):
    lorenz = zip_group(built[0] / "Lorenz.zip")
    series = lorenz["fine/train/series"].metadata.codecs[0].codecs  # the shard's inner-chunk codecs
    assert series[-1].to_dict()["name"] == "crc32c"
    for name in ("valid", "failure", "initial_condition", "time"):
        assert lorenz[f"fine/train/{name}"].metadata.codecs[-1].to_dict()["name"] == "crc32c"


def test_granularities_hold_the_same_trajectories(built):
    """coarse (15/period) and fine (100/period) meet every fifth of a period: same states there."""
    store = open_store(built[0])
    coarse = store.array("Lorenz", "coarse", "train")[...]
    fine = store.array("Lorenz", "fine", "train")[...]
    np.testing.assert_allclose(coarse[:, ::3][:, :10], fine[:, ::20][:, :10], atol=1e-3 * np.abs(fine).max())


def test_arrays_are_reproduced_by_their_recipe(built):
    store = open_store(built[0])
    recipe = store.group("Lorenz")["fine"].attrs["recipe"]
    used = store.attrs("Lorenz")["generation"]["integrator"]["used"]
    starts = torch.cat([torch.from_numpy(store.variables("Lorenz", "fine", split)["start_state"])
                        for split in ("train", "val", "test")])
    times, index = union_grid({name: tuple(grid) for name, grid in recipe["grids"].items()})
    tr = make_trajectories("Lorenz", times=times, initial_conditions=starts, postprocess=False, solver=SolverSettings(method=used["method"], rtol=used["rtol"], atol=used["atol"]))
    for name in recipe["grids"]:
        x = tr.x[:, index[name]].numpy().astype(np.float32)
        np.testing.assert_array_equal(x[:2], store.array("Lorenz", name, "train")[...])


def test_delay_equation_recipe_reads_its_own_pass(built):
    store = open_store(built[0])
    recipe = store.group("MackeyGlass")["coarse"].attrs["recipe"]
    assert recipe["n_points"] > recipe["discard"] > 0 and recipe["stride"] == 1


# ---------------------------------------------------------------------- reader
def test_reader_api(built):
    store = open_store(built[0])
    assert store.systems == ["Henon", "Lorenz", "MackeyGlass"]
    assert store.arrays("Lorenz")[:3] == ["coarse/test", "coarse/train", "coarse/val"]
    assert store.array("henon", "fine", "val").shape == (1, 50, 2)  # a map: every granularity is its iterations
    assert store.time("Henon", "coarse") == {"t0": 0.0, "dt": 1.0, "n": 50}
    assert store.array("Lorenz", "fine", "train")[0, 10:20].shape == (10, 3)
    assert store.config.name == "tiny" and store.manifest["config_hash"] == store.config.config_hash
    with pytest.raises(InvalidInputError, match="Did you mean 'Lorenz'"):
        store.array("Lorenzz", "fine", "train")
    with pytest.raises(InvalidInputError, match="has no granularity 'medium'"):
        store.array("Lorenz", "medium", "train")
    with pytest.raises(InvalidInputError, match="split must be one of"):
        store.array("Lorenz", "fine", "training")
    with pytest.raises(InvalidInputError, match="not in the store"):
        store.array("Rossler", "fine", "train")
    with pytest.raises(StoreError, match="not a chaosdata store"):
        open_store(built[0].parent)


# ---------------------------------------------------------------------- checksums
def test_verify_passes_on_a_fresh_store(built):
    assert open_store(built[0]).verify().ok


def flip_chunk_byte(store: Path, member: str = "fine/train/series/c/0/0/0", system: str = "Lorenz") -> None:
    """Flip one byte of a member of the system's zip, in place: byte 40 (in a shard, inside its
    first inner chunk, which a partial read decodes alone) or the middle of a small one."""
    path = store / f"{system}.zip"
    data = bytearray(path.read_bytes())
    start, size = member_span(data, path, member)
    data[start + min(40, size // 2)] ^= 0xFF
    path.write_bytes(bytes(data))


def member_span(data: bytes, path: Path, member: str) -> tuple[int, int]:
    """(offset, size) of a stored member's bytes in the zip file's bytes `data`."""
    with zipfile.ZipFile(path) as zf:
        info = zf.getinfo(member)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26: info.header_offset + 30])
    return info.header_offset + 30 + name_len + extra_len, info.file_size


def test_verify_names_a_corrupted_system_file(copy_of):
    flip_chunk_byte(copy_of)
    report = open_store(copy_of).verify()
    assert not report.ok
    assert (report.first.system, report.first.what) == ("Lorenz", "Lorenz.zip")
    assert report.first.expected != report.first.got and "sha256" in report.first.got
    with pytest.raises(ChecksumError, match="Lorenz/Lorenz.zip"):
        open_store(copy_of).verify(strict=True)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli(["verify", str(copy_of)]) == 1
    assert "first: Lorenz/Lorenz.zip" in buf.getvalue()


@pytest.mark.parametrize("member", ["fine/train/series/c/0/0/0", "fine/train/initial_condition/c/0/0"])
def test_a_flipped_chunk_byte_fails_every_read_path(copy_of, member):
    """The chunk's CRC32C is checked by zarr on every read: no path returns wrong values."""
    import xarray as xr

    flip_chunk_byte(copy_of, member)
    array, variable = member.split("/c/")[0], member.split("/")[2]
    with pytest.raises(ChecksumError, match=r"Lorenz\.zip.*damaged.*chaosdata generate"):
        open_array(copy_of / "Lorenz.zip", array)[...]
    store = open_store(copy_of)
    with pytest.raises(ChecksumError, match="Lorenz.zip"):
        if variable == "series":  # a partial read: the zip's own CRC-32 (of whole members) is not checked
            store.array("Lorenz", "fine", "train")[0, :10]
        else:
            store.variables("Lorenz", "fine", "train")
    ds = xr.open_zarr(zarr.storage.ZipStore(copy_of / "Lorenz.zip", mode="r"), group="fine/train")
    with pytest.raises((ValueError, zipfile.BadZipFile), match="(?i)crc|checksum"):  # zarr's CRC32C or the zip's CRC-32
        ds[variable][0, :10].values if variable == "series" else ds[variable].values
    problems = {p.what: p for p in store.verify(data=True).problems}
    assert "Lorenz.zip" in problems
    if variable == "series":
        from chaosdata import Observation, load_dataset

        with pytest.raises(ChecksumError, match="Lorenz.zip"):
            load_dataset("Lorenz", source=copy_of, context_length=8, horizon=4, observation=Observation(normalize=None))[0]


def test_the_chunk_checksum_does_not_depend_on_the_zip(copy_of, tmp_path):
    """A reader that takes byte ranges without zipfile (a member extracted, a ranged HTTP read)
    never sees the zip's CRC-32: the chunk's own CRC32C still refuses a flipped byte."""
    flip_chunk_byte(copy_of)
    data = (copy_of / "Lorenz.zip").read_bytes()
    with zipfile.ZipFile(copy_of / "Lorenz.zip") as zf:
        members = zf.namelist()
    for member in members:  # the members' bytes as they lie in the file, no zipfile read
        start, size = member_span(data, copy_of / "Lorenz.zip", member)
        target = tmp_path / "plain" / member
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data[start: start + size])
    series = zarr.open_array(str(tmp_path / "plain" / "fine" / "train" / "series"), mode="r")
    with pytest.raises(ValueError, match="checksum do not match"):
        series[0, :10]


def test_a_local_member_read_gives_the_zips_bytes_and_refuses_a_file_cut_short(copy_of):
    """`read_member` (shards read where the central directory places them, without zipfile's
    CRC-32 pass) returns each member's bytes as zipfile does, even with a local header
    overwritten; a file cut short after it was opened is a damaged file."""
    path = copy_of / "Lorenz.zip"
    with zipfile.ZipFile(path) as zf:
        infos = zf.infolist()
        expected = {i.filename: zf.read(i.filename) for i in infos}
    shard = next(i for i in infos if i.filename == "fine/train/series/c/0/0/0")
    with open(path, "r+b") as f:
        f.seek(shard.header_offset)
        f.write(b"XXXX")
    store = open_zip(path)
    assert {i.filename: store.read_member(i.filename) for i in infos} == expected
    assert store.read_member("fine/train/series/c/9/0/0") is None
    os.truncate(path, shard.header_offset + 100)
    with pytest.raises(ChecksumError, match=r"Lorenz\.zip: member fine/train/series/c/0/0/0 is cut short"):
        store.read_member(shard.filename)


def test_verify_reports_missing_systems(copy_of):
    (copy_of / "Henon.zip").unlink()
    report = open_store(copy_of).verify(data=False)
    assert [(p.system, p.what, p.got) for p in report.problems] == [("Henon", "", "nothing (missing system)")]
    assert open_store(copy_of).systems == ["Lorenz", "MackeyGlass"]


# ---------------------------------------------------------------------- determinism and crash safety
def test_same_config_gives_identical_bytes(built, tmp_path):
    report = build(parse_config(raw_tiny()), tmp_path / "again", progress=False, log=quiet)
    assert report.ok and [r.status for r in report.results] == ["built"] * 3
    assert store_bytes(tmp_path / "again") == store_bytes(built[0])


def test_second_run_skips_finished_systems(copy_of):
    report = build(parse_config(raw_tiny()), copy_of, progress=False, log=quiet)
    assert [r.status for r in report.results] == ["done"] * 3


def _generate(config_file: Path, out: Path) -> subprocess.Popen:
    env = {**os.environ, provenance.COMMIT_ENV: "test-commit", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "chaosdata.cli", "generate", "--config", str(config_file),
                             "--out", str(out)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize("moment", [
    "packing",  # the next system's zip is being written or read back in .staging
    pytest.param("integrating", marks=pytest.mark.slow),  # the next system is in memory only
])
def test_kill_9_mid_build_then_resume_is_byte_identical(built, config_file, tmp_path, moment):
    out = tmp_path / "killed"
    proc = _generate(config_file, out)
    deadline = time.monotonic() + 120
    try:
        # wait for the first committed system, then (packing) for the next one's zip in staging
        while time.monotonic() < deadline and proc.poll() is None:
            manifest = out / MANIFEST
            if manifest.exists() and json.loads(manifest.read_text())["systems"]:
                break
            time.sleep(0.005)
        while moment == "packing" and time.monotonic() < deadline and proc.poll() is None:
            if any(p.is_file() for p in (out / STAGING).rglob("*")):
                break
            time.sleep(0.001)
        assert proc.poll() is None, proc.communicate()
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = set(json.loads((out / MANIFEST).read_text())["systems"])
    assert 1 <= len(committed) < 3
    visible = {p.name.removesuffix(".zip") for p in out.glob("*.zip")}
    assert committed <= visible and len(visible - committed) <= 1  # at most one renamed, not yet recorded
    assert open_store(out).verify(sorted(committed)).ok
    for zip_path in out.glob("*.zip"):  # a zip under a system's name is whole; a cut one stays in staging
        with zipfile.ZipFile(zip_path) as zf:
            assert zf.testzip() is None

    resumed = _generate(config_file, out)
    stdout, stderr = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, stderr.decode()
    assert "done" in stdout.decode()
    assert not (out / STAGING).exists()
    assert store_bytes(out) == store_bytes(built[0])


def test_interrupted_states_are_recovered(tmp_path):
    """Each state a kill can leave: stale staging and temp manifest, renamed-but-unrecorded, deleted."""
    config = parse_config(raw_tiny(systems=["Henon"]))
    out, clean = tmp_path / "store", tmp_path / "clean"
    build(config, clean, progress=False, log=quiet)
    build(config, out, progress=False, log=quiet)
    manifest = json.loads((out / MANIFEST).read_text())
    manifest["systems"].clear()
    (out / MANIFEST).write_text(json.dumps(manifest))  # killed between rename and record
    (out / STAGING / "Lorenz.12345" / "fine").mkdir(parents=True)  # killed while writing
    (out / f"{MANIFEST}.tmp-12345").write_text("{")  # killed while replacing the manifest
    messages: list[str] = []
    report = build(config, out, progress=False, log=messages.append)
    assert [r.status for r in report.results] == ["adopted"]
    assert any("Lorenz.12345" in m for m in messages)
    assert store_bytes(out) == store_bytes(clean)

    (out / "Henon.zip").unlink()  # a recorded system deleted by hand is rebuilt, and says so
    report = build(config, out, progress=False, log=messages.append)
    assert [r.status for r in report.results] == ["built"] and "missing" in messages[-1]
    assert store_bytes(out) == store_bytes(clean)


def test_a_damaged_system_is_rebuilt_not_called_done(copy_of):
    flip_chunk_byte(copy_of)
    messages: list[str] = []
    report = build(parse_config(raw_tiny()), copy_of, progress=False, log=messages.append)
    assert {r.name: r.status for r in report.results} == {"Henon": "done", "Lorenz": "built", "MackeyGlass": "done"}
    assert any(m.startswith("Lorenz: ") and "damaged" in m and "building it again" in m for m in messages)
    assert open_store(copy_of).verify().ok


def test_a_different_config_is_refused_unless_overwrite(copy_of):
    before = store_bytes(copy_of)
    other = parse_config(raw_tiny(length=3, systems=["Henon"]))
    with pytest.raises(StoreError, match=r"differ in: .*length \(2.0 -> 3.0\).*--overwrite"):
        build(other, copy_of, progress=False, log=quiet)
    assert store_bytes(copy_of) == before
    removed: list[str] = []
    report = build(other, copy_of, overwrite=True, progress=False, log=removed.append)
    assert report.ok and any(m.endswith("Lorenz.zip") for m in removed)
    assert open_store(copy_of).systems == ["Henon"] and not (copy_of / "Lorenz.zip").exists()


def test_a_foreign_directory_is_refused(tmp_path):
    (tmp_path / "thesis.tex").write_text("precious")
    with pytest.raises(StoreError, match="not a chaosdata store"):
        build(parse_config(raw_tiny(systems=["Henon"])), tmp_path, overwrite=True, progress=False, log=quiet)
    assert (tmp_path / "thesis.tex").read_text() == "precious"
    assert [p.name for p in tmp_path.iterdir()] == ["thesis.tex"]  # not even a lock file left behind


def test_systems_may_be_one_comma_separated_string(tmp_path):
    """A string used to be read letter by letter ('unknown system L')."""
    config = parse_config(raw_tiny(systems=["Henon", "Logistic"]))
    report = build(config, tmp_path / "s", systems="henon", progress=False, log=quiet)
    assert [r.name for r in report.results] == ["Henon"]
    with pytest.raises(InvalidInputError, match="systems is empty"):
        build(config, tmp_path / "t", systems=" , ", progress=False, log=quiet)


def test_failed_trajectories_are_flagged_not_hidden(tmp_path):
    config = parse_config(raw_tiny(systems=["Lorenz"], integrator={"method": "rk4", "dt": 0.5}))
    report = build(config, tmp_path / "bad", progress=False, log=quiet)
    assert report.ok and report.results[0].n_invalid == 4
    store = open_store(tmp_path / "bad")
    z, v = store.array("Lorenz", "fine", "train"), store.variables("Lorenz", "fine", "train")
    assert v["valid"].tolist() == [False, False] and all(v["failure"])
    assert v["resampled"].tolist() == [4, 4]
    assert np.isnan(z[...]).all()
    assert open_store(tmp_path / "bad").verify().ok


# ---------------------------------------------------------------------- command line
def test_cli_generate_info_verify(built, capsys):
    out, summary = built
    assert "3 systems (3 built)" in summary and "MackeyGlass" in summary and "flagged" in summary
    assert cli(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "3 present, 3 recorded, 3 in the config" in info and "coarse 30, fine 200" in info
    assert cli(["verify", str(out)]) == 0
    assert capsys.readouterr().out.startswith("ok: 3 systems")
    assert cli(["info", "Lorenz"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Lorenz"
    assert cli(["generate", "--config", "/nonexistent.toml", "--out", str(out)]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.slow  # spawns two fresh interpreters (about 30 s on a loaded 2-core machine)
def test_parallel_workers_give_the_same_bytes(built, tmp_path):
    report = build(parse_config(raw_tiny()), tmp_path / "parallel", workers=2, progress=False, log=quiet)
    assert report.ok and sorted(r.status for r in report.results) == ["built"] * 3
    assert store_bytes(tmp_path / "parallel") == store_bytes(built[0])


def test_bad_build_arguments_fail_before_touching_disk(tmp_path):
    config = parse_config(raw_tiny(systems=["Henon"]))
    with pytest.raises(InvalidInputError, match="device 'gpu' is not usable"):
        build(config, tmp_path / "a", device="gpu", progress=False, log=quiet)
    with pytest.raises(InvalidInputError, match="workers must be a positive integer"):
        build(config, tmp_path / "a", workers=0, progress=False, log=quiet)
    assert not (tmp_path / "a").exists()
    with pytest.raises(InvalidInputError, match="Lorenz is not among the systems"):
        build(config, tmp_path / "a", systems=["Lorenz"], progress=False, log=quiet)
    assert not (tmp_path / "a").exists()
