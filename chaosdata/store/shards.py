"""Whole shards of a stored array read with one request each and decoded in one call.

zarr decodes a shard's inner chunks one at a time through its asynchronous codec pipeline (a
thread hop and a few Python layers per chunk): the loader benchmark's split, one shard of 160
chunks, took 120-290 ms that way and 18-50 ms here (benchmarks/RESULTS.md, "Windows in
batches"). `read` serves a selection that covers whole shards of an array in the layout's
encoding (`layout.compressors`: little-endian bytes, Blosc, CRC32C per inner chunk; the shard
index at the end, itself CRC32C'd) and checks every CRC32C as zarr does; any other selection or
encoding is zarr's to read. Over HTTP a shard is also checked by its zip member's CRC-32
(`remote.RemoteFile`); from a local zip it is read without that second pass over the same bytes
(`archive.ProcessLocalZipStore.read_member`).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import google_crc32c
import numpy as np
import zarr
from numcodecs import blosc
from zarr.codecs import BloscCodec, BytesCodec, Crc32cCodec, ShardingCodec
from zarr.codecs.bytes import Endian
from zarr.codecs.sharding import ShardingCodecIndexLocation
from zarr.core.buffer import default_buffer_prototype
from zarr.core.metadata import ArrayV3Metadata
from zarr.core.sync import sync

EMPTY = 2**64 - 1  # a shard index's (offset, length) of a chunk never written


class ChunkChecksumError(ValueError):
    """An inner chunk or a shard index whose bytes fail their CRC32C (`archive.damaged_reads`
    names the file)."""


@dataclass(frozen=True)
class _Encoding:
    """A layout-encoded array's geometry: its shard shape and its inner chunks' shape."""

    shard: tuple[int, ...]
    inner: tuple[int, ...]


def read(array: zarr.Array, selection: Any) -> Any:
    """`array[selection]`; a selection of whole shards (slices on shard boundaries, or to the
    array's end) of an array in the layout's encoding is decoded here, one request per shard,
    into one C-contiguous array of the selection's shape (numpy's loops over a view of a larger
    array, a shard-padded one, ran 3-4x slower)."""
    encoding = _encoding(array)
    bounds = None if encoding is None else _whole_shards(array.shape, encoding.shard, selection)
    if encoding is None or bounds is None:
        return array[selection]
    size = encoding.shard
    first = [start // s for (start, _), s in zip(bounds, size, strict=True)]
    count = [math.ceil((stop - start) / s) for (start, stop), s in zip(bounds, size, strict=True)]
    out = np.empty([stop - start for start, stop in bounds], dtype=array.dtype)
    for at in itertools.product(*map(range, count)):
        where = tuple(slice(i * s, (i + 1) * s) for i, s in zip(at, size, strict=True))
        decode_shard(array, encoding, tuple(f + i for f, i in zip(first, at, strict=True)), out[where])
    return out


def _whole_shards(shape: tuple[int, ...], shard: tuple[int, ...], selection: Any) -> list[tuple[int, int]] | None:
    """Per axis, `(start, stop)` of `selection` when it is slices that cover whole shards (each
    from a shard boundary to a shard boundary or the array's end); None otherwise."""
    sel = selection if isinstance(selection, tuple) else (selection,)
    if sel == (Ellipsis,):
        sel = ()
    if len(sel) > len(shape) or not all(isinstance(s, slice) and s.step in (None, 1) for s in sel):
        return None
    bounds = []
    for s, n, size in zip(sel + (slice(None),) * (len(shape) - len(sel)), shape, shard, strict=True):
        start, stop, _ = s.indices(n)
        if start >= stop or start % size or (stop % size and stop != n):
            return None
        bounds.append((start, stop))
    return bounds


def _encoding(array: zarr.Array) -> _Encoding | None:
    """The shard and inner chunk shapes of an array sharded in the layout's encoding
    (`layout.compressors`), or None for any other array."""
    meta = array.metadata
    if not isinstance(meta, ArrayV3Metadata) or len(meta.codecs) != 1 or not isinstance(meta.codecs[0], ShardingCodec):
        return None
    sharding = meta.codecs[0]
    inner, index = sharding.codecs, sharding.index_codecs
    if not (len(inner) == 3 and isinstance(inner[0], BytesCodec) and isinstance(inner[1], BloscCodec)
            and isinstance(inner[2], Crc32cCodec) and inner[0].endian in (Endian.little, None)
            and len(index) == 2 and isinstance(index[0], BytesCodec) and index[0].endian == Endian.little
            and isinstance(index[1], Crc32cCodec) and sharding.index_location == ShardingCodecIndexLocation.end):
        return None
    return _Encoding(tuple(meta.chunk_grid.chunk_shape), tuple(sharding.chunk_shape))  # type: ignore[attr-defined]


def decode_shard(array: zarr.Array, encoding: _Encoding, coords: tuple[int, ...], out: np.ndarray) -> None:
    """Decode shard `coords` of `array` into `out`: its shard shape, or less at the array's end
    (the inner chunks there are decoded whole and cut). One read of the shard's bytes, each inner
    chunk's CRC32C checked, then Blosc-decoded in place; chunks never written (and a missing
    shard) hold the fill value."""
    inner = encoding.inner
    grid = [s // c for s, c in zip(encoding.shard, inner, strict=True)]
    key = f"{array.path}/{array.metadata.encode_chunk_key(coords)}"
    data = _shard_bytes(array.store_path.store, key)
    if data is None:
        out[...] = array.fill_value
        return
    n = math.prod(grid)
    index = _checked(data, len(data) - 16 * n - 4, 16 * n + 4, key, "shard index")
    spans = np.frombuffer(index, dtype="<u8").reshape(n, 2).tolist()
    stored = np.dtype(array.dtype).newbyteorder("<")
    in_place = stored == np.dtype(array.dtype)
    for (offset, length), at in zip(spans, itertools.product(*map(range, grid)), strict=True):
        view = out[tuple(slice(i * c, (i + 1) * c) for i, c in zip(at, inner, strict=True))]
        if view.size == 0:  # past the array's end
            continue
        if offset == EMPTY and length == EMPTY:
            view[...] = array.fill_value
            continue
        chunk = _checked(data, offset, length, key, at)
        if in_place and view.shape == inner and view.flags.c_contiguous:
            blosc.decompress(chunk, view)
        else:
            whole = np.frombuffer(blosc.decompress(chunk), dtype=stored).reshape(inner)
            view[...] = whole[tuple(slice(0, size) for size in view.shape)]


@runtime_checkable
class MemberReader(Protocol):
    """A store that reads a member's bytes itself, in this thread rather than on zarr's event
    loop (`archive.ProcessLocalZipStore`, `remote.ZipRangeStore`); a shard's CRC32Cs are
    checked here whatever the store checks of its own."""

    def read_member(self, key: str) -> bytes | None: ...


def _shard_bytes(store: Any, key: str) -> np.ndarray | None:
    """Shard `key`'s bytes as uint8 (None if never written); the inner chunks are views of them."""
    if isinstance(store, MemberReader):
        raw = store.read_member(key)
        return None if raw is None else np.frombuffer(raw, dtype=np.uint8)
    buffer = sync(store.get(key, prototype=default_buffer_prototype()))
    return None if buffer is None else buffer.as_numpy_array().view(np.uint8)


def _checked(data: np.ndarray, offset: int, length: int, key: str, part: Any) -> np.ndarray:
    """`data[offset: offset + length]` (bytes as uint8) less its trailing CRC32C (4 bytes,
    little-endian), which must match; the error names `key` and the `part` of it (an inner
    chunk's coordinates), formatted only then."""
    end = offset + length
    if length < 4 or offset < 0 or end > len(data) \
            or google_crc32c.value(data[offset: end - 4]) != int.from_bytes(data[end - 4: end].tobytes(), "little"):
        what = part if isinstance(part, str) else f"inner chunk {part}"
        raise ChunkChecksumError(f"{key} ({what}): stored and computed CRC32C checksum do not match")
    return data[offset: end - 4]
