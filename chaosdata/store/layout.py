"""Names and shapes on disk: one place that says where everything in a store lives.

```
<store>/
  zarr.json                       root group; consolidated metadata of the whole tree
  manifest.json                   systems, arrays, shapes, checksums, config, code (manifest.py)
  builds.json                     volatile facts per system (creation time, wall times): no checksum
  <System>/                       one Zarr group per system: download one system alone
    zarr.json                     catalogue metadata, invariants, seeds, provenance; consolidated
    <granularity>/zarr.json       time grid, recipe, normalization statistics of the train split
    <granularity>/<split>/        one xarray Dataset (`xarray.open_zarr(store, group=...)`):
      series                      [trajectory, time, component] the data, chunked along time, sharded
      time                        [time] float64, in the system's time units (maps: iterations)
      trajectory                  [trajectory] int64 ids, 0..n-1 within the split
      valid, failure              [trajectory] bool, and why a trajectory failed ("" when valid)
      resampled                   [trajectory] how many fresh draws replaced a failed one (0: none)
      initial_condition           [trajectory, state] float64, the seeded draw
      start_state                 [trajectory, state] float64, the state at time[0], after the transient
      n_accepted, n_rejected      [trajectory] integrator steps
  .staging/                       systems being written (only during a build)
  .lock                           held by the running build
```
`state` is the integrator's state (delay equations: the scalar x), `component` a column of
the stored series (delay equations: the 10-lag embedding). The root's three JSON files are
not Zarr nodes; system groups hold nothing but Zarr nodes.
Flows and delay equations have one sub-group per granularity of the config (`coarse`, `fine`,
`lyapunov`...); maps have one, `iteration`, since a map has a single natural sampling.
"""

from __future__ import annotations

import math

import numpy as np
from zarr.codecs import BloscCodec

MANIFEST = "manifest.json"
STAGING = ".staging"
LOCK = ".lock"
BUILD_LOG = "builds.json"  # volatile per-system facts, excluded from checksums and byte comparisons
MAP_GRANULARITY = "iteration"
FORMAT = "chaosdata-store/2"
OLD_FORMATS = ("chaosdata-store/1",)

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


def compressors(dtype: str, level: int) -> list[BloscCodec]:
    """Blosc with zstd and byte shuffle: float data compress better with shuffling."""
    return [BloscCodec(cname="zstd", clevel=level, shuffle="shuffle", typesize=np.dtype(dtype).itemsize)]
