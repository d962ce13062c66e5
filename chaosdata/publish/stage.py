"""Stage a Hub repo folder from a store: the store itself, its Parquet export, the cards, metadata JSON.

```
<staged>/
  README.md                        the repo card (YAML header: configs; dataset_info if asked)
  manifest.json  builds.json  <System>.zip      the store, as built (chaosdata.load_dataset, zarr/xarray)
  data/<System>/<granularity>/<split>-NNNNN-of-NNNNN.parquet   one config per (system, granularity)
  hdf5/<System>/<granularity>/<split>.h5                       only with `Contents(hdf5=True)`
  cards/<System>.md  cards/img/*.png                           per-system pages and pictures
  metadata/{catalogue,invariants,config}.json  config.toml  manifest.json
  metadata/staged.json             every other staged file with its size and SHA-256
```
`metadata/staged.json` is the staging's record of what chaosdata wrote (`chaosdata.owned`), written
last: a restaging replaces or deletes only files listed there (or in the journal of a run that
was stopped, which a rerun resumes) with the same SHA-256, and leaves any other file (a LICENSE
of the user's) where it is, naming it.
The store sits at the repo root because `chaosdata.load_dataset(source="owner/name")` fetches
`manifest.json` and `<System>.zip` from there. Staging verifies the store first
(nothing is staged from a store that fails its checksums), and `verify_staged` checks the
result before anything is uploaded.
"""

from __future__ import annotations

import filecmp
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosdata import validate
from chaosdata.cards import render_cards
from chaosdata.cards.render import card_files, check_results
from chaosdata.errors import InvalidInputError
from chaosdata.export import export_hdf5, export_parquet
from chaosdata.export.layout import hdf5_plan, parquet_plan, split_shapes
from chaosdata.owned import Ledger
from chaosdata.publish.errors import PublishError
from chaosdata.store.layout import system_file
from chaosdata.store.manifest import documents
from chaosdata.store.reader import Store, open_store

STAGED_INDEX = "metadata/staged.json"
MAX_FOLDER_ENTRIES = 10_000  # the Hub's limit of files and folders in one folder


@dataclass(frozen=True)
class StageReport:
    """A staged repo folder: its files (relative, `/`), total bytes, and seconds per phase."""

    root: Path
    files: dict[str, dict[str, Any]]  # path -> {"size", "sha256"}
    configs: tuple[Any, ...]  # the export's ConfigEntry objects
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def bytes(self) -> int:
        return sum(f["size"] for f in self.files.values())


def _copy_store_file(ledger: Ledger, src: Path, rel: str) -> None:
    """Copy the store's file `src` to `rel` (recorded), unless an identical file is there."""
    dst = ledger.root / rel
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and filecmp.cmp(src, dst, shallow=False):
        ledger.wrote(rel)  # the same bytes: nothing of anyone's is replaced
        return
    with ledger.writing(rel) as tmp:
        shutil.copyfile(src, tmp)


def store_files(store: Store, names: Sequence[str]) -> list[str]:
    """The store's files to stage (relative paths): the metadata documents (the root's, and a
    corpus's driver indexes) and one file per system."""
    return [f for f in documents(names) if (store.path / f).is_file()] + [system_file(name) for name in names]


def _check_target(ledger: Ledger) -> None:
    """Refuse a folder holding files but no earlier staging (no record, no journal of a stopped one)."""
    out = ledger.root
    if out.is_dir() and not ledger.exists and next((p for p in out.rglob("*") if p.is_file()), None) is not None:
        raise InvalidInputError(f"the staging folder {out} is not empty and holds no earlier staging "
                                f"({STAGED_INDEX}); give an empty or new folder")


@dataclass(frozen=True)
class Contents:
    """What a staging holds, checked once: `systems` (a subset, or None for all; the manifest
    still lists the whole store), the benchmark `results` the cards quote (a results.csv or its
    folder), the HDF5 export (`hdf5`), the cards' `dataset_info` YAML, and `workers`, the
    processes drawing the pictures."""

    systems: Sequence[str] | None = None
    results: str | os.PathLike | None = None
    hdf5: bool = False
    workers: int = 1
    dataset_info: bool = False

    def __post_init__(self) -> None:
        if self.systems is not None:
            object.__setattr__(self, "systems", tuple(validate.names(self.systems, "systems",
                                                                     hint="the store's system names, or None for all")))
        check_results(self.results)
        object.__setattr__(self, "hdf5", validate.flag(self.hdf5, "hdf5", hint="True: export HDF5 too"))
        object.__setattr__(self, "workers", validate.count(self.workers, "workers", hint="processes drawing the pictures"))
        object.__setattr__(self, "dataset_info", validate.flag(self.dataset_info, "dataset_info",
                                                               hint="True: the card's YAML holds dataset_info"))


