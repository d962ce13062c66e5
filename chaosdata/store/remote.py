"""A store read over HTTP (a Hub repo, or any fsspec URL of a store folder): only the byte ranges
that reads touch, through an on-disk cache that survives restarts. No file is downloaded whole.

```python
store = open_remote("owner/name", revision=None, cache=Path("~/.cache/chaosdata/remote"))
store.array("Lorenz", "fine", "train")[0, :512]   # a few ranged GETs; next time from the cache
```
- Revisions: a Hub revision is resolved to its commit sha once per `open_remote`, and every URL
  names that sha, so one cache folder never mixes revisions (the sha of each requested revision
  is kept under `refs/`, for `HF_HUB_OFFLINE=1`). Another URL's revision is the SHA-256 of its
  manifest, fetched on each open.
- Reads: a system's zip is ZIP_STORED, so each Zarr key is a span of the file. Its central
  directory (one ranged read of the file's tail) gives the spans, and `ZipRangeStore` serves
  zarr's reads (whole keys or ranges in them) as ranges of the file.
- Cache: one file per range read, `<rev>/ranges/<System>.zip/<offset>-<length>`, written under a
  temporary name and renamed, so an interrupted read leaves nothing that a later one takes for
  data. zarr checks each chunk's CRC32C on decode; a read that fails it evicts the entries it
  used and reads once more from the server (`RemoteArray`). A rerun fetches only what is missing.
- Transport: fsspec (`HfFileSystem` for the Hub), one handle and lock per file and process
  (opened again after a fork; a forked DataLoader worker reads through the store its parent
  opened where the filesystem survives a fork, `RemoteStore.fork_safe`). huggingface_hub's own
  back-off waits out a 429 (Retry-After) and retries 5xx answers and dropped connections before
  an error names the file and what to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import io
import json
import os
import sys
import threading
import zipfile
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple, TypeGuard

import zarr
from zarr.abc.store import ByteRequest, OffsetByteRequest, RangeByteRequest, SuffixByteRequest
from zarr.abc.store import Store as ZarrStore
from zarr.core.buffer import Buffer, BufferPrototype

from chaosdata.atomic import replacing
from chaosdata.store import shards
from chaosdata.store.archive import is_checksum_error, member_spans
from chaosdata.store.errors import ChecksumError, StoreError
from chaosdata.store.layout import MANIFEST, system_file
from chaosdata.store.reader import CheckedArray, Store, VerifyReport, verify_arrays, walk_arrays

if sys.platform != "win32":  # Windows has no advisory locks (see `_exclusive`)
    import fcntl

TAIL_BYTES = 256 << 10  # the first read of a zip: its last bytes, which hold the central directory and,
# just before it, the root document (a member sorted last: ~140 KB for a system of the presets)
SIDE_BY_SIDE = 8  # systems opened or read at once, each waiting on requests (huggingface_hub downloads 8 files at once)


@functools.cache
def transfer_errors() -> tuple[type[Exception], ...]:
    """What a failed transfer raises: fsspec (OSError), huggingface_hub (HfHubHTTPError is an
    OSError; EntryNotFoundError), httpx2 (a dropped connection once the back-off gives up).
    The Hub client is imported here, when a remote store is first read, not with chaosdata: a
    machine whose huggingface_hub is another major version (a GPU image) can still integrate,
    build and read local stores. (huggingface_hub reads `HF_ENDPOINT` when it is first imported.)"""
    import httpx2
    from huggingface_hub.errors import EntryNotFoundError

    return (OSError, httpx2.HTTPError, EntryNotFoundError)


def not_found_errors() -> tuple[type[Exception], ...]:
    """What a missing file raises: fsspec's FileNotFoundError, huggingface_hub's EntryNotFoundError."""
    return (FileNotFoundError, transfer_errors()[2])


class RangeNotSupportedError(StoreError):
    """The server answered a range request with more (or other) bytes than asked: no HTTP Range."""


class RemoteFile:
    """One file of a remote store, read by byte range through the on-disk cache `ranges`; a
    process fetching a range holds its lock in `locks` (apart, so that `ranges` lists ranges only)."""

    def __init__(self, fs: Any, path: str, label: str, size: int, ranges: Path, locks: Path):
        self.fs, self.path, self.label, self.size, self.ranges, self.locks = fs, path, label, size, ranges, locks
        self.used: list[Path] = []  # cache entries read since `used` was last cleared (see RemoteArray)
        self._handles: dict[int, Any] = {}  # per process id: a handle does not survive a fork
        self._locks: dict[int, threading.Lock] = {}  # per process id: one a thread held at a fork stays held

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "used": [], "_handles": {}, "_locks": {}}

    @property
    def _lock(self) -> threading.Lock:
        return self._locks.setdefault(os.getpid(), threading.Lock())

    def read(self, offset: int, length: int, crc32: int | None = None, what: str = "") -> bytes:
        """Bytes `offset:offset + length`, from the cache or else from the server (then cached).
        With `crc32` (a whole zip member's CRC-32), cached bytes that fail it are evicted and
        fetched again, and fetched bytes that fail it raise `ChecksumError`, never cached. One
        process fetches a range while the others that want it wait, then read it from the cache:
        N DataLoader workers starting on the same shard make one request for it, not N."""
        entry = self.ranges / f"{offset}-{length}"
        with self._lock:
            self.used.append(entry)
        data = _cached(entry, length, crc32)
        if data is not None:
            return data
        with self.fetching(entry):
            data = _cached(entry, length, crc32)  # fetched meanwhile by the process that held the lock
            if data is not None:
                return data
            data = self._fetch(offset, length)
            if crc32 is not None and zlib.crc32(data) != crc32:
                entry.unlink(missing_ok=True)
                raise ChecksumError(
                    f"{self.label} ({what}): the server sent bytes that fail their checksum (CRC-32 "
                    f"{zlib.crc32(data):08x}, expected {crc32:08x}); nothing of them was kept in the cache. "
                    "The file on the server is damaged: tell the repo's owner, or pick another revision")
            with replacing(entry) as tmp:
                tmp.write_bytes(data)
        return data

    def fetching(self, entry: Path) -> contextlib.AbstractContextManager[None]:
        """The lock a process holds while it fetches the range of cache `entry`."""
        return _exclusive(self.locks / entry.name)

    def evict(self, entries: Iterable[Path]) -> None:
        for entry in entries:
            entry.unlink(missing_ok=True)

    def _fetch(self, offset: int, length: int) -> bytes:
        what = f"bytes {offset}-{offset + length - 1} of {self.label}"
        try:
            with self._lock:
                handle = self._handles.get(os.getpid())
                if handle is None:
                    handle = self._handles[os.getpid()] = self.fs.open(self.path, "rb", cache_type="none",
                                                                       size=self.size)
                handle.seek(offset)
                data = handle.read(length)
        except transfer_errors() as err:
            raise StoreError(f"reading {what} failed: {type(err).__name__}: {_one_line(err)}. Check the source (repo id, "
                             "revision, network) and run again: the ranges read so far are cached, and only the "
                             "rest is fetched") from err
        except ValueError as err:  # fsspec's HTTPFile refuses a 200 to a ranged GET
            raise RangeNotSupportedError(f"reading {what}: {err}. The server does not answer HTTP Range "
                                         "requests, which reading a store over HTTP needs; serve it from a "
                                         "server that does, or download the folder and pass its path") from err
        if len(data) != length:
            raise RangeNotSupportedError(
                f"reading {what}: the server sent {len(data)} bytes for a {length}-byte range (the whole file is "
                f"{self.size}): it does not answer HTTP Range requests (206), which reading a store over HTTP "
                "needs. Serve it from a server that does, or download the folder and pass its path")
        return data

    def members(self) -> Directory:
        """The zip's members, from its central directory: one read of the file's tail."""
        tail = min(self.size, TAIL_BYTES)
        data = self.read(self.size - tail, tail)
        try:
            with zipfile.ZipFile(_TailReader(self, data)) as zf:
                spans = member_spans(zf)
        except zipfile.BadZipFile as err:
            raise ChecksumError(f"{self.label} is not a readable zip ({err}); the file is damaged or not a "
                                "chaosdata store's system file") from err
        unread = next((key for key, span in spans.items() if span is None), None)
        if unread is not None:
            raise StoreError(f"{self.label}: member {unread} is compressed or followed by a data descriptor; a "
                             "chaosdata system file stores its members as they are (rebuild it with `chaosdata generate`)")
        return Directory({key: span for key, span in spans.items() if span is not None}, self.size - tail, data)


class Directory(NamedTuple):
    """A zip's members `{key: (offset, size, CRC-32)}` and the tail of the file read to find them."""

    spans: dict[str, tuple[int, int, int]]
    tail_offset: int
    tail: bytes

    def member(self, key: str) -> bytes | None:
        """Member `key`'s bytes where the tail holds all of them and they match their CRC-32, else None."""
        if key not in self.spans:
            return None
        offset, size, crc32 = self.spans[key]
        start = offset - self.tail_offset
        data = self.tail[start: start + size] if start >= 0 else b""
        return data if len(data) == size and zlib.crc32(data) == crc32 else None


def _cached(entry: Path, length: int, crc32: int | None) -> bytes | None:
    """A cache entry's bytes, if it holds `length` bytes (and matches `crc32` when given)."""
    try:
        data = entry.read_bytes()
    except FileNotFoundError:
        return None
    return data if len(data) == length and (crc32 is None or zlib.crc32(data) == crc32) else None


@contextlib.contextmanager
def _exclusive(path: Path) -> Iterator[None]:
    """Hold an advisory lock on the file `path` (made if missing) against other processes and
    threads; where there is no `fcntl` (Windows), none: concurrent readers may then both fetch."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as fh:
        if sys.platform != "win32":
            fcntl.flock(fh, fcntl.LOCK_EX)
        yield


class _TailReader(io.RawIOBase):
    """A seekable view of a remote file for `zipfile`: reads inside the tail come from it,
    others from the file (ranged reads, cached)."""

    def __init__(self, file: RemoteFile, tail: bytes):
        self.file, self.tail, self.start, self.pos = file, tail, file.size - len(tail), 0

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        self.pos = offset + (self.pos if whence == 1 else self.file.size if whence == 2 else 0)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        n = self.file.size - self.pos if n is None or n < 0 else min(n, self.file.size - self.pos)
        if self.pos >= self.start:
            data = self.tail[self.pos - self.start: self.pos - self.start + n]
        else:
            data = self.file.read(self.pos, n)
        self.pos += len(data)
        return data


class ZipRangeStore(ZarrStore):
    """A read-only zarr store over a remote ZIP_STORED file: each key a span of it.

    Made in the thread that opens the system, it reads there what every open needs (the central
    directory, the root document), and `read_member` serves whole shards in the calling thread
    (`shards.MemberReader`): zarr runs every store's reads on its one event loop, where the
    systems that `load_dataset` opens side by side would wait on each other's requests. A
    node's `zarr.json` is served from the root document's consolidated copy: the node's own
    would cost a request of its own, and opening the group on the consolidated copy parses
    every node's metadata (12 of the 19 ms a system took to open); so a group is opened without
    it, as on local disk."""

    supports_writes = False
    supports_deletes = False
    supports_partial_writes = False
    supports_listing = True

    def __init__(self, file: RemoteFile):
        super().__init__(read_only=True)
        self.file = file
        directory = file.members()
        self.spans = directory.spans
        # checked by its CRC-32, as every whole member; usually in the tail just read
        self.root = directory.member("zarr.json") or self._member("zarr.json")
        consolidated = json.loads(self.root).get("consolidated_metadata") if self.root is not None else None
        self._nodes: dict[str, Any] = (consolidated or {}).get("metadata") or {}  # node path -> its metadata

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ZipRangeStore) and (other.file.label, other.file.size) == (self.file.label,
                                                                                          self.file.size)

    def read_member(self, key: str) -> bytes | None:
        """Member `key`'s bytes (None if absent), checked against the zip's CRC-32."""
        return self._member(key)

    def _document(self, key: str) -> bytes | None:
        """The metadata document `key` from memory: the root's, or a node's from its consolidated
        copy (None: not one of those)."""
        if key == "zarr.json":
            return self.root
        node = self._nodes.get(key.removesuffix("/zarr.json")) if key.endswith("/zarr.json") else None
        return None if node is None else json.dumps(node).encode()

    def _member(self, key: str, byte_range: ByteRequest | None = None) -> bytes | None:
        if key not in self.spans:
            return None
        offset, size, crc32 = self.spans[key]
        if byte_range is None:  # a whole member: checked against the zip's CRC-32 as it is read
            return self.file.read(offset, size, crc32, key)
        if isinstance(byte_range, RangeByteRequest):
            start, stop = byte_range.start, min(byte_range.end, size)
        elif isinstance(byte_range, OffsetByteRequest):
            start, stop = byte_range.offset, size
        elif isinstance(byte_range, SuffixByteRequest):
            start, stop = max(size - byte_range.suffix, 0), size
        else:
            raise TypeError(f"unexpected byte range {byte_range!r}")
        return self.file.read(offset + start, max(stop - start, 0))  # zarr checks the chunks' CRC32C

    async def get(self, key: str, prototype: BufferPrototype, byte_range: ByteRequest | None = None) -> Buffer | None:
        data = self._document(key) if byte_range is None else None
        if data is None:  # a member's bytes may wait on the network: on a thread, so that zarr's one
            # event loop serves other reads meanwhile (systems opened side by side, a read's chunks)
            data = await asyncio.to_thread(self._member, key, byte_range)
        return None if data is None else prototype.buffer.from_bytes(data)

    async def get_partial_values(self, prototype: BufferPrototype,
                                 key_ranges: Iterable[tuple[str, ByteRequest | None]]) -> list[Buffer | None]:
        return list(await asyncio.gather(*(self.get(key, prototype, byte_range) for key, byte_range in key_ranges)))

    async def exists(self, key: str) -> bool:
        return key in self.spans

    async def set(self, key: str, value: Buffer) -> None:
        self._check_writable()

    async def delete(self, key: str) -> None:
        self._check_writable()

    async def list(self) -> AsyncIterator[str]:
        for key in sorted(self.spans):
            yield key

    async def list_prefix(self, prefix: str) -> AsyncIterator[str]:
        for key in sorted(self.spans):
            if key.startswith(prefix):
                yield key

    async def list_dir(self, prefix: str) -> AsyncIterator[str]:
        prefix = prefix.rstrip("/") + "/" if prefix else ""
        for child in sorted({k[len(prefix):].split("/", 1)[0] for k in self.spans if k.startswith(prefix)}):
            yield child


class RemoteArray(CheckedArray):
    """A remote array whose reads are checked: a chunk read by range (a part of a shard) that
    fails its CRC32C evicts the cache entries the read used and is read once more from the
    server; failing again, it raises `ChecksumError` naming the file (and nothing of it stays
    cached). Whole members are checked as they are read (`RemoteFile.read`). `read_threads`: a
    dataset over many systems reads this many of their arrays at once (`WindowDataset._prefetch`):
    each read may wait on the network."""

    read_threads = SIDE_BY_SIDE

    def __init__(self, array: zarr.Array, file: RemoteFile):
        super().__init__(array, file.label)
        self.remote = file

    def __getitem__(self, selection: Any) -> Any:
        for attempt in (1, 2):
            self.remote.used.clear()
            try:
                return shards.read(self.array, selection)
            except (ValueError, zipfile.BadZipFile) as err:
                if not is_checksum_error(err):
                    raise
                self.remote.evict(self.remote.used)
                if attempt == 2:
                    raise ChecksumError(
                        f"{self.remote.label} ({self.array.path}): the server sent bytes that fail their checksum "
                        f"twice ({err}); nothing of them was kept in the cache. The file on the server is damaged: "
                        "tell the repo's owner, or pick another revision") from err
        raise AssertionError("unreachable")


class RemoteStore(Store):
    """A `Store` whose manifest is cached locally (`path`) and whose system files are read
    remotely (`root` on `fs`, at a pinned revision) through the range cache under `path`. A
    driver's index (`<Driver>/index.json`, a corpus's skew products) is fetched when one of its
    names is first asked for, and cached under `path` when the revision is a commit (`pinned`).
    `load_dataset` opens `open_threads` systems at once: each waits on a few requests (its zip's
    tail, root document, `valid` flags), and one after the other their latencies add up."""

    open_threads = SIDE_BY_SIDE

    def __init__(self, path: Path, *, fs: Any, root: str, label: str, pinned: bool = True):
        super().__init__(path)
        self.fs, self.root, self.label, self.pinned = fs, root, label, pinned
        self._files: dict[str, RemoteFile] = {}
        self.manifest["systems"].reader = self._metadata

    def _metadata(self, path: str) -> bytes | None:
        """A metadata document of the store by its path in it (None: the store has none there)."""
        cached = self.path / path
        if self.pinned and cached.is_file():
            return cached.read_bytes()
        try:
            data = self.fs.cat_file(f"{self.root}/{path}")
        except not_found_errors():
            return None
        except transfer_errors() as err:
            raise StoreError(f"reading {self.label}/{path} failed ({type(err).__name__}: {_one_line(err)}); check "
                             "the source and the network, and run again") from err
        if self.pinned:
            with replacing(cached) as tmp:
                tmp.write_bytes(data)
        return data

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_files": {}}

    def __repr__(self) -> str:
        return f"RemoteStore({self.label!r}, systems={len(self.systems)})"

    @property
    def fork_safe(self) -> bool:
        """Whether a forked child may read through what this process opened: each `RemoteFile`
        keeps its handle and lock per process, and a synchronous filesystem survives a fork
        (`HfFileSystem`: huggingface_hub closes its HTTP session in a forked child). fsspec's
        asynchronous ones (plain HTTP URLs) refuse to run in a forked child: a worker then
        unpickles a copy of its own."""
        from fsspec.asyn import AsyncFileSystem  # fsspec is loaded: `fs` is one of its filesystems

        return not isinstance(self.fs, AsyncFileSystem)

    def _present(self, system: str) -> bool:
        return system in self.manifest["systems"]  # files are not listed: a missing one fails on its first read

    def remote_file(self, system: str) -> RemoteFile:
        name = self.resolve(system)
        if name not in self._files:
            file = system_file(name)
            self._files[name] = RemoteFile(self.fs, f"{self.root}/{file}", f"{self.label}/{file}",
                                           int(self.manifest["systems"][name]["bytes"]), self.path / "ranges" / file,
                                           self.path / "locks" / file)
        return self._files[name]

    def file(self, system: str) -> str:  # type: ignore[override]  # a URL, for messages
        return f"{self.label}/{system_file(system)}"

    def _open_group(self, system: str) -> zarr.Group:
        return zarr.open_group(ZipRangeStore(self.remote_file(system)), mode="r", use_consolidated=False)

    def stored_array(self, system: str, path: str) -> RemoteArray:
        name = self.resolve(system)
        return RemoteArray(self._array_at(name, path), self.remote_file(name))

    def verify(self, systems: Iterable[str] | None = None, *, data: bool = True, strict: bool = False) -> VerifyReport:
        """Decode every array of `systems` (all by default) and check it against the SHA-256 written
        with it: the whole of each system is read (and cached). The files' own SHA-256 are not
        computed (that needs the whole file); `data=False` checks nothing."""
        names = sorted(self.manifest["systems"]) if systems is None else [self.resolve(s) for s in systems]
        report = VerifyReport()
        for name in names:
            report.checked.append(name)
            if data:
                arrays = ((p, self.stored_array(name, p)) for p, _ in sorted(walk_arrays(self.group(name))))
                report.problems += verify_arrays(name, arrays)
        if strict and report.problems:
            raise ChecksumError(f"{self.label}: {report.first} ({len(report.problems)} problem(s) in all)")
        return report


def _one_line(err: BaseException) -> str:
    """An error's message on one line: huggingface_hub's span several (status, URL, a docs link,
    the server's words); keep the first and the server's."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip() and not line.startswith("For more")]
    return " ".join(dict.fromkeys([lines[0], lines[-1]])) if lines else repr(err)


def is_url(source: Any) -> TypeGuard[str]:
    """Whether `source` is an fsspec URL (`hf://...`, `https://...`, `s3://...`, `memory://...`)."""
    return isinstance(source, str) and "://" in source


def open_remote(source: str, *, revision: str | None, cache: Path) -> RemoteStore:
    """The store at a Hub repo id (`owner/name`) or an fsspec URL of a store folder, pinned to one
    revision; its manifest (and, as reads go, its byte ranges) cached under `cache`."""
    if is_url(source) and not source.startswith("hf://"):
        return _open_url(source, revision, cache)
    from huggingface_hub import HfFileSystem
    from huggingface_hub.hf_file_system import HfFileSystemResolvedRepositoryPath as RepoPath

    fs = HfFileSystem()
    if is_url(source):
        match fs.resolve_path(source, revision=revision):  # a repository path, or a bucket path
            case RepoPath(repo_type="dataset") as resolved:
                repo_id, revision, sub = resolved.repo_id, resolved.revision, resolved.path_in_repo
            case _:
                raise StoreError(f"{source}: a chaosdata store on the Hub is a dataset repo (hf://datasets/owner/name)")
    else:
        repo_id, sub = source, ""
    folder = cache / f"datasets--{repo_id.replace('/', '--')}"
    sha = _hub_sha(repo_id, revision, folder)
    root = f"datasets/{repo_id}@{sha}" + (f"/{sub}" if sub else "")
    return _with_manifest(folder / (sha + (f"--{hashlib.sha256(sub.encode()).hexdigest()[:8]}" if sub else "")),
                          fs, root, f"hf://{root}")


def _hub_sha(repo_id: str, revision: str | None, folder: Path) -> str:
    """The commit sha of `revision` (default: main), asked of the Hub once, recorded under
    `refs/`; with `HF_HUB_OFFLINE` set, the recorded one."""
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError

    ref = folder / "refs" / (revision or "main").replace("/", "--")
    if constants.HF_HUB_OFFLINE:
        if not ref.is_file():
            raise StoreError(f"{repo_id}@{revision or 'main'} was never read here, and HF_HUB_OFFLINE is set: "
                             "read it once online first (the cache is then used offline)")
        return ref.read_text().strip()
    try:
        sha = HfApi().dataset_info(repo_id, revision=revision, expand=["sha"]).sha  # not every file's name
    except (RepositoryNotFoundError, RevisionNotFoundError) as err:
        raise StoreError(f"source {repo_id!r} (revision {revision or 'main'!r}): {type(err).__name__}: "
                         f"{str(err).splitlines()[0]}. Check the repo id and revision (and HF_TOKEN for a private "
                         "repo)") from err
    except transfer_errors() as err:
        raise StoreError(f"source {repo_id!r}: asking the Hub for revision {revision or 'main'!r} failed "
                         f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''}); check the network "
                         "and run again, or set HF_HUB_OFFLINE=1 to use what is cached") from err
    if not sha:
        raise StoreError(f"source {repo_id!r}: the Hub named no commit for revision {revision or 'main'!r}")
    with replacing(ref) as tmp:
        tmp.write_text(sha)
    return sha


