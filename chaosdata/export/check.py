"""Read an export back and compare it with the store's manifest checksums.

An export counts as done only when this passes: every split of every exported system is read
back from the files on disk (Parquet with pyarrow, HDF5 with h5py), each column that mirrors a
store variable (`series`, `valid`, `failure`, `initial_condition`, ...) is hashed the way the
manifest hashes decoded values (`chaosdata.store.manifest.data_sha256`) and compared with the
manifest, the time grid `t0 + dt * arange(n_points)` is compared with the stored `time`, and
the per-row metadata (parameters, scalar invariants) with the system's attributes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaosdata.export.features import parameters_json, scalar_invariants
from chaosdata.export.layout import COMBINED_DIR, DATA_DIR, HDF5_DIR, combined_granularities, hdf5_path, split_shapes
from chaosdata.export.report import ExportReport
from chaosdata.export.source import SplitSource, row_parameters, system_sources, variant_parameters
from chaosdata.store import Store
from chaosdata.store.config import HF_SPLITS
from chaosdata.store.corpus import Variants
from chaosdata.store.errors import ChecksumError
from chaosdata.store.layout import TRAJECTORY_VARIABLES
from chaosdata.store.manifest import data_sha256
from chaosdata.store.reader import Problem

# store variable -> exported column holding the same values (`time` is checked from the grid)
COLUMNS = {name: name for name in TRAJECTORY_VARIABLES} | {"series": "series"}


def _systems(store: Store, root: str | Path | ExportReport, systems: Sequence[str] | None,
             top: str) -> tuple[Path, list[str], list[Problem]]:
    """(root folder, the store's names of the systems to check, problems): by default the systems
    of an `ExportReport`, or the system folders under `root/top`; a folder of a system the store
    does not hold is a problem."""
    if isinstance(root, ExportReport):
        folder, found = root.root, sorted({f.system for f in root.files})
    else:
        folder = Path(root)
        found = sorted(p.name for p in (folder / top).iterdir() if p.is_dir()) if (folder / top).is_dir() else []
    if systems is not None:
        return folder, store.select(systems), []
    known = store.manifest["systems"]
    strangers = [Problem(s, top, "a system of the store", "an exported system the store does not hold")
                 for s in found if s not in known]
    return folder, [s for s in found if s in known], strangers


def table_columns(table: pa.Table) -> dict[str, np.ndarray]:
    """A table's columns as numpy: an `Array2D` column as `[rows, a, b]` float32 (its rows must
    share `a`), lists as float64 `[rows, n]`, strings as object arrays."""
    out: dict[str, np.ndarray] = {}
    rows = table.num_rows
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        if isinstance(col, pa.ExtensionArray):
            inner = col.storage.flatten()
            out[name] = inner.flatten().to_numpy(zero_copy_only=False).reshape(rows, len(inner) // rows, -1)
        elif pa.types.is_list(col.type) or pa.types.is_fixed_size_list(col.type):
            out[name] = np.stack([np.asarray(v, dtype=np.float64) for v in col.to_pylist()])
        elif pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            out[name] = np.array(col.to_pylist(), dtype=object)
        else:
            out[name] = col.to_numpy(zero_copy_only=False)
    return out


def parquet_columns(files: Sequence[Path]) -> dict[str, np.ndarray]:
    """The columns of a split's shards (in order) as numpy; `series` as `[rows, time, dim]` float32."""
    table = pa.concat_tables([pq.read_table(f) for f in files]) if files else None
    return table_columns(table) if table is not None and table.num_rows else {}


def time_grid(t0: float, dt: float, n: int, kind: str) -> np.ndarray:
    """The stored `time` coordinate from its grid (maps: iterations as int64)."""
    if kind == "map":
        return np.arange(n, dtype=np.int64)
    return t0 + dt * np.arange(n, dtype=np.float64)


