"""One exception hierarchy for the package; each also subclasses the builtin a caller expects."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChaosdataError(Exception):
    """Base class of every error raised on purpose by chaosdata."""


class UnknownSystemError(ChaosdataError, KeyError):
    """A system name that is not in the catalogue."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidInputError(ChaosdataError, ValueError):
    """A value of the right type but the wrong shape, range or name."""


class InvalidTypeError(ChaosdataError, TypeError):
    """An argument of the wrong type."""


def suggest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' hint for a misspelt name ('' when nothing is close)."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not close:
        return ""
    return " Did you mean " + ", ".join(repr(lowered[c]) for c in close) + "?"
