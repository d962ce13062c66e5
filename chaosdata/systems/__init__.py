"""The catalogue: every system of the dysts collection as a batched torch function.

Systems are discovered from the family modules of this package (every module not starting
with an underscore, other than `base`); each registers its systems with the decorators of
`chaosdata.systems.base`. Systems registered later from user code (the same decorators) are
listed and found like the catalogue's.
"""

from __future__ import annotations

import importlib
import pkgutil

from chaosdata.errors import InvalidInputError, UnknownSystemError, suggest
from chaosdata.systems.base import _BY_LOWER, _REGISTRY, KINDS, System, stack

__all__ = ["System", "get_system", "list_systems", "stack", "KINDS"]


def _discover() -> None:
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")


_discover()


def list_systems(kind: str | None = None) -> list[str]:
    """Sorted names of all systems, or of one kind (`flow`, `delay` or `map`)."""
    if kind is not None and kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS} or None, got {kind!r}")
    return sorted(n for n, s in _REGISTRY.items() if kind is None or s.kind == kind)


def get_system(name: str | System) -> System:
    """The system called `name` (case-insensitive); a `System` is returned as is."""
    if isinstance(name, System):
        return name
    if not isinstance(name, str):
        raise UnknownSystemError(f"a system name must be a string, got {type(name).__name__}")
    key = _BY_LOWER.get(name.lower())
    if key is None:
        raise UnknownSystemError(
            f"unknown system {name!r}.{suggest(name, _REGISTRY)} "
            "`chaosdata systems` lists them all."
        )
    return _REGISTRY[key]
