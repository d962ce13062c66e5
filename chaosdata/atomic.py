"""Files replaced whole: written under a temporary name beside the target, then renamed onto it.

A reader sees the old file or the new one, never half of one. A writer that raises removes its
temporary file; one that is killed leaves a hidden `.<name>.tmp-<pid>` beside the target,
which no reader takes for the target and folder scanners (`datasets`' data-file discovery)
skip; the store's writer removes those it finds in a store, `chaosdata.owned.Ledger.prune` those
in the folders of the exports and stagings.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

TMP_MARK = ".tmp-"


def temporary_name(path: Path) -> Path:
    """Where `path` is written before the rename: `.<name>.tmp-<pid>` in the same folder (the
    same file system, so the rename is atomic; the pid keeps concurrent writers apart)."""
    return path.with_name(f".{path.name}{TMP_MARK}{os.getpid()}")


@contextlib.contextmanager
def replacing(path: str | Path, *, fsync: bool = False) -> Iterator[Path]:
    """Yield a temporary path to write; on a clean exit it replaces `path` (its folder made if
    missing), on an exception it is removed and `path` is left as it was. `fsync` flushes the
    file to disk before the rename (for commit records such as a store's manifest)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)
    try:
        yield tmp
        if fsync:
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Replace a UTF-8 text file atomically."""
    with replacing(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
