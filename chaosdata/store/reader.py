"""Read a store: systems, lazy Zarr arrays, attributes, time grids, and checksum verification.

```python
store = open_store("data/quick")
store.systems                            # committed systems present here, sorted
store.arrays("Lorenz")                   # splits: ['coarse/test', 'coarse/train', ..., 'fine/val']
z = store.array("Lorenz", "fine", "train")   # the series [trajectory, time, component], lazy (a zarr.Array's API)
window = z[0, 1000:1512]                 # reads only the chunks it touches, each checksummed
store.variables("Lorenz", "fine", "train")   # {'valid': ..., 'initial_condition': ..., ...} numpy
store.time("Lorenz", "fine")             # {'t0': 0.0, 'dt': ..., 'n': ...}
store.normalization("Lorenz", "fine")    # (mean, std) of the train split, float64
store.verify()                           # VerifyReport; .ok, .problems[0] is the first mismatch
```
Each split is also an xarray Dataset:
`xarray.open_zarr(zarr.storage.ZipStore("data/Lorenz.zip", mode="r"), group="fine/train")`.
A chunk whose bytes fail their CRC32C raises `ChecksumError` naming the file, on every read
through this module.
Maps have one sampling, stored as granularity `iteration`; `array()` and `time()` accept any
granularity name of the release for a map and return that one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any
from zipfile import BadZipFile

import numpy as np
import zarr

from chaosdata import validate
from chaosdata.errors import InvalidInputError, UnknownNameError, suggest
from chaosdata.files import sha256_file
from chaosdata.store import shards
from chaosdata.store.archive import array_at, attributes, damaged_reads, group_at, is_checksum_error, open_system, walk_arrays
from chaosdata.store.config import SPLITS, ReleaseConfig
from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.layout import MAP_GRANULARITY, SERIES, TRAJECTORY_VARIABLES, split_path, system_file
from chaosdata.store.manifest import data_sha256, read_manifest
from chaosdata.systems import get_system


@dataclass(frozen=True)
class Problem:
    """One mismatch between the store and its manifest."""

    system: str
    what: str  # an array path ("fine/train/series"), the system's file ("Lorenz.zip") or "" (the system)
    expected: str
    got: str

    def __str__(self) -> str:
        where = f"{self.system}/{self.what}" if self.what else self.system
        return f"{where}: expected {self.expected}, got {self.got}"


@dataclass
class VerifyReport:
    """`problems` in the order found (system by system; files, then decoded arrays)."""

    checked: list[str] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first(self) -> Problem | None:
        return self.problems[0] if self.problems else None


class CheckedArray:
    """A stored zarr array whose reads turn a failed chunk checksum into `ChecksumError` naming
    the file; every other attribute (`shape`, `chunks`, `dtype`, `path`, `attrs`...) is the
    array's own. Each read returns a new array, the caller's to change (`fresh_reads`: the
    loader normalizes it in place)."""

    fresh_reads = True

    def __init__(self, array: zarr.Array, file: Path | str):  # a path, or a remote file's URL
        self.array, self.file = array, file

    def __getitem__(self, selection: Any) -> Any:
        with damaged_reads(self.file, self.array.path):
            return shards.read(self.array, selection)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.array, name)

    def __repr__(self) -> str:
        return f"CheckedArray({self.file}, {self.array.path!r}, shape={self.array.shape})"


def open_array(file: str | Path, path: str) -> CheckedArray:
    """The array at `path` (e.g. `fine/train/series`) in a system's file, read-only and checked."""
    file = Path(file)
    with damaged_reads(file, path):
        return CheckedArray(array_at(open_system(file), path), file)