def compare_split(source: SplitSource, columns: dict[str, Any], where: str) -> list[Problem]:
    """Problems of one exported split (`columns`: numpy per column, `{}` when nothing was read)
    against the manifest entries of `source`; `where` names the exported file(s)."""
    system, entry = source.system, source.manifest
    if not columns:
        return [Problem(system, where, f"{entry['series']['shape'][0]} exported rows", "no rows (missing)")]
    problems = [p for variable, column in COLUMNS.items()
                for p in compare_variable(source, variable, columns, column, where)]
    return problems + compare_metadata(source, columns, where)


def compare_variable(source: SplitSource, variable: str, columns: dict[str, Any], column: str,
                     where: str) -> list[Problem]:
    """Problems of one exported column against the manifest's shape and checksum of the store
    variable it mirrors (text compared as text, numbers in the stored dtype)."""
    system, expected = source.system, source.manifest[variable]
    if column not in columns:
        return [Problem(system, where, f"a column {column!r}", "none")]
    values = columns[column]
    if variable == "failure" or expected["dtype"].startswith("StringDType"):
        values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values.ravel()],
                          dtype=object).reshape(values.shape)
    elif values.dtype != np.dtype(expected["dtype"]):
        values = values.astype(expected["dtype"])
    got = data_sha256(values)
    if list(values.shape) != expected["shape"] or got != expected["sha256"]:
        return [Problem(system, f"{where} [{column}]", f"{expected['shape']} with sha256 {expected['sha256']}",
                        f"{list(values.shape)} with sha256 {got}")]
    return []


# a corpus store's variables in an HDF5 file -> the `hdf5_columns` key holding them
HDF5_CORPUS_COLUMNS = {"variant": "variant", "parameters": "parameter_values", "parameter": "parameter"}


def compare_corpus_hdf5(source: SplitSource, columns: dict[str, Any], where: str) -> list[Problem]:
    """Problems of a corpus split's HDF5 file: `variant`, `parameters` and the parameter names
    against the manifest, the `corpus` attribute against the store's, and each row's
    `parameters` against its variant's entry in that attribute (`[]` for other stores)."""
    if "corpus" not in source.attrs or not columns:
        return []
    problems = [p for variable, column in HDF5_CORPUS_COLUMNS.items()
                for p in compare_variable(source, variable, columns, column, where)]
    stored = json.dumps(source.attrs["corpus"], sort_keys=True)
    if "corpus" not in columns or json.dumps(columns["corpus"], sort_keys=True) != stored:
        problems.append(Problem(source.system, f"{where} [corpus]", "the store's `corpus` attribute",
                                "none" if "corpus" not in columns else "another one"))
    elif not problems:  # the file's own mapping: each row's values are its variant's parameters
        variants = columns["corpus"]["variants"]
        position = {v["id"]: i for i, v in enumerate(variants)}
        table = Variants([v["parameters"] for v in variants], []).table([position[int(v)] for v in columns["variant"]])
        if not np.array_equal(table, columns["parameter_values"]):
            problems.append(Problem(source.system, f"{where} [parameters]", "each row's variant's parameters",
                                    "other values"))
    return problems


def compare_metadata(source: SplitSource, columns: dict[str, Any], where: str) -> list[Problem]:
    """Problems of the per-row metadata of exported rows of one system (`t0`, `dt`, `n_points`
    against the stored time coordinate; parameters and scalar invariants against its attributes)."""
    system, entry, problems = source.system, source.manifest, []
    kind = source.attrs["system"]["kind"]
    n = int(columns["n_points"][0]) if len(columns.get("n_points", [])) else 0
    grid = time_grid(float(columns["t0"][0]), float(columns["dt"][0]), n, kind) if n else np.zeros(0)
    if data_sha256(grid) != entry["time"]["sha256"]:
        problems.append(Problem(system, f"{where} [t0, dt, n_points]", "the stored time coordinate", "another grid"))
    if "parameters" in columns and "corpus" not in source.attrs:
        params = parameters_json(source.attrs["system"]["parameters"])
        if any(p != params for p in columns["parameters"]):
            problems.append(Problem(system, f"{where} [parameters]", params, "other parameters"))
    elif "parameters" in columns and "trajectory" in columns:
        # a corpus, one row per trajectory: each row carries its own variant's parameters
        rows = np.asarray(columns["trajectory"], dtype=np.int64)
        expected = row_parameters(source, {k: v[rows] for k, v in source.variables.items()})
        if list(columns["parameters"]) != expected:
            problems.append(Problem(system, f"{where} [parameters]", "each row's variant's parameters",
                                    "other parameters"))
    for name, value in scalar_invariants(source.attrs.get("invariants")).items():
        got_values = columns.get(name)
        if got_values is None:
            continue
        same = all((g is None or (isinstance(g, float) and np.isnan(g))) if value is None else g == value
                   for g in got_values.tolist())
        if not same:
            problems.append(Problem(system, f"{where} [{name}]", repr(value), repr(got_values.tolist()[0])))
    return problems


