"""Where the exports put their files, and which files an export writes: one place for both.

```
<out>/data/<System>/<granularity>/<split>-<shard:05d>-of-<n:05d>.parquet   export_parquet
<out>/hdf5/<System>/<granularity>/<split>.h5                               export_hdf5
<out>/combined/<granularity>/<split>-<shard:05d>-of-<n:05d>.parquet        export_combined
```
`split` is the Hugging Face name (train, validation, test). A plan is computed from the series
shapes of the store's splits alone, nothing read: so an export (or a staging) claims every path
before it writes one, the checks find the files, and a release's layout is known from its config
before it is built. The exporters (`base.Exporter`) write a plan's files; the checks read them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import groupby

import numpy as np

from chaosdata.export.features import SERIES_DTYPE
from chaosdata.store import Store
from chaosdata.store.config import HF_SPLITS, SPLITS
from chaosdata.store.layout import series_path

DATA_DIR = "data"
HDF5_DIR = "hdf5"
COMBINED_DIR = "combined"
SHARD_BYTES = 256 << 20  # uncompressed series bytes per Parquet file (the Hub wants files under 500 MB)
ROW_GROUP_BYTES = 32 << 20  # uncompressed series bytes per row group (the viewer wants well under 300 MB)
ITEMSIZE = np.dtype(SERIES_DTYPE).itemsize

# one store split: (system, granularity, store split name, series shape [trajectory, time, component])
SplitShape = tuple[str, str, str, Sequence[int]]


def shard_name(split: str, shard: int, n_shards: int) -> str:
    """`train-00000-of-00002.parquet`: the Hub's shard naming, `split` a Hugging Face name."""
    return f"{split}-{shard:05d}-of-{n_shards:05d}.parquet"


def parquet_path(system: str, granularity: str, split: str, shard: int = 0, n_shards: int = 1) -> str:
    """Relative path of one shard, e.g. `data/Lorenz/fine/validation-00000-of-00001.parquet`."""
    return f"{DATA_DIR}/{system}/{granularity}/{shard_name(split, shard, n_shards)}"


def hdf5_path(system: str, granularity: str, split: str) -> str:
    """Relative path of one split's file, `split` a Hugging Face name: `hdf5/Lorenz/fine/train.h5`."""
    return f"{HDF5_DIR}/{system}/{granularity}/{split}.h5"


def combined_path(granularity: str, split: str, shard: int = 0, n_shards: int = 1) -> str:
    """`combined/fine/train-00000-of-00001.parquet` (`split` a Hugging Face name)."""
    return f"{COMBINED_DIR}/{granularity}/{shard_name(split, shard, n_shards)}"


@dataclass(frozen=True)
class Part:
    """Rows `lo:hi` of one store split whose series has `shape` `[trajectory, time, component]`."""

    system: str
    granularity: str
    split: str  # the store's name: train, val, test
    lo: int
    hi: int
    shape: tuple[int, int, int]

    @property
    def row_bytes(self) -> int:
        return self.shape[1] * self.shape[2] * ITEMSIZE


@dataclass(frozen=True)
class PlannedFile:
    """One file to write at `path`: the rows of `parts`, in order; `system` is "all" in a combined
    config; `row_group_rows` is Parquet's row-group size (0 for HDF5)."""

    path: str
    system: str
    granularity: str
    split: str  # Hugging Face name
    parts: tuple[Part, ...]
    row_group_rows: int = 0

    @property
    def rows(self) -> int:
        return sum(p.hi - p.lo for p in self.parts)


@dataclass(frozen=True)
class Batch:
    """Files written together (their systems' splits opened once), then `prune`: the folder where
    files an earlier export wrote and this one did not are deleted (None: none)."""

    files: tuple[PlannedFile, ...]
    prune: str | None

    @property
    def systems(self) -> list[str]:
        return list(dict.fromkeys(p.system for f in self.files for p in f.parts))


@dataclass(frozen=True)
class Plan:
    """What an export writes, batch by batch, and the granularities it leaves out with the reason."""

    batches: tuple[Batch, ...]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> list[PlannedFile]:
        return [f for b in self.batches for f in b.files]

    @property
    def paths(self) -> list[str]:
        return [f.path for f in self.files]

    @property
    def series_bytes(self) -> int:
        """Decoded float32 bytes of the series the files hold."""
        return sum((p.hi - p.lo) * p.row_bytes for f in self.files for p in f.parts)


def split_shapes(store: Store, names: Sequence[str]) -> list[SplitShape]:
    """The splits of the systems `names` (granularities sorted, splits train, val, test) with the
    shape of each one's series, from the systems' metadata (no data read)."""
    out: list[SplitShape] = []
    for name in names:
        entries = store.array_entries(name)
        out += [(name, gran, split, tuple(entries[series_path(gran, split)]["shape"]))
                for gran in store.granularities(name) for split in SPLITS]
    return out


