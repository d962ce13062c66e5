"""Parquet export: one row per trajectory, one config per (system, granularity), `datasets`-native.

```
<out>/data/<System>/<granularity>/<split>-<shard:05d>-of-<n:05d>.parquet
      e.g. data/Lorenz/fine/train-00000-of-00001.parquet, data/Henon/iteration/validation-...
```
Split names are Hugging Face's (`train`, `validation`, `test`). The row's `datasets.Features`
(`features.row_features`) are embedded in each file's schema metadata, so
`datasets.load_dataset("parquet", data_files=...)` returns `series` as `Array2D` (read it with
`.with_format("numpy")`), and pandas, polars and duckdb read plain nested lists.

Why this layout: a config per (system, granularity) keeps one schema per config (systems of
different dimension never share one, which breaks the Hub viewer); folders stay small at the
full release (`data/` holds one folder per system, 158; a system folder one per granularity,
<= 3; a granularity folder one file per split and shard); rows are whole trajectories so a
shard never splits a series. Shards hold at most `shard_bytes` of series (uncompressed) and
row groups at most `row_group_bytes`, both well under the Hub's limits (500 MB per file,
300 MB per uncompressed row group). The same store gives the same bytes (rows in trajectory
order, fixed row-group sizes, no timestamps; for a given pyarrow version, which the footer names).
"""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaosdata.errors import InvalidInputError
from chaosdata.export.features import (
    HF_SPLITS,
    SERIES_DTYPE,
    combined_features,
    config_name,
    row_features,
    scalar_invariants,
    schema_metadata,
)
from chaosdata.export.report import ConfigEntry, ExportedFile, ExportReport
from chaosdata.export.source import SplitSource, row_parameters, system_sources
from chaosdata.owned import RECORD, Ledger
from chaosdata.store import Store, open_store

DATA_DIR = "data"
SHARD_BYTES = 256 << 20  # uncompressed series bytes per file (the Hub wants files under 500 MB)
ROW_GROUP_BYTES = 32 << 20  # uncompressed series bytes per row group (the viewer wants well under 300 MB)
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
# the float32 values of the series are written byte-stream-split (bytes of equal rank together)
# and never dictionary encoded: on 100-period Lorenz trajectories the file holds 0.77 bytes per
# series byte; with pyarrow's defaults (a dictionary for every column) it held 1.25.


def shard_name(split: str, shard: int, n_shards: int) -> str:
    """`train-00000-of-00002.parquet`: the Hub's shard naming, `split` a Hugging Face name."""
    return f"{split}-{shard:05d}-of-{n_shards:05d}.parquet"


def parquet_path(system: str, granularity: str, split: str, shard: int = 0, n_shards: int = 1) -> str:
    """Relative path of one shard, e.g. `data/Lorenz/fine/validation-00000-of-00001.parquet`."""
    return f"{DATA_DIR}/{system}/{granularity}/{shard_name(split, shard, n_shards)}"


