"""One registry class for every named thing: systems, tableaux, forecasters, metrics, protocols.

Each kind of thing is found the same way: by name, ignoring case, with "did you mean"
suggestions on a typo and one error (`UnknownNameError`) naming the kind and the known names.
A name is taken once: registering a second object under it (in any case) is refused.
Families of names made on first use (`darts:<model>`, `chronos:<checkpoint>`) are a prefix and
a maker, looked up after the registered names.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from chaosdata import validate
from chaosdata.errors import InvalidInputError, UnknownNameError, suggest

T = TypeVar("T")

LIST_AT_MOST = 30  # an unknown-name error lists the known names when there are at most this many


class Registry(Generic[T]):
    """Objects of one `kind` ("system", "metric"...) by name, in registration order.

    `listing`: where a user finds every name (said in the error when there are too many to list).
    """

    def __init__(self, kind: str, *, listing: str = "") -> None:
        self.kind = kind
        self.listing = listing
        self._items: dict[str, T] = {}  # lower-case name -> object
        self._names: dict[str, str] = {}  # lower-case name -> name as registered
        self._families: dict[str, Callable[[str], T]] = {}  # lower-case prefix -> maker

    def add(self, name: str, item: T) -> T:
        """Register `item` as `name` and return it; the same object again is a no-op, another
        object under a taken name (any case) is refused."""
        key = validate.text(name, f"a {self.kind} name").lower()
        if key in self._items:
            if self._items[key] is item:
                return item
            raise InvalidInputError(f"{self.kind} name {name!r} is taken (by {self._names[key]!r}; names ignore "
                                    "case): choose another name")
        self._items[key] = item
        self._names[key] = name
        return item

    def add_family(self, prefix: str, make: Callable[[str], T]) -> None:
        """Names `<prefix>:<rest>` not registered yet are made by `make(rest)` (which registers
        what it makes under the full name, or raises an error naming the fix)."""
        self._families[prefix.lower()] = make

    def remove(self, name: str) -> T:
        """Unregister `name` (a user's own entry, to register it again changed) and return it."""
        key = self.canonical(name).lower()
        del self._names[key]
        return self._items.pop(key)

    def get(self, name: str) -> T:
        """The object registered as `name` (any case), or made by its family; `UnknownNameError`
        with the known names and the closest ones otherwise."""
        key = validate.instance(name, f"a {self.kind} name", str).lower()
        if key in self._items:
            return self._items[key]
        prefix, sep, rest = name.partition(":")
        if sep and prefix.lower() in self._families:
            return self._families[prefix.lower()](rest)
        raise UnknownNameError(f"unknown {self.kind} {name!r}; {self._known()}.{suggest(name, self.names())}")

    def canonical(self, name: str) -> str:
        """`name` as it was registered (its case), checked like `get`."""
        self.get(name)
        return self._names[name.lower()]

    def names(self) -> list[str]:
        """Registered names as written, in registration order."""
        return list(self._names.values())

    def items(self) -> list[tuple[str, T]]:
        """`(name, object)` pairs in registration order."""
        return [(self._names[k], v) for k, v in self._items.items()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {len(self)} names)"

    def _known(self) -> str:
        families = [f"{p}:<name>" for p in self._families]
        if len(self) <= LIST_AT_MOST:
            return "known: " + ", ".join(self.names() + families)
        where = f": {self.listing} lists them" if self.listing else ""
        return f"{len(self)} known{where}" + "".join(f", and {f}" for f in families)
