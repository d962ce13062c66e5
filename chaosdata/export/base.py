"""The one export loop: plan, write each file, check; a format is a small `Exporter` subclass.

In the manner of `datasets`' `ArrowBasedBuilder`: the format says which files it writes (`plan`,
from the store's shapes: `chaosdata.export.layout`), how to write one (`write`), the `datasets`
config a file belongs to (`config`; none for HDF5) and how to read the files back (`check`);
`run` does the rest the same way for every format:

1. the ledger (`chaosdata.owned`): the caller's (a staging's), or the output folder's own record;
   an output folder overlapping the store is refused;
2. every planned path claimed before anything is written (a file of the user's there is refused);
3. the files written batch by batch (a batch's systems opened once), each atomically and recorded,
   then what an earlier export wrote in the batch's folder and this one did not is deleted;
4. with `check`, every file read back and compared with the store's manifest checksums;
5. the folder's record committed last (when the export owns the ledger).
"""

from __future__ import annotations

import dataclasses
import os
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import ClassVar

import datasets

from chaosdata.export.layout import Plan, PlannedFile, SplitShape, split_shapes
from chaosdata.export.report import ConfigEntry, ExportedFile, ExportReport
from chaosdata.export.source import SplitSource, system_sources
from chaosdata.owned import RECORD, Ledger
from chaosdata.store import Store, open_store
from chaosdata.store.config import HF_SPLITS

# (system, granularity, store split) -> that split, opened
Sources = Mapping[tuple[str, str, str], SplitSource]


class Exporter(ABC):
    """One export format; instances hold its settings (sizes, chunking), checked on construction."""

    format: ClassVar[str]  # the report's name of the format

    @abstractmethod
    def plan(self, shapes: Sequence[SplitShape], *, every_system: bool) -> Plan:
        """The files to write for the splits `shapes`; `every_system`: the export is of the whole store."""

    @abstractmethod
    def write(self, planned: PlannedFile, sources: Sources, ledger: Ledger) -> None:
        """Write one planned file through `ledger.writing(planned.path)` (atomic, recorded)."""

    def config(self, planned: PlannedFile) -> tuple[str, datasets.Features] | None:
        """The `datasets` config (name, features) the file belongs to; None: the format has none."""
        return None

    @abstractmethod
    def check(self, store: Store, report: ExportReport, names: Sequence[str]) -> None:
        """Read the files of `report` back; raise `ChecksumError` naming the first difference."""


def export_ledger(store: Store, out: Path, ledger: Ledger | None) -> tuple[Ledger, bool]:
    """The ledger an export writes through: the caller's (a staging, which commits it), or the
    folder's own record (`owned.RECORD`), committed by the export; True when the export owns it."""
    if ledger is not None:
        return ledger, False
    return Ledger(out, RECORD, source=store.path), True


def config_entries(exporter: Exporter, plan: Plan, files: Sequence[ExportedFile]) -> tuple[ConfigEntry, ...]:
    """One `ConfigEntry` per config of the planned files, in plan order: each Hugging Face split's
    files (in shard order), rows and file bytes."""
    by_config: dict[str, tuple[PlannedFile, datasets.Features, list[ExportedFile]]] = {}
    for planned, written in zip(plan.files, files, strict=True):
        config = exporter.config(planned)
        if config is not None:
            by_config.setdefault(config[0], (planned, config[1], []))[2].append(written)
    entries = []
    for name, (first, features, members) in by_config.items():
        per_split = {hf: [f for f in members if f.split == hf] for hf in HF_SPLITS.values()}
        entries.append(ConfigEntry(name, first.system, first.granularity,
                                   {hf: tuple(f.path for f in fs) for hf, fs in per_split.items()}, features,
                                   {hf: sum(f.rows for f in fs) for hf, fs in per_split.items()},
                                   {hf: sum(f.bytes for f in fs) for hf, fs in per_split.items()}))
    return tuple(entries)


def run(exporter: Exporter, store: Store | str | os.PathLike, out: str | os.PathLike,
        systems: Sequence[str] | str | None = None, *, check: bool = True, ledger: Ledger | None = None) -> ExportReport:
    """Export `systems` (default: all) of `store` under `out` in `exporter`'s format (steps in the
    module's docstring). Returns the report: files (rows, bytes, SHA-256), configs, removed and
    left files, the granularities left out with the reason, seconds."""
    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    ledger, commit = export_ledger(store, out, ledger)
    names = store.select(systems)
    plan = exporter.plan(split_shapes(store, names), every_system=systems is None)
    ledger.claim(*plan.paths)  # before anything is written
    started = time.perf_counter()
    files: list[ExportedFile] = []
    removed: list[str] = []
    for batch in plan.batches:
        sources = {(s.system, s.granularity, s.split): s for name in batch.systems for s in system_sources(store, name)}
        for planned in batch.files:
            exporter.write(planned, sources, ledger)
            entry = ledger.written[planned.path]
            files.append(ExportedFile(planned.path, planned.system, planned.granularity, planned.split, planned.rows,
                                      entry["size"], entry["sha256"]))
        if batch.prune is not None:
            removed += ledger.prune(batch.prune)
    report = ExportReport(exporter.format, out, tuple(files), config_entries(exporter, plan, files), tuple(removed),
                          time.perf_counter() - started, plan.series_bytes, skipped=dict(plan.skipped))
    if check:
        started = time.perf_counter()
        exporter.check(store, report, names)
        report = dataclasses.replace(report, check_seconds=time.perf_counter() - started)
    if commit:
        ledger.commit()
    return dataclasses.replace(report, left=tuple(ledger.left))
