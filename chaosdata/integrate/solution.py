"""What every integrator returns: the solution on the output grid, and why a trajectory stopped.

Shared by the ODE solver (`ode`, `fixed`), delay equations, maps and SDEs, which all report
failures the same way: a `Status` per trajectory and NaN outputs for any that is not OK.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError

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


def check_bound(bound: float | None) -> float | None:
    """`bound` if it is None (no bound) or a positive number (inf: none either), else an
    `InvalidInputError` (a negative bound would stop every trajectory, a NaN none)."""
    if bound is None or (isinstance(bound, (float, np.floating)) and bound == math.inf):
        return bound
    return validate.positive(bound, "bound", hint="the largest |x| a trajectory may reach; inf or None for no bound")


def bound_limits(bound: float | None, bounded: Tensor | None, d: int, dtype: torch.dtype,
                 device: torch.device) -> Tensor | None:
    """Per coordinate, the largest `|x|` a trajectory may reach before it is `OUT_OF_BOUNDS`:
    `bound` where `bounded` (`[d]` bool; all coordinates when None) is True, inf elsewhere
    (`[d]`, so `x.abs() > limits` tests them all at once; NaN compares false); None without
    a bound."""
    if check_bound(bound) is None:
        return None
    if bounded is None:
        mask = torch.ones(d, dtype=torch.bool, device=device)
    else:
        mask = torch.as_tensor(bounded)
        if tuple(mask.shape) != (d,):
            raise InvalidInputError(f"bounded must be a [{d}] mask, one flag per coordinate, got shape "
                                    f"{tuple(mask.shape)}")
        mask = mask.to(device=device, dtype=torch.bool)
    return torch.where(mask, float(bound), math.inf).to(dtype)
