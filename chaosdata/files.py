"""The one hash of a file's bytes: what a manifest, a ledger record and a staging index store.

Every place that names a file by its content (the store's manifest, an export's or a staging's
record of what chaosdata wrote, a card's `manifest_sha256`) hashes it here, so the same bytes
always give the same string.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

BLOCK = 1 << 20  # bytes read at a time: a system's zip can be gigabytes


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 of a file's bytes (hex), read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def file_entry(path: str | os.PathLike) -> dict[str, Any]:
    """`{"size", "sha256"}` of a file: how a record lists it."""
    return {"size": os.stat(path).st_size, "sha256": sha256_file(path)}


__all__ = ["file_entry", "sha256_file"]
