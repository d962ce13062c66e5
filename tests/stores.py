"""Store configs and helpers shared by the tests that build stores (a helper module, like
`reference.py`: test modules import it, never each other)."""

from __future__ import annotations

import multiprocessing
import threading
import tomllib
from pathlib import Path
from queue import Empty
from typing import Any

import numpy as np

from chaosdata.store.layout import BUILD_LOG, LOCK

ROOT = Path(__file__).resolve().parents[1]
# three kinds of system (a flow, a map, a delay equation), three granularities, seconds to build
TINY = """
name = "tiny"
systems = ["Lorenz", "Henon", "MackeyGlass"]
seed = 7
length = 2
transient = 1
map_length = 50
map_transient = 10
[splits]
train = 2
val = 1
test = 1
[granularities.coarse]
timescale = "period"
points = 15
[granularities.fine]
timescale = "period"
points = 100
[granularities.lyapunov]
timescale = "lyapunov"
points = 50
[integrator]
rtol = 1e-6
atol = 1e-6
dde_steps_per_period = 50
[storage]
chunk_time = 64
"""


def raw_tiny(**changes) -> dict:
    """The tiny config as a dict, with `changes` over its top-level keys."""
    raw = tomllib.loads(TINY)
    raw.update(changes)
    return raw


def store_bytes(path: Path) -> dict[str, bytes]:
    """Every file of a store but the volatile ones (build log, lock), by relative path."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name not in (BUILD_LOG, LOCK)}


def quiet(msg: str) -> None:
    """A build log that prints nothing."""


def _put_bytes(array: Any, queue: Any) -> None:
    queue.put(np.asarray(array[...]).tobytes())


def read_in_a_fork_while_held(lock: Any, array: Any) -> bytes:
    """`array[...]`'s bytes, read in a forked child (a DataLoader worker) while a thread of this
    process holds `lock`: the child inherits the lock held, and the thread that would release it
    is not in the child. Fails if the child hangs on it."""
    held, done = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            held.set()
            done.wait(timeout=120)

    thread = threading.Thread(target=hold)
    thread.start()
    held.wait(timeout=60)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    child = ctx.Process(target=_put_bytes, args=(array, queue))
    try:
        child.start()
        try:  # before joining: a child exits only once what it put in the queue is read
            data = queue.get(timeout=60)
        except Empty as hung:
            raise AssertionError("the forked child hung on the lock a parent thread held") from hung
        child.join(timeout=30)
        return data
    finally:
        done.set()
        thread.join()
        if child.is_alive():
            child.kill()
