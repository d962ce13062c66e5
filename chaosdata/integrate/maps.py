"""Batched iteration of discrete maps (forward, or backward through the inverse)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate.settings import Bound
from chaosdata.integrate.solution import Solution, Status, classify


def iterate(step: Callable[[Tensor], Tensor], x0: Tensor, n_points: int, *,
            bound: Bound | None = None) -> Solution:
    """`n_points` iterates of `step` from `x0` (`[B, d]`), `x0` first; orbits that turn
    non-finite or leave `bound` (a `Bound`) are flagged and read as NaN."""
    x0 = validate.tensor(x0, "x0", shape="of shape [batch, dim]")
    if x0.ndim != 2:
        raise InvalidInputError(f"x0 must have shape [batch, dim], got {tuple(x0.shape)}; a single state x is x[None]")
    if not x0.is_floating_point():
        raise InvalidTypeError(f"x0 must be a floating-point tensor (failed orbits read as NaN), got {x0.dtype}")
    n_points = validate.count(n_points, "n_points", hint="x0 counts as the first")
    if bound is not None:
        validate.instance(bound, "bound", Bound, hint="e.g. Bound(1e6), or None for no bound")
    started = time.perf_counter()
    B, d = x0.shape
    limits = bound.limits(d, x0.dtype, x0.device) if bound is not None else None
    out = torch.empty(B, n_points, d, dtype=x0.dtype, device=x0.device)
    x = x0
    with torch.inference_mode():  # less dispatch overhead per operation; `out` stays ordinary
        for i in range(n_points):
            out[:, i] = x
            if i + 1 < n_points:
                x = step(x)
    status = classify(out, limits, axes=2)  # the whole orbit: non-finite anywhere, else outside anywhere
    out = torch.where((status != Status.OK)[:, None, None], torch.full_like(out, math.nan), out)
    steps = torch.full((B,), n_points - 1, dtype=torch.long, device=x0.device)
    return Solution(
        t=torch.arange(n_points, dtype=x0.dtype, device=x0.device), y=out, status=status,
        n_accepted=steps, n_rejected=torch.zeros_like(steps), n_evaluations=n_points - 1,
        wall_time=time.perf_counter() - started,
    )
