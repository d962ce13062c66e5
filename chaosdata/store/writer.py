"""Build a store: stage each system, verify it, rename it into place, then record it.

Crash safety comes from the order of four steps per system, each of which a `kill -9` can
only interrupt between, never inside, as far as the store is concerned:

1. write the whole system group into memory (a Zarr `MemoryStore`), then pack it into
   `.staging/<System>.<pid>.zip` (`archive.pack`: deterministic, fsynced);
2. reopen the zip and check every array's decoded values against the checksum computed in memory;
3. `os.rename` the zip to `<store>/<System>.zip` (atomic: the system appears whole or not);
4. add it to `manifest.json` (atomic replace) with the zip's size and SHA-256.

Running the same command again resumes: it removes the staging left by the killed run,
skips systems in the manifest whose file still has the recorded size and SHA-256 (one hash per
system; a damaged or missing file is said and built again), and adopts a system renamed in
step 3 but not yet recorded (it is complete by construction; its checksums are recomputed and
must match). Nothing
depends on the order systems finish in, so the result is byte-identical to an uninterrupted
build, except `builds.json` (creation times, wall times), which no checksum covers.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr
from tqdm.auto import tqdm
from zarr.abc.buffer import Buffer
from zarr.storage import MemoryStore, StoreLike

from chaosdata import validate
from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError
from chaosdata.files import sha256_file
from chaosdata.store import executors, provenance
from chaosdata.store.archive import attributes, damaged_reads, open_system, pack, read, root_attributes, walk_arrays
from chaosdata.store.config import ReleaseConfig
from chaosdata.store.corpus import system_of
from chaosdata.store.errors import StoreError
from chaosdata.store.generate import SystemData, generate_system
from chaosdata.store.layout import (
    ARCHIVE_SUFFIX,
    BUILD_LOG,
    FORMAT,
    LOCK,
    MANIFEST,
    SERIES,
    SERIES_DIMS,
    STAGING,
    chunk_shape,
    compressors,
    shard_shape,
    small_compressors,
    system_file,
)
from chaosdata.store.manifest import (
    data_sha256,
    folders,
    new_manifest,
    read_manifest,
    record_build,
    record_system,
    stale_temporaries,
    write_manifest,
)
from chaosdata.systems import get_system

try:
    import fcntl
except ImportError:  # Windows: no advisory locks; concurrent builds are then the user's to avoid
    fcntl = None  # type: ignore[assignment]  # the module or None; every use checks which

Log = Callable[[str], None]


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
def write_system(data: SystemData, config: ReleaseConfig, store: StoreLike) -> None:
    """Write a system's group (attributes, granularity and split groups, arrays) into the empty
    Zarr `store` and consolidate its metadata into its `zarr.json`. The build passes a
    `MemoryStore` whose members `archive.pack` makes one durable file: the chunks are compressed
    already, and a staging directory of a few hundred small files cost more to create, fsync and
    remove than the encoding itself (bench_generate.py --staging)."""
    group = zarr.open_group(store, mode="w-", attributes=data.attrs)
    for path in sorted(data.groups, key=lambda p: p.count("/")):  # parents first
        group.create_group(path, attributes=data.groups[path])
    for path, arr in data.arrays.items():
        values = arr.values
        if arr.dims == SERIES_DIMS:
            chunks = chunk_shape(values.shape, config.storage.chunk_time)
            layout: dict[str, Any] = dict(
                chunks=chunks, shards=shard_shape(values.shape, chunks, values.dtype.itemsize,
                                                  config.storage.shard_mib << 20),
                compressors=compressors(config.storage.dtype, config.storage.compression_level), fill_value=np.nan)
        else:  # small per-trajectory variables and coordinates: one chunk each
            layout = dict(chunks=values.shape, compressors=small_compressors(),
                          fill_value=_FILL.get(values.dtype.kind, 0))
        z = group.create_array(path, shape=values.shape, dtype=values.dtype, dimension_names=arr.dims,
                               attributes={**arr.attrs, "sha256": data_sha256(values)}, **layout)
        z[...] = values
    with warnings.catch_warnings():  # "not part of the Zarr v3 spec": xarray and zarr-python read it
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        # the root's alone: zarr opens a split (`group="fine/train"`) from the root's document
        zarr.consolidate_metadata(store)


_FILL = {"f": np.nan, "b": False, "T": "", "U": ""}


def fsync_dir(directory: Path) -> None:
    """fsync a directory, so that renames and new entries in it survive a power loss."""
    with contextlib.suppress(OSError):  # some filesystems (and Windows) cannot open directories
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def describe_system(path: Path) -> dict[str, Any]:
    """The manifest entry of a packed system (`<System>.zip`), read back from disk.

    Decodes every array (each chunk's CRC32C checked on the way) and checks its values against
    the `sha256` attribute written with it, so a half-written or damaged system raises
    `StoreError` (`ChecksumError`) instead of being described.
    """
    group = open_system(path)
    attrs = attributes(group)
    splits: dict[str, list[int]] = {}
    worst: dict[str, int] = {}
    for array_path, z in sorted(walk_arrays(group)):
        with damaged_reads(path, array_path):
            values = read(z)
        got = data_sha256(values)
        if got != z.attrs.get("sha256"):
            raise StoreError(f"{path}: {array_path}: decoded values have sha256 {got}, "
                             f"but the array was written with {z.attrs.get('sha256')}")
        split = array_path.rsplit("/", 1)[0]
        if array_path.endswith(f"/{SERIES}"):
            splits[split] = list(z.shape)
        if array_path.endswith("/valid"):
            worst[split.split("/")[1]] = max(worst.get(split.split("/")[1], 0), int((~values).sum()))
    return {
        "kind": attrs["system"]["kind"],
        "dim": attrs["system"]["dim"],
        "code_hash": attrs["chaosdata"]["code_hash"],
        "splits": splits,
        "bytes": path.stat().st_size,
        "sha256": sha256_file(path),
        "n_invalid": sum(worst.values()),
        "skipped": attrs["generation"]["skipped_granularities"],
        **({"variants": {k: attrs["corpus"][k] for k in ("n_variants", "n_accepted")}} if "corpus" in attrs else {}),
    }


def stage_system(name: str, config: ReleaseConfig, staging: str | Path, device: str = "cpu",
                 progress: Callable[[int], None] | None = None,
                 fingerprint: dict[str, Any] | None = None) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Steps 1-2: generate, write into `staging`, pack, verify. Returns (zip, entry, build facts)."""
    started, cpu = time.perf_counter(), time.process_time()
    data = generate_system(name, config, device=device, progress=progress, fingerprint=fingerprint)
    packed = Path(staging) / f"{data.name}.{os.getpid()}{ARCHIVE_SUFFIX}"
    packed.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, Buffer] = {}
    write_system(data, config, MemoryStore(store_dict=members))
    pack(members, packed)
    entry = describe_system(packed)
    info = {**provenance.volatile(), "device": device, "timings_s": data.timings,
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu}
    return str(packed), entry, info


