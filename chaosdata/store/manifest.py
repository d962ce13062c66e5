"""The root manifest (`manifest.json`), the driver indexes beside it, and the checksums they hold.

The manifest is the store's commit record: a system is part of the store once it is listed
here (it is listed only after its zip was written, verified and renamed into place). It is
also the store's catalogue index, kept small (compact JSON, about 0.4 KB per system whatever the
number of arrays): keys sorted, so that equal stores have equal manifests, it holds

- `format`, `config` (the release config as JSON) and `config_hash`;
- `code` (the code fingerprint of `provenance.fingerprint`) and `code_hash`: with the config
  hash, the store's identity; `other_code` maps further code hashes to their fingerprints
  when systems were added with other code on purpose (`allow_mixed_code`), and such a
  system's entry names its `code_hash` (none: the store's code; `system_code_hash`);
- `systems`: per system (its file is `layout.system_file`, `<name>.zip`) the file's `bytes`
  and `sha256`, kind, dimension, `splits` (the series shape of each `<granularity>/<split>`), `n_invalid` flagged trajectories
  and `skipped` granularities with reasons;
- `drivers` (a corpus with skew products only): the folders whose `index.json` holds the
  entries of the skew products `<Driver>__<Response>` (`layout.index_file`), each document
  bounded by the catalogue's size as the root is. A Panda-scale corpus (2x10^4 groups) would
  make one manifest of 8 MB; opening one of its groups reads the root and one driver's index.
  In memory `systems` is one mapping over all of them (`Groups`), reading an index when a name
  of its driver is first asked for.

Volatile facts (when each system was built, wall times) go to `builds.json` beside it, which
no checksum covers, so that two builds of one config have identical manifests and data (a
skew product's go to its driver's folder: one log per folder, none growing with the corpus).

Checksums at three levels, for three jobs: the file's `sha256` here checks what is on disk (or
downloaded) byte for byte, in one pass per system; every chunk carries a CRC32C that zarr
checks on every read; each array's `sha256` attribute (inside the zip) is over its decoded
values (C order, little-endian), so it also checks the data after any re-encoding (another
codec, a Parquet export). The manifest and each index are rewritten atomically (temporary file,
fsync, `os.replace`); committing a skew product rewrites its driver's index alone.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import numpy as np

from chaosdata.atomic import TMP_MARK, replacing
from chaosdata.store.config import ReleaseConfig
from chaosdata.store.errors import StoreError
from chaosdata.store.layout import BUILD_LOG, FORMAT, FORMAT_SUMMARY, MANIFEST, OLD_FORMATS, driver_of, index_file

Reader = Callable[[str], "bytes | None"]  # a metadata document's bytes by its path in the store (None: absent)
FLAT_CORPUS = f"{FORMAT} with skew products at the root"  # as read: a corpus store of before the nesting


def data_sha256(values: np.ndarray) -> str:
    """SHA-256 of an array's values in C order, little-endian (text: UTF-8, each value ended by NUL)."""
    if values.dtype.kind in "TUO":
        return hashlib.sha256(b"".join(str(v).encode() + b"\0" for v in values.ravel())).hexdigest()
    little = np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<"))
    return hashlib.sha256(little.tobytes()).hexdigest()


