"""Ensemble integration of ODEs: many trajectories at once, each with its own step size.

Every trajectory carries its own time, step size and accept/reject decision; all of them move
together through one masked loop whose body makes no host decisions, so it can be compiled.
Outputs land on a common time grid through the method's dense output: a step never shrinks
to hit a grid point. Working memory is O(batch * dim * stages) plus the output itself.
"""

from __future__ import annotations

import contextlib
import enum
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import NamedTuple

import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError
from chaosdata.integrate.tableaux import TABLEAUX, Tableau

VectorField = Callable[[Tensor, Tensor], Tensor]  # f(t: [B], y: [B, d]) -> [B, d]

SAFETY = 0.9
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0


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
    """Output of `integrate`: `y` is `[B, n_times, d]`; per-trajectory counters and status."""

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


def get_tableau(method: str | Tableau) -> Tableau:
    if isinstance(method, Tableau):
        return method
    try:
        return TABLEAUX[method.lower()]
    except (KeyError, AttributeError):
        raise InvalidInputError(f"unknown method {method!r}; choose one of {sorted(TABLEAUX)}") from None


def _rms(x: Tensor) -> Tensor:
    return x.square().mean(-1).sqrt()


class _Coefficients:
    """A tableau cast once to the dtype and device of a solve."""

    def __init__(self, tab: Tableau, dtype: torch.dtype, device: torch.device):
        def as_t(v):
            return torch.tensor(v, dtype=dtype, device=device)

        s = len(tab.b)
        self.rows = [as_t(r) for r in tab.a[1:]] + [as_t(tab.b)] + [as_t(r) for r in tab.a_extra]
        self.c_all = as_t(list(tab.c) + [1.0] + list(tab.c_extra))
        self.n_main = s  # stages 0..s-1; stage s is f(t + h, y_new)
        self.e = as_t(tab.e) if tab.e is not None else None
        self.e_low = as_t(tab.e_low) if tab.e_low is not None else None
        self.dense_t = as_t(tab.dense).T.contiguous()  # [degree, n_stages]
        self.degree = self.dense_t.shape[0]
        self.n_stages = tab.n_stages


def initial_step(f: VectorField, t0: Tensor, y0: Tensor, f0: Tensor, order: int,
                 rtol: float, atol: Tensor, h_max: Tensor) -> Tensor:
    """Per-trajectory starting step (Hairer, Norsett & Wanner, Solving ODEs I, II.4)."""
    scale = atol + rtol * y0.abs()
    d0, d1 = _rms(y0 / scale), _rms(f0 / scale)
    small = (d0 < 1e-5) | (d1 < 1e-5)
    h0 = torch.where(small, torch.full_like(d0, 1e-6), 0.01 * d0 / d1.clamp_min(1e-300))
    h0 = torch.minimum(h0, h_max)
    f1 = f(t0 + h0, y0 + h0[:, None] * f0)
    d2 = _rms((f1 - f0) / scale) / h0
    big = torch.maximum(d1, d2)
    h1 = torch.where(big <= 1e-15, torch.maximum(torch.full_like(h0, 1e-6), h0 * 1e-3),
                     (0.01 / big.clamp_min(1e-300)) ** (1.0 / (order + 1)))
    return torch.minimum(torch.minimum(100 * h0, h1), h_max)