def _commit(out: Path, staged: Path, name: str, entry: dict[str, Any], manifest: dict[str, Any],
            info: dict[str, Any]) -> None:
    """Steps 3-4: rename into place (made durable), then record in the manifest (and the build log)."""
    final = out / system_file(name)
    if final.exists():
        raise StoreError(f"{final} appeared during the build; is another process writing to {out}?")
    final.parent.mkdir(exist_ok=True)  # a skew product's driver folder
    os.rename(staged, final)
    fsync_dir(final.parent)
    if final.parent != out:
        fsync_dir(out)
    record_system(manifest, name, entry)
    write_manifest(out, manifest)
    record_build(out, name, info)


# ---------------------------------------------------------------------- the store
@contextlib.contextmanager
def _lock(out: Path, wait: bool = False) -> Iterator[None]:
    """Hold `<out>/.lock` for the build; a second build of the same store is refused, or with
    `wait` waits for the first to finish (then finds its systems done)."""
    with open(out / LOCK, "a+") as fh:
        if fcntl is not None:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
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


def _system_config(path: Path) -> str | None:
    """The config hash a chaosdata system file was built with, or None if it is not one."""
    if path.suffix != ARCHIVE_SUFFIX or not path.is_file():
        return None
    try:
        return (root_attributes(path) or {})["chaosdata"]["config_hash"]
    except (KeyError, TypeError):
        return None


