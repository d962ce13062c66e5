"""Read a store: systems, lazy Zarr arrays, attributes, time grids, and checksum verification.

```python
store = open_store("data/quick")
store.systems                            # committed systems present here, sorted
store.arrays("Lorenz")                   # splits: ['coarse/test', 'coarse/train', ..., 'fine/val']
z = store.array("Lorenz", "fine", "train")   # the series, zarr.Array [trajectory, time, component], lazy
window = z[0, 1000:1512]                 # reads only the chunks it touches
store.variables("Lorenz", "fine", "train")   # {'valid': ..., 'initial_condition': ..., ...} numpy
store.time("Lorenz", "fine")             # {'t0': 0.0, 'dt': ..., 'n': ...}
store.normalization("Lorenz", "fine")    # (mean, std) of the train split, float64
store.verify()                           # VerifyReport; .ok, .problems[0] is the first mismatch
```
Each split is also an xarray Dataset: `xarray.open_zarr(path, group="Lorenz/fine/train")`.
Maps have one sampling, stored as granularity `iteration`; `array()` and `time()` accept any
granularity name of the release for a map and return that one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import zarr

from chaosdata.errors import InvalidInputError, UnknownSystemError, suggest
from chaosdata.store.config import SPLITS, ReleaseConfig
from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.layout import MAP_GRANULARITY, SERIES, TRAJECTORY_VARIABLES, split_path
from chaosdata.store.manifest import data_sha256, file_sha256, list_files, read_manifest
from chaosdata.systems import get_system


@dataclass(frozen=True)
class Problem:
    """One mismatch between the store and its manifest."""

    system: str
    what: str  # an array path ("fine/train"), a file path ("fine/train/c/0/0/0") or "" (the system)
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


class Store:
    """A chaosdata store on local disk (see `chaosdata.store.layout` for what is where)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.manifest: dict[str, Any] = read_manifest(self.path)

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r}, config={self.config.name!r}, systems={len(self.systems)})"

    @cached_property
    def config(self) -> ReleaseConfig:
        return ReleaseConfig.from_dict(self.manifest["config"], f"{self.path}/manifest.json")

    @property
    def systems(self) -> list[str]:
        """Systems recorded in the manifest whose directory is here (all of them after a full build)."""
        return sorted(s for s in self.manifest["systems"] if (self.path / s).is_dir())

    def resolve(self, system: str) -> str:
        """The manifest's name for `system` (exact, or the catalogue's spelling of it); a name
        the store does not hold raises, with the nearest names it does."""
        known = self.manifest["systems"]
        if system in known:
            return system
        try:
            name = get_system(system).name
        except UnknownSystemError:
            name = None
        if name not in known:
            raise InvalidInputError(f"system {system!r} is not in the store at {self.path}; it holds "
                                    f"{len(known)} systems.{suggest(str(system), known)}")
        return name

    def select(self, systems: Sequence[str] | str | None) -> list[str]:
        """The store's names for `systems`, sorted, each once: None selects every system here,
        a string is comma-separated names; an unknown name raises (`resolve`), and so does an
        empty selection."""
        if systems is None:
            return self.systems
        if isinstance(systems, str):
            systems = [s for s in systems.split(",") if s]
        if not systems:
            raise InvalidInputError("systems is empty: name at least one system of the store, or pass None for all")
        return sorted({self.resolve(s) for s in systems})

    def _entry(self, system: str) -> tuple[str, dict[str, Any]]:
        name = self.resolve(system)
        if not (self.path / name).is_dir():
            raise StoreError(f"{name} is in the manifest of {self.path} but its directory is missing "
                             "(a partial download?)")
        return name, self.manifest["systems"][name]

    def group(self, system: str) -> zarr.Group:
        """The system's Zarr group, read-only."""
        return zarr.open_group(str(self.path / self._entry(system)[0]), mode="r")

    def attrs(self, system: str) -> dict[str, Any]:
        """The system group's attributes: `system`, `invariants`, `generation`, `provenance`, ..."""
        return self.group(system).attrs.asdict()

    def arrays(self, system: str) -> list[str]:
        """The split groups `<granularity>/<split>` of a system, sorted."""
        suffix = f"/{SERIES}"
        return sorted(p[: -len(suffix)] for p in self._entry(system)[1]["arrays"] if p.endswith(suffix))

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

    def array(self, system: str, granularity: str, split: str) -> zarr.Array:
        """The lazy series `[trajectory, time, component]` of one split."""
        return self.group(system)[f"{self._split(system, granularity, split)}/{SERIES}"]

    def variables(self, system: str, granularity: str, split: str) -> dict[str, Any]:
        """The split's per-trajectory variables (`valid`, `failure`, `initial_condition`,
        `start_state`, ...; see `chaosdata.store.layout`) as numpy arrays."""
        group = self.group(system)[self._split(system, granularity, split)]
        return {name: group[name][...] for name in TRAJECTORY_VARIABLES}

    def checksum(self, system: str, granularity: str, split: str, variable: str = SERIES) -> str:
        """The manifest's SHA-256 of a split variable's decoded values (C order, little-endian)."""
        name, entry = self._entry(system)
        return entry["arrays"][f"{self._split(name, granularity, split)}/{variable}"]["sha256"]

    def time(self, system: str, granularity: str) -> dict[str, Any]:
        """The time grid `{t0, dt, n}` (t = t0 + dt * arange(n)) and how it was chosen."""
        g = self.group(system)[self._granularity(system, granularity)]
        return dict(g.attrs["time"])

    def normalization(self, system: str, granularity: str) -> tuple[np.ndarray, np.ndarray]:
        """Per-coordinate (mean, std) of the train split's valid trajectories, computed at build time.

        Raises `InvalidInputError` naming the system when its train split has no valid trajectory.
        """
        name = self.resolve(system)
        entry = self.group(name)[self._granularity(name, granularity)].attrs["normalization"]
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
        """Recompute checksums against the manifest; `data` also decodes every array.

        A missing system directory, missing or unexpected file, changed file or changed array
        is one `Problem` each. `strict` raises `ChecksumError` naming the first one.
        """
        names = sorted(self.manifest["systems"]) if systems is None else [self.resolve(s) for s in systems]
        report = VerifyReport()
        for name in names:
            report.checked.append(name)
            report.problems += _verify_system(self.path / name, name, self.manifest["systems"][name], data)
        if strict and report.problems:
            raise ChecksumError(f"{self.path}: {report.first} ({len(report.problems)} problem(s) in all)")
        return report

    def summary(self) -> list[dict[str, Any]]:
        """One row per recorded system: kind, dim, array shapes, bytes, flagged, skipped, present."""
        rows = []
        for name, e in sorted(self.manifest["systems"].items()):
            rows.append({"system": name, "kind": e["kind"], "dim": e["dim"],
                         "arrays": {p.rsplit("/", 1)[0]: a["shape"] for p, a in sorted(e["arrays"].items())
                                    if p.endswith(f"/{SERIES}")},
                         "bytes": e["bytes"], "files": len(e["files"]), "n_invalid": e["n_invalid"],
                         "skipped": e["skipped"], "present": (self.path / name).is_dir()})
        return rows


