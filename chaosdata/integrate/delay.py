"""Delay differential equations by the method of steps, for many initial histories at once.

A fixed-step tableau (classical RK4, through `fixed.rk_step`) with the step `h = tau / m`, so
that the delay is a whole number of steps and the derivative jump of a constant initial
history at the start falls on the grid. Stage `i` at `t + c_i h` sees the delayed state at
`t + c_i h - tau`, a fraction `c_i` into the step one delay back: read from the cubic Hermite
interpolant of the stored solution and derivative (fourth order, matching RK4), as are the
outputs between steps. The history ring buffer holds the last `m + 1` points: memory
O(batch * dim * m), not the whole solution.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.fixed import rk_step
from chaosdata.integrate.settings import Bound
from chaosdata.integrate.solution import Solution, Status, classify
from chaosdata.integrate.tableaux import RK4, Row, Tableau, Terms, nonzero_terms

DelayField = Callable[[Tensor, Tensor, Tensor], Tensor]  # f(t, y, y_delayed) -> dy/dt


def hermite(y0: Tensor, f0: Tensor, y1: Tensor, f1: Tensor, h: float | Tensor, theta: float | Tensor) -> Tensor:
    """Cubic Hermite interpolant on one step at fractions `theta` (broadcast on the last axes)."""
    th2, th3 = theta * theta, theta * theta * theta
    return ((2 * th3 - 3 * th2 + 1) * y0 + (th3 - 2 * th2 + theta) * h * f0
            + (3 * th2 - 2 * th3) * y1 + (th3 - th2) * h * f1)


@dataclass(frozen=True)
class DelayStep:
    """One step of size `h` (a Python float) of the method of steps, by a fixed-step tableau:
    `step(t, y, old, f_old, new, f_new)` returns the state at `t + h` and `f` at `(t, y)`
    (the derivative the history keeps). `old`, `new` are the solution one delay and one delay
    minus `h` back, `f_old`, `f_new` their derivatives. Build it with `delay_step`; the tangent
    dynamics of `invariants.lyapunov` step through the same object (under `torch.func.jvp`)."""

    f: DelayField
    h: float
    a: tuple[Terms, ...]
    b: Terms
    c: Row

    def __call__(self, t: Tensor, y: Tensor, old: Tensor, f_old: Tensor, new: Tensor,
                 f_new: Tensor) -> tuple[Tensor, Tensor]:
        delayed = {c: old if c == 0.0 else new if c == 1.0 else hermite(old, f_old, new, f_new, self.h, c)
                   for c in set(self.c)}  # the delayed state at each distinct stage time, once

        def field(i: int, z: Tensor) -> Tensor:
            return self.f(t + self.c[i] * self.h, z, delayed[self.c[i]])

        y_new, k = rk_step(field, y, self.a, self.b)
        return y_new, k[0]


def delay_step(f: DelayField, h: float, tab: Tableau = RK4) -> DelayStep:
    """`tab`'s step of size `h` for `y' = f(t, y, y(t - tau))` (`DelayStep`)."""
    if tab.adaptive:
        raise InvalidInputError(f"the method of steps takes a fixed-step method; {tab.name!r} is adaptive")
    h = float(h)
    return DelayStep(f, h, tuple(nonzero_terms(row, h) for row in tab.a), nonzero_terms(tab.b, h),
                     tuple(float(c) for c in tab.c))


@dataclass(frozen=True)
class _Queries:
    """Every (output time, lag) pair as one query time, sorted (`times`), with its flat output
    position (`order`); `ends[k]` counts the queries at or before the end of step `k`."""

    times: np.ndarray
    order: np.ndarray
    ends: np.ndarray
    start: float
    h: float

    @classmethod
    def plan(cls, t_eval: Tensor, lags: np.ndarray, start: float | None, h: float) -> tuple[_Queries, int]:
        """The queries of `t_eval` at `lags`, and the steps that reach the last of them."""
        times = t_eval.detach().cpu().double().numpy()
        start = float(times[0] - lags.max()) if start is None else float(start)
        queries = (times[:, None] - lags[None, :]).ravel()
        order = np.argsort(queries, kind="stable")
        q_sorted = queries[order]
        n_steps = max(1, math.ceil((q_sorted[-1] - start) / h - 1e-9))
        ends = np.searchsorted(q_sorted, start + h * np.arange(n_steps + 1), side="right")
        return cls(q_sorted, order, ends, start, h), n_steps

    def emit(self, out: Tensor, k: int, y0: Tensor, f0: Tensor, y1: Tensor, f1: Tensor) -> None:
        """Write the queries that fall in step `k - 1` (`k = 0`: at or before the start) into
        `out` (`[B, queries, d]`), from the step's Hermite interpolant."""
        lo, hi = (self.ends[k - 1] if k > 0 else 0), self.ends[k]
        if hi <= lo:
            return
        theta = (self.times[lo:hi] - (self.start + self.h * (k - 1))) / self.h if k > 0 else np.zeros(hi - lo)
        th = torch.as_tensor(np.clip(theta, 0.0, 1.0), dtype=out.dtype, device=out.device)[None, :, None]
        values = hermite(y0[:, None], f0[:, None], y1[:, None], f1[:, None], self.h, th)
        out[:, torch.as_tensor(self.order[lo:hi], device=out.device)] = values


def integrate_delay(
    f: DelayField,
    history: Tensor,
    tau: float,
    t_eval: Tensor,
    *,
    lags: Sequence[float] = (0.0,),
    steps_per_tau: int = 64,
    t_start: float | None = None,
    bound: Bound | None = None,
) -> Solution:
    """Integrate `y' = f(t, y(t), y(t - tau))` from a constant history `y = history` (`[B, d]`).

    The solution starts at `t_start` (default: `t_eval[0] - max(lags)`), with `y(t) = history`
    for all earlier times. The output `y` is `[B, n, d * len(lags)]`: column block `j` holds
    `y(t_eval - lags[j])`, the delay embedding dysts returns. A row whose state turns non-finite
    or leaves `bound` (a `Bound`) is flagged (`classify`) and reads NaN.
    """
    tau = validate.positive(tau, "tau", hint="the delay")
    history = validate.states(history, "history")
    t_eval = validate.times(t_eval, "t_eval", minimum=1, increasing=False)
    m = validate.count(steps_per_tau, "steps_per_tau", minimum=2)
    lags = [validate.real(v, "lags", what="one or more finite numbers") for v in lags]
    if not lags:
        raise InvalidInputError("lags must be one or more finite numbers, got []")
    t_start = None if t_start is None else validate.real(t_start, "t_start", what="a finite time (or None)")
    if bound is not None:
        validate.instance(bound, "bound", Bound, hint="e.g. Bound(1e6), or None for no bound")
    started = time.perf_counter()
    B, d = history.shape
    limits = bound.limits(d, history.dtype, history.device) if bound is not None else None
    lag_arr = np.asarray(lags, dtype=float)
    queries, n_steps = _Queries.plan(t_eval, lag_arr, t_start, tau / m)
    out = torch.zeros(B, t_eval.numel() * lag_arr.size, d, dtype=history.dtype, device=history.device)
    with torch.inference_mode():  # less dispatch overhead per operation; outputs copied out below
        status = _march(delay_step(f, tau / m), history, m, n_steps, queries, out, limits).clone()
    y_out = out.reshape(B, t_eval.numel(), lag_arr.size * d)
    y_out = torch.where((status != Status.OK)[:, None, None], torch.full_like(y_out, math.nan), y_out)
    n_acc = torch.full((B,), n_steps, dtype=torch.long, device=history.device)
    return Solution(
        t=t_eval, y=y_out, status=status, n_accepted=n_acc, n_rejected=torch.zeros_like(n_acc),
        n_evaluations=len(RK4.b) * n_steps + 1,
        wall_time=time.perf_counter() - started,
    )


def _march(step: DelayStep, history: Tensor, m: int, n_steps: int, queries: _Queries, out: Tensor,
           limits: Tensor | None) -> Tensor:
    """`n_steps` steps from the constant `history`, the outputs written as they pass; returns
    each row's `Status`. A row that fails is flagged at its first failed step and goes on
    from zeros (its output is discarded)."""
    y = history.clone()
    ring_y = history[None].repeat(m + 1, 1, 1)  # the last m + 1 points; slot n % (m + 1) holds t_n
    ring_f = torch.zeros_like(ring_y)  # a constant history has zero derivative
    status = torch.zeros(history.shape[0], dtype=torch.int8, device=history.device)
    queries.emit(out, 0, y, ring_f[0], y, ring_f[0])
    y_prev, f_prev = y, ring_f[0]
    t = queries.start
    for n in range(n_steps):
        slot, old, new = n % (m + 1), (n + 1) % (m + 1), (n + 2) % (m + 1)  # `old` holds the point at t - tau
        # while the delayed step lies in the constant history: zero slope at both ends
        f_new = torch.zeros_like(ring_f[new]) if n - m + 1 <= 0 else ring_f[new]
        tt = torch.tensor(t, dtype=y.dtype, device=y.device)
        y_next, f_now = step(tt, y, ring_y[old], ring_f[old], ring_y[new], f_new)
        if n > 0:  # close the previous step's interpolant now that f(t_n) is known
            queries.emit(out, n, y_prev, f_prev, y, f_now)
        ring_y[slot], ring_f[slot] = y, f_now
        y_prev, f_prev = y, f_now
        t = queries.start + queries.h * (n + 1)
        fresh = classify(y_next, limits)
        status = torch.where(status == Status.OK, fresh, status)
        y = torch.where((fresh != Status.OK)[:, None], torch.zeros_like(y_next), y_next)
    f_last = step.f(torch.tensor(t, dtype=y.dtype, device=y.device), y, ring_y[(n_steps + 1) % (m + 1)])
    queries.emit(out, n_steps, y_prev, f_prev, y, f_last)
    return status