def _owned(out: Path, manifest: dict[str, Any]) -> tuple[list[Path], list[Path]]:
    """(paths that belong to the store, paths that do not)."""
    owned: list[Path] = []
    foreign: list[Path] = []
    recorded = {system_file(n) for n in manifest["systems"]}
    drivers = folders(manifest)
    for p in sorted(out.iterdir()):
        ours = (p.name in (MANIFEST, BUILD_LOG, LOCK, STAGING, OLD_ROOT) or ".json.tmp-" in p.name or p.name in drivers
                or p.name in manifest["systems"] or p.name in recorded or _system_config(p) == manifest["config_hash"])
        (owned if ours else foreign).append(p)
    return owned, foreign


OLD_ROOT = "zarr.json"  # the root document of a store in layout 2: removed with it on --overwrite


def _remove(path: Path) -> None:
    shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


def _replace_reason(manifest: dict[str, Any], config: ReleaseConfig) -> str | None:
    """Why the store's identity differs from this build's config (None when it is the same config)."""
    if manifest.get("format") != FORMAT:
        return f"it is in the earlier layout {manifest.get('format')!r}"
    if manifest["config_hash"] != config.config_hash:
        diff = _config_diff(manifest["config"], config.to_dict())
        return (f"it was built from config {manifest['config']['name']!r} (hash {manifest['config_hash'][:12]}), "
                f"not from {config.name!r} (hash {config.config_hash[:12]}); they differ in: "
                f"{', '.join(diff) or 'the catalogue'}")
    return None


def _check_code(out: Path, manifest: dict[str, Any], fp: dict[str, Any], code: str, allow_mixed_code: bool) -> None:
    """Refuse to add systems written by other code than the store's, unless asked to (recorded)."""
    if code == manifest["code_hash"] or code in manifest.get("other_code", {}):
        return
    if not allow_mixed_code:
        diff = provenance.fingerprint_diff(manifest["code"], fp)
        raise StoreError(
            f"{out} was built by other code than this one (it differs in: {', '.join(diff)}); resuming would "
            "mix systems written by two code versions. Rebuild it with --overwrite, build into another --out, "
            "or pass --allow-mixed-code to add systems anyway (each system records its code in the manifest)."
        )
    manifest.setdefault("other_code", {})[code] = fp


def _prepare(out: Path, config: ReleaseConfig, overwrite: bool, log: Log, fp: dict[str, Any],
             allow_mixed_code: bool) -> tuple[dict[str, Any], list[str]]:
    """Open or start the store at `out`; refuse a different config or layout unless `overwrite`,
    and other code unless `allow_mixed_code`."""
    removed: list[str] = []
    code = provenance.code_hash(fp)
    manifest = None
    if (out / MANIFEST).exists():
        manifest = read_manifest(out, any_format=True)
        reason = _replace_reason(manifest, config)
        if reason is not None:
            n = len(manifest["systems"])
            if not overwrite:
                raise StoreError(f"{out} cannot be resumed: {reason}. Pass --overwrite to replace it "
                                 f"(this deletes its {n} systems), or choose another --out.")
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
            before = json.dumps(manifest.get("other_code"), sort_keys=True)
            _check_code(out, manifest, fp, code, allow_mixed_code)
            if json.dumps(manifest.get("other_code"), sort_keys=True) != before:  # other code admitted: recorded
                write_manifest(out, manifest)
    else:
        _refuse_strangers(out)
    if manifest is None:
        manifest = new_manifest(config, fp, code)
        write_manifest(out, manifest)

    staging = out / STAGING
    if staging.exists():
        for p in sorted(staging.iterdir()):
            log(f"removing unfinished {p.name} from an interrupted build")
            removed.append(str(p))
        shutil.rmtree(staging)
    for p in stale_temporaries(out):
        p.unlink()
    return manifest, removed