def integrate(
    f: VectorField,
    y0: Tensor,
    t_eval: Tensor,
    *,
    method: str | Tableau = "dop853",
    rtol: float = 1e-10,
    atol: float | Tensor = 1e-10,
    dt: float | None = None,
    max_outputs_per_step: int = 16,
    max_steps: int = 10_000_000,
    bound: float | None = None,
    bounded: Tensor | None = None,
    check_every: int = 16,
    compile: bool = False,
) -> Solution:
    """Integrate `dy/dt = f(t, y)` for a batch `y0` (`[B, d]`) and return `y` on `t_eval`.

    `t_eval` (`[n]`, increasing, not necessarily uniform) is shared by all trajectories, which
    start at `t_eval[0]`. Adaptive methods control each trajectory's step with `rtol` and `atol`
    (a float or a `[d]` tensor); fixed-step methods (`rk4`) take steps of `dt`. A step never
    covers more than `max_outputs_per_step` output times, which bounds the dense-output work
    per step; outputs come from the method's interpolant, so they never shorten a step below
    what the tolerance allows unless the grid is denser than that. Trajectories whose state becomes non-finite,
    whose step underflows, or which leave `|y| <= bound` (on the coordinates where `bounded`
    is True) stop and carry a `Status` other than OK; the others are unaffected.
    `compile=True` runs the step through `torch.compile` (worth it for long runs).
    """
    tab = get_tableau(method)
    if y0.ndim != 2:
        raise InvalidInputError(f"y0 must have shape [batch, dim], got {tuple(y0.shape)}")
    if t_eval.ndim != 1 or t_eval.numel() < 2:
        raise InvalidInputError("t_eval must be a 1-D tensor of at least 2 increasing times")
    if rtol < 0 or (torch.as_tensor(atol) < 0).any():
        raise InvalidInputError(f"tolerances must be non-negative, got rtol={rtol}, atol={atol}")
    if not tab.adaptive and (dt is None or dt <= 0):
        raise InvalidInputError(f"fixed-step method {tab.name!r} needs a positive dt")
    started = time.perf_counter()
    dtype, device = y0.dtype, y0.device
    B, d = y0.shape
    n_out = t_eval.numel()
    t_eval = t_eval.to(dtype=dtype, device=device)
    if not bool((t_eval[1:] > t_eval[:-1]).all()):
        raise InvalidInputError("t_eval must be strictly increasing")
    co = _Coefficients(tab, dtype, device)
    atol_t = torch.as_tensor(atol, dtype=dtype, device=device)
    if max_outputs_per_step < 1:
        raise InvalidInputError(f"max_outputs_per_step must be at least 1, got {max_outputs_per_step}")
    # the shortest span of max_outputs_per_step + 1 consecutive outputs: a step no longer than it
    # covers at most max_outputs_per_step of them, wherever it starts
    m = max_outputs_per_step
    window = (t_eval[m:] - t_eval[:-m]).min() if n_out > m else t_eval[-1] - t_eval[0]
    h_max = window.expand(B).clone()

    # output buffer with one spare row per trajectory that swallows masked writes
    out = torch.zeros(B * (n_out + 1), d, dtype=dtype, device=device)
    out.view(B, n_out + 1, d)[:, 0] = y0
    t = t_eval[0].expand(B).clone()
    fy = f(t, y0)
    start_ok = torch.isfinite(y0).all(-1) & torch.isfinite(fy).all(-1)
    if tab.adaptive:
        h = initial_step(f, t, y0, fy, tab.order, rtol, atol_t, h_max)
        h = torch.where(torch.isfinite(h), h, h_max)
    else:
        h = torch.full((B,), float(dt), dtype=dtype, device=device).minimum(h_max)
    state = _State(
        t=t, y=y0.clone(), fy=fy, h=h,
        next_idx=torch.ones(B, dtype=torch.long, device=device),
        status=torch.where(start_ok, 0, int(Status.NONFINITE)).to(torch.int8),
        active=start_ok,
        n_acc=torch.zeros(B, dtype=torch.long, device=device),
        n_rej=torch.zeros(B, dtype=torch.long, device=device),
    )
    bound_mask = bounded.to(device) if bounded is not None else torch.ones(d, dtype=torch.bool, device=device)
    step = partial(
        _step, f=f, co=co, adaptive=tab.adaptive, rtol=rtol, atol=atol_t, t_eval=t_eval, h_max=h_max,
        bound=bound, bound_mask=bound_mask, n_slots=max_outputs_per_step,
        exponent=-1.0 / (tab.error_order + 1) if tab.adaptive else 0.0,
    )
    if compile:
        step = torch.compile(step, dynamic=False, fullgraph=True)

    n_steps = 0
    # each system (and parameter set) compiles its own graph of the one `_step`; dynamo's default
    # of 8 graphs per function would fail the ninth system compiled in a process
    recompiles = (torch._dynamo.config.patch(recompile_limit=max(torch._dynamo.config.recompile_limit, 256))
                  if compile else contextlib.nullcontext())
    with recompiles, torch.inference_mode():  # inference mode: a third less overhead per operation on CPU
        while n_steps < max_steps:
            for _ in range(check_every):
                state = step(state, out)
            n_steps += check_every
            if not bool(state.active.any()):
                break
    # back to ordinary tensors, which callers may update in place
    state = _State(*(x.clone() for x in state))
    status = torch.where(state.active, torch.full_like(state.status, Status.MAX_STEPS), state.status)

    y_out = out.view(B, n_out + 1, d)[:, :n_out]
    y_out = torch.where((status != Status.OK)[:, None, None], torch.full_like(y_out, math.nan), y_out)
    return Solution(
        t=t_eval, y=y_out, status=status, n_accepted=state.n_acc, n_rejected=state.n_rej,
        n_evaluations=int((state.n_acc + state.n_rej).max()) * (co.n_stages - 1) + 2,
        wall_time=time.perf_counter() - started,
    )


class _State(NamedTuple):
    """Per-trajectory solver state; every field has leading dimension B."""

    t: Tensor
    y: Tensor
    fy: Tensor
    h: Tensor
    next_idx: Tensor
    status: Tensor
    active: Tensor
    n_acc: Tensor
    n_rej: Tensor


