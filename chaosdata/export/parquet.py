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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import datasets
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaosdata import validate
from chaosdata.export.base import Exporter, Sources, run
from chaosdata.export.check import check_parquet
from chaosdata.export.features import (
    SERIES_DTYPE,
    combined_features,
    config_name,
    row_features,
    scalar_invariants,
    schema_metadata,
)
from chaosdata.export.layout import ROW_GROUP_BYTES, SHARD_BYTES, Plan, PlannedFile, SplitShape, parquet_plan
from chaosdata.export.report import ExportReport
from chaosdata.export.source import SplitSource, row_parameters
from chaosdata.owned import Ledger
from chaosdata.store import Store
from chaosdata.store.config import HF_SPLITS

COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3
# the float32 values of the series are written byte-stream-split (bytes of equal rank together)
# and never dictionary encoded: on 100-period Lorenz trajectories the file holds 0.77 bytes per
# series byte; with pyarrow's defaults (a dictionary for every column) it held 1.25.


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
        features, column, series = combined_features(values.shape[1]), "series_by_component", values.transpose(0, 2, 1)
    else:
        features, column, series = row_features(meta["dim"]), "series", values
    schema = features.arrow_schema.with_metadata(schema_metadata(features))
    arrays = [series_array(series, features[name]) if name == column
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


@dataclass(frozen=True)
class ParquetExport(Exporter):
    """One row per trajectory, one config per (system, granularity): `layout.parquet_plan`."""

    shard_bytes: int = SHARD_BYTES
    row_group_bytes: int = ROW_GROUP_BYTES
    format = "parquet"

    def __post_init__(self) -> None:
        validate.count(self.shard_bytes, "shard_bytes", hint="uncompressed series bytes per file")
        validate.count(self.row_group_bytes, "row_group_bytes", hint="uncompressed series bytes per row group")

    def plan(self, shapes: Sequence[SplitShape], *, every_system: bool) -> Plan:
        return parquet_plan(shapes, self.shard_bytes, self.row_group_bytes)

    def write(self, planned: PlannedFile, sources: Sources, ledger: Ledger) -> None:
        (part,) = planned.parts
        table = split_table(sources[part.system, part.granularity, part.split], part.lo, part.hi)
        write_parquet(table, ledger, planned.path, planned.row_group_rows)

    def config(self, planned: PlannedFile) -> tuple[str, datasets.Features]:
        return config_name(planned.system, planned.granularity), row_features(planned.parts[0].shape[2])

    def check(self, store: Store, report: ExportReport, names: Sequence[str]) -> None:
        check_parquet(store, report, strict=True)


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
    return run(ParquetExport(shard_bytes, row_group_bytes), store, out, systems, check=check, ledger=ledger)