def _refuse_strangers(out: Path) -> None:
    """Refuse a folder with no manifest that holds anything but a build's own files: it is
    not a store, and a build must not write among the user's files."""
    strangers = [p.name for p in sorted(out.iterdir())
                 if p.name not in (LOCK, STAGING) and ".json.tmp-" not in p.name]
    if strangers:
        raise StoreError(f"{out} is not empty and is not a chaosdata store (it holds "
                         f"{', '.join(strangers[:5])}); choose an empty or new directory")


def _targets(config: ReleaseConfig, requested: Sequence[str] | str | None) -> list[str]:
    """The config's systems, or those of them that `requested` names (a list, or one string
    of comma-separated names)."""
    names = config.resolved_systems()
    if requested is None or (not isinstance(requested, str) and len(requested) == 0):
        return names
    requested = validate.listed_names(requested, "systems", hint="system names, or None for all of the config's")
    wanted = [s if s in names else get_system(s).name for s in requested]
    outside = [s for s in wanted if s not in names]
    if outside:
        raise InvalidInputError(f"{outside[0]} is not among the systems of config {config.name!r}")
    return sorted(set(wanted))


def _plan_systems(out: Path, config: ReleaseConfig, manifest: dict[str, Any], names: list[str],
                  log: Log) -> tuple[list[SystemResult], list[str]]:
    """Results for systems already in place (done or adopted), and the names still to build.

    A recorded system is done only if its file has the recorded size and SHA-256 (one hash per
    system); a missing or damaged one is said, dropped from the manifest and built again.
    """
    results, todo = [], []
    for name in names:
        path = out / system_file(name)
        entry = manifest["systems"].get(name)
        if entry is not None:
            damage = _damage(path, entry)
            if damage is None:
                results.append(_result(name, "done", entry, 0.0))
                continue
            log(f"{name}: {damage}; building it again")
            if path.exists():
                path.unlink()
            del manifest["systems"][name]
            write_manifest(out, manifest)
        elif path.exists():
            adopted = _adopt(out, config, manifest, name, log)
            if adopted is not None:
                results.append(adopted)
                continue
        todo.append(name)
    return results, todo


def _damage(path: Path, entry: dict[str, Any]) -> str | None:
    """What is wrong with a recorded system's file (None: it has the recorded size and SHA-256)."""
    if not path.is_file():
        return f"{path} is in the manifest but missing"
    size = path.stat().st_size
    if size != entry["bytes"]:
        return f"{path} has {size} bytes, the manifest records {entry['bytes']} (damaged)"
    got = sha256_file(path)
    if got != entry["sha256"]:
        return f"{path} has sha256 {got}, the manifest records {entry['sha256']} (damaged)"
    return None


def _adopt(out: Path, config: ReleaseConfig, manifest: dict[str, Any], name: str, log: Log) -> SystemResult | None:
    """Record a system renamed into place by an interrupted build, after checking it (None: it
    was removed, to be built again)."""
    path = out / system_file(name)
    if _system_config(path) != config.config_hash:
        raise StoreError(f"{path} exists but is not a system of this store; move it away")
    started = time.perf_counter()
    try:
        entry = describe_system(path)
    except StoreError as err:
        log(f"{name}: unrecorded and damaged ({err}); removing it and building it again")
        path.unlink()
        return None
    if entry["code_hash"] not in (manifest["code_hash"], *manifest.get("other_code", {})):
        log(f"{name}: unrecorded and written by other code; removing it and building it again")
        path.unlink()
        return None
    record_system(manifest, name, entry)
    write_manifest(out, manifest)
    record_build(out, name, {**provenance.volatile(), "adopted": True})
    log(f"{name}: complete but unrecorded (interrupted build); checked and recorded")
    return _result(name, "adopted", entry, time.perf_counter() - started)


def _result(name: str, status: str, entry: dict[str, Any], seconds: float) -> SystemResult:
    return SystemResult(name, status, dict(entry["splits"]), entry["bytes"],
                        entry["n_invalid"], entry["skipped"], seconds)


