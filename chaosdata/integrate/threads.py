"""How many torch CPU threads a solve uses: chosen by the size of its work, not the machine.

The solver's operations act on `[batch, dim]` tensors. Below a few tens of thousands of
elements an operation takes microseconds, and splitting it across threads buys nothing
(ATen itself keeps such loops on one thread, below its grain of 32,768 elements) while the
BLAS calls of the stage sums still fork and join a thread team every stage. When another
process holds a core, that join waits for a descheduled thread: measured here, 2 threads ran
3x slower with one busy process beside them and 1 thread did not. So a solve gets one thread
per `GRAIN_PER_THREAD` elements of state, at least 1 and at most what the process allows;
parallelism across systems comes from worker processes (`chaosdata generate --workers`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError

GRAIN_PER_THREAD = 2**17  # elements of [batch, dim] state per thread (about 4 ATen grains)


def threads_for(n_elements: int, available: int) -> int:
    """Threads for a solve whose state has `n_elements` (batch x dim) elements, out of
    `available`: 1 below `2 * GRAIN_PER_THREAD`, then one per `GRAIN_PER_THREAD`."""
    if n_elements < 0 or available < 1:
        raise InvalidInputError(
            f"threads_for needs n_elements >= 0 and available >= 1, got {n_elements!r}, {available!r}"
        )
    if n_elements < 2 * GRAIN_PER_THREAD:
        return 1
    return max(1, min(available, n_elements // GRAIN_PER_THREAD))


@contextlib.contextmanager
def torch_threads(threads: int | None, like: Tensor) -> Iterator[int]:
    """Run the body with `threads` torch CPU threads (None: `threads_for` the size of `like`),
    restoring the process setting after. Tensors off the CPU leave the setting alone."""
    if like.device.type != "cpu":
        yield torch.get_num_threads()
        return
    before = torch.get_num_threads()
    threads = None if threads is None else validate.count(threads, "threads", hint="or None: chosen by size")
    n = threads if threads is not None else threads_for(like.numel(), before)
    if n != before:
        torch.set_num_threads(n)
    try:
        yield n
    finally:
        if n != before:
            torch.set_num_threads(before)
