"""Names and shapes on disk: one place that says where everything in a store lives.

```
<store>/
  zarr.json                     root group (marks the store; attributes point to the manifest)
  manifest.json                 systems, arrays, shapes, checksums, the config (see manifest.py)
  builds.json                   volatile facts per system (creation time, wall times): no checksum
  <System>/                     one Zarr group per system: download one system alone
    zarr.json                   catalogue metadata, invariants, seeds, settings, provenance
    <granularity>/zarr.json     time grid of this sampling (t0, dt, n)
    <granularity>/<split>/      array [n_trajectories, n_time, dim], chunked along time, sharded
  .staging/                     systems being written (only during a build)
  .lock                         held by the running build
```
The three root files are not Zarr nodes (plain `zarr` warns about them when listing the root
group); system groups hold nothing else than Zarr nodes.
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
DIMENSION_NAMES = ("trajectory", "time", "dim")
FORMAT = "chaosdata-store/1"


def array_path(granularity: str, split: str) -> str:
    """Path of an array inside its system group, e.g. `fine/train`."""
    return f"{granularity}/{split}"


def chunk_shape(shape: tuple[int, int, int], chunk_time: int) -> tuple[int, int, int]:
    """One trajectory, up to `chunk_time` steps, every coordinate: what a window read touches."""
    _, n_time, dim = shape
    return (1, min(n_time, chunk_time), dim)


def shard_shape(shape: tuple[int, int, int], chunks: tuple[int, int, int], itemsize: int,
                max_bytes: int) -> tuple[int, int, int]:
    """Whole trajectories (the full time axis) per shard, as many as fit in `max_bytes`.

    Small arrays are one file; a system is then a handful of files (the Hub caps a folder at
    10k entries).
    """
    n_traj, n_time, dim = shape
    time_span = math.ceil(n_time / chunks[1]) * chunks[1]
    per_traj = time_span * dim * itemsize
    return (max(1, min(n_traj, max_bytes // per_traj)), time_span, dim)


def compressors(dtype: str, level: int) -> list[BloscCodec]:
    """Blosc with zstd and byte shuffle: float data compress better with shuffling."""
    return [BloscCodec(cname="zstd", clevel=level, shuffle="shuffle", typesize=np.dtype(dtype).itemsize)]
