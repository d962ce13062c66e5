"""What every integrator returns: the solution on the output grid, and why a trajectory stopped.

Shared by the ODE solver (`ode`, `fixed`), delay equations, maps and SDEs, which all report
failures the same way: a `Status` per trajectory and NaN outputs for any that is not OK.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

VectorField = Callable[[Tensor, Tensor], Tensor]  # f(t: [B], y: [B, d]) -> [B, d]


class Status(enum.IntEnum):
    """Why a trajectory stopped; anything but OK means its output is not to be trusted."""

    OK = 0
    NONFINITE = 1
    STEP_UNDERFLOW = 2
    OUT_OF_BOUNDS = 3
    MAX_STEPS = 4

    @property
    def reason(self) -> str:
        return {
            Status.OK: "ok",
            Status.NONFINITE: "state or error estimate became non-finite",
            Status.STEP_UNDERFLOW: "step size underflowed",
            Status.OUT_OF_BOUNDS: "state left the bound",
            Status.MAX_STEPS: "maximum number of steps reached",
        }[self]


@dataclass
class Solution:
    """Output of `integrate`: `y` is `[B, n_times, d]`; per-trajectory counters and status.

    `n_evaluations` counts vector-field evaluations per trajectory (the most of any)."""

    t: Tensor
    y: Tensor
    status: Tensor
    n_accepted: Tensor
    n_rejected: Tensor
    n_evaluations: int
    wall_time: float

    @property
    def valid(self) -> Tensor:
        return self.status == Status.OK


def status_code(nonfinite: Tensor, outside: Tensor | None = None, underflow: Tensor | None = None) -> Tensor:
    """The `Status` (int8) of each element of the failure masks, in one order of precedence for
    every integrator: NONFINITE, else OUT_OF_BOUNDS, else STEP_UNDERFLOW, else OK (an inf on a
    bounded coordinate is NONFINITE; masks left None are all False)."""
    code = torch.zeros(nonfinite.shape, dtype=torch.int8, device=nonfinite.device)
    for mask, status in ((underflow, Status.STEP_UNDERFLOW), (outside, Status.OUT_OF_BOUNDS),
                         (nonfinite, Status.NONFINITE)):  # the weakest first: a stronger one overwrites it
        if mask is not None:
            code = code.masked_fill(mask, int(status))
    return code


def classify(y: Tensor, limits: Tensor | float | None, axes: int = 1) -> Tensor:
    """Whether states have diverged, the one rule (`status_code`): the `Status` (int8) of `y`
    over its last `axes` axes (`[B, d]` -> `[B]` with `axes=1`; `[B, n, d]` -> `[B]` with
    `axes=2`): NONFINITE where an element is NaN or inf, else OUT_OF_BOUNDS where `|y|` passes
    `limits` (`Bound.limits`' `[d]`, or one number for every coordinate; None: no bound)."""
    nonfinite = ~torch.isfinite(y).flatten(-axes).all(-1)
    outside = None if limits is None else (y.abs() > limits).flatten(-axes).any(-1)
    return status_code(nonfinite, outside)
