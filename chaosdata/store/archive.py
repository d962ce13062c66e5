"""One file per system: pack a written Zarr group into a deterministic zip, and open one.

A system is written into memory (a Zarr `MemoryStore`: no directory tree to create, fsync or
remove), then packed into `<System>.zip`: members sorted by path, stored uncompressed (the
chunks are compressed already, and a stored member is read by byte range over HTTP), fixed
timestamps and permissions, so the same build gives the same bytes. zarr's `ZipStore`, xarray
(`xr.open_zarr(ZipStore(path), group=...)`) and fsspec (`zip::hf://datasets/owner/name/Lorenz.zip`)
read it as it is.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import threading
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import zarr
from zarr.abc.buffer import Buffer
from zarr.storage import ZipStore

from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.shards import ChunkChecksumError

N = TypeVar("N", zarr.Array, zarr.Group)

EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can hold: no build time in the bytes
_UNIX = 3  # `create_system`: the permission bits below are Unix mode bits


def pack(members: Mapping[str, Buffer], target: Path) -> None:
    """Write a written Zarr store's `members` (key -> bytes, as a `MemoryStore` holds them) into
    the zip `target` (sorted, stored, fixed times and modes) and fsync it: durable before it is
    renamed into the store."""
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for key in sorted(members):
            info = zipfile.ZipInfo(key, date_time=EPOCH)
            info.create_system = _UNIX
            info.external_attr = (stat.S_IFREG | 0o644) << 16
            info.compress_type = zipfile.ZIP_STORED
            zf.writestr(info, members[key].to_bytes())
    fd = os.open(target, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def member_spans(zf: zipfile.ZipFile) -> dict[str, tuple[int, int, int] | None]:
    """`{key: (offset of its bytes, size, CRC-32)}` of the members of `zf`, from its central
    directory alone: a member stored as it is (no compression, no data descriptor after it)
    ends where the next member's local header, or the central directory, begins, so its bytes
    are the `size` bytes before that, whatever its local header says. None for any other
    member: zipfile reads those. A damaged span is caught by the CRC32Cs of what it holds."""
    infos = sorted(zf.infolist(), key=lambda i: i.header_offset)
    ends = [i.header_offset for i in infos[1:]] + [zf.start_dir]
    return {info.filename: (end - info.compress_size, info.file_size, info.CRC)
            if info.compress_type == zipfile.ZIP_STORED and not info.flag_bits & 0x08 else None
            for info, end in zip(infos, ends, strict=True)}


class ProcessLocalZipStore(ZipStore):
    """A read-only `ZipStore` whose open file and lock belong to one process, so that a forked
    child (a `DataLoader` worker) can read through what its parent opened. The child inherits
    the parent's open zip, and the two would share one file offset, their seeks and reads
    interleaving (a `ChecksumError` on a sound file): the child reopens it. It takes a lock of
    its own too: one a parent thread held at the fork would never be released in the child."""

    _spans: dict[str, tuple[int, int, int] | None] | None  # per process, see `read_member`
    _lock_owner: int | None = None

    @property
    def _zf(self) -> zipfile.ZipFile:
        if self._owner != os.getpid():
            self._zf = zipfile.ZipFile(self.path, mode="r", allowZip64=self.allowZip64)
        return self._zipfile

    @_zf.setter
    def _zf(self, zf: zipfile.ZipFile) -> None:
        self._zipfile, self._owner, self._spans = zf, os.getpid(), None

    @property  # ZipStore sets a plain attribute; here it is per process
    def _lock(self) -> threading.RLock:
        if self._lock_owner != os.getpid():
            self._lock = threading.RLock()
        return self._own_lock

    @_lock.setter
    def _lock(self, lock: threading.RLock) -> None:
        self._own_lock, self._lock_owner = lock, os.getpid()

    def __getstate__(self) -> dict[str, Any]:
        per_process = ("_zipfile", "_owner", "_spans", "_own_lock", "_lock_owner")
        return {k: v for k, v in super().__getstate__().items() if k not in per_process}

    def read_member(self, key: str) -> bytes | None:
        """Member `key`'s bytes (None if absent), read where the central directory places them
        (`member_spans`) and without zipfile's CRC-32 pass: for a shard, whose every inner chunk
        and index carries a CRC32C that `shards.decode_shard` checks, that pass (1.3 ms of a 3 MB
        shard's 1.6 ms read) checks the same bytes twice. (A memory map of the file saved the copy
        in a fresh process but nothing measurable in the loader benchmark, and would turn a file
        cut short under a reader into a crash: benchmarks/RESULTS.md.)"""
        if not self._is_open:
            self._sync_open()
        with self._lock:
            zf = self._zf
            if zf.fp is None:
                raise ValueError(f"{self.path} is closed")
            if self._spans is None:
                self._spans = member_spans(zf)
            if key not in self._spans:
                return None
            span = self._spans[key]
            if span is None:
                return zf.read(key)
            offset, size, _ = span
            zf.fp.seek(offset)
            data = zf.fp.read(size)
        if len(data) != size:
            raise ChecksumError(f"{self.path}: member {key} is cut short ({len(data)} of {size} bytes); the file "
                                "is damaged: rebuild it or fetch it again")
        return data


def open_zip(path: Path) -> ZipStore:
    """A read-only `ZipStore` of a system's file; one that is not a zip raises `ChecksumError`."""
    with damaged_reads(path):
        return ProcessLocalZipStore(path, mode="r", read_only=True)


