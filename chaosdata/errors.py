"""One exception hierarchy for the package; each also subclasses the builtin a caller expects."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class ChaosdataError(Exception):
    """Base class of every error raised on purpose by chaosdata."""


class InvalidInputError(ChaosdataError, ValueError):
    """A value of the right type but the wrong shape, range or name."""


class UnknownNameError(InvalidInputError, KeyError):
    """A name that is not in its registry (a system, tableau, forecaster, metric, protocol...)."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""


class InvalidTypeError(ChaosdataError, TypeError):
    """An argument of the wrong type."""


class ModelError(ChaosdataError):
    """A forecaster's fit or forecast failed with an error of its own type (a third-party model may
    raise anything: darts a TypeError, statsmodels a LinAlgError); the original is its __cause__."""


def suggest(name: str, choices: Iterable[str], n: int = 3) -> str:
    """A ' Did you mean ...?' hint for a misspelt name, else for a name it starts (a family
    name such as 'vpt' for 'vpt_smape'); '' when neither finds one."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    close = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    if not close and name:
        close = [c for c in lowered if c.startswith(name.lower())][:n]
    if not close:
        return ""
    return " Did you mean " + ", ".join(repr(lowered[c]) for c in close) + "?"
