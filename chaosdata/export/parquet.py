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

import hashlib
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chaosdata.errors import InvalidInputError
from chaosdata.export.features import (HF_SPLITS, SERIES_DTYPE, config_name, parameters_json, row_features,
                                       scalar_invariants, schema_metadata)
from chaosdata.export.report import ConfigEntry, ExportedFile, ExportReport
from chaosdata.store import Store, open_store
from chaosdata.store.config import SPLITS

DATA_DIR = "data"
SHARD_BYTES = 256 << 20  # uncompressed series bytes per file (the Hub wants files under 500 MB)
ROW_GROUP_BYTES = 32 << 20  # uncompressed series bytes per row group (the viewer wants well under 300 MB)
COMPRESSION = "zstd"
COMPRESSION_LEVEL = 3


def shard_name(split: str, shard: int, n_shards: int) -> str:
    """`train-00000-of-00002.parquet`: the Hub's shard naming, `split` a Hugging Face name."""
    return f"{split}-{shard:05d}-of-{n_shards:05d}.parquet"


def parquet_path(system: str, granularity: str, split: str, shard: int = 0, n_shards: int = 1) -> str:
    """Relative path of one shard, e.g. `data/Lorenz/fine/validation-00000-of-00001.parquet`."""
    return f"{DATA_DIR}/{system}/{granularity}/{shard_name(split, shard, n_shards)}"


def rows_per(limit_bytes: int, row_bytes: int) -> int:
    """How many whole rows of `row_bytes` fit in `limit_bytes` (at least one)."""
    return max(1, limit_bytes // max(1, row_bytes))


def series_array(values: np.ndarray, dim: int) -> pa.ExtensionArray:
    """`[rows, time, dim]` float32 as the `Array2D(shape=(None, dim))` column `datasets` declares."""
    rows, n_time = values.shape[0], values.shape[1]
    flat = pa.array(np.ascontiguousarray(values, dtype=SERIES_DTYPE).reshape(-1))
    inner = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * n_time * dim + 1, dim, dtype=np.int32)), flat)
    outer = pa.ListArray.from_arrays(pa.array(np.arange(0, rows * n_time + 1, n_time, dtype=np.int32)), inner)
    ext_type = row_features(dim, 1)["series"]()
    return pa.ExtensionArray.from_storage(ext_type, outer)


def split_table(store: Store, system: str, granularity: str, split: str, lo: int = 0, hi: int | None = None) -> pa.Table:
    """Rows `lo:hi` of one store split (`split`: train, val or test) as a table with the
    declared schema (`row_features`) and its metadata."""
    attrs = store.attrs(system)
    meta = attrs["system"]
    z = store.array(system, granularity, split)
    hi = z.shape[0] if hi is None else hi
    values = z[lo:hi]
    var = {k: v[lo:hi] for k, v in store.variables(system, granularity, split).items()}
    grid = store.time(system, granularity)
    gran = store._granularity(system, granularity)
    features = row_features(meta["dim"], meta["state_dim"])
    n = hi - lo
    invariants = scalar_invariants(attrs.get("invariants"))
    columns = {
        "system": [system] * n, "granularity": [gran] * n, "split": [HF_SPLITS[split]] * n,
        "trajectory": var["trajectory"].astype(np.int64),
        "t0": np.full(n, float(grid["t0"])), "dt": np.full(n, float(grid["dt"])),
        "n_points": np.full(n, values.shape[1], dtype=np.int64),
        "valid": var["valid"].astype(bool), "failure": [str(f) for f in var["failure"]],
        "resampled": var["resampled"].astype(np.int64),
        "initial_condition": list(np.asarray(var["initial_condition"], dtype=np.float64)),
        "start_state": list(np.asarray(var["start_state"], dtype=np.float64)),
        "n_accepted": var["n_accepted"].astype(np.int64), "n_rejected": var["n_rejected"].astype(np.int64),
        "parameters": [parameters_json(meta["parameters"])] * n,
    }
    columns.update({k: [v] * n for k, v in invariants.items()})
    schema = features.arrow_schema.with_metadata(schema_metadata(features))
    arrays = [series_array(values, meta["dim"]) if name == "series" else pa.array(columns[name], type=schema.field(name).type)
              for name in schema.names]
    return pa.Table.from_arrays(arrays, schema=schema)


