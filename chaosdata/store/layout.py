"""Names and shapes on disk: one place that says where everything in a store lives.

```
<store>/
  manifest.json                   the commit record and catalogue index: per system its file, size,
                                  sha256, kind, dimension, split shapes (manifest.py); small
  builds.json                     volatile facts per system (creation time, wall times): no checksum
  <System>.zip                    one file per system (a Zarr ZipStore, ZIP_STORED, deterministic):
    zarr.json                     catalogue metadata, invariants, seeds, provenance; consolidated
    <granularity>/zarr.json       time grid, recipe, normalization statistics of the train split
    <granularity>/<split>/        one xarray Dataset (`xarray.open_zarr(ZipStore(...), group=...)`):
      series                      [trajectory, time, component] the data, chunked along time, sharded
      time                        [time] float64, in the system's time units (maps: iterations)
      trajectory                  [trajectory] int64 ids, 0..n-1 within the split
      valid, failure              [trajectory] bool, and why a trajectory failed ("" when valid)
      resampled                   [trajectory] how many fresh draws replaced a failed one (0: none)
      initial_condition           [trajectory, state] float64, the seeded draw
      start_state                 [trajectory, state] float64, the state at time[0], after the transient
      n_accepted, n_rejected      [trajectory] integrator steps
  <Driver>/                       a corpus's skew products `<Driver>__<Response>`, nested by driver:
    index.json                    their manifest entries (the root manifest lists the drivers)
    builds.json                   their volatile build facts
    <Driver>__<Response>.zip      one file per skew product, as a system's above
  .staging/                       systems being written (only during a build)
  .lock                           held by the running build
```
`state` is the integrator's state (delay equations: the scalar x), `component` a column of
the stored series (delay equations: the 10-lag embedding). Every array's codec chain ends in a
CRC32C checksum (the sharded series: each inner chunk), so a damaged chunk is an error on any
read path, and each array's attributes hold the SHA-256 of its decoded values.
One file per system keeps a release within the Hub's per-file request limits and needs no
root document that grows with the tree: `zip::hf://datasets/owner/name/Lorenz.zip` opens one
system over HTTP (range reads of its members). A corpus's skew products (up to the catalogue's
flows squared, ~2x10^4) are nested by driver, so that no folder and no index document grows past
the catalogue's size (the Hub pages listings and wants < 10k entries per folder).
Flows and delay equations have one sub-group per granularity of the config (`coarse`, `fine`,
`lyapunov`...); maps have one, `iteration`, since a map has a single natural sampling.
"""

from __future__ import annotations

import math

import numpy as np
from zarr.codecs import BloscCodec, Crc32cCodec, ZstdCodec

from chaosdata.systems.derived import SKEW_SEPARATOR

MANIFEST = "manifest.json"
STAGING = ".staging"
LOCK = ".lock"
BUILD_LOG = "builds.json"  # volatile per-system facts, excluded from checksums and byte comparisons
INDEX = "index.json"  # a driver folder's manifest entries (corpus skew products)
ARCHIVE_SUFFIX = ".zip"
MAP_GRANULARITY = "iteration"
FORMAT = "chaosdata-store/3"
FORMAT_SUMMARY = "one checksummed zip file per system, a small root manifest"
OLD_FORMATS = ("chaosdata-store/1", "chaosdata-store/2")

SERIES = "series"
SERIES_DIMS = ("trajectory", "time", "component")
# per-trajectory variables of a split group, in the order they are written, with their dimensions
TRAJECTORY_VARIABLES = {
    "trajectory": ("trajectory",),
    "valid": ("trajectory",),
    "failure": ("trajectory",),
    "resampled": ("trajectory",),
    "initial_condition": ("trajectory", "state"),
    "start_state": ("trajectory", "state"),
    "n_accepted": ("trajectory",),
    "n_rejected": ("trajectory",),
}


def split_path(granularity: str, split: str) -> str:
    """Path of a split's group inside its system group, e.g. `fine/train`."""
    return f"{granularity}/{split}"


def series_path(granularity: str, split: str) -> str:
    """Path of a split's data array inside its system group, e.g. `fine/train/series`."""
    return f"{granularity}/{split}/{SERIES}"


def chunk_shape(shape: tuple[int, int, int], chunk_time: int) -> tuple[int, int, int]:
    """One trajectory, up to `chunk_time` steps, every coordinate: what a window read touches."""
    _, n_time, dim = shape
    return (1, min(n_time, chunk_time), dim)


def shard_shape(shape: tuple[int, int, int], chunks: tuple[int, int, int], itemsize: int,
                max_bytes: int) -> tuple[int, int, int]:
    """Whole trajectories (the full time axis) per shard, as many as fit in `max_bytes`.

    Small arrays are one file; a system is then a few dozen small files (the Hub caps a folder
    at 10k entries).
    """
    n_traj, n_time, dim = shape
    time_span = math.ceil(n_time / chunks[1]) * chunks[1]
    per_traj = time_span * dim * itemsize
    return (max(1, min(n_traj, max_bytes // per_traj)), time_span, dim)


def driver_of(system: str) -> str | None:
    """The folder a group is nested in: a skew product's driver (`Lorenz` for `Lorenz__Rossler`);
    None for a group named like a catalogue system, which lies at the store's root."""
    return system.split(SKEW_SEPARATOR)[0] if SKEW_SEPARATOR in system else None


def system_file(system: str) -> str:
    """The file that holds a system's group, relative to the store root: `Lorenz.zip`, and for a
    skew product `Lorenz/Lorenz__Rossler.zip`."""
    driver = driver_of(system)
    return f"{driver}/{system}{ARCHIVE_SUFFIX}" if driver else f"{system}{ARCHIVE_SUFFIX}"


def index_file(driver: str) -> str:
    """A driver folder's index of manifest entries, relative to the store root: `Lorenz/index.json`."""
    return f"{driver}/{INDEX}"


def compressors(dtype: str, level: int) -> list[BloscCodec | Crc32cCodec]:
    """The series' inner-chunk codecs: Blosc with LZ4HC and byte shuffle (float data compress
    better shuffled), then a CRC32C of the compressed bytes, checked on every read. LZ4HC, not
    zstd: on the quick release's series it stores 0.9% more bytes and decodes 3.4x faster, which
    is most of what a loader's first epoch waits for (benchmarks/RESULTS.md, "Windows in batches")."""
    return [BloscCodec(cname="lz4hc", clevel=level, shuffle="shuffle", typesize=np.dtype(dtype).itemsize),
            Crc32cCodec()]


def small_compressors() -> list[ZstdCodec | Crc32cCodec]:
    """Codecs of the per-trajectory variables and coordinates: zarr's default (zstd level 0),
    then a CRC32C."""
    return [ZstdCodec(level=0, checksum=False), Crc32cCodec()]
