"""Parquet configs holding every system of one granularity: `all_coarse`, `all_fine`, `all_iteration`.

```
<out>/combined/<granularity>/<split>-<shard:05d>-of-<n:05d>.parquet
```
Rows are the per-system rows of `chaosdata.export.parquet` (systems in name order, then
trajectories), with `dim` added and the series stored transposed, `series_by_component`
`[component, time]` as `Array2D(shape=(None, n_time))`: systems differ in dimension, and
`Array2D` allows a variable first axis only (`features.combined_features`). A granularity
qualifies only when all its systems share one length: `coarse` and `fine` (a fixed number of
points per period over a fixed number of periods) and maps' `iteration` do; `lyapunov` does not
(its length follows each system's Lyapunov time) and is left out, with the reason in `skipped`.

These files repeat the per-system Parquet's data, so they double its size in a repo; whether to
publish them is the publisher's choice (`export_combined` is separate from `export_parquet`).
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa

from chaosdata.errors import InvalidInputError
from chaosdata.export.features import HF_SPLITS, SERIES_DTYPE, combined_config_name, combined_features
from chaosdata.export.parquet import ROW_GROUP_BYTES, SHARD_BYTES, export_ledger, rows_per, shard_name, split_table, write_parquet
from chaosdata.export.report import ConfigEntry, ExportedFile, ExportReport
from chaosdata.export.source import SplitSource, system_sources
from chaosdata.owned import Ledger
from chaosdata.store import Store, open_store
from chaosdata.store.config import SPLITS

COMBINED_DIR = "combined"


def combined_path(granularity: str, split: str, shard: int = 0, n_shards: int = 1) -> str:
    """`combined/fine/train-00000-of-00001.parquet` (`split` a Hugging Face name)."""
    return f"{COMBINED_DIR}/{granularity}/{shard_name(split, shard, n_shards)}"


def pack(pieces: Sequence[tuple[int, int]], shard_bytes: int) -> list[list[tuple[int, int, int]]]:
    """Greedy shards over `pieces` `(rows, bytes per row)` taken in order: each shard a list of
    `(piece, lo, hi)` row ranges, at most `shard_bytes` (at least one row per shard)."""
    shards: list[list[tuple[int, int, int]]] = [[]]
    used = 0
    for k, (rows, row_bytes) in enumerate(pieces):
        lo = 0
        while lo < rows:
            fit = max(0, (shard_bytes - used) // max(1, row_bytes))
            if fit == 0 and shards[-1]:
                shards.append([])
                used = 0
                continue
            hi = min(rows, lo + max(1, fit))
            shards[-1].append((k, lo, hi))
            used += (hi - lo) * row_bytes
            lo = hi
    return [s for s in shards if s]


def plan(store: Store, names: Sequence[str]) -> tuple[dict[str, list[SplitSource]], dict[str, str]]:
    """Sources per qualifying granularity (systems in name order, each split), and the reasons
    the other granularities were left out."""
    by_gran: dict[str, list[SplitSource]] = {}
    for name in names:
        for source in system_sources(store, name):
            by_gran.setdefault(source.granularity, []).append(source)
    kept, skipped = {}, {}
    for gran, sources in sorted(by_gran.items()):
        why = why_not_combined({s.system: s.series.shape[1] for s in sources})
        if why:
            skipped[gran] = why
        else:
            kept[gran] = sources
    return kept, skipped


def why_not_combined(lengths: dict[str, int]) -> str | None:
    """Why systems of these lengths (points per trajectory) cannot share a config, or None."""
    distinct = sorted(set(lengths.values()))
    if len(distinct) <= 1:
        return None
    return (f"its systems differ in length ({distinct[0]}..{distinct[-1]} points over {len(lengths)} systems); "
            "a combined config needs one length")


def export_combined(store: Store | str | os.PathLike, out: str | os.PathLike,
                    systems: Sequence[str] | str | None = None, *, shard_bytes: int = SHARD_BYTES,
                    row_group_bytes: int = ROW_GROUP_BYTES, check: bool = True,
                    ledger: Ledger | None = None) -> tuple[ExportReport, dict[str, str]]:
    """Write one config per qualifying granularity holding all `systems` (default: the store's)
    under `out/combined/`. Returns the report (files, `configs` named `all_<granularity>`) and
    the granularities left out with the reason. Files are replaced or deleted only when
    chaosdata wrote them, as in `export_parquet`. With `check` every file is read back and each
    system's rows compared with the manifest checksums (`check.check_combined`)."""
    from chaosdata.export.check import check_combined

    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    if shard_bytes < 1 or row_group_bytes < 1:
        raise InvalidInputError(f"shard_bytes and row_group_bytes must be positive, got {shard_bytes}, {row_group_bytes}")
    ledger, commit = export_ledger(store, out, ledger)
    started = time.perf_counter()
    names = store.select(systems)
    kept, skipped = plan(store, names)
    files, configs, series_bytes = [], [], 0
    itemsize = np.dtype(SERIES_DTYPE).itemsize
    for gran, sources in kept.items():
        n_time = sources[0].series.shape[1]
        data_files, examples, nbytes = {}, {}, {}
        for split in SPLITS:
            hf = HF_SPLITS[split]
            part = [s for s in sources if s.split == split]
            pieces = [(s.series.shape[0], n_time * s.series.shape[2] * itemsize) for s in part]
            shards = pack(pieces, shard_bytes)
            paths = []
            for k, shard in enumerate(shards):
                table = pa.concat_tables([split_table(part[i], lo, hi, combined=True) for i, lo, hi in shard])
                rel = combined_path(gran, hf, k, len(shards))
                biggest = max(pieces[i][1] for i, _, _ in shard)
                entry = write_parquet(table, ledger, rel, rows_per(row_group_bytes, biggest))
                files.append(ExportedFile(rel, "all", gran, hf, table.num_rows, entry["size"], entry["sha256"]))
                paths.append(rel)
            series_bytes += sum(r * b for r, b in pieces)
            data_files[hf] = tuple(paths)
            examples[hf] = sum(r for r, _ in pieces)
            nbytes[hf] = sum(f.bytes for f in files if f.path in paths)
        configs.append(ConfigEntry(combined_config_name(gran), "all", gran, data_files, combined_features(n_time),
                                   examples, nbytes))
    removed = ledger.prune(COMBINED_DIR) if systems is None else []
    report = ExportReport("parquet-combined", out, tuple(files), tuple(configs), tuple(removed),
                          time.perf_counter() - started, series_bytes)
    if check:
        started = time.perf_counter()
        check_combined(store, out, names, strict=True)
        report = dataclasses.replace(report, check_seconds=time.perf_counter() - started)
    if commit:
        ledger.commit()
    return dataclasses.replace(report, left=tuple(ledger.left)), skipped
