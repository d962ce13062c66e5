"""Errors of the store, in the package's hierarchy (`chaosdata.errors.ChaosdataError`)."""

from __future__ import annotations

from chaosdata.errors import ChaosdataError


class StoreError(ChaosdataError, OSError):
    """A store that is missing, foreign, locked, or built from a different config."""


class ChecksumError(StoreError):
    """Stored data that do not match the manifest (raised by `Store.verify(strict=True)`)."""