def check_parquet(store: Store, root: str | Path | ExportReport, systems: Sequence[str] | None = None, *,
                  strict: bool = False) -> list[Problem]:
    """Compare the Parquet tree under `root` (or the files of an `ExportReport`) with `store`.

    Every (granularity, split) of each system must be there. Returns the problems found
    (empty: the export equals the store); `strict` raises `ChecksumError` naming the first.
    """
    root, names, problems = _systems(store, root, systems, DATA_DIR)
    for system in names:
        for source in system_sources(store, system):
            hf = HF_SPLITS[source.split]
            files = sorted((root / DATA_DIR / system / source.granularity).glob(f"{hf}-*.parquet"))
            where = f"{DATA_DIR}/{system}/{source.granularity}/{hf}-*.parquet"
            problems += compare_split(source, parquet_columns(files), where)
    if strict and problems:
        raise ChecksumError(f"Parquet export at {root} differs from the store {store.path}: {problems[0]} "
                            f"({len(problems)} problem(s) in all). Export again; if it persists, "
                            "`chaosdata verify` the store.")
    return problems


def hdf5_columns(path: Path) -> dict[str, np.ndarray]:
    """The datasets of one exported HDF5 file, plus `t0`, `dt`, `n_points` from its attributes and
    `parameters` as JSON per row (Parquet's column): the system's, or in a corpus file each row's
    variant's from the file's `corpus` attribute; there the `parameters` dataset is returned as
    `parameter_values`, its names as `parameter` and the attribute as `corpus`."""
    import h5py

    if not path.is_file():
        return {}
    with h5py.File(path, "r") as h5:
        out = {name: h5[name][...] for name in h5 if isinstance(h5[name], h5py.Dataset)}
        if "failure" in out:
            out["failure"] = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in out["failure"]],
                                      dtype=object)
        grid = json.loads(h5.attrs["time"])
        out["t0"], out["dt"], out["n_points"] = np.array([grid["t0"]]), np.array([grid["dt"]]), np.array([grid["n"]])
        attrs = json.loads(h5.attrs["system"])
        if "corpus" in h5.attrs:
            if "parameters" in out:
                out["parameter_values"] = out.pop("parameters")
                out["parameter"] = np.array(h5["parameters"].attrs.get("parameter", []), dtype=object)
            out["corpus"] = json.loads(h5.attrs["corpus"])
            sets = variant_parameters(out["corpus"])
            out["parameters"] = np.array([sets.get(int(v), "no such variant") for v in out.get("variant", [])],
                                         dtype=object)
        else:
            out["parameters"] = np.array([parameters_json(attrs["parameters"])], dtype=object)
    return out


def check_hdf5(store: Store, root: str | Path | ExportReport, systems: Sequence[str] | None = None, *,
               strict: bool = False) -> list[Problem]:
    """Compare the HDF5 files under `root` (`hdf5/<System>/<granularity>/<split>.h5`) with `store`."""
    root, names, problems = _systems(store, root, systems, HDF5_DIR)
    for system in names:
        for source in system_sources(store, system):
            rel = hdf5_path(system, source.granularity, HF_SPLITS[source.split])
            columns = hdf5_columns(root / rel)
            problems += compare_split(source, columns, rel) + compare_corpus_hdf5(source, columns, rel)
    if strict and problems:
        raise ChecksumError(f"HDF5 export at {root} differs from the store {store.path}: {problems[0]} "
                            f"({len(problems)} problem(s) in all). Export again; if it persists, "
                            "`chaosdata verify` the store.")
    return problems


