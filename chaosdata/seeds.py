"""Seeds derived from text: the same in every process and on every machine (no salted `hash`)."""

from __future__ import annotations

import hashlib


def seed_of(key: str) -> int:
    """A 53-bit seed (exact in any JSON reader, as a float64 holds it) from the SHA-256 of `key`."""
    return int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little") >> 11