def rows_per(limit_bytes: int, row_bytes: int) -> int:
    """How many whole rows of `row_bytes` fit in `limit_bytes` (at least one)."""
    return max(1, limit_bytes // max(1, row_bytes))


def shard_ranges(n_traj: int, n_time: int, dim: int, shard_bytes: int = SHARD_BYTES) -> list[tuple[int, int]]:
    """Row ranges `[lo, hi)` of the shards of a split `[n_traj, n_time, dim]`: whole trajectories,
    at most `shard_bytes` of float32 series each (at least one row, at least one shard)."""
    per_shard = rows_per(shard_bytes, n_time * dim * ITEMSIZE)
    n_shards = max(1, math.ceil(n_traj / per_shard))
    return [(k * per_shard, min(n_traj, (k + 1) * per_shard)) for k in range(n_shards)]


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


def _shape(shape: Sequence[int]) -> tuple[int, int, int]:
    n_traj, n_time, dim = (int(n) for n in shape)
    return n_traj, n_time, dim


def parquet_plan(shapes: Iterable[SplitShape], shard_bytes: int = SHARD_BYTES,
                 row_group_bytes: int = ROW_GROUP_BYTES) -> Plan:
    """The files of `export_parquet`: each split in shards of whole trajectories (`shard_ranges`);
    one batch per system, pruned in `data/<System>`."""
    batches = []
    for system, splits in groupby(shapes, key=lambda s: s[0]):
        files = []
        for _, gran, split, shape in splits:
            part = Part(system, gran, split, 0, 0, _shape(shape))
            ranges = shard_ranges(*part.shape, shard_bytes=shard_bytes)
            files += [PlannedFile(parquet_path(system, gran, HF_SPLITS[split], k, len(ranges)), system, gran,
                                  HF_SPLITS[split], (Part(system, gran, split, lo, hi, part.shape),),
                                  rows_per(row_group_bytes, part.row_bytes))
                      for k, (lo, hi) in enumerate(ranges)]
        batches.append(Batch(tuple(files), f"{DATA_DIR}/{system}"))
    return Plan(tuple(batches))


def hdf5_plan(shapes: Iterable[SplitShape]) -> Plan:
    """The files of `export_hdf5`: one per split; one batch per system, pruned in `hdf5/<System>`."""
    batches = []
    for system, splits in groupby(shapes, key=lambda s: s[0]):
        files = tuple(PlannedFile(hdf5_path(system, gran, HF_SPLITS[split]), system, gran, HF_SPLITS[split],
                                  (Part(system, gran, split, 0, _shape(shape)[0], _shape(shape)),))
                      for _, gran, split, shape in splits)
        batches.append(Batch(files, f"{HDF5_DIR}/{system}"))
    return Plan(tuple(batches))


def why_not_combined(lengths: dict[str, int]) -> str | None:
    """Why systems of these lengths (points per trajectory) cannot share a config, or None."""
    distinct = sorted(set(lengths.values()))
    if len(distinct) <= 1:
        return None
    return (f"its systems differ in length ({distinct[0]}..{distinct[-1]} points over {len(lengths)} systems); "
            "a combined config needs one length")


def combined_granularities(shapes: Iterable[SplitShape]) -> tuple[dict[str, list[SplitShape]], dict[str, str]]:
    """The splits of each granularity that has a combined config (granularities sorted; systems in
    the order given), and the reasons the other granularities have none."""
    by_gran: dict[str, list[SplitShape]] = {}
    for shape in shapes:
        by_gran.setdefault(shape[1], []).append(shape)
    kept, skipped = {}, {}
    for gran, splits in sorted(by_gran.items()):
        why = why_not_combined({system: int(shape[1]) for system, _, _, shape in splits})
        if why:
            skipped[gran] = why
        else:
            kept[gran] = splits
    return kept, skipped


def combined_plan(shapes: Iterable[SplitShape], shard_bytes: int = SHARD_BYTES,
                  row_group_bytes: int = ROW_GROUP_BYTES, *, prune: bool = True) -> Plan:
    """The files of `export_combined`: per qualifying granularity and split, the systems' rows in
    order packed into shards (`pack`); one batch, pruned in `combined/` when `prune` (an export of
    every system: a subset must not delete the others' files)."""
    kept, skipped = combined_granularities(shapes)
    files = []
    for gran, splits in kept.items():
        for split in SPLITS:
            hf = HF_SPLITS[split]
            part = [Part(system, gran, s, 0, 0, _shape(shape)) for system, _, s, shape in splits if s == split]
            pieces = [(p.shape[0], p.row_bytes) for p in part]
            shards = pack(pieces, shard_bytes)
            files += [PlannedFile(combined_path(gran, hf, k, len(shards)), "all", gran, hf,
                                  tuple(Part(part[i].system, gran, split, lo, hi, part[i].shape) for i, lo, hi in shard),
                                  rows_per(row_group_bytes, max(pieces[i][1] for i, _, _ in shard)))
                      for k, shard in enumerate(shards)]
    return Plan((Batch(tuple(files), COMBINED_DIR if prune else None),), skipped)


def folder_entries(paths: Iterable[str]) -> dict[str, int]:
    """Entries (files and sub-folders) per folder of a tree of relative paths; the Hub allows 10k."""
    children: dict[str, set[str]] = {}
    for path in paths:
        parts = path.split("/")
        for depth in range(len(parts)):
            children.setdefault("/".join(parts[:depth]), set()).add(parts[depth])
    return {folder: len(names) for folder, names in sorted(children.items())}
