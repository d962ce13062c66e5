"""Errors of staging and publishing a release."""

from __future__ import annotations

from chaosdata.errors import ChaosdataError


class PublishError(ChaosdataError, RuntimeError):
    """Staging or uploading a release failed; the message says what to do (nothing was uploaded
    unless it says so)."""