def build(config: ReleaseConfig, out: str | Path, *, systems: Sequence[str] | str | None = None, device: str = "cpu",
          workers: int = 1, executor: str = "local", scheduler: str | None = None, overwrite: bool = False,
          allow_mixed_code: bool = False, wait: bool = False, progress: bool | None = None,
          log: Log | None = None) -> BuildReport:
    """Build (or resume) the store of `config` at `out`; see the module docstring.

    `systems` (names, or one comma-separated string) narrows the build to some of the config's
    systems (the store stays the config's: a later build adds the rest). `workers` > 1 builds systems
    in parallel processes, each with one torch thread, under one progress bar; `workers` == 1 builds in this process, also with
    one thread (so both give the same bytes), with a bar per system. `progress` None shows bars
    only on a terminal. `executor="dask"` stages the systems on a `dask.distributed` cluster
    (`scheduler` address, or a local cluster of `workers` processes) and commits them here: the
    same bytes as a local build. A store written by other code (`provenance.fingerprint`) is
    refused unless `allow_mixed_code`; `wait` waits for another build of `out` instead of refusing.
    """
    workers = validate.count(workers, "workers", hint="systems built in parallel processes")
    if executor not in executors.EXECUTORS:
        raise InvalidInputError(f"executor must be one of {executors.EXECUTORS}, got {executor!r}")
    usable_device(device)
    names = _targets(config, systems)
    log = log or (lambda msg: tqdm.write(msg))
    started = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if not (out / MANIFEST).exists():
        _refuse_strangers(out)  # before the lock file: a refused folder is left as it was
    fp = provenance.fingerprint(device)
    with _lock(out, wait):
        manifest, removed = _prepare(out, config, overwrite, log, fp, allow_mixed_code)
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
            per = n_per_system * (config.corpus.variants if config.corpus is not None else 1)
            return per * (1 if system_of(name, config).kind == "map" else len(config.granularities))

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if executor == "local" and (workers == 1 or len(todo) <= 1):
                for name in tqdm(todo, desc="systems", unit="system", disable=disable, position=0):
                    with tqdm(total=n_rows(name), desc=name, unit="traj", leave=False, disable=disable,
                              position=1) as bar:
                        try:
                            finish(name, *stage_system(name, config, staging, device, bar.update, fp))
                        except executors.STAGE_ERRORS as err:  # one system's failure must not stop the rest
                            fail(name, err)
            else:
                # one bar for all: workers report when a system is done, in trajectories (rows) written
                with tqdm(total=sum(map(n_rows, todo)), desc=f"{len(todo)} systems", unit="traj",
                          disable=disable) as bar:
                    def done(name: str, result: Callable[[], Any]) -> None:
                        try:
                            finish(name, *result())
                        except executors.STAGE_ERRORS as err:
                            fail(name, err)
                        bar.update(n_rows(name))
                        bar.set_postfix_str(name)

                    stage = functools.partial(stage_in_worker, config=config, staging=str(staging),
                                              device=device, fingerprint=fp)
                    executors.run(executor, todo, workers, stage, done, log, scheduler)
        finally:
            torch.set_num_threads(threads)
        if staging.exists():  # everything is committed or failed: what is left are dead workers' halves
            shutil.rmtree(staging)
    results = sorted(results + failed, key=lambda r: r.name)
    return BuildReport(out, config, results, removed, time.perf_counter() - started)


def stage_in_worker(name: str, *, config: ReleaseConfig, staging: str, device: str,
                    fingerprint: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """`stage_system` in a worker process, which must run the driver's code (same fingerprint)."""
    torch.set_num_threads(1)
    here = provenance.fingerprint(device)
    if here != fingerprint:
        raise StoreError(f"a worker runs other code than the driver (it differs in: "
                         f"{', '.join(provenance.fingerprint_diff(fingerprint, here))}); install the same "
                         "chaosdata, torch and zarr on every worker")
    return stage_system(name, config, staging, device, None, fingerprint)
