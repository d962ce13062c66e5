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

import os
from collections.abc import Sequence
from dataclasses import dataclass

import datasets
import pyarrow as pa

from chaosdata.export.base import Sources, run
from chaosdata.export.check import check_combined
from chaosdata.export.features import combined_config_name, combined_features
from chaosdata.export.layout import ROW_GROUP_BYTES, SHARD_BYTES, Plan, PlannedFile, SplitShape, combined_plan
from chaosdata.export.parquet import ParquetExport, split_table, write_parquet
from chaosdata.export.report import ExportReport
from chaosdata.owned import Ledger
from chaosdata.store import Store


@dataclass(frozen=True)
class CombinedExport(ParquetExport):
    """Every system of a granularity in one config (`layout.combined_plan`): Parquet files of the
    same sizes and encodings, rows of several systems each, series transposed."""

    format = "parquet-combined"

    def plan(self, shapes: Sequence[SplitShape], *, every_system: bool) -> Plan:
        return combined_plan(shapes, self.shard_bytes, self.row_group_bytes, prune=every_system)

    def write(self, planned: PlannedFile, sources: Sources, ledger: Ledger) -> None:
        table = pa.concat_tables([split_table(sources[p.system, p.granularity, p.split], p.lo, p.hi, combined=True)
                                  for p in planned.parts])
        write_parquet(table, ledger, planned.path, planned.row_group_rows)

    def config(self, planned: PlannedFile) -> tuple[str, datasets.Features]:
        return combined_config_name(planned.granularity), combined_features(planned.parts[0].shape[1])

    def check(self, store: Store, report: ExportReport, names: Sequence[str]) -> None:
        check_combined(store, report, names, strict=True)


def export_combined(store: Store | str | os.PathLike, out: str | os.PathLike,
                    systems: Sequence[str] | str | None = None, *, shard_bytes: int = SHARD_BYTES,
                    row_group_bytes: int = ROW_GROUP_BYTES, check: bool = True,
                    ledger: Ledger | None = None) -> tuple[ExportReport, dict[str, str]]:
    """Write one config per qualifying granularity holding all `systems` (default: the store's)
    under `out/combined/`. Returns the report (files, `configs` named `all_<granularity>`) and
    the granularities left out with the reason (also `report.skipped`). Files are replaced or
    deleted only when chaosdata wrote them, as in `export_parquet`. With `check` every file is
    read back and each system's rows compared with the manifest checksums (`check.check_combined`)."""
    report = run(CombinedExport(shard_bytes, row_group_bytes), store, out, systems, check=check, ledger=ledger)
    return report, report.skipped
