"""Build a store: stage each system, verify it, rename it into place, then record it.

Crash safety comes from the order of four steps per system, each of which a `kill -9` can
only interrupt between, never inside, as far as the store is concerned:

1. write the whole system group into `.staging/<System>.<pid>` (Zarr writes key by key);
2. reopen it and check every array's decoded values against the checksum computed in memory;
3. `os.rename` the directory to `<store>/<System>` (atomic: the system appears whole or not);
4. add it to `manifest.json` (atomic replace).

Running the same command again resumes: it removes the staging left by the killed run,
skips systems in the manifest, and adopts a system renamed in step 3 but not yet recorded
(it is complete by construction; its checksums are recomputed and must match). Nothing
depends on the order systems finish in, so the result is byte-identical to an uninterrupted
build, except `builds.json` (creation times, wall times), which no checksum covers.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from tqdm.auto import tqdm

from chaosdata.errors import InvalidInputError
from chaosdata.store import provenance
from chaosdata.store.config import ReleaseConfig
from chaosdata.store.errors import StoreError
from chaosdata.store.generate import SystemData, generate_system
from chaosdata.store.layout import (BUILD_LOG, DIMENSION_NAMES, FORMAT, LOCK, MANIFEST, STAGING, chunk_shape,
                                    compressors, shard_shape)
from chaosdata.store.manifest import (data_sha256, hash_files, new_manifest, read_manifest, record_build,
                                      stale_temporaries, write_manifest)
from chaosdata.systems import get_system

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent builds are then the user's to avoid
    fcntl = None

Log = Callable[[str], None]
ROOT_ATTRS = {"chaosdata": {"format": FORMAT, "manifest": MANIFEST}}


@dataclass
class SystemResult:
    """What happened to one system in a build: `built`, `done` (already there), `adopted`, `failed`."""

    name: str
    status: str
    arrays: dict[str, list[int]] = field(default_factory=dict)
    bytes: int = 0
    n_invalid: int = 0
    skipped: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None


@dataclass
class BuildReport:
    out: Path
    config: ReleaseConfig
    results: list[SystemResult]
    removed: list[str]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(r.status != "failed" for r in self.results)


# ---------------------------------------------------------------------- one system
def write_system(data: SystemData, directory: Path, config: ReleaseConfig) -> None:
    """Write a system's group: attributes, granularity groups, arrays."""
    group = zarr.open_group(str(directory), mode="w-", attributes=data.attrs)
    for name, attrs in data.groups.items():
        group.create_group(name, attributes=attrs)
    for path, arr in data.arrays.items():
        values = arr.values
        chunks = chunk_shape(values.shape, config.storage.chunk_time)
        shards = shard_shape(values.shape, chunks, values.dtype.itemsize, config.storage.shard_mib << 20)
        z = group.create_array(
            path, shape=values.shape, dtype=values.dtype, chunks=chunks, shards=shards,
            compressors=compressors(config.storage.dtype, config.storage.compression_level),
            fill_value=np.nan, dimension_names=DIMENSION_NAMES,
            attributes={**arr.attrs, "sha256": data_sha256(values)},
        )
        z[...] = values


def describe_system(directory: Path) -> dict[str, Any]:
    """The manifest entry of a written system, read back from disk.

    Decodes every array and checks its values against the `sha256` attribute written with it,
    so a half-written or damaged system raises `StoreError` instead of being described.
    """
    group = zarr.open_group(str(directory), mode="r")
    attrs = group.attrs.asdict()
    arrays, worst = {}, {}
    for gname, sub in sorted(group.groups()):
        for split, z in sorted(sub.arrays()):
            path = f"{gname}/{split}"
            got = data_sha256(z[...])
            if got != z.attrs.get("sha256"):
                raise StoreError(f"{directory.name}/{path}: decoded values have sha256 {got}, "
                                 f"but the array was written with {z.attrs.get('sha256')}")
            arrays[path] = {"shape": list(z.shape), "dtype": str(z.dtype), "chunks": list(z.chunks),
                            "shards": list(z.shards), "sha256": got}
            worst[split] = max(worst.get(split, 0), list(z.attrs["valid"]).count(False))
    files = hash_files(directory)
    return {
        "kind": attrs["system"]["kind"],
        "dim": attrs["system"]["dim"],
        "config_hash": attrs["chaosdata"]["config_hash"],
        "arrays": arrays,
        "files": files,
        "bytes": sum((directory / f).stat().st_size for f in files),
        "n_invalid": sum(worst.values()),
        "skipped": attrs["generation"]["skipped_granularities"],
    }