def rows_per(limit_bytes: int, row_bytes: int) -> int:
    """How many whole rows of `row_bytes` fit in `limit_bytes` (at least one)."""
    return max(1, limit_bytes // max(1, row_bytes))


def shard_ranges(n_traj: int, n_time: int, dim: int, shard_bytes: int = SHARD_BYTES) -> list[tuple[int, int]]:
    """Row ranges `[lo, hi)` of the shards of a split `[n_traj, n_time, dim]`: whole trajectories,
    at most `shard_bytes` of float32 series each (at least one row, at least one shard)."""
    per_shard = rows_per(shard_bytes, n_time * dim * np.dtype(SERIES_DTYPE).itemsize)
    n_shards = max(1, math.ceil(n_traj / per_shard))
    return [(k * per_shard, min(n_traj, (k + 1) * per_shard)) for k in range(n_shards)]


def planned_paths(shapes: Iterable[tuple[str, str, str, Sequence[int]]], shard_bytes: int = SHARD_BYTES) -> list[str]:
    """The files `export_parquet` writes for splits `(system, granularity, store split, shape)`:
    what a release will hold before it is built (shapes from its config) or after."""
    return [parquet_path(system, gran, HF_SPLITS[split], k, len(ranges))
            for system, gran, split, (n_traj, n_time, dim) in shapes
            for ranges in [shard_ranges(n_traj, n_time, dim, shard_bytes=shard_bytes)] for k in range(len(ranges))]


def store_shapes(store: Store, names: Sequence[str]) -> list[tuple[str, str, str, Sequence[int]]]:
    """`(system, granularity, store split, series shape)` of every split of `names`."""
    return [(n, *a.split("/"), store.array(n, *a.split("/")).shape) for n in names for a in store.arrays(n)]


def folder_entries(paths: Iterable[str]) -> dict[str, int]:
    """Entries (files and sub-folders) per folder of a tree of relative paths; the Hub allows 10k."""
    children: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(len(parts)):
            children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    return {folder: len(names) for folder, names in sorted(children.items())}


def series_array(values: np.ndarray, feature: datasets.Array2D) -> pa.ExtensionArray:
    """`[rows, a, b]` float32 as the column of `feature` (`Array2D(shape=(None, b))`)."""
    rows, a, b = values.shape
    flat = pa.array(np.ascontiguousarray(values, dtype=SERIES_DTYPE).reshape(-1))
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * a * b + 1, b, dtype=np.int32)), flat)
    outer = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * a + 1, a, dtype=np.int32)), inner)
    return pa.ExtensionArray.from_storage(feature(), outer)


def split_table(source: SplitSource, lo: int = 0, hi: int | None = None, *, combined: bool = False) -> pa.Table:
    """Rows `lo:hi` of one store split as a table with the declared schema and the `datasets`
    metadata: `row_features` (series `[time, component]`), or with `combined` the schema of a
    config holding every system, `combined_features` (`series_by_component` `[component, time]`)."""
    meta = source.attrs["system"]
    hi = source.series.shape[0] if hi is None else hi
    values = np.asarray(source.series[lo:hi])
    var = {k: v[lo:hi] for k, v in source.variables.items()}
    grid = source.grid
    n = hi - lo
    columns = {
        "system": [source.system] * n, "granularity": [source.granularity] * n, "split": [HF_SPLITS[source.split]] * n,
        "trajectory": var["trajectory"].astype(np.int64),
        "t0": np.full(n, float(grid["t0"])), "dt": np.full(n, float(grid["dt"])),
        "n_points": np.full(n, values.shape[1], dtype=np.int64),
        "valid": var["valid"].astype(bool), "failure": [str(f) for f in var["failure"]],
        "resampled": var["resampled"].astype(np.int64),
        "initial_condition": list(np.asarray(var["initial_condition"], dtype=np.float64)),
        "start_state": list(np.asarray(var["start_state"], dtype=np.float64)),
        "n_accepted": var["n_accepted"].astype(np.int64), "n_rejected": var["n_rejected"].astype(np.int64),
        "parameters": row_parameters(source, var),
        "dim": np.full(n, meta["dim"], dtype=np.int64),
    }
    columns.update({k: [v] * n for k, v in scalar_invariants(source.attrs.get("invariants")).items()})
    if combined:
        features, column = combined_features(values.shape[1]), "series_by_component"
        columns[column] = values.transpose(0, 2, 1)
    else:
        features, column = row_features(meta["dim"]), "series"
        columns[column] = values
    schema = features.arrow_schema.with_metadata(schema_metadata(features))
    arrays = [series_array(columns[name], features[name]) if name == column
              else pa.array(columns[name], type=schema.field(name).type) for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema)


def write_parquet(table: pa.Table, ledger: Ledger, rel: str, row_group_size: int) -> dict[str, Any]:
    """Write one Parquet file at `rel` under the ledger's folder with the export's encodings,
    atomically (readers never see half a file): dictionaries for the string columns, byte-stream
    split for the series' floats. Returns its ledger entry (size, SHA-256)."""
    strings = [f.name for f in table.schema if pa.types.is_string(f.type)]
    leaves = [f"{f.name}.list.element.list.element" for f in table.schema if isinstance(f.type, pa.ExtensionType)]
    with ledger.writing(rel) as tmp:
        pq.write_table(table, tmp, row_group_size=row_group_size, compression=COMPRESSION,
                       compression_level=COMPRESSION_LEVEL, use_dictionary=strings, use_byte_stream_split=leaves)
    return ledger.written[rel]


