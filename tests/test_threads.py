"""Blocking calls side by side (chaosdata.threads)."""

from __future__ import annotations

import threading
import time

import pytest

from chaosdata.threads import map_side_by_side


def test_results_come_in_item_order_from_named_threads():
    def slow_first(i: int) -> tuple[int, str]:
        time.sleep(0.05 if i == 0 else 0)
        return i * i, threading.current_thread().name

    got = map_side_by_side(slow_first, [0, 1, 2, 3], 4, "side")
    assert [value for value, _ in got] == [0, 1, 4, 9]
    assert all(name.startswith("side") for _, name in got)


@pytest.mark.parametrize("threads", [1, 8])
def test_one_thread_or_one_item_runs_here(threads):
    here = threading.current_thread().name
    items = [0] if threads == 8 else [0, 1]
    assert map_side_by_side(lambda i: threading.current_thread().name, items, threads, "side") == [here] * len(items)


def test_the_first_error_in_item_order_is_raised_and_no_later_item_starts():
    started, gate = [], threading.Event()

    def call(i: int) -> int:
        started.append(i)
        if i == 0:
            gate.wait(timeout=10)  # item 0 fails last, after item 1 has failed
            raise ValueError("item 0")
        if i == 1:
            gate.set()
            raise KeyError("item 1")
        time.sleep(0.2)  # the items behind: still queued when item 0's error is raised
        return i

    with pytest.raises(ValueError, match="item 0"):
        map_side_by_side(call, list(range(50)), 2, "side")
    assert len(started) <= 4  # what was queued behind the errors never ran