class Groups(MutableMapping[str, dict[str, Any]]):
    """The manifest's `systems`: catalogue-named groups' entries from the root document, a skew
    product's from its driver's index, read (through `reader`) when a name of that driver is
    first asked for; iterating reads every driver's (`reader` None: a new store, none written yet).
    `dirty`: drivers whose index must be written."""

    def __init__(self, root: dict[str, dict[str, Any]], drivers: list[str], reader: Reader | None, config_hash: str):
        self.root, self.drivers, self.reader, self.config_hash = root, drivers, reader, config_hash
        self.nested: dict[str, dict[str, dict[str, Any]]] = {}
        self.dirty: set[str] = set()

    def index(self, driver: str) -> dict[str, dict[str, Any]]:
        """The entries of `driver`'s skew products (read once; empty before its first commit, and
        for a driver the store does not list)."""
        if driver not in self.drivers:
            return {}
        if driver not in self.nested:
            data = None if self.reader is None else self.reader(index_file(driver))
            self.nested[driver] = parse_index(data, index_file(driver), self.config_hash)
        return self.nested[driver]

    def _part(self, name: str) -> dict[str, dict[str, Any]]:
        driver = driver_of(name)
        return self.root if driver is None else self.index(driver)

    def __getitem__(self, name: str) -> dict[str, Any]:
        return self._part(name)[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._part(name)

    def __setitem__(self, name: str, entry: dict[str, Any]) -> None:
        driver = driver_of(name)
        if driver is not None and driver not in self.drivers:
            self.drivers = sorted([*self.drivers, driver])
        self._part(name)[name] = entry
        if driver is not None:
            self.dirty.add(driver)

    def __delitem__(self, name: str) -> None:
        del self._part(name)[name]
        driver = driver_of(name)
        if driver is not None:
            self.dirty.add(driver)

    def __iter__(self) -> Iterator[str]:
        yield from self.root
        for driver in self.drivers:
            yield from self.index(driver)

    def __len__(self) -> int:
        return len(self.root) + sum(len(self.index(d)) for d in self.drivers)


def parse_index(data: bytes | None, where: str, config_hash: str) -> dict[str, dict[str, Any]]:
    """The entries of a driver's index document (`data`, None when it is not written yet)."""
    if data is None:
        return {}
    fix = ("remove it and run `chaosdata generate` again with the store's config (in its manifest.json): "
           "it checks the driver's files and records them again")
    try:
        index = json.loads(data)
    except json.JSONDecodeError as err:
        raise StoreError(f"{where}: not valid JSON ({err}); the store is damaged: {fix}") from None
    match index:  # data read from the store: its shape is matched, not asserted
        case {"systems": dict() as entries} if index.get("config_hash") == config_hash:
            return entries
        case {"systems": dict()}:
            raise StoreError(f"{where}: an index of another store (config hash {str(index.get('config_hash'))[:12]}, "
                             f"the manifest's is {config_hash[:12]}); {fix}")
        case _:
            raise StoreError(f"{where}: expected a driver index (a JSON object with `systems`); {fix}")


def _read_local(root: Path, path: str) -> bytes | None:
    try:
        return (root / path).read_bytes()
    except FileNotFoundError:
        return None


def new_manifest(config: ReleaseConfig, code: dict[str, Any], code_hash: str) -> dict[str, Any]:
    """The manifest of an empty store of `config`: its drivers are those of the config's skew products."""
    drivers = sorted({d for d in map(driver_of, config.resolved_systems()) if d is not None})
    return {"format": FORMAT, "config": config.to_dict(), "config_hash": config.config_hash,
            "code": code, "code_hash": code_hash,
            "systems": Groups({}, drivers, None, config.config_hash)}


class OldFormatError(StoreError):
    """A store written in an earlier layout: it is refused, never migrated silently."""


def read_manifest(root: str | Path, *, any_format: bool = False) -> dict[str, Any]:
    """The manifest of the store at `root`; an earlier layout raises `OldFormatError` (unless
    `any_format`, for a build that replaces it), an unknown one `StoreError`. Its `systems` reads
    the driver indexes under `root` (a remote store sets its `reader`)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise StoreError(
            f"{str(root)!r} is not a chaosdata store: it has no {MANIFEST}. "
            "Build one with `chaosdata generate --preset quick --out DIR`."
        )
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise StoreError(f"{path}: not valid JSON ({err}); the store is damaged") from None
    fmt = manifest.get("format")
    if fmt == FORMAT and any(driver_of(name) for name in manifest["systems"]):
        fmt = manifest["format"] = FLAT_CORPUS  # a corpus store written before its skew products were nested
    if fmt in (*OLD_FORMATS, FLAT_CORPUS) and not any_format:
        raise OldFormatError(
            f"{root} is a chaosdata store in the earlier layout {fmt!r}; this version reads {FORMAT!r} "
            f"({FORMAT_SUMMARY}) and never converts a store silently. Rebuild it: `chaosdata generate --config "
            f"<its config> --out {root} --overwrite` (the config is in its manifest.json), or into a new --out."
        )
    if fmt not in (FORMAT, FLAT_CORPUS, *OLD_FORMATS):
        raise StoreError(f"{path}: format {fmt!r} is not {FORMAT!r}; is it a newer chaosdata's store?")
    manifest["systems"] = Groups(manifest.get("systems", {}), manifest.pop("drivers", []),
                                 functools.partial(_read_local, Path(root)), manifest.get("config_hash", ""))
    return manifest


def write_json(path: Path, value: Any) -> None:
    """Replace a JSON file atomically (flushed to disk first): a reader sees the old or the
    new one, never half. Compact (no indentation: a third of an indented manifest's bytes)."""
    with replacing(path, fsync=True) as tmp:
        tmp.write_bytes(_dumps(value))


def _dumps(value: Any) -> bytes:
    return (json.dumps(value, sort_keys=True, separators=(",", ":")) + "\n").encode()


def record_system(manifest: dict[str, Any], name: str, entry: dict[str, Any]) -> None:
    """Put a system's entry (as `writer.describe_system` reads it) into `manifest`; its
    `code_hash` is kept only when it is not the store's (mixed code), the rest is implied."""
    if entry.get("code_hash") == manifest["code_hash"]:
        entry = {k: v for k, v in entry.items() if k != "code_hash"}
    manifest["systems"][name] = entry


def system_code_hash(manifest: dict[str, Any], name: str) -> str:
    """The code hash of the code that wrote system `name` (see `record_system`)."""
    return manifest["systems"][name].get("code_hash", manifest["code_hash"])


def write_manifest(root: str | Path, manifest: dict[str, Any]) -> None:
    """Write the driver indexes changed since the last write, then the root document if it
    changed (a skew product's commit rewrites its driver's index alone)."""
    root, groups = Path(root), manifest["systems"]
    for driver in sorted(groups.dirty):
        write_json(root / index_file(driver), {"config_hash": manifest["config_hash"], "driver": driver,
                                               "systems": groups.index(driver)})
    groups.dirty.clear()
    document = {**manifest, "systems": groups.root, **({"drivers": groups.drivers} if groups.drivers else {})}
    path = root / MANIFEST
    if _read_local(root, MANIFEST) != _dumps(document):
        write_json(path, document)


def folders(manifest: dict[str, Any]) -> list[str]:
    """The store's driver folders (each a corpus driver's skew products, index and build log)."""
    return list(manifest["systems"].drivers)


def build_log(driver: str | None) -> str:
    """The build log of the groups of `driver`'s folder (None: the root's), relative to the store
    root: `builds.json`, or for a driver's skew products `Lorenz/builds.json`."""
    return f"{driver}/{BUILD_LOG}" if driver else BUILD_LOG


def documents(systems: Iterable[str]) -> list[str]:
    """The metadata documents that describe `systems` (relative paths, root first): the manifest,
    the build log, and each of their drivers' index and build log."""
    drivers = sorted({d for d in map(driver_of, systems) if d is not None})
    return [MANIFEST, BUILD_LOG] + [f for d in drivers for f in (index_file(d), build_log(d))]


def record_build(root: str | Path, system: str, info: dict[str, Any]) -> None:
    """Add a system's volatile build facts (time, wall times) to its folder's `builds.json`."""
    path = Path(root) / build_log(driver_of(system))
    try:
        log = json.loads(path.read_text())
    except (OSError, ValueError):
        log = {}
    log[system] = info
    write_json(path, log)


def stale_temporaries(root: str | Path) -> list[Path]:
    """Temporary JSON files left by a build that was killed while writing one (at the root or
    in a driver's folder)."""
    return sorted([*Path(root).glob(f"*.json{TMP_MARK}*"), *Path(root).glob(f"*/*.json{TMP_MARK}*")])