def _verify_system(directory: Path, name: str, entry: dict[str, Any], data: bool) -> list[Problem]:
    if not directory.is_dir():
        return [Problem(name, "", "its directory", "nothing (missing system)")]
    problems = []
    on_disk = set(list_files(directory))
    for rel, expected in sorted(entry["files"].items()):
        if rel not in on_disk:
            problems.append(Problem(name, rel, f"file with sha256 {expected}", "no file (missing)"))
            continue
        got = file_sha256(directory / rel)
        if got != expected:
            problems.append(Problem(name, rel, f"sha256 {expected}", f"sha256 {got}"))
    for rel in sorted(on_disk - set(entry["files"])):
        problems.append(Problem(name, rel, "no such file", "an unexpected file"))
    if not data:
        return problems
    try:
        group = zarr.open_group(str(directory), mode="r")
    except Exception as err:  # noqa: BLE001 - a damaged group is a finding, not a crash
        return problems + [Problem(name, "zarr.json", "a readable Zarr group", f"{type(err).__name__}: {err}")]
    for path, meta in sorted(entry["arrays"].items()):
        try:
            values = group[path][...]
        except KeyError:
            problems.append(Problem(name, path, f"array {meta['shape']} {meta['dtype']}", "no array (missing)"))
            continue
        except Exception as err:  # noqa: BLE001 - undecodable chunks are a finding
            problems.append(Problem(name, path, f"decodable data with sha256 {meta['sha256']}",
                                    f"{type(err).__name__}: {err}"))
            continue
        if list(values.shape) != meta["shape"] or str(values.dtype) != meta["dtype"]:
            problems.append(Problem(name, path, f"shape {meta['shape']} {meta['dtype']}",
                                    f"shape {list(values.shape)} {values.dtype}"))
            continue
        got = data_sha256(values)
        if got != meta["sha256"]:
            problems.append(Problem(name, path, f"values with sha256 {meta['sha256']}", f"sha256 {got}"))
    return problems


def open_store(path: str | Path) -> Store:
    """Open the store at `path` (a directory holding `manifest.json`)."""
    path = Path(path)
    if not path.is_dir():
        raise StoreError(f"no store at {str(path)!r}: not a directory. "
                         "Build one with `chaosdata generate --preset quick --out DIR`.")
    return Store(path)