def _write_atomic(table: pa.Table, path: Path, row_group_size: int) -> None:
    """Write a Parquet file under a temporary name, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp, row_group_size=row_group_size, compression=COMPRESSION,
                   compression_level=COMPRESSION_LEVEL, use_byte_stream_split=["series"])
    os.replace(tmp, path)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def resolve_systems(store: Store, systems: Sequence[str] | str | None) -> list[str]:
    """The store's spelling of `systems` (None: every system of the store), sorted."""
    if systems is None:
        return store.systems
    if isinstance(systems, str):
        systems = [s for s in systems.split(",") if s]
    if not systems:
        raise InvalidInputError("systems is empty: name at least one system of the store, or pass None for all")
    return sorted({store._resolve(s) for s in systems})


def export_parquet(store: Store | str | os.PathLike, out: str | os.PathLike,
                   systems: Sequence[str] | str | None = None, *, shard_bytes: int = SHARD_BYTES,
                   row_group_bytes: int = ROW_GROUP_BYTES, check: bool = True) -> ExportReport:
    """Write the Parquet tree of `systems` (default: all) of `store` under `out/data/`.

    Returns an `ExportReport` with every file (rows, bytes, SHA-256) and one `ConfigEntry` per
    (system, granularity) for the card's `configs:` and `dataset_info:`. Files of an exported
    system that this export did not write (an older sharding) are removed. With `check` (the
    default) every file is read back and compared with the store's manifest checksums
    (`chaosdata.export.check`); a mismatch raises `ChecksumError`.
    """
    from chaosdata.export.check import check_parquet  # check imports this module's path helpers

    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    if shard_bytes < 1 or row_group_bytes < 1:
        raise InvalidInputError(f"shard_bytes and row_group_bytes must be positive, got {shard_bytes}, {row_group_bytes}")
    started = time.perf_counter()
    files: list[ExportedFile] = []
    configs: list[ConfigEntry] = []
    removed: list[str] = []
    series_bytes = 0
    for system in resolve_systems(store, systems):
        meta = store.attrs(system)["system"]
        written: set[str] = set()
        for gran in store.granularities(system):
            data_files, examples, nbytes = {}, {}, {}
            for split in SPLITS:
                z = store.array(system, gran, split)
                n_traj, n_time, dim = z.shape
                row_bytes = n_time * dim * np.dtype(SERIES_DTYPE).itemsize
                per_shard = rows_per(shard_bytes, row_bytes)
                n_shards = max(1, math.ceil(n_traj / per_shard))
                hf = HF_SPLITS[split]
                paths = []
                for shard in range(n_shards):
                    lo, hi = shard * per_shard, min(n_traj, (shard + 1) * per_shard)
                    rel = parquet_path(system, gran, hf, shard, n_shards)
                    _write_atomic(split_table(store, system, gran, split, lo, hi), out / rel,
                                  rows_per(row_group_bytes, row_bytes))
                    size = (out / rel).stat().st_size
                    files.append(ExportedFile(rel, system, gran, hf, hi - lo, size, _sha256(out / rel)))
                    paths.append(rel)
                    written.add(rel)
                series_bytes += n_traj * row_bytes
                data_files[hf] = tuple(paths)
                examples[hf] = n_traj
                nbytes[hf] = sum(f.bytes for f in files if f.path in paths)
            configs.append(ConfigEntry(config_name(system, gran), system, gran, data_files,
                                       row_features(meta["dim"], meta["state_dim"]), examples, nbytes))
        system_dir = out / DATA_DIR / system
        for path in sorted(system_dir.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in written:
                path.unlink()
                removed.append(rel)
    report = ExportReport("parquet", out, tuple(files), tuple(configs), tuple(removed),
                          time.perf_counter() - started, series_bytes)
    if check:
        check_parquet(store, report, strict=True)
    return report