def export_ledger(store: Store, out: Path, ledger: Ledger | None) -> tuple[Ledger, bool]:
    """The ledger an export writes through: the caller's (a staging, which commits it), or the
    folder's own record (`owned.RECORD`), committed by the export; True when the export owns it."""
    if ledger is not None:
        return ledger, False
    return Ledger(out, RECORD, source=store.path), True


def export_parquet(store: Store | str | os.PathLike, out: str | os.PathLike,
                   systems: Sequence[str] | str | None = None, *, shard_bytes: int = SHARD_BYTES,
                   row_group_bytes: int = ROW_GROUP_BYTES, check: bool = True,
                   ledger: Ledger | None = None) -> ExportReport:
    """Write the Parquet tree of `systems` (default: all) of `store` under `out/data/`.

    Returns an `ExportReport` with every file (rows, bytes, SHA-256) and one `ConfigEntry` per
    (system, granularity) for the card's `configs:` and `dataset_info:`. Only files chaosdata
    wrote are replaced or deleted (`chaosdata.owned`): an `out` overlapping the store, or a file
    of the user's at a path to write, is refused before anything is written; files of an exported
    system that an earlier export wrote and this one did not (an older sharding) are removed, any
    other file there is left (`report.left`). With `check` (the default) every file is read back
    and compared with the store's manifest checksums (`chaosdata.export.check`); a mismatch
    raises `ChecksumError`. `ledger`: a staging's, which then records the files (and commits);
    by default the folder's own record is written last.
    """
    from chaosdata.export.check import check_parquet  # check imports this module's path helpers

    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    if shard_bytes < 1 or row_group_bytes < 1:
        raise InvalidInputError(f"shard_bytes and row_group_bytes must be positive, got {shard_bytes}, {row_group_bytes}")
    ledger, commit = export_ledger(store, out, ledger)
    names = store.select(systems)
    ledger.claim(*planned_paths(store_shapes(store, names), shard_bytes))  # before anything is written
    started = time.perf_counter()
    files: list[ExportedFile] = []
    configs: list[ConfigEntry] = []
    removed: list[str] = []
    series_bytes = 0
    for system in names:
        by_granularity: dict[str, list[SplitSource]] = {}
        for source in system_sources(store, system):
            by_granularity.setdefault(source.granularity, []).append(source)
        for gran, sources in by_granularity.items():
            meta = sources[0].attrs["system"]
            data_files, examples, nbytes = {}, {}, {}
            for source in sources:
                n_traj, n_time, dim = source.series.shape
                row_bytes = n_time * dim * np.dtype(SERIES_DTYPE).itemsize
                ranges = shard_ranges(n_traj, n_time, dim, shard_bytes)
                hf = HF_SPLITS[source.split]
                paths = []
                for shard, (lo, hi) in enumerate(ranges):
                    rel = parquet_path(system, gran, hf, shard, len(ranges))
                    entry = write_parquet(split_table(source, lo, hi), ledger, rel, rows_per(row_group_bytes, row_bytes))
                    files.append(ExportedFile(rel, system, gran, hf, hi - lo, entry["size"], entry["sha256"]))
                    paths.append(rel)
                series_bytes += n_traj * row_bytes
                data_files[hf] = tuple(paths)
                examples[hf] = n_traj
                nbytes[hf] = sum(f.bytes for f in files if f.path in paths)
            configs.append(ConfigEntry(config_name(system, gran), system, gran, data_files,
                                       row_features(meta["dim"]), examples, nbytes))
        removed += ledger.prune(f"{DATA_DIR}/{system}")
    report = ExportReport("parquet", out, tuple(files), tuple(configs), tuple(removed),
                          time.perf_counter() - started, series_bytes)
    if check:
        started = time.perf_counter()
        check_parquet(store, report, strict=True)
        report = dataclasses.replace(report, check_seconds=time.perf_counter() - started)
    if commit:
        ledger.commit()
    return dataclasses.replace(report, left=tuple(ledger.left))
