"""Blocking calls run side by side on threads: for calls that wait (network requests), where
one after the other they would add up their waits."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def map_side_by_side(fn: Callable[[T], R], items: Sequence[T], threads: int, name: str) -> list[R]:
    """`[fn(item) for item in items]`, in order, up to `threads` calls at a time on threads
    named `name` (one after the other in this thread when `threads` < 2 or there is one item).
    The first error in item order is raised; after an error (or Ctrl-C) no other item starts,
    and the calls under way finish."""
    if threads < 2 or len(items) < 2:
        return [fn(item) for item in items]
    pool = ThreadPoolExecutor(min(threads, len(items)), thread_name_prefix=name)
    try:
        return list(pool.map(fn, items))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
