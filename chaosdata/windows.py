"""Forecasting windows over stored trajectories, read lazily, as a torch `Dataset`.

A window is `(context, target)`: `context_length` points followed by the next `horizon`
points of one trajectory (with `return_info=True`, also a dict saying where it comes from).
Windows are addressed arithmetically (system, trajectory, start), never listed, and read on
demand through a small cache of decoded blocks (a stored shard, or whole trajectories), so
memory stays bounded by a batch plus the cache whatever the size of the store. A `DataLoader`
fetches a batch at once (`__getitems__`): its windows are gathered per block with one strided
copy, not one Python call per window. Observation noise is a function of the point, not of
the window: overlapping windows see the same noise at the same time.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import Dataset, default_collate

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError, suggest
from chaosdata.threads import map_side_by_side

NORMALIZATIONS = ("standard", "none")
ITEM_DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
BLOCK_BYTES = 4 << 20  # time points are read and cached in blocks of about this size (at float64)...
SHARD_BLOCK_BYTES = 32 << 20  # ...or in whole stored shards up to this size
FEW_CHANNELS = 16  # up to this many channels, normalized one at a time (see `normalize`)
NORMALIZE_BLOCK = 1 << 15  # points normalized per step through a float64 scratch (256 KiB at one channel)
NOISE_BLOCK = 1024  # observation noise is drawn per (trajectory, block of this many time indices)

#: A dataset item: `(context, target)`, with `return_info=True` also the window's info dict.
Item = tuple[Tensor, Tensor] | tuple[Tensor, Tensor, dict[str, Any]]


@dataclass(init=False)
class Series:
    """One system's trajectories for one split: `open()` gives an array-like `[N, T, dim]`.

    `rows` (trajectory indices; None: all) and `time` (a `slice` of time indices; None: all)
    select the part of the array this split uses, e.g. the first 5/6 of each trajectory; once
    built, `rows` is a sequence and `time` a slice with its start and stop resolved. `block`: time
    points per cached block (the store's chunk length). `array_split` names the stored split the
    array is (a temporal "val" series reads the "train" array; None: the dataset's own split).
    `open` is called lazily in each process, so a `Series` pickles to `DataLoader` workers
    without open handles; an opener with `fork_safe` true (a store's that opens its files per
    process) is called as it is in a forked worker (see `WindowDataset._array`). An array whose
    class sets `fresh_reads = True` (a store's) returns a new array per read, which the dataset
    may then change in place.
    """

    system: str
    open: Callable[[], Any]
    n_trajectories: int
    n_time: int
    dim: int
    t0: float
    dt: float
    block: int
    rows: Sequence[int]
    time: slice
    array_split: str | None

    def __init__(self, system: str, open: Callable[[], Any], n_trajectories: int, n_time: int, dim: int,
                 t0: float, dt: float, block: int = 4096, rows: Sequence[int] | None = None,
                 time: slice | None = None, array_split: str | None = None) -> None:
        self.system, self.open, self.n_trajectories, self.n_time, self.dim = system, open, n_trajectories, n_time, dim
        self.t0, self.dt, self.block, self.array_split = t0, dt, block, array_split
        self.rows = range(n_trajectories) if rows is None else rows
        self.time = slice(*(time or slice(None)).indices(n_time))

    @property
    def n_points(self) -> int:
        """Time points this split uses of each trajectory (`time`'s span)."""
        return len(range(self.time.start, self.time.stop))


class WindowInfo(NamedTuple):
    """Where a window comes from: system, trajectory row and first time index in the stored
    array of split `array_split` (`store.array(system, granularity, array_split)[trajectory,
    start:]`), and the time of that index."""

    system: str
    trajectory: int
    start: int
    start_time: float
    array_split: str = ""


class Normalizer:
    """Per-system, per-coordinate affine map fitted on the training split: `(x - mean) / std`."""

    def __init__(self, mean: dict[str, np.ndarray], std: dict[str, np.ndarray]):
        self.mean, self.std = mean, std

    def normalize(self, x: Tensor, system: str) -> Tensor:
        """Standardize `x [..., dim]` (on any device) with `system`'s statistics."""
        return (x - _like(self.mean[system], x)) / _like(self.std[system], x)

    def denormalize(self, x: Tensor, system: str) -> Tensor:
        """Map normalized values (e.g. predictions, on any device) back to the system's own units."""
        return x * _like(self.std[system], x) + _like(self.mean[system], x)


@dataclass(frozen=True)
class Observation:
    """How windows present the stored values, checked once.

    `univariate`: False keeps every coordinate, True the first, an integer that one.
    `normalize`: "standard" (each system's train-split mean and std, `dataset.normalizer`) or
    None / "none" (raw values). `observation_noise`: seeded Gaussian noise, a fraction of each
    coordinate's std, drawn from `seed`. `dtype`: the items' float dtype.
    """

    univariate: bool | int = False
    normalize: str | None = "standard"
    observation_noise: float = 0.0
    seed: int = 0
    dtype: torch.dtype = torch.float32

    def __post_init__(self) -> None:
        if self.univariate is not True and self.univariate is not False:
            object.__setattr__(self, "univariate", validate.count(self.univariate, "univariate", minimum=0,
                                                                  hint="True, False or a coordinate index"))
        normalize = "none" if self.normalize is None else self.normalize
        object.__setattr__(self, "normalize", validate.choice(normalize, "normalize", NORMALIZATIONS,
                                                              hint="or None for raw values"))
        object.__setattr__(self, "observation_noise", check_noise(self.observation_noise))
        object.__setattr__(self, "seed", validate.seed(self.seed, hint="it seeds the observation noise"))
        check_dtype(self.dtype)

    @property
    def channels(self) -> int | None:
        """The one coordinate kept, or None for all of them."""
        return None if self.univariate is False else 0 if self.univariate is True else int(self.univariate)


def _like(values: np.ndarray, x: Tensor) -> Tensor:
    """Statistics as a tensor of `x`'s dtype on `x`'s device."""
    return torch.as_tensor(values, dtype=x.dtype, device=x.device)


def fit_statistics(series: Series) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std per coordinate over every point of `series` (float64), one read per
    trajectory: each trajectory's mean and squared deviations from it, pooled exactly across
    trajectories (Chan, Golub and LeVeque's update), as the build's two passes over the whole
    split compute them. (A sum of squares less the squared mean cancels: a coordinate whose
    mean is 1e8 times its std came out with half its std.)"""
    arr = series.open()
    count, mean, m2 = 0, np.zeros(series.dim), np.zeros(series.dim)
    for row in series.rows:
        x = np.asarray(arr[row, series.time.start:series.time.stop], dtype=np.float64)
        n, m = x.shape[0], x.mean(0)
        delta, pooled = m - mean, count + n
        mean = mean + delta * (n / pooled)
        m2 = m2 + np.square(x - m).sum(0) + np.square(delta) * (count * n / pooled)
        count = pooled
    std = np.sqrt(m2 / count)
    return mean, np.where(std > 0, std, 1.0)


class _BlockCache:
    """Least-recently-used decoded time blocks, bounded in bytes (one per process)."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.used = 0
        self.blocks: OrderedDict[tuple, np.ndarray] = OrderedDict()

    def __contains__(self, key: tuple) -> bool:
        return key in self.blocks

    def get(self, key: tuple, load: Callable[[], np.ndarray]) -> np.ndarray:
        if key in self.blocks:
            self.blocks.move_to_end(key)
            return self.blocks[key]
        return self.put(key, load())

    def put(self, key: tuple, value: np.ndarray) -> np.ndarray:
        self.blocks[key] = value
        self.used += value.nbytes
        while self.used > self.max_bytes and len(self.blocks) > 1:
            _, old = self.blocks.popitem(last=False)
            self.used -= old.nbytes
        return value


def normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray, out: np.ndarray) -> None:
    """`out[:] = (x - mean) / std` for points `x [n, channels]`: each value in float64, rounded
    once to `out`'s dtype (`out` may be `x`). In blocks of NORMALIZE_BLOCK points through one
    small float64 scratch (a split-sized temporary cost a first read 2-5 ms of page faults), and
    up to FEW_CHANNELS one channel at a time: broadcast over a last axis of a few channels,
    numpy's inner loop is that short (4x slower for 3 channels)."""
    channels = x.shape[-1]
    few = channels <= FEW_CHANNELS
    scratch = np.empty((NORMALIZE_BLOCK,) if few else (NORMALIZE_BLOCK, channels), dtype=np.float64)
    for start in range(0, len(x), NORMALIZE_BLOCK):
        stop = min(start + NORMALIZE_BLOCK, len(x))
        centred = scratch[: stop - start]
        if not few:
            np.subtract(x[start:stop], mean, out=centred, dtype=np.float64)
            np.divide(centred, std, out=out[start:stop], casting="same_kind")
            continue
        for j in range(channels):
            np.subtract(x[start:stop, j], mean[j], out=centred, dtype=np.float64)
            np.divide(centred, std[j], out=out[start:stop, j], casting="same_kind")


class WindowDataset(Dataset):
    """`(context, target)` windows over one or more systems; `info(i)` says where item `i` is from.

    Items are float tensors `[context_length, dim]` and `[horizon, dim]` (systems keep their own
    dimension; `collate_padded` batches mixed dimensions). With `return_info=True` items are
    `(context, target, info)`, `info` a dict of plain values that torch's default collate
    batches (see `item_info`): what valid prediction times and per-system scores need.
    `observation` (an `Observation`) picks coordinates, the dtype, and the Gaussian noise scaled
    by `scale` (each coordinate's std), one fixed draw per (split, system, trajectory, time
    index, coordinate) from its seed, so overlapping windows agree where they overlap;
    `normalizer` (fitted on the training split) standardizes, given exactly when
    `observation.normalize` is "standard". `split` and `granularity` only label the dataset.
    """

    def __init__(
        self,
        series: Sequence[Series],
        *,
        context_length: int,
        horizon: int,
        stride: int,
        scale: dict[str, np.ndarray],
        observation: Observation,
        normalizer: Normalizer | None = None,
        cache_bytes: int = 64 << 20,
        split: str | None = None,
        granularity: str | None = None,
        return_info: bool = False,
    ):
        return_info = validate.flag(return_info, "return_info")
        observation = validate.instance(observation, "observation", Observation,
                                        hint="e.g. Observation(normalize=None, dtype=torch.float64)")
        if (observation.normalize == "standard") != (normalizer is not None):
            raise InvalidInputError(
                f"observation.normalize={observation.normalize!r} with normalizer="
                f"{'None' if normalizer is None else 'a Normalizer'}: give a normalizer (fit_statistics on the "
                "train split) exactly when normalize is 'standard', or Observation(normalize=None) for raw values")
        self.series = list(series)
        self.context_length, self.horizon, self.stride = context_length, horizon, stride
        self.normalizer, self.scale, self.observation = normalizer, scale, observation
        self.cache_bytes = cache_bytes
        self.split, self.granularity, self.return_info = split, granularity, return_info
        width = context_length + horizon
        self._per_row = []
        for s in self.series:
            if s.n_points < width:
                raise InvalidInputError(
                    f"{s.system}: context_length + horizon = {width} is longer than its trajectories "
                    f"({s.n_points} points in this split); use shorter windows or regenerate longer "
                    "trajectories (source='regenerate')"
                )
            self._per_row.append((s.n_points - width) // stride + 1)
        counts = [len(s.rows) * n for s, n in zip(self.series, self._per_row, strict=True)]
        self._offsets = np.concatenate([[0], np.cumsum(counts)]).tolist()
        # per series, for addressing windows of a whole batch at once (`_locate_many`)
        self._first = np.asarray(self._offsets[:-1], dtype=np.int64)
        self._windows_per_row = np.asarray(self._per_row, dtype=np.int64)
        rows = [np.asarray(s.rows, dtype=np.int64) for s in self.series]
        self._rows = np.concatenate([np.zeros(0, dtype=np.int64), *rows])  # every series' stored rows, in turn
        self._row_base = np.cumsum([0, *map(len, rows)], dtype=np.int64)[:-1]  # where each series' rows start
        self._time_start = np.asarray([s.time.start for s in self.series], dtype=np.int64)
        self._blocks = np.zeros((3, len(self.series)), dtype=np.int64)  # (origin, length, rows) per series, see _geometry
        self._arrays: dict[int, Any] = {}
        self._pid = os.getpid()  # the process that opened `_arrays`
        self._copy_openers = False  # True in a process the dataset was forked or unpickled into (see `_array`)
        self._cache: _BlockCache | None = None
        self._view: tuple[np.ndarray, np.ndarray] | None = None  # (block, its windows), see _one_block_windows
        # numpy has no bfloat16: its blocks are cached as float32 and rounded when items are made
        dtype = observation.dtype
        self._np_dtype = np.dtype(np.float32) if dtype == torch.bfloat16 else torch.empty(0, dtype=dtype).numpy().dtype
        self._fits_in_cache = 2 * sum(len(s.rows) * s.n_points * s.dim * self._np_dtype.itemsize
                                      for s in self.series) <= cache_bytes
        self._noise_scale = []  # per series: noise std per stored coordinate, in output units
        for s in self.series:
            sd = np.asarray(scale[s.system], dtype=np.float64) * observation.observation_noise
            if normalizer is not None:
                sd = sd / normalizer.std[s.system]
            self._noise_scale.append(torch.as_tensor(sd))

    # ---------------------------------------------------------------- pickling for workers
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_arrays"], state["_cache"], state["_view"] = {}, None, None  # reopened lazily in each worker
        return state

    def __len__(self) -> int:
        return self._offsets[-1]

    @property
    def systems(self) -> list[str]:
        return [s.system for s in self.series]

    def __repr__(self) -> str:
        names = self.systems
        shown = repr(names) if len(names) <= 4 else f"[{', '.join(map(repr, names[:3]))}, ... {len(names)} in all]"
        obs = self.observation
        extra = (f", channels={obs.channels!r}" if obs.channels is not None else "") + \
            (f", observation_noise={obs.observation_noise!r}" if obs.observation_noise else "")
        return (f"WindowDataset(systems={shown}, split={self.split!r}, granularity={self.granularity!r}, "
                f"windows={len(self)}, context_length={self.context_length}, horizon={self.horizon}, "
                f"stride={self.stride}{extra})")

    def info(self, index: int) -> WindowInfo:
        _, k, row, start = map(int, (a[0] for a in self._locate_many([index])))
        s = self.series[k]
        return WindowInfo(s.system, row, start, s.t0 + start * s.dt, self._array_split(s))

    def item_info(self, index: int) -> dict[str, Any]:
        """Where item `index` comes from, as the dict `return_info=True` items carry: `system`,
        `split` (the dataset's), `granularity`, `array_split` (strings, '' when unknown),
        `trajectory`, `start`, `index` (ints), `start_time` and `dt` (floats).

        `trajectory` and `start` index the stored array of split `array_split`, not of
        `split`: the context is `store.array(system, granularity, array_split)[trajectory,
        start:start + context_length]` (before normalization, noise and channel selection).
        They differ with the dysts-style temporal split, whose "val" windows are the last 1/6
        of the stored *train* trajectories, so `array_split` is "train" and `start` counts
        from the start of the stored trajectory (at or past the cut). `start_time` and `dt`
        are in time units of the stored grid: the target starts at `start_time +
        context_length * dt`. torch's default collate turns a batch of these dicts into lists
        of strings and `[B]` int64 / float64 tensors."""
        return self._info_dict(*map(int, (a[0] for a in self._locate_many([index]))))

    def _array_split(self, s: Series) -> str:
        return s.array_split or self.split or ""

    def _info_dict(self, index: int, k: int, row: int, start: int) -> dict[str, Any]:
        s = self.series[k]
        return {"system": s.system, "split": self.split or "", "granularity": self.granularity or "",
                "array_split": self._array_split(s), "trajectory": row, "start": start,
                "index": index % len(self), "start_time": s.t0 + start * s.dt, "dt": s.dt}

    def _locate_many(self, indices: Sequence[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """`(index mod len, series, stored row, first time index)` of each window, as int64 arrays."""
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise InvalidTypeError(f"window indices must be integers (one, or a list for a batch), got {indices!r}")
        idx = idx.astype(np.int64, copy=False)
        n = self._offsets[-1]
        low, high = (int(idx.min()), int(idx.max())) if idx.size else (0, 0)
        if low < -n or high >= n:
            raise IndexError(f"window {idx[(idx < -n) | (idx >= n)][0]} out of range for {n} windows")
        if low < 0:
            idx = idx % n  # a new array: never the caller's
        if len(self.series) == 1:  # the usual case, without the search
            k = np.zeros_like(idx)
            position, j = np.divmod(idx, self._per_row[0])
            if isinstance(self.series[0].rows, range) and self.series[0].rows == range(self.series[0].n_trajectories):
                return idx, k, position, self._time_start[0] + j * self.stride
        else:
            k = np.searchsorted(self._first, idx, side="right") - 1
            position, j = np.divmod(idx - self._first[k], self._windows_per_row[k])
        return idx, k, self._rows[self._row_base[k] + position], self._time_start[k] + j * self.stride

    def _geometry(self, k: int) -> tuple[int, int, int]:
        """How series `k` is cut into cached blocks: `(origin, length, rows)`, block `(g, b)` holding
        stored rows `g*rows:(g+1)*rows` and time indices `origin + b*length` onwards. When the
        whole dataset fits in half the cache (each block is then read once): a stored shard per
        block where it holds at most `SHARD_BLOCK_BYTES` (a whole shard is one request and one
        decoding call, `chaosdata.store.shards`; a part of one is zarr's, chunk by chunk), else as
        many whole trajectories as fit in `BLOCK_BYTES`. Otherwise (blocks get evicted: a miss
        should cost little) one trajectory, whole if it fits in `BLOCK_BYTES`, else in runs of
        whole store chunks."""
        s = self.series[k]
        row_bytes = s.n_points * s.dim * 8
        if self._fits_in_cache:
            shards = getattr(self._array(k), "shards", None)
            if shards is not None and shards[0] * shards[1] * s.dim * 8 <= SHARD_BLOCK_BYTES:
                return 0, shards[1], shards[0]
            if row_bytes <= BLOCK_BYTES:
                return s.time.start, s.n_points, max(1, BLOCK_BYTES // row_bytes)
        if row_bytes <= BLOCK_BYTES:
            return s.time.start, s.n_points, 1
        return 0, s.block * max(1, BLOCK_BYTES // (s.block * s.dim * 8)), 1

    def _block_geometry(self, k: np.ndarray) -> np.ndarray:
        """`(origin, length, rows)` of the series `k` `[n]`, as `[3, n]`; found when first needed
        (it opens the series' array), so a dataset is built without reading anything."""
        for kk in np.unique(k[self._blocks[1, k] == 0]).tolist():
            self._blocks[:, kk] = self._geometry(kk)
        return self._blocks[:, k]

    def _in_one_block(self, k: int) -> bool:
        """Whether one cached block holds every window of series `k` (a small split, one shard)."""
        if self._blocks[1, k] == 0:
            self._blocks[:, k] = self._geometry(k)
        s = self.series[k]
        origin, length, rows = self._blocks[:, k].tolist()
        return rows >= s.n_trajectories and origin <= s.time.start and origin + length >= s.time.stop

    def _array(self, k: int) -> Any:
        """Series `k`'s stored array, opened once per process. A forked `DataLoader` worker opens
        its own through a pickled copy of the opener, as a spawned worker would: an opener may
        keep open files, a forked child shares their file offsets with its parent and siblings,
        and processes reading one file through one offset read each other's bytes (checksum
        errors on a sound file). An opener with `fork_safe` true (a store's that opens its files
        per process: `Store.fork_safe`) is called as it is, reusing what the parent opened."""
        if self._pid != os.getpid():
            self._arrays, self._pid, self._copy_openers = {}, os.getpid(), True
        if k not in self._arrays:
            opener = self.series[k].open
            if self._copy_openers and not getattr(opener, "fork_safe", False):
                opener = pickle.loads(pickle.dumps(opener))
            self._arrays[k] = opener()
        return self._arrays[k]

    def _transform(self, k: int, raw: Any, fresh: bool = False) -> np.ndarray:
        """Stored values `[..., dim]` to output values: normalized, channel-selected, output dtype.
        `fresh`: `raw` is a new array no one else holds (see `Series`); of the output dtype, it is
        normalized in place (a second split-sized array cost a cold read 2 ms of page faults)."""
        s = self.series[k]
        c = self.observation.channels
        pick = slice(None) if c is None else slice(c, c + 1)
        x = np.asarray(raw)[..., pick]
        mine = fresh and c is None and x.dtype == self._np_dtype and x.flags.writeable and x.flags.c_contiguous
        out = x if mine else np.empty(x.shape, dtype=self._np_dtype)
        if self.normalizer is None:
            if out is not x:
                out[...] = x
            return out
        mean, std = self.normalizer.mean[s.system][pick], self.normalizer.std[s.system][pick]
        normalize(x.reshape(-1, x.shape[-1]), mean, std, out.reshape(-1, x.shape[-1]))
        return out

    def _block(self, k: int, g: int, b: int, noisy: bool) -> np.ndarray:
        """Cached block `(g, b)` of series `k` (see `_geometry`), `[rows, time, channels]` in
        output values, with the observation noise added when `noisy`; one read of the array."""
        return self._blocks_cache().get((k, g, b, noisy), lambda: self._load_block(k, g, b, noisy))

    def _blocks_cache(self) -> _BlockCache:
        if self._cache is None:
            self._cache = _BlockCache(self.cache_bytes)
        return self._cache

    def _read_threads(self) -> int:
        """How many series to read at once: what the arrays' class says (`read_threads`), else 1."""
        return int(getattr(type(self._array(0)), "read_threads", 1))

    def _prefetch(self, needed: Iterable[tuple[int, int, int, bool]]) -> None:
        """Load the blocks `(k, g, b, noisy)` a batch needs and the cache lacks, several series
        at a time where their arrays say reads may wait on the network (`read_threads`, a remote
        store's: one after the other, a batch over many systems adds up their latencies). The
        blocks of one series load in one task, in order: its reads share the file's state (each
        series of a dataset is another system, so another file), and the task opens its array
        if this process has not (a spawned worker opens every system of its first batch)."""
        cache = self._blocks_cache()
        by_series: dict[int, list[tuple[int, int, int, bool]]] = {}
        for key in dict.fromkeys(needed):
            if key not in cache:
                by_series.setdefault(key[0], []).append(key)
        if len(by_series) < 2:
            return
        loaded = map_side_by_side(lambda keys: [(key, self._load_block(*key)) for key in keys],
                                  list(by_series.values()), self._read_threads(), "chaosdata-read")
        for key, block in itertools.chain.from_iterable(loaded):
            cache.put(key, block)

    def _load_block(self, k: int, g: int, b: int, noisy: bool) -> np.ndarray:
        s = self.series[k]
        origin, length, rows = self._blocks[:, k].tolist()
        r0, r1 = g * rows, min((g + 1) * rows, s.n_trajectories)
        a0 = origin + b * length
        a1 = min(a0 + length, s.n_time)
        array = self._array(k)
        x = self._transform(k, array[r0:r1, a0:a1], fresh=getattr(type(array), "fresh_reads", False))
        if not noisy:
            return x
        z = torch.stack([self._noise(k, row, a0, a1) for row in range(r0, r1)])
        t = torch.from_numpy(x)  # noise is added in the output dtype, point by point
        return (t + z.to(t.dtype)).numpy()

    def _segment(self, k: int, g: int, lo: int, hi: int, noisy: bool) -> np.ndarray:
        """Time indices `lo:hi` of the rows of block row-group `g`, `[rows, hi - lo, channels]`:
        a view of one cached block, or the joined parts of the blocks the span crosses."""
        origin, length, _ = self._blocks[:, k].tolist()
        parts = []
        for b in range((lo - origin) // length, (hi - 1 - origin) // length + 1):
            a0 = origin + b * length
            parts.append(self._block(k, g, b, noisy)[:, max(lo - a0, 0): hi - a0])
        return parts[0] if len(parts) == 1 else np.concatenate(parts, axis=1)

    def __getitem__(self, index: int) -> Item:
        return self.__getitems__([index])[0]

    def __getitems__(self, indices: Sequence[int]) -> list[Item]:
        """The items at `indices`, as a list (what `DataLoader` calls for a batch; its collate
        then stacks them). Windows are grouped by the cached block they lie in and each group
        is gathered with one strided fancy-index copy: no Python per window but making the item.
        Items are copies: they never alias the cache, whatever the caller does with them."""
        idx, k, row, start = self._locate_many(indices)
        if not len(idx):
            return []
        if len(self.series) == 1 and self._in_one_block(0):  # the usual case: one block, no sorting
            pairs = self._items(self._one_block_windows(row, start))
        else:
            placed: dict[int, tuple[Tensor, Tensor]] = {}
            for sel, windows in self._grouped_windows(k, row, start):
                placed.update(zip(sel.tolist(), self._items(windows), strict=True))
            pairs = [placed[p] for p in range(len(idx))]
        if self.return_info:
            return [(*item, self._info_dict(*map(int, where)))
                    for item, where in zip(pairs, zip(idx, k, row, start, strict=True), strict=True)]
        return list(pairs)

    def _items(self, windows: np.ndarray) -> list[tuple[Tensor, Tensor]]:
        """`(context, target)` tensors of each of `windows [n, width, channels]`, in the item dtype."""
        x = torch.from_numpy(windows)
        if self.observation.dtype == torch.bfloat16:  # numpy has no bfloat16: rounded from float32 here
            x = x.to(self.observation.dtype)
        return list(zip(x[:, : self.context_length].unbind(0), x[:, self.context_length:].unbind(0), strict=True))

    def _one_block_windows(self, row: np.ndarray, start: np.ndarray) -> np.ndarray:
        """The windows of the only series when one cached block holds them all (`_in_one_block`);
        the block's strided view of windows is kept while that block is the cached one."""
        noisy = self.observation.observation_noise > 0
        origin, length, _ = self._blocks[:, 0].tolist()
        block = self._block(0, 0, (self.series[0].time.start - origin) // length, noisy)
        if self._view is None or self._view[0] is not block:
            self._view = (block, _windows_of(block, self.context_length + self.horizon))
        return self._view[1][row, start - origin if origin else start]

    def _grouped_windows(self, k: np.ndarray, row: np.ndarray, start: np.ndarray):
        """`(positions, windows [n, width, channels])` per group of windows that lie in the same
        cached blocks (same series, row group, first and last block), one strided copy each."""
        width = self.context_length + self.horizon
        origin, length, rows = self._block_geometry(k)
        keys = np.stack([k, row // rows, (start - origin) // length, (start + width - 1 - origin) // length])
        if self._read_threads() > 1:
            noisy = self.observation.observation_noise > 0
            self._prefetch((kk, g, b, noisy) for kk, g, b0, b1 in np.unique(keys, axis=1).T.tolist()
                           for b in range(b0, b1 + 1))
        order = np.lexsort(keys[::-1])
        for sel in np.split(order, np.flatnonzero(np.any(np.diff(keys[:, order], axis=1) != 0, axis=0)) + 1):
            k0, rows0 = int(k[sel[0]]), int(rows[sel[0]])
            g0 = int(row[sel[0]]) // rows0
            starts = start[sel]
            lo = int(starts.min())
            seg = self._segment(k0, g0, lo, int(starts.max()) + width, self.observation.observation_noise > 0)
            yield sel, _windows_of(seg, width)[row[sel] - g0 * rows0, starts - lo]

    def _noise(self, k: int, row: int, start: int, stop: int) -> Tensor:
        """Observation noise at time indices `start:stop` of trajectory `row`, `[stop - start,
        channels]` float64: standard normals drawn per block of `NOISE_BLOCK` indices (each
        block from its own seeded generator, over every stored coordinate), times each
        coordinate's noise std. A point's noise depends on the point only: not on the window,
        its length, the channel selection, the cached block or the process that reads it."""
        s = self.series[k]
        parts = []
        for b in range(start // NOISE_BLOCK, (stop - 1) // NOISE_BLOCK + 1):
            gen = torch.Generator().manual_seed(_noise_seed(self.observation.seed, self.split, s.system, row, b))
            z = torch.randn(NOISE_BLOCK, s.dim, generator=gen, dtype=torch.float64) * self._noise_scale[k]
            b0 = b * NOISE_BLOCK
            parts.append(z[max(start - b0, 0): stop - b0])
        z = parts[0] if len(parts) == 1 else torch.cat(parts)
        c = self.observation.channels
        return z if c is None else z[:, c: c + 1]

    def _system_index(self, system: str | None) -> int:
        """Position of `system` in `self.series` (exact name, else any letter case); None: the only one."""
        names = self.systems
        if system is None:
            if len(names) != 1:
                raise InvalidInputError(f"this dataset holds several systems {names}; name one")
            return 0
        if system in names:
            return names.index(system)
        folded = [n.lower() for n in names]
        if isinstance(system, str) and system.lower() in folded:
            return folded.index(system.lower())
        raise InvalidInputError(f"{system!r} is not in this dataset; it holds {names}.{suggest(str(system), names)}")

    def trajectories(self, system: str | None = None) -> Tensor:
        """Whole trajectories of one system in this split, `[N, T, dim]`, transformed like the
        windows except for noise (reads them fully: meant for models that want whole orbits).
        Row i is stored trajectory `series.rows[i]` (the valid ones only), so `info.trajectory`
        indexes the stored array, not this tensor, when a split holds failed trajectories."""
        k = self._system_index(system)
        s = self.series[k]
        rows = int(self._block_geometry(np.array([k]))[2, 0])
        whole = [self._segment(k, row // rows, s.time.start, s.time.stop, False)[row % rows] for row in s.rows]
        return torch.from_numpy(np.stack(whole)).to(self.observation.dtype)

    def denormalize(self, x: Tensor, system: str) -> Tensor:
        """Map normalized values back to `system`'s units (identity without normalization)."""
        system = self.systems[self._system_index(system)]
        if self.normalizer is None:
            return x
        if self.observation.channels is not None:
            c = self.observation.channels
            return x * _like(self.normalizer.std[system][c], x) + _like(self.normalizer.mean[system][c], x)
        return self.normalizer.denormalize(x, system)


def _windows_of(segment: np.ndarray, width: int) -> np.ndarray:
    """Every window of `segment [rows, time, channels]`, a strided view `[rows, time - width + 1,
    width, channels]` (no copy; indexing it with (row, start) arrays copies those windows)."""
    r, t, c = segment.shape
    return np.lib.stride_tricks.as_strided(segment, (r, t - width + 1, width, c),
                                           segment.strides[:2] + segment.strides[1:], writeable=False)


def _noise_seed(seed: int, split: str | None, system: str, row: int, block: int) -> int:
    """The seed of one noise block: a hash of what the points are (seed, split, system,
    trajectory, block of time indices), never of the window or the worker that reads them."""
    digest = hashlib.blake2b(f"{seed}/{split}/{system}/{row}/{block}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") & ((1 << 63) - 1)


def collate_padded(batch: Sequence[tuple]) -> tuple:
    """Batch windows of different dimension: zero-pad channels to the largest.

    Returns `(context [B, C, D], target [B, H, D], mask [B, D])` with `mask` True on real
    channels; items with info (`return_info=True`) add a fourth element, their info dicts
    batched by torch's default collate.
    """
    dmax = max(item[0].shape[-1] for item in batch)

    def pad(x: Tensor) -> Tensor:
        return torch.nn.functional.pad(x, (0, dmax - x.shape[-1]))

    mask = torch.zeros(len(batch), dmax, dtype=torch.bool)
    for i, item in enumerate(batch):
        mask[i, : item[0].shape[-1]] = True
    out = (torch.stack([pad(item[0]) for item in batch]), torch.stack([pad(item[1]) for item in batch]), mask)
    if len(batch[0]) == 3:
        return (*out, default_collate([item[2] for item in batch]))
    return out


def check_noise(observation_noise: float) -> float:
    """Validate an observation-noise level: a finite non-negative number (not a bool)."""
    return validate.non_negative(observation_noise, "observation_noise",
                                 hint="a fraction of each coordinate's std; 0 for none")


def check_dtype(dtype: torch.dtype) -> torch.dtype:
    """Validate an item dtype: a floating torch dtype (integers would truncate the values)."""
    return validate.dtype(dtype, "dtype", ITEM_DTYPES, by_name=False)


def check_window(context_length: int, horizon: int, stride: int | None) -> int:
    """Validate window sizes; the default stride is the horizon (targets tile the trajectory)."""
    validate.count(context_length, "context_length")
    horizon = validate.count(horizon, "horizon")
    return horizon if stride is None else validate.count(stride, "stride")


def temporal_cut(n_time: int, fraction: float = 5 / 6) -> int:
    """First index of the validation part in a dysts-style temporal split."""
    return math.floor(n_time * fraction)