class Store:
    """A chaosdata store on local disk (see `chaosdata.store.layout` for what is where).

    `open_threads`: how many systems `load_dataset` opens at once; one, as opening a local
    system is CPU work (parsing its metadata)."""

    open_threads = 1

    def __init__(self, path: str | os.PathLike[str]):
        self.path = Path(path)
        self.manifest: dict[str, Any] = read_manifest(self.path)
        self._groups: dict[str, zarr.Group] = {}
        self._arrays: dict[tuple[str, str], zarr.Array] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_groups": {}, "_arrays": {}}  # open zip handles stay with their process

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, config={self.config.name!r}, systems={len(self.systems)})"

    @property
    def fork_safe(self) -> bool:
        """Whether a forked child may read through the arrays this process opened: each
        system's zip is opened per process (`ProcessLocalZipStore`), so a DataLoader worker
        reuses the metadata its parent parsed (0.15 ms to its first read; 5.5 ms to open it
        again, per array)."""
        return True

    @cached_property
    def config(self) -> ReleaseConfig:
        return ReleaseConfig.from_dict(self.manifest["config"], f"{self.path}/manifest.json")

    @property
    def systems(self) -> list[str]:
        """Systems recorded in the manifest whose file is here (all of them after a full build)."""
        return sorted(s for s in self.manifest["systems"] if self._present(s))

    def file(self, system: str) -> Path:
        """The file that holds a system (`<store>/Lorenz.zip`); the name is not resolved."""
        return self.path / system_file(system)

    def _present(self, system: str) -> bool:
        """Whether the system's file is here (a remote store, `chaosdata.store.remote`, says otherwise)."""
        return self.file(system).is_file()

    def _open_group(self, system: str) -> zarr.Group:
        return open_system(self.file(system))

    def resolve(self, system: str) -> str:
        """The manifest's name for `system` (exact, or the catalogue's spelling of it); a name
        the store does not hold raises, with the nearest names it does."""
        known = self.manifest["systems"]
        if system in known:
            return system
        try:
            name = get_system(system).name
        except UnknownNameError:
            name = None
        if name is None or name not in known:
            raise InvalidInputError(f"system {system!r} is not in the store at {self.path}; it holds "
                                    f"{len(known)} systems.{suggest(str(system), known)}")
        return name

    def select(self, systems: Sequence[str] | str | None) -> list[str]:
        """The store's names for `systems`, sorted, each once: None selects every system here,
        a string is comma-separated names; an unknown name raises (`resolve`), and so does an
        empty selection."""
        if systems is None:
            return self.systems
        names = validate.listed_names(systems, "systems", hint="names of the store's systems, or None for all")
        return sorted({self.resolve(s) for s in names})

    def _entry(self, system: str) -> tuple[str, dict[str, Any]]:
        name = self.resolve(system)
        if not self._present(name):
            raise StoreError(f"{name} is in the manifest of {self.path} but its file {system_file(name)} is missing "
                             "(a partial download?)")
        return name, self.manifest["systems"][name]

    def group(self, system: str) -> zarr.Group:
        """The system's Zarr group, read-only (opened once per store object; reads of its arrays
        are not checksum-translated: use `array` and `variables` for that)."""
        name = self._entry(system)[0]
        if name not in self._groups:
            self._groups[name] = self._open_group(name)
        return self._groups[name]

    def stored_array(self, system: str, path: str) -> CheckedArray:
        """The array at `path` in a system's group (e.g. `fine/train/series`), lazy, its reads checked."""
        name = self.resolve(system)
        return CheckedArray(self._array_at(name, path), self.file(name))

    def _array_at(self, name: str, path: str) -> zarr.Array:
        """The zarr array at `path` in system `name`'s group, opened once per store object (a
        dataset's first read reuses what `load_dataset` opened to learn the shapes)."""
        if (name, path) not in self._arrays:
            self._arrays[name, path] = array_at(self.group(name), path)
        return self._arrays[name, path]

    def array_entries(self, system: str) -> dict[str, dict[str, Any]]:
        """Every array of a system (`fine/train/series`, `fine/train/valid`...) with its shape,
        dtype and the SHA-256 of its decoded values, from the system's consolidated metadata."""
        return {path: {"shape": list(z.shape), "dtype": str(z.dtype), "sha256": z.attrs["sha256"]}
                for path, z in sorted(walk_arrays(self.group(system)))}

    def attrs(self, system: str) -> dict[str, Any]:
        """The system group's attributes: `system`, `invariants`, `generation`, `provenance`, ..."""
        return self.group(system).attrs.asdict()

    def arrays(self, system: str) -> list[str]:
        """The split groups `<granularity>/<split>` of a system, sorted."""
        return sorted(self._entry(system)[1]["splits"])

    def granularities(self, system: str) -> list[str]:
        return sorted({p.split("/")[0] for p in self.arrays(system)})

    def skipped(self, system: str) -> dict[str, str]:
        """Granularities of the release this system lacks, with the reason."""
        return dict(self._entry(system)[1]["skipped"])

    def _granularity(self, system: str, granularity: str) -> str:
        have = self.granularities(system)
        if have == [MAP_GRANULARITY] and (granularity == MAP_GRANULARITY
                                          or granularity in [g.name for g in self.config.granularities]):
            return MAP_GRANULARITY
        if granularity not in have:
            why = self.skipped(system).get(granularity)
            raise InvalidInputError(
                f"{system} has no granularity {granularity!r}" + (f" ({why})" if why else "")
                + f"; it has {have}.{suggest(granularity, have)}"
            )
        return granularity

    def _split(self, system: str, granularity: str, split: str) -> str:
        if split not in SPLITS:
            raise InvalidInputError(f"split must be one of {SPLITS}, got {split!r}.{suggest(str(split), SPLITS)}")
        return split_path(self._granularity(system, granularity), split)

    def array(self, system: str, granularity: str, split: str) -> CheckedArray:
        """The lazy series `[trajectory, time, component]` of one split."""
        name = self.resolve(system)
        return self.stored_array(name, f"{self._split(name, granularity, split)}/{SERIES}")

    def all_valid(self, system: str) -> bool:
        """Whether the manifest records no flagged trajectory in any split of the system
        (`n_invalid` 0): its `valid` flags are then all true, and need not be read."""
        return self._entry(system)[1].get("n_invalid") == 0

    def variables(self, system: str, granularity: str, split: str,
                  names: Sequence[str] = tuple(TRAJECTORY_VARIABLES)) -> dict[str, Any]:
        """The split's per-trajectory variables (`valid`, `failure`, `initial_condition`,
        `start_state`, ...; see `chaosdata.store.layout`) as numpy arrays; `names` picks some
        (each is one read: over HTTP, one request)."""
        name = self.resolve(system)
        where = self._split(name, granularity, split)
        return {variable: self.stored_array(name, f"{where}/{variable}")[...] for variable in names}

    def checksum(self, system: str, granularity: str, split: str, variable: str = SERIES) -> str:
        """The SHA-256 of a split variable's decoded values (C order, little-endian), as written
        with it (the array's `sha256` attribute; the file's SHA-256 in the manifest covers it)."""
        name = self.resolve(system)
        return str(attributes(self._array_at(name, f"{self._split(name, granularity, split)}/{variable}"))["sha256"])

    def time(self, system: str, granularity: str) -> dict[str, Any]:
        """The time grid `{t0, dt, n}` (t = t0 + dt * arange(n)) and how it was chosen."""
        g = group_at(self.group(system), self._granularity(system, granularity))
        return dict(attributes(g)["time"])

    def normalization(self, system: str, granularity: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate (mean, std) of the train split's valid trajectories, computed at build time.

        Raises `InvalidInputError` naming the system when its train split has no valid trajectory.
        """
        name = self.resolve(system)
        entry = attributes(group_at(self.group(name), self._granularity(name, granularity)))["normalization"]
        if "error" in entry:
            raise InvalidInputError(f"cannot normalize {name} ({granularity}): {entry['error']} (every training "
                                    "trajectory failed; see the split's `failure` variable). Leave it out of "
                                    "`systems`, or rebuild it with other integrator settings.")
        return np.asarray(entry["mean"], dtype=np.float64), np.asarray(entry["std"], dtype=np.float64)

    @property
    def code(self) -> dict[str, Any]:
        """The code fingerprint the store was built with (`chaosdata.store.provenance`)."""
        return dict(self.manifest["code"])

    def verify(self, systems: Iterable[str] | None = None, *, data: bool = True,
               strict: bool = False) -> VerifyReport:
        """Recompute checksums against the manifest; `data` also decodes every array (each chunk's
        CRC32C) and checks its values against the SHA-256 written with it.

        A missing or changed system file, an undecodable or changed array is one `Problem` each.
        `strict` raises `ChecksumError` naming the first one.
        """
        names = sorted(self.manifest["systems"]) if systems is None else [self.resolve(s) for s in systems]
        report = VerifyReport()
        for name in names:
            report.checked.append(name)
            report.problems += _verify_system(self.file(name), name, self.manifest["systems"][name], data)
        if strict and report.problems:
            raise ChecksumError(f"{self.path}: {report.first} ({len(report.problems)} problem(s) in all)")
        return report

    def summary(self) -> list[dict[str, Any]]:
        """One row per recorded system: kind, dim, array shapes, bytes, flagged, skipped, present."""
        rows = []
        for name, e in sorted(self.manifest["systems"].items()):
            rows.append({"system": name, "kind": e["kind"], "dim": e["dim"],
                         "arrays": dict(sorted(e["splits"].items())),
                         "bytes": e["bytes"], "files": 1, "n_invalid": e["n_invalid"],
                         "skipped": e["skipped"], "present": self._present(name)})
        return rows


def _verify_system(file: Path, name: str, entry: dict[str, Any], data: bool) -> list[Problem]:
    if not file.is_file():
        return [Problem(name, "", f"its file {file.name}", "nothing (missing system)")]
    got = sha256_file(file)
    if got != entry["sha256"]:
        return [Problem(name, file.name, f"sha256 {entry['sha256']}", f"sha256 {got}")]
    if not data:
        return []
    try:
        group = open_system(file)
    except (StoreError, ValueError, KeyError) as err:  # a damaged group is a finding, not a crash
        return [Problem(name, file.name, "a readable Zarr group", f"{type(err).__name__}: {err}")]
    return verify_arrays(name, sorted(walk_arrays(group)))


def verify_arrays(name: str, arrays: Iterable[tuple[str, Any]]) -> list[Problem]:
    """Decode each `(path, array)` of system `name` (every chunk's CRC32C) and compare its values
    with the SHA-256 written with it; one `Problem` per array that fails."""
    problems = []
    for path, z in arrays:
        try:
            values = z[...]
        except (ValueError, BadZipFile, ChecksumError) as err:  # a chunk's CRC32C (or the member's CRC-32) failed
            if not is_checksum_error(err):
                raise
            problems.append(Problem(name, path, "chunks that pass their checksum", f"{type(err).__name__}: {err}"))
            continue
        got = data_sha256(values)
        if got != z.attrs.get("sha256"):
            problems.append(Problem(name, path, f"values with sha256 {z.attrs.get('sha256')}", f"sha256 {got}"))
    return problems


def open_store(path: str | os.PathLike[str]) -> Store:
    """Open the store at `path` (a directory holding `manifest.json` and one zip per system)."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"no store at {str(path)!r}: not a directory. "
                         "Build one with `chaosdata generate --preset quick --out DIR`.")
    return Store(path)
