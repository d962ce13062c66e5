"""Stage a Hub repo folder from a store: the store itself, its Parquet export, the cards, metadata JSON.

```
<staged>/
  README.md                        the repo card (YAML header: configs; dataset_info if asked)
  zarr.json  manifest.json  builds.json  <System>/...    the Zarr store, as built (chaosdata.load_dataset, xarray)
  data/<System>/<granularity>/<split>-NNNNN-of-NNNNN.parquet   one config per (system, granularity)
  hdf5/<System>/<granularity>/<split>.h5                       only with `hdf5=True`
  cards/<System>.md  cards/img/*.png                           per-system pages and pictures
  metadata/{catalogue,invariants,config}.json  config.toml  manifest.json
  metadata/staged.json             every other staged file with its size and SHA-256
```
The store sits at the repo root because `chaosdata.load_dataset(source="owner/name")` fetches
`manifest.json`, `zarr.json` and `<System>/**` from there. Staging verifies the store first
(nothing is staged from a store that fails its checksums), and `verify_staged` checks the
result before anything is uploaded.
"""

from __future__ import annotations

import filecmp
import hashlib
import json
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chaosdata.atomic import copy_file, write_text
from chaosdata.errors import InvalidInputError
from chaosdata.publish.errors import PublishError
from chaosdata.store.layout import BUILD_LOG, MANIFEST
from chaosdata.store.reader import Store, open_store

STAGED_INDEX = "metadata/staged.json"
ROOT_STORE_FILES = ("zarr.json", MANIFEST, BUILD_LOG)
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


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy `src` to `dst` unless an identical file is there; True if it copied."""
    if dst.is_file() and dst.stat().st_size == src.stat().st_size and filecmp.cmp(src, dst, shallow=False):
        return False
    copy_file(src, dst)
    return True


def store_files(store: Store, names: Sequence[str]) -> list[str]:
    """The store's files to stage (relative paths): root metadata and the systems' trees."""
    files = [f for f in ROOT_STORE_FILES if (store.path / f).is_file()]
    for name in names:
        files += [f"{name}/{rel}" for rel in sorted(store.manifest["systems"][name]["files"])]
    return files


def _check_target(out: Path) -> None:
    """Refuse a non-empty folder that is not an earlier staging (never delete someone's files)."""
    if out.exists() and not out.is_dir():
        raise InvalidInputError(f"the staging folder {out} is a file; give a folder (it is created)")
    if out.is_dir() and any(out.iterdir()) and not (out / STAGED_INDEX).is_file():
        raise InvalidInputError(f"the staging folder {out} is not empty and holds no earlier staging "
                                f"({STAGED_INDEX}); give an empty or new folder")


def stage(store: Store | str | os.PathLike, out: str | os.PathLike, *, repo_id: str | None = None,
          systems: Sequence[str] | None = None, results: str | os.PathLike | None = None, hdf5: bool = False,
          workers: int = 1, dataset_info: bool = False, log: Any = None) -> StageReport:
    """Stage the repo folder of `store` in `out` (created; an earlier staging is updated in place).

    Verifies the store against its manifest first (`PublishError` naming the first mismatch;
    then nothing is written), exports Parquet (and HDF5 with `hdf5`), renders the cards, writes
    `metadata/staged.json` and removes files of an earlier staging that are no longer part of it.
    `systems` publishes a subset (the manifest still lists the whole store).
    """
    from chaosdata.cards import render_cards
    from chaosdata.export import export_hdf5, export_parquet
    from chaosdata.export.parquet import remove_stale

    log = log or (lambda msg: None)
    store = store if isinstance(store, Store) else open_store(store)
    out = Path(out)
    _check_target(out)
    names = store.select(systems)
    seconds: dict[str, float] = {}

    t = time.perf_counter()
    log(f"verifying {len(names)} systems of {store.path} against the manifest")
    report = store.verify(names, data=True)
    if not report.ok:
        raise PublishError(f"the store at {store.path} fails verification: {report.first} "
                           f"({len(report.problems)} problem(s)); nothing was staged or uploaded. "
                           "Rebuild the damaged systems with `chaosdata generate` (same config) first.")
    seconds["verify_store"] = time.perf_counter() - t
    out.mkdir(parents=True, exist_ok=True)

    t = time.perf_counter()
    files: dict[str, dict[str, Any]] = {}
    for rel in store_files(store, names):
        _copy_if_changed(store.path / rel, out / rel)
        files[rel] = {"size": (out / rel).stat().st_size}
    seconds["copy_store"] = time.perf_counter() - t

    t = time.perf_counter()
    log("exporting Parquet (read back and checked against the manifest)")
    parquet = export_parquet(store, out, names)
    files.update({f.path: {"size": f.bytes, "sha256": f.sha256} for f in parquet.files})
    seconds["export_parquet"] = time.perf_counter() - t
    if hdf5:
        t = time.perf_counter()
        log("exporting HDF5")
        report_h5 = export_hdf5(store, out, names)
        files.update({f.path: {"size": f.bytes, "sha256": f.sha256} for f in report_h5.files})
        seconds["export_hdf5"] = time.perf_counter() - t

    t = time.perf_counter()
    log("rendering the cards and pictures")
    cards = render_cards(store, out, configs=parquet.configs, repo_id=repo_id, results=results, systems=names,
                         workers=workers, store_staged=True, dataset_info=dataset_info)
    files.update({rel: {"size": (out / rel).stat().st_size} for rel in cards.files})
    seconds["cards"] = time.perf_counter() - t

    t = time.perf_counter()
    for rel, entry in files.items():
        entry.setdefault("sha256", sha256_file(out / rel))
    remove_stale(out, out, set(files) | {STAGED_INDEX})  # left by an earlier staging
    index = {"config_hash": store.manifest["config_hash"], "config_name": store.config.name,
             "systems": names, "files": dict(sorted(files.items()))}
    write_text(out / STAGED_INDEX, json.dumps(index, indent=1, sort_keys=True) + "\n")
    seconds["index"] = time.perf_counter() - t
    return StageReport(out, dict(sorted(files.items())), tuple(parquet.configs), seconds)


def staged_index(root: str | os.PathLike) -> dict[str, Any]:
    """The `metadata/staged.json` of a staged folder."""
    path = Path(root) / STAGED_INDEX
    if not path.is_file():
        raise PublishError(f"{root} is not a staged repo folder (no {STAGED_INDEX}); stage it with "
                           "`chaosdata publish STORE --repo-id OWNER/NAME --dry-run DIR`")
    return json.loads(path.read_text())


__all__ = ["MAX_FOLDER_ENTRIES", "STAGED_INDEX", "StageReport", "sha256_file", "stage", "staged_index", "store_files"]
