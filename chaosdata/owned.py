"""Files a command may replace or delete: only those it can prove it wrote.

An output folder (an export's, a card's, a staging) keeps a record of what chaosdata wrote there:
JSON `{"files": {path: {"size", "sha256"}}, ...}`, written last and atomically. While a run is
under way each file it writes is also appended to a journal beside the record
(`.<record name>.journal`, one JSON line per file), so a run stopped half way (Ctrl-C, a full
disk, a kill) is resumed by the next one instead of refused; the commit removes the journal.

```python
ledger = Ledger(out, RECORD, source=store.path)   # refuses an `out` that overlaps the store
ledger.claim(*planned)                            # refuses a user's file at a planned path
with ledger.writing("data/Lorenz/fine/train-00000-of-00001.parquet") as tmp:
    write(tmp)                                    # atomic; recorded with its SHA-256
ledger.prune("data/Lorenz")                       # deletes what an earlier run wrote and this one did not
ledger.commit()                                   # the record, last
```
A file at a path the command writes, or under a folder it prunes, is replaced or deleted only
when the record (or the journal) lists it with the same SHA-256. Any other file is the user's:
writing over it raises `InvalidInputError` naming it, pruning leaves it and lists it in `left`.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from chaosdata.atomic import TMP_MARK, replacing, write_text
from chaosdata.errors import InvalidInputError
from chaosdata.files import file_entry, sha256_file

RECORD = ".chaosdata-written.json"  # the record of a standalone export or card folder
MAX_NAMED = 5  # files named in one message


def refuse_overlap(out: Path, source: Path, option: str = "the output folder") -> None:
    """Refuse an output folder that is the source store, lies inside it, or contains it."""
    o, s = out.resolve(), source.resolve()
    if o == s or o.is_relative_to(s) or s.is_relative_to(o):
        where = "is" if o == s else "lies inside" if o.is_relative_to(s) else "contains"
        raise InvalidInputError(f"{option} {out} {where} the store {source}; writing there could replace the "
                                "store's own files. Give a folder outside the store (e.g. a sibling folder)")


def _named(paths: list[str]) -> str:
    more = f" and {len(paths) - MAX_NAMED} more" if len(paths) > MAX_NAMED else ""
    return ", ".join(paths[:MAX_NAMED]) + more


def _is_leftover_tmp(path: Path) -> bool:
    """A temporary file of `chaosdata.atomic` whose writer is gone (a killed run's)."""
    name, _, pid = path.name.rpartition(TMP_MARK)
    if not name.startswith(".") or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def append_journal(root: Path, journal: str, rel: str) -> dict[str, Any]:
    """Put the file `rel` of the folder `root` in the run's journal; return its entry. Worker
    processes call it for what they write, so that a run stopped half way knows its files."""
    entry = file_entry(root / rel)
    (root / journal).parent.mkdir(parents=True, exist_ok=True)
    with (root / journal).open("a", encoding="utf-8") as fh:  # one short line per append: not interleaved
        fh.write(json.dumps([rel, entry]) + "\n")
    return entry


class Ledger:
    """What chaosdata wrote in `root`: the last run's record and journal (`owned`), this run's
    files (`written`), what was deleted (`removed`) and the user's files left alone (`left`)."""

    def __init__(self, root: str | os.PathLike, record: str = RECORD, *, source: str | os.PathLike | None = None,
                 option: str = "the output folder"):
        self.root = Path(root)
        if source is not None:
            refuse_overlap(self.root, Path(source), option)
        if self.root.exists() and not self.root.is_dir():
            raise InvalidInputError(f"{option} {self.root} is a file; give a folder (it is created)")
        self.record = record
        self.journal = Path(record).with_name(f".{Path(record).name.lstrip('.')}.journal").as_posix()
        self.previous = self._read_record()
        self.owned = dict(self.previous.get("files", {}))
        self.owned.update(self._read_journal())
        self.written: dict[str, dict[str, Any]] = {}
        self.cleared: set[str] = set()
        self.removed: list[str] = []
        self.left: list[str] = []
        self.scopes: list[str] = []

    @property
    def exists(self) -> bool:
        """Whether an earlier run left a record or a journal here."""
        return bool(self.previous) or (self.root / self.journal).is_file()

    def _read_record(self) -> dict[str, Any]:
        path = self.root / self.record
        if not path.is_file():
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise InvalidInputError(f"{path} is not chaosdata's record of the files it wrote ({err}); delete the "
                                    f"folder {self.root} (or this file) and run again, or give a new folder") from None
        match data:
            case {"files": dict()}:
                return data
        raise InvalidInputError(f"{path} holds no `files` object; it is not chaosdata's record. Delete it "
                                f"or give a new folder")

    def _read_journal(self) -> dict[str, dict[str, Any]]:
        path = self.root / self.journal
        entries: dict[str, dict[str, Any]] = {}
        if path.is_file():
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                with contextlib.suppress(json.JSONDecodeError, TypeError, ValueError):
                    rel, entry = json.loads(line)  # a line cut short by a kill is skipped
                    entries[str(rel)] = dict(entry)
        return entries

    def is_owned(self, rel: str) -> bool:
        """Whether the file at `rel` is one chaosdata wrote (listed, same size and SHA-256)."""
        path = self.root / rel
        entry = self.written.get(rel) or self.owned.get(rel)
        return (entry is not None and path.is_file() and path.stat().st_size == entry.get("size")
                and sha256_file(path) == entry.get("sha256"))

    def claim(self, *rels: str) -> None:
        """Check that writing `rels` replaces no file of the user's (before anything is written)."""
        foreign = [rel for rel in rels if rel not in self.cleared and (self.root / rel).exists()
                   and not self.is_owned(rel)]
        if foreign:
            raise InvalidInputError(
                f"{self.root}: {_named(foreign)} would be overwritten, but chaosdata did not write "
                f"{'it' if len(foreign) == 1 else 'them'} (not in {self.record}, or changed since); nothing of "
                "yours is replaced. Move those files away, or give another output folder")
        self.cleared.update(rels)

    @contextlib.contextmanager
    def guard(self, rel: str = "") -> Iterator[None]:
        """Turn a failed write (a full disk, no permission) into an OSError naming the output folder."""
        try:
            yield
        except OSError as err:
            if err.errno is None:
                raise
            what = f" writing {rel}" if rel else ""
            hint = ("; the files written so far are kept: free some space and run the same command again to "
                    "resume" if err.errno in (errno.ENOSPC, errno.EDQUOT) else "")
            raise OSError(err.errno, f"{os.strerror(err.errno)}{what} under the output folder{hint}",
                          str(self.root)) from err

    @contextlib.contextmanager
    def writing(self, rel: str) -> Iterator[Path]:
        """Yield a temporary path for the file `rel`; on a clean exit it replaces `rel` atomically
        and is recorded (refused first if `rel` is a file of the user's)."""
        self.claim(rel)
        with self.guard(rel), replacing(self.root / rel) as tmp:
            yield tmp
        self.wrote(rel)

    def wrote(self, rel: str, entry: dict[str, Any] | None = None) -> None:
        """Record `rel` as written by this run: put it in the journal with its size and SHA-256,
        or with `entry`, take the entry a worker process already journaled (`append_journal`)."""
        with self.guard(self.journal):
            self.written[rel] = dict(entry) if entry is not None else append_journal(self.root, self.journal, rel)

    def prune(self, folder: str = "") -> list[str]:
        """Delete the files under `folder` (relative; '' for all of `root`) that an earlier run
        wrote and this one did not, and killed runs' temporary files; leave every other file
        (listed in `left`). Returns the deleted paths."""
        self.scopes.append(folder)
        base = self.root / folder
        if not base.is_dir():
            return []
        removed, kept, bookkeeping = [], [], {self.record, self.journal}
        for path in sorted(base.rglob("*"), reverse=True):  # a folder's files before the folder
            rel = path.relative_to(self.root).as_posix()
            if path.is_dir():
                if not any(path.iterdir()):
                    path.rmdir()
            elif rel in self.written or rel in bookkeeping:
                continue
            elif _is_leftover_tmp(path) or (rel in self.owned and self.is_owned(rel)):
                path.unlink()
                removed.append(rel)
            else:
                kept.append(rel)
        self.removed += sorted(removed)
        self.left = sorted(set(self.left) | set(kept))
        return sorted(removed)

    def _in_scope(self, rel: str) -> bool:
        return any(not s or rel == s or rel.startswith(s.rstrip("/") + "/") for s in self.scopes)

    def commit(self, **extra: Any) -> dict[str, Any]:
        """Write the record (what this run wrote, and what earlier runs wrote outside the pruned
        folders and still there), then drop the journal. `extra` keys go into the record."""
        files = {rel: e for rel, e in self.owned.items() if not self._in_scope(rel) and (self.root / rel).is_file()}
        files.update(self.written)
        record = {**extra, "files": dict(sorted(files.items()))}
        with self.guard(self.record):
            write_text(self.root / self.record, json.dumps(record, indent=1, sort_keys=True) + "\n")
            (self.root / self.journal).unlink(missing_ok=True)
        return record


__all__ = ["RECORD", "Ledger", "append_journal", "refuse_overlap"]