def _open_url(url: str, revision: str | None, cache: Path) -> RemoteStore:
    """A store folder at any other fsspec URL; its revision is its manifest's SHA-256."""
    import fsspec

    if revision is not None:
        raise StoreError(f"revision={revision!r} picks a version of a Hub repo; {url} is not one (hf://... is)")
    fs, root = fsspec.core.url_to_fs(url)
    manifest = _fetch_whole(fs, f"{root.rstrip('/')}/{MANIFEST}", f"{url.rstrip('/')}/{MANIFEST}")
    folder = cache / f"url--{hashlib.sha256(url.encode()).hexdigest()[:16]}" / hashlib.sha256(manifest).hexdigest()[:16]
    if not (folder / MANIFEST).is_file():
        with replacing(folder / MANIFEST) as tmp:
            tmp.write_bytes(manifest)
    # its revision is the root manifest's SHA-256, which a driver's index can change under: not pinned
    return RemoteStore(folder, fs=fs, root=root.rstrip("/"), label=url.rstrip("/"), pinned=False)


def _with_manifest(folder: Path, fs: Any, root: str, label: str) -> RemoteStore:
    """The remote store with its manifest cached in `folder` (fetched when missing)."""
    if not (folder / MANIFEST).is_file():
        data = _fetch_whole(fs, f"{root}/{MANIFEST}", f"{label}/{MANIFEST}")
        with replacing(folder / MANIFEST) as tmp:
            tmp.write_bytes(data)
    return RemoteStore(folder, fs=fs, root=root, label=label)


def _fetch_whole(fs: Any, path: str, label: str) -> bytes:
    try:
        return fs.cat_file(path)
    except FileNotFoundError as err:
        raise StoreError(f"{label} not found: the source is not a chaosdata store (no {MANIFEST}), or not at "
                         "that revision") from err
    except transfer_errors() as err:
        raise StoreError(f"reading {label} failed ({type(err).__name__}: {err}); check the source and the "
                         "network, and run again") from err
