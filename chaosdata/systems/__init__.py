"""The catalogue: every system of the dysts collection as a batched torch function.

Systems are discovered from the family modules of this package (every module not starting
with an underscore, other than `base`); each registers its systems with the decorators of
`chaosdata.systems.base`. Systems registered later from user code (the same decorators) are
listed and found like the catalogue's.
"""

from __future__ import annotations

import importlib
import pkgutil

from chaosdata.errors import InvalidInputError
from chaosdata.systems.base import KINDS, SYSTEMS, System, stack

__all__ = ["KINDS", "SYSTEMS", "System", "get_system", "list_systems", "stack"]


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()


def list_systems(kind: str | None = None) -> list[str]:
    """Sorted names of all systems, or of one kind (`flow`, `delay` or `map`)."""
    if kind is not None and kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS} or None, got {kind!r}")
    return sorted(n for n, s in SYSTEMS.items() if kind is None or s.kind == kind)


def get_system(name: str | System) -> System:
    """The system called `name` (case-insensitive, see `SYSTEMS`); a `System` is returned as is."""
    return name if isinstance(name, System) else SYSTEMS.get(name)