def _step(s: _State, out: Tensor, *, f: VectorField, co: _Coefficients, adaptive: bool, rtol: float,
          atol: Tensor, t_eval: Tensor, h_max: Tensor, bound: float | None, bound_mask: Tensor,
          n_slots: int, exponent: float) -> _State:
    """One attempted step for every trajectory, masked; writes dense output into `out`."""
    B, d = s.y.shape
    n_out = t_eval.numel()
    t_end = t_eval[-1]
    remaining = t_end - s.t
    last = s.h >= remaining
    h_step = torch.where(last, remaining, s.h)
    hc = h_step[:, None]
    # ------------------------------------------------------------------ stages
    Ks = s.fy.new_empty(co.n_stages, B * d)  # stage derivatives, flattened
    Ks[0] = s.fy.reshape(-1)
    t_stage = torch.addcmul(s.t[None, :], co.c_all[:, None], h_step[None, :])  # [n_stages, B]
    y_new = s.y
    for j in range(1, co.n_stages):
        y_stage = torch.addcmul(s.y, hc, (co.rows[j - 1] @ Ks[:j]).view(B, d))
        if j == co.n_main:
            y_new = y_stage
        Ks[j] = f(t_stage[j], y_stage).reshape(-1)
    f_new = Ks[co.n_main].view(B, d)
    # ------------------------------------------------------------------ error control
    finite = torch.isfinite(y_new).all(-1)
    if adaptive:
        scale = atol + rtol * torch.maximum(s.y.abs(), y_new.abs())
        err = (co.e @ Ks[: co.n_main + 1]).view(B, d) / scale
        if co.e_low is not None:
            err_low = (co.e_low @ Ks[: co.n_main + 1]).view(B, d) / scale
            e2 = err.square().sum(-1)
            denom = (e2 + 0.01 * err_low.square().sum(-1)).clamp_min(1e-300) * d
            norm = h_step.abs() * e2 / denom.sqrt()
        else:
            norm = h_step.abs() * _rms(err)
        finite = finite & torch.isfinite(norm)
        accept = s.active & finite & (norm <= 1.0)
        factor = SAFETY * norm.clamp_min(1e-300) ** exponent
        h_next = torch.where(
            accept, h_step * factor.clamp(MIN_FACTOR, MAX_FACTOR),
            torch.where(finite, h_step * factor.clamp(MIN_FACTOR, 1.0), h_step * MIN_FACTOR),
        )
    else:
        accept = s.active & finite
        h_next = s.h
    # ------------------------------------------------------------------ dense output
    t_new = torch.where(last, t_end, s.t + h_step)
    idx = s.next_idx[:, None] + torch.arange(n_slots, device=s.next_idx.device)[None, :]
    t_idx = t_eval[idx.clamp(max=n_out - 1)]
    write = accept[:, None] & (idx < n_out) & (t_idx <= t_new[:, None])
    theta = ((t_idx - s.t[:, None]) / hc).clamp(0.0, 1.0)[..., None]  # [B, M, 1]
    coeffs = (co.dense_t @ Ks).view(co.degree, B, 1, d)  # power-basis coefficients
    poly = coeffs[-1]
    for k in range(co.degree - 2, -1, -1):  # Horner: sum_k theta^(k+1) coeffs[k]
        poly = torch.addcmul(coeffs[k], poly, theta)
    values = s.y[:, None, :] + hc[:, :, None] * theta * poly
    rows = torch.arange(B, device=idx.device)[:, None] * (n_out + 1)
    target = rows + torch.where(write, idx, torch.full_like(idx, n_out))
    out.index_copy_(0, target.reshape(-1), values.reshape(-1, d))
    # ------------------------------------------------------------------ advance
    acc = accept[:, None]
    t = torch.where(accept, t_new, s.t)
    y = torch.where(acc, y_new, s.y)
    h = torch.where(s.active, torch.minimum(h_next, h_max), s.h)
    # ------------------------------------------------------------------ failures
    tiny = s.active & ((h <= 4 * torch.finfo(y.dtype).eps * t.abs().clamp_min(1.0)) | ~torch.isfinite(h))
    failed = torch.where(tiny, torch.full_like(s.status, Status.STEP_UNDERFLOW), torch.zeros_like(s.status))
    nonfinite = tiny & ~finite if adaptive else s.active & ~finite
    failed = torch.where(nonfinite, torch.full_like(s.status, Status.NONFINITE), failed)
    if bound is not None:
        outside = s.active & ((y.abs() > bound) & bound_mask).any(-1)
        failed = torch.where(outside, torch.full_like(s.status, Status.OUT_OF_BOUNDS), failed)
    return _State(
        t=t, y=y, fy=torch.where(acc, f_new, s.fy), h=h,
        next_idx=s.next_idx + write.sum(-1),
        status=torch.where(failed != 0, failed, s.status),
        active=s.active & (failed == 0) & (t < t_end),
        n_acc=s.n_acc + accept,
        n_rej=s.n_rej + (s.active & ~accept),
    )