def stage_system(name: str, config: ReleaseConfig, staging: str | Path, device: str = "cpu",
                 progress: Callable[[int], None] | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Steps 1-2: generate, write into `staging`, verify. Returns (directory, entry, build facts)."""
    started, cpu = time.perf_counter(), time.process_time()
    data = generate_system(name, config, device=device, progress=progress)
    target = Path(staging) / f"{data.name}.{os.getpid()}"
    if target.exists():
        shutil.rmtree(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    write_system(data, target, config)
    entry = describe_system(target)
    info = {**provenance.volatile(), "device": device, "timings_s": data.timings,
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}
    return str(target), entry, info


def _commit(out: Path, staged: Path, name: str, entry: dict[str, Any], manifest: dict[str, Any],
            info: dict[str, Any]) -> None:
    """Steps 3-4: rename into place, then record in the manifest (and the build log)."""
    final = out / name
    if final.exists():
        raise StoreError(f"{final} appeared during the build; is another process writing to {out}?")
    os.rename(staged, final)
    manifest["systems"][name] = entry
    write_manifest(out, manifest)
    record_build(out, name, info)


# ---------------------------------------------------------------------- the store
@contextlib.contextmanager
def _lock(out: Path) -> Iterator[None]:
    """Hold `<out>/.lock` for the build; a second build of the same store is refused."""
    with open(out / LOCK, "a+") as fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{out} is being built by another process (it holds {out / LOCK}); "
                                 "wait for it to finish or stop it") from None
        yield


def _config_diff(old: dict[str, Any], new: dict[str, Any], prefix: str = "") -> list[str]:
    diffs = []
    for key in sorted(set(old) | set(new)):
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            diffs += _config_diff(a, b, f"{prefix}{key}.")
        elif a != b and key not in ("name", "description"):
            diffs.append(f"{prefix}{key} ({a!r} -> {b!r})")
    return diffs


def _is_system_dir(path: Path) -> str | None:
    """The config hash a chaosdata system directory was built with, or None if it is not one."""
    meta = path / "zarr.json"
    if not (path.is_dir() and meta.is_file()):
        return None
    try:
        return json.loads(meta.read_text())["attributes"]["chaosdata"]["config_hash"]
    except (ValueError, KeyError, TypeError):
        return None


def _owned(out: Path, manifest: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """(paths that belong to the store, paths that do not)."""
    owned, foreign = [], []
    for p in sorted(out.iterdir()):
        ours = (p.name in (MANIFEST, BUILD_LOG, LOCK, STAGING, "zarr.json") or ".json.tmp-" in p.name
                or p.name in manifest["systems"] or _is_system_dir(p) == manifest["config_hash"])
        (owned if ours else foreign).append(p)
    return owned, foreign


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _prepare(out: Path, config: ReleaseConfig, overwrite: bool, log: Log) -> tuple[dict[str, Any], list[str]]:
    """Open or start the store at `out`; refuse a different config unless `overwrite`."""
    removed: list[str] = []
    if (out / MANIFEST).exists():
        manifest = read_manifest(out)
        if manifest["config_hash"] != config.config_hash:
            n = len(manifest["systems"])
            if not overwrite:
                diff = _config_diff(manifest["config"], config.to_dict())
                raise StoreError(
                    f"{out} holds a store built from config {manifest['config']['name']!r} "
                    f"(hash {manifest['config_hash'][:12]}), not from {config.name!r} "
                    f"(hash {config.config_hash[:12]}); they differ in: {', '.join(diff) or 'the catalogue'}. "
                    f"Pass --overwrite to replace it (this deletes its {n} systems), or choose another --out."
                )
            owned, foreign = _owned(out, manifest)
            if foreign:
                raise StoreError(f"{out} holds files that are not part of the store "
                                 f"({', '.join(p.name for p in foreign[:5])}); move them away first")
            for p in owned:
                if p.name != LOCK:
                    log(f"overwrite: removing {p}")
                    _remove(p)
                    removed.append(str(p))
            manifest = None
    else:
        manifest = None
        strangers = [p.name for p in sorted(out.iterdir())
                     if p.name not in (LOCK, STAGING) and ".json.tmp-" not in p.name]
        if strangers:
            raise StoreError(f"{out} is not empty and is not a chaosdata store (it holds "
                             f"{', '.join(strangers[:5])}); choose an empty or new directory")
    if manifest is None:
        manifest = new_manifest(config)
        write_manifest(out, manifest)
    if not (out / "zarr.json").exists():
        zarr.create_group(store=str(out), attributes=ROOT_ATTRS)

    staging = out / STAGING
    if staging.exists():
        for p in sorted(staging.iterdir()):
            log(f"removing unfinished {p.name} from an interrupted build")
            removed.append(str(p))
        shutil.rmtree(staging)
    for p in stale_temporaries(out):
        p.unlink()
    return manifest, removed


def _targets(config: ReleaseConfig, requested: Sequence[str] | None) -> list[str]:
    """The config's systems, or those of them that `requested` names."""
    names = config.resolved_systems()
    if not requested:
        return names
    wanted = [get_system(s).name for s in requested]
    outside = [s for s in wanted if s not in names]
    if outside:
        raise InvalidInputError(f"{outside[0]} is not among the systems of config {config.name!r}")
    return sorted(set(wanted))


def _plan_systems(out: Path, config: ReleaseConfig, manifest: dict[str, Any], names: list[str],
                  log: Log) -> tuple[list[SystemResult], list[str]]:
    """Results for systems already in place (done or adopted), and the names still to build."""
    results, todo = [], []
    for name in names:
        directory = out / name
        entry = manifest["systems"].get(name)
        if entry is not None and directory.is_dir():
            results.append(_result(name, "done", entry, 0.0))
            continue
        if entry is not None:
            log(f"{name} is in the manifest but {directory} is missing; building it again")
            del manifest["systems"][name]
            write_manifest(out, manifest)
        if directory.exists():
            if _is_system_dir(directory) != config.config_hash:
                raise StoreError(f"{directory} exists but is not a system of this store; move it away")
            started = time.perf_counter()
            entry = describe_system(directory)  # raises if damaged
            manifest["systems"][name] = entry
            write_manifest(out, manifest)
            record_build(out, name, {**provenance.volatile(), "adopted": True})
            log(f"{name}: complete but unrecorded (interrupted build); checked and recorded")
            results.append(_result(name, "adopted", entry, time.perf_counter() - started))
            continue
        todo.append(name)
    return results, todo


def _result(name: str, status: str, entry: dict[str, Any], seconds: float) -> SystemResult:
    return SystemResult(name, status, {p: a["shape"] for p, a in entry["arrays"].items()}, entry["bytes"],
                        entry["n_invalid"], entry["skipped"], seconds)


def _init_worker() -> None:
    torch.set_num_threads(1)
    with contextlib.suppress(Exception):  # Linux: die with the parent, so a killed build leaves no workers
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def build(config: ReleaseConfig, out: str | Path, *, systems: Sequence[str] | None = None, device: str = "cpu",
          workers: int = 1, overwrite: bool = False, progress: bool | None = None,
          log: Log | None = None) -> BuildReport:
    """Build (or resume) the store of `config` at `out`; see the module docstring.

    `systems` narrows the build to some of the config's systems (the store stays the config's:
    a later build adds the rest). `workers` > 1 builds systems in parallel processes, each with
    one torch thread, under one progress bar; `workers` == 1 builds in this process, also with
    one thread (so both give the same bytes), with a bar per system. `progress` None shows bars
    only on a terminal.
    """
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise InvalidInputError(f"workers must be a positive integer, got {workers!r}")
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as err:
        raise InvalidInputError(f"device {device!r} is not usable here: {err}") from None
    names = _targets(config, systems)
    log = log or (lambda msg: tqdm.write(msg))
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _lock(out):
        manifest, removed = _prepare(out, config, overwrite, log)
        results, todo = _plan_systems(out, config, manifest, names, log)
        staging = out / STAGING
        n_per_system = sum(config.splits.values())
        disable = None if progress is None else not progress
        failed: list[SystemResult] = []

        def finish(name: str, staged: str, entry: dict[str, Any], info: dict[str, Any]) -> None:
            _commit(out, Path(staged), name, entry, manifest, info)
            results.append(_result(name, "built", entry, info["seconds"]))

        def fail(name: str, err: BaseException) -> None:
            log(f"{name}: FAILED: {type(err).__name__}: {err}")
            failed.append(SystemResult(name, "failed", error=f"{type(err).__name__}: {err}"))

        def n_rows(name: str) -> int:  # arrays' rows a system writes: its progress total
            return n_per_system * (1 if get_system(name).kind == "map" else len(config.granularities))

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if workers == 1 or len(todo) <= 1:
                for name in tqdm(todo, desc="systems", unit="system", disable=disable, position=0):
                    with tqdm(total=n_rows(name), desc=name, unit="traj", leave=False, disable=disable,
                              position=1) as bar:
                        try:
                            finish(name, *stage_system(name, config, staging, device, bar.update))
                        except Exception as err:  # noqa: BLE001 - one system's failure must not stop the rest
                            fail(name, err)
            else:
                ctx = multiprocessing.get_context("spawn")
                # one bar for all: workers report when a system is done, in trajectories (rows) written
                with ProcessPoolExecutor(workers, mp_context=ctx, initializer=_init_worker) as pool, \
                        tqdm(total=sum(map(n_rows, todo)), desc=f"{len(todo)} systems", unit="traj",
                             disable=disable) as bar:
                    futures = {pool.submit(stage_system, n, config, str(staging), device): n for n in todo}
                    for fut in as_completed(futures):
                        name = futures[fut]
                        try:
                            finish(name, *fut.result())
                        except Exception as err:  # noqa: BLE001
                            fail(name, err)
                        bar.update(n_rows(name))
                        bar.set_postfix_str(name)
        finally:
            torch.set_num_threads(threads)
        with contextlib.suppress(OSError):
            staging.rmdir()  # only if empty
    results = sorted(results + failed, key=lambda r: r.name)
    return BuildReport(out, config, results, removed, time.perf_counter() - started)

