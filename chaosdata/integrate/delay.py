"""Delay differential equations by the method of steps, for many initial histories at once.

Classical RK4 with a fixed step `h = tau / m`, so that the delay is a whole number of steps and
the derivative jump of a constant initial history at the start falls on the grid. Delayed
values at the half-step stage come from the cubic Hermite interpolant of the stored solution
and derivative (fourth order, matching RK4), as do outputs between steps. The history ring
buffer holds the last `m + 1` points: memory O(batch * dim * m), not the whole solution.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate.solution import Solution, Status, check_bound

DelayField = Callable[[Tensor, Tensor, Tensor], Tensor]  # f(t, y, y_delayed) -> dy/dt


def hermite(y0: Tensor, f0: Tensor, y1: Tensor, f1: Tensor, h: float | Tensor, theta: Tensor) -> Tensor:
    """Cubic Hermite interpolant on one step at fractions `theta` (broadcast on the last axes)."""
    th2, th3 = theta * theta, theta * theta * theta
    return ((2 * th3 - 3 * th2 + 1) * y0 + (th3 - 2 * th2 + theta) * h * f0
            + (3 * th2 - 2 * th3) * y1 + (th3 - th2) * h * f1)


def integrate_delay(
    f: DelayField,
    history: Tensor,
    tau: float,
    t_eval: Tensor,
    *,
    lags: Sequence[float] = (0.0,),
    steps_per_tau: int = 64,
    t_start: float | None = None,
    bound: float | None = None,
) -> Solution:
    """Integrate `y' = f(t, y(t), y(t - tau))` from a constant history `y = history` (`[B, d]`).

    The solution starts at `t_start` (default: `t_eval[0] - max(lags)`), with `y(t) = history`
    for all earlier times. The output `y` is `[B, n, d * len(lags)]`: column block `j` holds
    `y(t_eval - lags[j])`, the delay embedding dysts returns.
    """
    tau = validate.positive(tau, "tau", hint="the delay")
    history = validate.tensor(history, "history", shape="[batch, dim]")
    t_eval = validate.tensor(t_eval, "t_eval", shape="[n_times]")
    if history.ndim != 2:
        raise InvalidInputError(f"history must have shape [batch, dim], got {tuple(history.shape)}")
    if not history.is_floating_point():
        raise InvalidTypeError(f"history must be a floating-point tensor, got {history.dtype}; e.g. history.double()")
    if t_eval.ndim != 1 or t_eval.numel() < 1 or not bool(torch.isfinite(t_eval).all()):
        raise InvalidInputError(f"t_eval must be a 1-D tensor of at least 1 finite time, got shape {tuple(t_eval.shape)}")
    steps_per_tau = validate.count(steps_per_tau, "steps_per_tau", minimum=2)
    lags = [validate.real(v, "lags", what="one or more finite numbers") for v in lags]
    if not lags:
        raise InvalidInputError("lags must be one or more finite numbers, got []")
    t_start = None if t_start is None else validate.real(t_start, "t_start", what="a finite time (or None)")
    check_bound(bound)
    started = time.perf_counter()
    dtype, device = history.dtype, history.device
    B, d = history.shape
    m = int(steps_per_tau)
    h = tau / m
    times = t_eval.detach().cpu().double().numpy()
    lag_arr = np.asarray(lags, dtype=float)
    start = float(times[0] - lag_arr.max()) if t_start is None else float(t_start)
    # every (output time, lag) pair as one query time, sorted, with its flat output position
    queries = (times[:, None] - lag_arr[None, :]).ravel()
    order = np.argsort(queries, kind="stable")
    q_sorted = queries[order]
    n_steps = max(1, math.ceil((q_sorted[-1] - start) / h - 1e-9))
    bounds = np.searchsorted(q_sorted, start + h * np.arange(n_steps + 1), side="right")

    n_out, n_lag = times.size, lag_arr.size
    out = torch.zeros(B, n_out * n_lag, d, dtype=dtype, device=device)
    ring_y = history[None].repeat(m + 1, 1, 1)
    ring_f = torch.zeros_like(ring_y)  # a constant history has zero derivative
    status = torch.zeros(B, dtype=torch.int8, device=device)

    def emit(k: int, y0: Tensor, f0: Tensor, y1: Tensor, f1: Tensor) -> None:
        lo, hi = (bounds[k - 1] if k > 0 else 0), bounds[k]
        if hi <= lo:
            return
        theta = (q_sorted[lo:hi] - (start + h * (k - 1))) / h if k > 0 else np.zeros(hi - lo)
        th = torch.as_tensor(np.clip(theta, 0.0, 1.0), dtype=dtype, device=device)[None, :, None]
        values = hermite(y0[:, None], f0[:, None], y1[:, None], f1[:, None], h, th)
        out[:, torch.as_tensor(order[lo:hi], device=device)] = values

    with torch.inference_mode():  # less dispatch overhead per operation; outputs copied out below
        y = history.clone()
        emit(0, y, ring_f[0], y, ring_f[0])
        y_prev, f_prev = y, None
        t = start
        for n in range(n_steps):
            slot, old = n % (m + 1), (n + 1) % (m + 1)  # `old` holds the point at t - tau
            yd0, fd0 = ring_y[old], ring_f[old]
            yd1, fd1 = ring_y[(n + 2) % (m + 1)], ring_f[(n + 2) % (m + 1)]
            if n - m + 1 <= 0:  # the delayed step lies in the constant history: zero slope at both ends
                fd1 = torch.zeros_like(fd1)
            tt = torch.tensor(t, dtype=dtype, device=device)
            k1 = f(tt, y, yd0)
            if f_prev is not None:  # close the previous step's interpolant now that f(t_n) is known
                emit(n, y_prev, f_prev, y, k1)
            ring_y[slot], ring_f[slot] = y, k1
            yd_half = hermite(yd0, fd0, yd1, fd1, h, torch.tensor(0.5, dtype=dtype, device=device))
            k2 = f(tt + h / 2, y + (h / 2) * k1, yd_half)
            k3 = f(tt + h / 2, y + (h / 2) * k2, yd_half)
            k4 = f(tt + h, y + h * k3, yd1)
            y_prev, f_prev = y, k1
            y = y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4)
            t = start + h * (n + 1)
            bad = ~torch.isfinite(y).all(-1)
            code = torch.full_like(status, Status.NONFINITE)
            if bound is not None:  # a finite state past the bound is OUT_OF_BOUNDS, as in the other integrators
                outside = (y.abs() > bound).any(-1) & ~bad
                code = torch.where(outside, int(Status.OUT_OF_BOUNDS), code).to(status.dtype)
                bad = bad | outside
            status = torch.where(bad & (status == 0), code, status)
            y = torch.where(bad[:, None], torch.zeros_like(y), y)
        k_last = f(torch.tensor(t, dtype=dtype, device=device), y, ring_y[(n_steps + 1) % (m + 1)])
        assert f_prev is not None  # the loop ran: n_steps >= 1 (an internal invariant, not an input check)
        emit(n_steps, y_prev, f_prev, y, k_last)
    status = status.clone()

    y_out = out.reshape(B, n_out, n_lag, d).reshape(B, n_out, n_lag * d)
    y_out = torch.where((status != 0)[:, None, None], torch.full_like(y_out, math.nan), y_out)
    n_acc = torch.full((B,), n_steps, dtype=torch.long, device=device)
    return Solution(
        t=t_eval, y=y_out, status=status, n_accepted=n_acc, n_rejected=torch.zeros_like(n_acc),
        n_evaluations=4 * n_steps + 1, wall_time=time.perf_counter() - started,
    )
