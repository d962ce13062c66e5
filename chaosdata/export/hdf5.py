"""HDF5 export: one file per (system, granularity, split), the store's split group as a file.

```
<out>/hdf5/<System>/<granularity>/<split>.h5     e.g. hdf5/Lorenz/fine/validation.h5
  series             [trajectory, time, component] float32, chunks of 1 x chunk_time x dim, gzip + shuffle
  trajectory, valid, failure, resampled, n_accepted, n_rejected      [trajectory]
  initial_condition, start_state                                     [trajectory, state] float64
  variant            [trajectory] int64                 corpus stores only: the row's variant id
  parameters         [trajectory, parameter] float64    corpus stores only: the row's own parameter values,
                     attrs: parameter (the column names, strings: `rho`, or `k[0,1]` for a matrix element)
  attrs: system, invariants, generation, provenance (JSON, as in the store's system group),
         time ({t0, dt, n}), normalization, recipe (JSON, the granularity group's),
         granularity, split (Hugging Face name), store_split, config_hash, code_hash,
         sha256 (JSON: the manifest's checksum of each variable),
         corpus (corpus stores only; JSON, the system group's: every screened variant with its
         parameters and verdict, `variant` ids index its `variants`)
```

Why one file per split rather than per system or per release: the `hdf5` builder of
`datasets` (>= 4.1) turns a whole file into one table whose columns are its datasets, and
requires every dataset of the file to have the same first dimension. A file per split is the
only grouping that both `h5py` users (groups and attributes mirror the store: the folders are
the store's groups) and `datasets.load_dataset("hdf5", data_files=...)` read as they are, and
a user downloads one system alone. The time coordinate is the attribute `time` (a uniform grid),
not a dataset, since its first dimension is time, not trajectories; for the same reason the
parameter names of a corpus store are an attribute of `parameters`, not a `parameter` dataset
(the builder refuses a file whose datasets differ in length). The system's `parameters` in the
`system` attribute are the catalogue's; in a corpus store each row's own are in `parameters`.
At the full release this is 158 folders under `hdf5/`, <= 3 per system, 3 files per granularity.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from chaosdata import validate
from chaosdata.export.base import Exporter, Sources, run
from chaosdata.export.check import check_hdf5
from chaosdata.export.features import SERIES_DTYPE
from chaosdata.export.layout import Plan, PlannedFile, SplitShape, hdf5_plan
from chaosdata.export.report import ExportReport
from chaosdata.export.source import SplitSource
from chaosdata.owned import Ledger
from chaosdata.store import Store, open_store
from chaosdata.store.config import HF_SPLITS
from chaosdata.store.layout import SERIES, TRAJECTORY_VARIABLES

GZIP_LEVEL = 4


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def write_split(source: SplitSource, ledger: Ledger, rel: str, chunk_time: int, identity: dict[str, str]) -> int:
    """Write one store split to `rel` under the ledger's folder (atomically: a temporary name,
    then a rename; recorded); returns its rows. `identity` holds the store's `config_hash` and
    `code_hash`."""
    import h5py

    values = np.asarray(source.series[...])
    with ledger.writing(rel) as tmp:
        h5 = h5py.File(tmp, "w", track_order=True)
        try:
            fill_split(h5, source, values, chunk_time, identity)
        except BaseException:
            with contextlib.suppress(RuntimeError, OSError):  # a failed flush must not hide the first error
                h5.close()
            raise
        try:
            h5.close()
        except RuntimeError as err:  # h5py reports a failed flush (a full disk) as RuntimeError, errno in its text
            code = re.search(r"errno = (\d+)", str(err))
            if code is None:
                raise
            raise OSError(int(code.group(1)), os.strerror(int(code.group(1)))) from err
    return values.shape[0]


def fill_split(h5: Any, source: SplitSource, values: np.ndarray, chunk_time: int, identity: dict[str, str]) -> None:
    """The datasets and attributes of one split's file (see the module's layout)."""
    import h5py

    _, n_time, dim = values.shape
    h5.create_dataset(SERIES, data=values.astype(SERIES_DTYPE), chunks=(1, min(n_time, chunk_time), dim),
                      compression="gzip", compression_opts=GZIP_LEVEL, shuffle=True, track_times=False)
    for name in TRAJECTORY_VARIABLES:
        data = source.variables[name]
        if name == "failure":
            h5.create_dataset(name, data=np.array([str(v) for v in data], dtype=object),
                              dtype=h5py.string_dtype("utf-8"), track_times=False)
        else:
            h5.create_dataset(name, data=np.asarray(data), track_times=False)
    if "corpus" in source.attrs:
        h5.create_dataset("variant", data=np.asarray(source.variables["variant"], dtype=np.int64), track_times=False)
        params = h5.create_dataset("parameters", data=np.asarray(source.variables["parameters"], dtype=np.float64),
                                   track_times=False)
        params.attrs["parameter"] = np.array(source.parameter_names, dtype=h5py.string_dtype("utf-8"))
    for key in ("system", "invariants", "generation", "provenance"):
        h5.attrs[key] = _json(source.attrs.get(key))
    for key in ("time", "normalization", "recipe"):
        h5.attrs[key] = _json(source.granularity_attrs.get(key))
    h5.attrs["granularity"] = source.granularity
    h5.attrs["split"] = HF_SPLITS[source.split]
    h5.attrs["store_split"] = source.split
    for key, value in identity.items():
        h5.attrs[key] = value
    h5.attrs["sha256"] = _json({v: e["sha256"] for v, e in source.manifest.items()})
    if "corpus" in source.attrs:
        h5.attrs["corpus"] = _json(source.attrs["corpus"])


@dataclass(frozen=True)
class Hdf5Export(Exporter):
    """One file per split (`layout.hdf5_plan`); `identity` holds the store's `config_hash` and `code_hash`."""

    chunk_time: int
    identity: dict[str, str]
    format = "hdf5"

    def __post_init__(self) -> None:
        validate.count(self.chunk_time, "chunk_time", hint="points per chunk")

    def plan(self, shapes: Sequence[SplitShape], *, every_system: bool) -> Plan:
        return hdf5_plan(shapes)

    def write(self, planned: PlannedFile, sources: Sources, ledger: Ledger) -> None:
        (part,) = planned.parts
        write_split(sources[part.system, part.granularity, part.split], ledger, planned.path, self.chunk_time,
                    self.identity)

    def check(self, store: Store, report: ExportReport, names: Sequence[str]) -> None:
        check_hdf5(store, report, strict=True)


def export_hdf5(store: Store | str | os.PathLike, out: str | os.PathLike,
                systems: Sequence[str] | str | None = None, *, chunk_time: int | None = None,
                check: bool = True, ledger: Ledger | None = None) -> ExportReport:
    """Write `systems` (default: all) of `store` as HDF5 files under `out/hdf5/`.

    `chunk_time` defaults to the store's own chunk length along time. Files are replaced or
    deleted only when chaosdata wrote them, as in `export_parquet` (whose `ledger` this takes
    too). With `check` (the default) every file is read back with h5py and compared with the
    manifest checksums; a mismatch raises `ChecksumError`.
    """
    store = store if isinstance(store, Store) else open_store(store)
    chunk_time = store.config.storage.chunk_time if chunk_time is None else chunk_time
    identity = {"config_hash": store.manifest["config_hash"], "code_hash": store.manifest["code_hash"]}
    return run(Hdf5Export(chunk_time, identity), store, out, systems, check=check, ledger=ledger)