def hashed_bytes(values: np.ndarray) -> bytes:
    """The bytes `chaosdata.store.manifest.data_sha256` hashes, so that rows can be hashed in
    pieces: numbers little-endian in C order, text as UTF-8 with each value ended by NUL."""
    if values.dtype.kind in "TUO":
        return b"".join(str(v).encode() + b"\0" for v in values.ravel())
    return np.ascontiguousarray(values, dtype=values.dtype.newbyteorder("<")).tobytes()


def check_combined(store: Store, root: str | Path | ExportReport, systems: Sequence[str] | None = None, *,
                   strict: bool = False) -> list[Problem]:
    """Compare the combined configs under `root/combined/` with `store`, system by system.

    Each file is read alone and each system's rows hashed in pieces (a split of the release does
    not fit in memory at once); rows must follow the store's order (systems by name, then
    trajectories)."""
    root = root.root if isinstance(root, ExportReport) else Path(root)
    names = store.select(systems)
    kept, _ = combined_granularities(split_shapes(store, names))
    opened = {(s.system, s.granularity, s.split): s for name in dict.fromkeys(n for splits in kept.values()
                                                                             for n, _, _, _ in splits)
              for s in system_sources(store, name)}
    problems: list[Problem] = []
    for gran, splits in kept.items():
        for split, hf in HF_SPLITS.items():
            part = {n: opened[n, gran, s] for n, _, s, _ in splits if s == split}
            where = f"{COMBINED_DIR}/{gran}/{hf}-*.parquet"
            digests = {n: {v: hashlib.sha256() for v in COLUMNS} for n in part}
            rows = dict.fromkeys(part, 0)
            seen: list[str] = []
            for path in sorted((root / COMBINED_DIR / gran).glob(f"{hf}-*.parquet")):
                table = pq.read_table(path)
                system = np.array(table.column("system").to_pylist(), dtype=object)
                starts = [0] + [i for i in range(1, len(system)) if system[i] != system[i - 1]] + [len(system)]
                for lo, hi in zip(starts[:-1], starts[1:], strict=True):
                    name = system[lo]
                    if name not in part:
                        problems.append(Problem(str(name), where, "a system of this config", "rows of another system"))
                        continue
                    if not seen or seen[-1] != name:
                        seen.append(name)
                    cols = table_columns(table.slice(lo, hi - lo))
                    cols["series"] = cols.pop("series_by_component").transpose(0, 2, 1)
                    for variable, column in COLUMNS.items():
                        values = cols[column]
                        dtype = part[name].manifest[variable]["dtype"]
                        if variable == "failure":
                            values = np.array([str(v) for v in values], dtype=object)
                        elif values.dtype != np.dtype(dtype):
                            values = values.astype(dtype)
                        digests[name][variable].update(hashed_bytes(values))
                    problems += compare_metadata(part[name], cols, where)
                    rows[name] += hi - lo
            if seen != sorted(seen) or len(seen) != len(set(seen)):
                problems.append(Problem("", where, "systems in name order, each in one run", f"{seen}"))
            for name, source in part.items():
                if rows[name] != source.manifest["series"]["shape"][0]:
                    problems.append(Problem(name, where, f"{source.manifest['series']['shape'][0]} rows", f"{rows[name]}"))
                    continue
                for variable, digest in digests[name].items():
                    if digest.hexdigest() != source.manifest[variable]["sha256"]:
                        problems.append(Problem(name, f"{where} [{COLUMNS[variable]}]",
                                                f"sha256 {source.manifest[variable]['sha256']}",
                                                f"sha256 {digest.hexdigest()}"))
    if strict and problems:
        raise ChecksumError(f"combined Parquet export at {root} differs from the store {store.path}: {problems[0]} "
                            f"({len(problems)} problem(s) in all). Export again; if it persists, "
                            "`chaosdata verify` the store.")
    return problems