def open_system(path: Path) -> zarr.Group:
    """A system's root group, read-only. Each node's metadata is read from its own document when
    first used: on local disk the consolidated copy saves no I/O, and parsing every array's
    metadata to open one (a DataLoader worker's first read) took 24-36 ms against 4-16 ms."""
    with damaged_reads(path):
        return zarr.open_group(open_zip(path), mode="r", use_consolidated=False)


def _node_at(group: zarr.Group, path: str, kind: type[N], wanted: str, found: str) -> N:
    """The node at `path` under `group`, which the layout says is a `kind` (zarr types `group[path]`
    as array or group); a node of the other kind is a damaged or foreign store."""
    match group[path]:  # what the file holds there, not an argument
        case kind() as node:
            return node
        case _:
            raise StoreError(f"{group.store}: {group.path}/{path} is {found} where the layout has {wanted}; "
                             "the store is damaged or foreign: rebuild it")


def array_at(group: zarr.Group, path: str) -> zarr.Array:
    """The array at `path` under `group`."""
    return _node_at(group, path, zarr.Array, "an array", "a group")


def group_at(group: zarr.Group, path: str) -> zarr.Group:
    """The group at `path` under `group`."""
    return _node_at(group, path, zarr.Group, "a group", "an array")


def read(array: zarr.Array) -> np.ndarray:
    """All values of `array` as a numpy array (zarr types a read as array-like or scalar)."""
    return np.asarray(array[...])


def attributes(node: zarr.Array | zarr.Group) -> dict[str, Any]:
    """The attributes of `node` as plain JSON values (zarr types each as the JSON union)."""
    return node.attrs.asdict()


def walk_arrays(group: zarr.Group, prefix: str = "") -> Iterator[tuple[str, zarr.Array]]:
    """(path, array) for every array under `group`, depth first."""
    for name, node in group.members():
        path = f"{prefix}{name}"
        if isinstance(node, zarr.Array):
            yield path, node
        else:
            yield from walk_arrays(node, f"{path}/")


def root_attributes(path: Path) -> dict[str, Any] | None:
    """The attributes of the root group in the zip at `path` (its `zarr.json` member alone), or
    None when `path` is not a zip holding a Zarr group."""
    try:
        with zipfile.ZipFile(path) as zf:
            return json.loads(zf.read("zarr.json"))["attributes"]
    except (OSError, zipfile.BadZipFile, KeyError, ValueError, TypeError):
        return None


def is_checksum_error(err: BaseException) -> bool:
    """Whether `err` is a failed integrity check of stored bytes: zarr's CRC32C codec (a chunk or a
    shard index), the zip's own CRC-32 of a member read whole, or our `ChecksumError` saying so."""
    if isinstance(err, (zipfile.BadZipFile, ChunkChecksumError, ChecksumError)):
        return True
    return isinstance(err, ValueError) and "checksum do not match" in str(err)


@contextlib.contextmanager
def damaged_reads(path: Path | str, what: str = "") -> Iterator[None]:
    """Turn a failed checksum while reading `path` into `ChecksumError` naming the file and the fix."""
    try:
        yield
    except (ValueError, zipfile.BadZipFile) as err:
        if not is_checksum_error(err):
            raise
        where = f"{path}" + (f" ({what})" if what else "")
        raise ChecksumError(
            f"{where}: stored bytes fail their checksum ({err}); the file is damaged. Rebuild it with the same "
            "`chaosdata generate` command (it rebuilds damaged systems), or download it again"
        ) from err