def stage(store: Store | str | os.PathLike, out: str | os.PathLike, *, repo_id: str | None = None,
          contents: Contents | None = None, log: Any = None) -> StageReport:
    """Stage the repo folder of `store` in `out` (created; an earlier staging is updated in place),
    holding `contents` (a `Contents`; default `Contents()`: every system, Parquet, the cards).

    Verifies the store against its manifest first (`PublishError` naming the first mismatch;
    then nothing is written), copies the store, exports Parquet (and HDF5 with `contents.hdf5`),
    renders the cards, deletes the files an earlier staging wrote that are no longer part of it,
    and writes `metadata/staged.json` last. Files chaosdata did not write are never replaced or
    deleted (`chaosdata.owned`).
    """
    log = log or (lambda msg: None)
    store = store if isinstance(store, Store) else open_store(store)
    contents = Contents() if contents is None else validate.instance(
        contents, "contents", Contents, hint="e.g. Contents(systems=['Lorenz'], hdf5=True)")
    ledger = Ledger(out, STAGED_INDEX, source=store.path, option="the staging folder")
    _check_target(ledger)
    names = store.select(contents.systems)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    log(f"verifying {len(names)} systems of {store.path} against the manifest")
    report = store.verify(names, data=True)
    if not report.ok:
        raise PublishError(f"the store at {store.path} fails verification: {report.first} "
                           f"({len(report.problems)} problem(s)); nothing was staged or uploaded. "
                           "Rebuild the damaged systems with `chaosdata generate` (same config) first.")
    seconds["verify_store"] = time.perf_counter() - t
    # a file of the user's at a path to write is refused before anything is written (store copies
    # are checked as they go: a file with the store's own bytes is taken as it is)
    shapes = split_shapes(store, names)
    ledger.claim(*parquet_plan(shapes).paths, *(hdf5_plan(shapes).paths if contents.hdf5 else ()),
                 *card_files(names, {n: store.attrs(n) for n in names}))

    t = time.perf_counter()
    for rel in store_files(store, names):
        _copy_store_file(ledger, store.path / rel, rel)
    seconds["copy_store"] = time.perf_counter() - t

    t = time.perf_counter()
    log("exporting Parquet (read back and checked against the manifest)")
    parquet = export_parquet(store, ledger.root, names, ledger=ledger)
    seconds["export_parquet"] = time.perf_counter() - t
    if contents.hdf5:
        t = time.perf_counter()
        log("exporting HDF5")
        export_hdf5(store, ledger.root, names, ledger=ledger)
        seconds["export_hdf5"] = time.perf_counter() - t

    t = time.perf_counter()
    log("rendering the cards and pictures")
    render_cards(store, ledger.root, configs=parquet.configs, repo_id=repo_id, results=contents.results, systems=names,
                 workers=contents.workers, store_staged=True, dataset_info=contents.dataset_info, ledger=ledger)
    seconds["cards"] = time.perf_counter() - t

    t = time.perf_counter()
    ledger.prune()  # what an earlier staging wrote and this one did not
    record = ledger.commit(config_hash=store.manifest["config_hash"], config_name=store.config.name, systems=names)
    if ledger.left:
        log(f"left {len(ledger.left)} file(s) that chaosdata did not write (or that changed since) in "
            f"{ledger.root}: {', '.join(ledger.left[:5])}{' ...' if len(ledger.left) > 5 else ''}")
    seconds["index"] = time.perf_counter() - t
    return StageReport(ledger.root, record["files"], tuple(parquet.configs), seconds)


def staged_index(root: str | os.PathLike) -> dict[str, Any]:
    """The `metadata/staged.json` of a staged folder (read as the staging's `Ledger` reads it:
    one that is not JSON, or has no `files`, is an error naming it)."""
    path = Path(root) / STAGED_INDEX
    if not path.is_file():
        raise PublishError(f"{root} is not a staged repo folder (no {STAGED_INDEX}); stage it with "
                           "`chaosdata publish STORE --repo-id OWNER/NAME --dry-run DIR`")
    return Ledger(root, STAGED_INDEX).previous


__all__ = ["MAX_FOLDER_ENTRIES", "STAGED_INDEX", "StageReport", "stage", "staged_index", "store_files"]
