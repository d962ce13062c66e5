"""Lyapunov spectra by the Benettin / QR method, over an ensemble of trajectories at once.

Every member of the batch carries its state and k tangent vectors; after a block of steps the
tangents are re-orthonormalized by a batched QR and the logs of |diag R| are summed. The
exponents are those sums over the measured time, per member; their ensemble mean and spread
are the estimate and its uncertainty. The first part of each run (the alignment) is
discarded: it is the time the tangent vectors need to settle onto the Lyapunov directions.

The block length adapts: it halves when the tangents' stretch factors spread over more than
e^16 (beyond that the QR loses the weak directions) and doubles when they spread by less
than e^4 (to save QR calls).

Flows are stepped with fixed-step RK4 on the state and its variational equation together
(see `tangent.flow_rk4_step`), not with the adaptive solver: the exponents need the tangent
map of a long trajectory, not an accurate pointwise solution, and a fixed step lets the whole
step be recorded once per step size as one graph and reused (`tangent.record`), about eight times cheaper
per step than the adaptive solver's eager loop. The step starts from an adaptive pilot's mean
step (see `compute`) and is halved until the exponents' sum matches the divergence, the one
accuracy test a spectrum carries with it. Delay equations are treated as the map of their
discretized history (see `tangent.history_step`); only the leading `k` exponents are computed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from chaosdata.integrate.settings import Bound
from chaosdata.integrate.solution import Status, classify
from chaosdata.invariants.tangent import (
    flow_rk4_step,
    flow_tangent_field,
    history_step,
    history_tangent_step,
    map_tangent_step,
    record,
)
from chaosdata.systems import System

SUM_TOLERANCE = 1e-3  # |sum of exponents - mean divergence| allowed, relative to sum |exponents|
STEP_CONTROL = 0.3  # the alignment halves the step until the mismatch is below this share of it
MIN_ALIVE = 0.9  # fewer surviving members than this during the alignment halves the step and restarts
SPREAD_HIGH = 16.0  # e-folds between strongest and weakest tangent before the block halves
SPREAD_LOW = 4.0  # e-folds below which the block doubles


@dataclass
class LyapunovRun:
    """Per-member results of one ensemble run.

    `exponents` is `[B, k]` (descending in each row, NaN rows for failed members), in inverse
    time units (flows, delay equations) or per iteration (maps). `divergence` is the time
    average over the same stretch of the trace of the Jacobian (flows) or of log|det J| (maps),
    whose value the sum of a full spectrum must equal; None where the spectrum is partial.
    `samples` (`[B, n, dim]`) are raw states along the run, for statistics.
    """

    exponents: Tensor
    divergence: Tensor | None
    valid: Tensor
    measured: float
    samples: Tensor
    sample_spacing: float
    settings: dict[str, Any] = field(default_factory=dict)


def qr_step(V: Tensor) -> tuple[Tensor, Tensor]:
    """Orthonormalize the tangent columns of `V` (`[B, n, k]`); returns Q and log|diag R|."""
    Q, R = torch.linalg.qr(V)
    diag = torch.diagonal(R, dim1=-2, dim2=-1)
    sign = torch.where(diag < 0, -1.0, 1.0).to(V.dtype)
    return Q * sign.unsqueeze(-2), diag.abs().log()


class _Blocks:
    """The adaptive number of steps between two QR renormalizations."""

    def __init__(self, every: int, cap: int):
        self.every, self.cap = max(1, every), max(1, cap)

    def update(self, log_r: Tensor, alive: Tensor) -> None:
        if log_r.shape[-1] < 2 or not bool(alive.any()):
            return
        spread = float((log_r.max(-1).values - log_r.min(-1).values)[alive].max())
        if not math.isfinite(spread) or spread > SPREAD_HIGH:
            self.every = max(1, self.every // 2)
        elif spread < SPREAD_LOW:
            self.every = min(self.cap, self.every * 2)


def clock_coordinates(system: System, params: Mapping[str, Any], states: Tensor) -> list[int]:
    """Coordinates of a flow whose derivative depends on no coordinate (forcing phases, clocks).

    Their rows of the Jacobian vanish at every sampled state, so a tangent component along them
    never changes: each contributes an exponent of exactly zero.
    """
    d = system.dim
    t = torch.zeros(states.shape[0], dtype=states.dtype, device=states.device)
    V = torch.eye(d, dtype=states.dtype, device=states.device).expand(states.shape[0], d, d)
    _, JV, _ = flow_tangent_field(system, params)(t, states, V)
    rows_zero = (JV.abs().amax(dim=(0, 2)) == 0)
    return [i for i in range(d) if bool(rows_zero[i])]


def _survivors(alive: Tensor, x: Tensor, limit: Tensor | float, axes: int, *tangents: Tensor) -> Tensor:
    """`alive` less the members that have diverged: a state that `classify` does not find OK
    (non-finite, or past the system's `Bound`), or a non-finite tangent quantity."""
    ok = classify(x, limit, axes) == Status.OK
    for v in tangents:
        ok = ok & torch.isfinite(v).reshape(v.shape[0], -1).all(-1)
    return alive & ok


class _FlowTangents:
    """A flow's tangent run: every member's time, state and tangents, who is alive, the step
    (recorded once per step size) and the QR blocks."""

    step: Callable[..., tuple[Tensor, ...]]  # (t, x, V) -> (t + h, x', V', integral of trace J), maybe traced
    traced: bool

    def __init__(self, system: System, params: Mapping[str, Any], x0: Tensor, V0: Tensor, h: float, trace: bool):
        self.system, self.params, self.trace = system, params, trace
        self.x0, self.V0 = x0, V0
        self.limit = Bound.of(system).limits(x0.shape[1], x0.dtype, x0.device)  # a member past it has diverged
        self.blocks = _Blocks(8, cap=512)
        self.n_qr = 0
        self.set_step(h)
        self.restart()

    def set_step(self, h: float) -> None:
        """Steps of size `h` from now on (the step recorded again)."""
        self.h = h
        plain = flow_rk4_step(self.system, self.params, h)
        t = torch.zeros(self.x0.shape[0], dtype=self.x0.dtype, device=self.x0.device)
        self.step, self.traced = record(plain, t, self.x0, self.V0) if self.trace else (plain, False)

    def restart(self) -> None:
        """Every member from its start again, alive."""
        self.t = torch.zeros(self.x0.shape[0], dtype=self.x0.dtype, device=self.x0.device)
        self.x, self.V = self.x0.clone(), self.V0.clone()
        self.alive = torch.ones(self.x0.shape[0], dtype=torch.bool, device=self.x0.device)

    def advance(self, n_steps: int, sample_every: int = 0) -> tuple[Tensor, Tensor, list[Tensor]]:
        """`n_steps` steps in QR blocks; per-member log stretches [B, k], divergence integral, samples."""
        B, k = self.V.shape[0], self.V.shape[-1]
        logs = torch.zeros(B, k, dtype=self.x0.dtype, device=self.x0.device)
        div = torch.zeros(B, dtype=self.x0.dtype, device=self.x0.device)
        samples: list[Tensor] = []
        done = 0
        t, x, V, alive = self.t, self.x, self.V, self.alive
        while done < n_steps:
            n = min(self.blocks.every, n_steps - done)
            block_div = torch.zeros(B, dtype=x.dtype, device=x.device)
            for i in range(n):
                if sample_every and (done + i) % sample_every == 0:
                    samples.append(x)
                t, x, V, dv = self.step(t, x, V)
                block_div = block_div + dv
            alive = _survivors(alive, x, self.limit, 1, V, block_div)
            x = torch.where(alive[:, None], x, self.x0)
            V, log_r = qr_step(torch.where(alive[:, None, None], V, self.V0))
            self.n_qr += 1
            logs = logs + torch.where(alive[:, None], log_r, 0.0)
            div = div + torch.where(alive, block_div, 0.0)
            done += n
            self.blocks.update(log_r, alive)
        self.t, self.x, self.V, self.alive = t, x, V, alive
        return logs, div, samples


def _align(run: _FlowTangents, period: float, align: float, budget: int, max_halvings: int) -> dict[str, Any]:
    """The alignment of `flow_lyapunov`, with its step control: a check every period, until
    `align` periods have passed and the last check held at the current step (all within
    `budget` steps). Returns what it saw: halvings, steps, mismatch, lambda_1."""
    aligned, halvings, steps, mismatch, verified, lam1_seen = 0.0, 0, 0, math.nan, False, math.nan
    while (aligned < align or not verified) and steps < budget:
        n = max(1, min(math.ceil(period / run.h), budget - steps))
        logs, div, _ = run.advance(n)
        steps += n
        aligned += n * run.h / period
        alive = run.alive
        if halvings < max_halvings and float(alive.double().mean()) < MIN_ALIVE:
            # members blew up: most likely the step is beyond RK4's stability; start them again
            run.set_step(run.h / 2)
            run.restart()
            halvings, aligned, verified = halvings + 1, 0.0, False
            continue
        if not bool(alive.any()):
            break
        mismatch = float(((logs.sum(-1) - div).abs())[alive].max() / logs.abs().sum(-1)[alive].mean().clamp_min(1e-300))
        if logs.shape[-1]:  # no free coordinates (a pure clock, e.g. Torus): nothing to see
            lam1_seen = float(logs[alive].max(-1).values.mean()) / (n * run.h)
        verified = mismatch <= STEP_CONTROL * SUM_TOLERANCE or halvings >= max_halvings
        if not verified:
            run.set_step(run.h / 2)
            halvings += 1
    return {"step_halvings": halvings, "align_steps": steps, "alignment_mismatch": mismatch,
            "alignment_lambda_1": lam1_seen}


def flow_lyapunov(system: System, x0: Tensor, params: Mapping[str, Any], *, h: float, align: float,
                  periods: float, pts_per_period: float, lyapunov_times: float = 0.0, clock: Sequence[int] = (),
                  max_steps: int = 20_000, max_halvings: int = 4, trace: bool = True) -> LyapunovRun:
    """Spectrum of a flow from the on-attractor states `x0` (`[B, d]`), by RK4 steps of size `h`.

    Tangents span the coordinates other than the `clock` ones (whose exponents are exactly zero
    and are not integrated). The alignment lasts `align` periods and also controls the step.
    After each period the stretch of the tangent volume (the sum of log |diag R|) is compared
    with the integral of the divergence over the same steps; while the worst member disagrees
    by more than `STEP_CONTROL` of the final check's tolerance, h is halved (at most
    `max_halvings` times) and the alignment goes on until a period passes at the current step.
    Where more than a tenth of the members blew up, h is halved and every member starts again.
    The alignment takes at most `max_steps` / 4 steps; then `periods` periods are measured, or
    `lyapunov_times` times 1 / lambda_1 (lambda_1 as the last alignment period saw it) if that
    is longer, but never more than `max_steps` steps in all; states are sampled
    `pts_per_period` times per period.
    """
    started = time.perf_counter()
    B, d = x0.shape
    free = [i for i in range(d) if i not in set(clock)]
    k = len(free)
    V0 = torch.zeros(B, d, k, dtype=x0.dtype, device=x0.device)
    V0[:, free, torch.arange(k)] = 1.0
    run = _FlowTangents(system, params, x0, V0, h, trace)
    period = system.required_period("its tangent run is measured in periods")
    seen = _align(run, period, align, max(1, max_steps // 4), max_halvings)
    h, lam1_seen = run.h, seen["alignment_lambda_1"]

    # measurement
    T_target = periods * period
    if lyapunov_times > 0 and lam1_seen > 0:
        T_target = max(T_target, lyapunov_times / lam1_seen)
    n_measure = max(1, min(math.ceil(T_target / h), max_steps - seen["align_steps"]))
    sample_every = max(1, round(period / (pts_per_period * h)))
    logs, div, samples = run.advance(n_measure, sample_every)
    alive = run.alive
    T = n_measure * h
    exps = torch.where(alive[:, None], logs / T, math.nan)
    return LyapunovRun(
        exponents=_insert_zeros(exps, free, d), divergence=torch.where(alive, div / T, math.nan),
        valid=alive, measured=T, samples=torch.stack(samples, 1), sample_spacing=sample_every * h,
        settings={"method": "rk4 on state + variational equation", "h": h, "step_halvings": seen["step_halvings"],
                  "alignment_mismatch": seen["alignment_mismatch"], "alignment_lambda_1": lam1_seen,
                  "align_steps": seen["align_steps"], "measure_steps": n_measure,
                  "measured_periods": T / period, "qr_count": run.n_qr, "traced": run.traced,
                  "clock_coordinates": list(clock), "wall_time": time.perf_counter() - started},
    )


def _insert_zeros(exps: Tensor, free: list[int], d: int) -> Tensor:
    """The spectrum of the free coordinates with an exact zero for each clock coordinate, sorted."""
    if len(free) == d:
        return exps.sort(-1, descending=True).values
    full = torch.zeros(exps.shape[0], d, dtype=exps.dtype, device=exps.device)
    full[:, : len(free)] = exps
    full = torch.where(torch.isnan(exps).any(-1, keepdim=True), math.nan, full)
    return full.sort(-1, descending=True).values


def map_lyapunov(system: System, x0: Tensor, params: Mapping[str, Any], *, n_align: int, n_measure: int,
                 trace: bool = True) -> LyapunovRun:
    """Spectrum of a map from the on-attractor states `x0` (`[B, d]`), per iteration."""
    started = time.perf_counter()
    B, d = x0.shape
    dtype, device = x0.dtype, x0.device
    V0 = torch.eye(d, dtype=dtype, device=device).expand(B, d, d).clone()
    step, traced = record(map_tangent_step(system, params), x0, V0) if trace else (map_tangent_step(system, params), False)
    limit = Bound.of(system).limits(d, dtype, device)  # a member past it has diverged
    x, V = x0.clone(), V0.clone()
    alive = torch.ones(B, dtype=torch.bool, device=device)
    logs = torch.zeros(B, d, dtype=dtype, device=device)
    logdet = torch.zeros(B, dtype=dtype, device=device)
    samples: list[Tensor] = []
    blocks = _Blocks(1, cap=16)
    done, measured, n_total, n_qr = 0, 0, n_align + n_measure, 0
    while done < n_total:
        n = min(blocks.every, n_total - done)
        if done < n_align:
            n = min(n, n_align - done)
        block_det = torch.zeros(B, dtype=dtype, device=device)
        for _ in range(n):
            samples.append(x)
            x, V, ld = step(x, V)
            block_det = block_det + ld
        alive = _survivors(alive, x, limit, 1, V)
        x = torch.where(alive[:, None], x, x0)
        V = torch.where(alive[:, None, None], V, V0)
        V, log_r = qr_step(V)
        n_qr += 1
        if done >= n_align:
            logs = logs + torch.where(alive[:, None], log_r, 0.0)
            logdet = logdet + torch.where(alive, block_det, 0.0)
            measured += n
        done += n
        blocks.update(log_r, alive)
    exps = torch.where(alive[:, None], logs / measured, math.nan)
    return LyapunovRun(
        exponents=exps.sort(-1, descending=True).values, divergence=torch.where(alive, logdet / measured, math.nan),
        valid=alive, measured=float(measured), samples=torch.stack(samples, 1), sample_spacing=1.0,
        settings={"method": "jvp of the map, QR", "align_steps": n_align, "measure_steps": n_measure,
                  "qr_count": n_qr, "traced": traced, "wall_time": time.perf_counter() - started},
    )


class _HistoryTangents:
    """The tangent vectors of a delay equation's discretized history (`tangent.history_step`):
    `k` columns of `Q` (`[B, N, k]`, N = (2m + 1) s) split into the window's `dY`, `dF` and back."""

    def __init__(self, B: int, m: int, s: int, k: int):
        self.B, self.m, self.s, self.k = B, m, s, k

    def split(self, Q: Tensor) -> tuple[Tensor, Tensor]:
        B, m, s, k = self.B, self.m, self.s, self.k
        return (Q[:, : (m + 1) * s].transpose(1, 2).reshape(B, k, m + 1, s),
                Q[:, (m + 1) * s:].transpose(1, 2).reshape(B, k, m, s))

    def join(self, dY: Tensor, dF: Tensor) -> Tensor:
        return torch.cat([dY.reshape(self.B, self.k, -1), dF.reshape(self.B, self.k, -1)], -1).transpose(1, 2)


def _delay_start(system: System, x0: Tensor, params: Mapping[str, Any], m: int, h: float, n_transient: int,
                 trace: bool) -> tuple[Tensor, Tensor, Tensor, bool]:
    """The windows `Y`, `F` (`m` steps per delay of size `h`) after `n_transient` steps from the
    constant histories `x0`, their time, and whether the plain step could be recorded."""
    B, s = x0.shape
    t = torch.zeros(B, dtype=x0.dtype, device=x0.device)
    Y = x0[:, None, :].expand(B, m + 1, s).clone()
    F = torch.zeros(B, m, s, dtype=x0.dtype, device=x0.device)
    plain, traced = record(history_step(system, params, h), t, Y, F) if trace else (history_step(system, params, h), False)
    h_t = torch.tensor(h, dtype=x0.dtype, device=x0.device)
    for _ in range(n_transient):
        Y, F = plain(t, Y, F)
        t = t + h_t
    return Y, F, t, traced


def delay_lyapunov(system: System, x0: Tensor, params: Mapping[str, Any], *, h_target: float, n_exponents: int,
                   n_transient: int, n_align: int, n_measure: int, sample_spacing: float, seed: int = 0,
                   trace: bool = True) -> LyapunovRun:
    """Leading exponents of a delay equation, from constant histories `x0` (`[B, s]`).

    The delay tau is split into m steps (m a multiple of the embedding's number of lags, so
    that the lagged coordinates of the samples fall on grid points), h = tau / m close to
    `h_target`. The tangent vectors live on the (2m + 1) s numbers of the discretized state.
    """
    started = time.perf_counter()
    B, s = x0.shape
    dtype, device = x0.dtype, x0.device
    tau = float(system.delay_of(params))
    n_lags = system.dim // s - 1
    m = max(2, n_lags * math.ceil(tau / (n_lags * h_target)))
    h = tau / m
    Y, F, t, traced_plain = _delay_start(system, x0, params, m, h, n_transient, trace)
    N = (2 * m + 1) * s
    k = min(n_exponents, N)
    gen = torch.Generator().manual_seed(seed)
    Q, _ = torch.linalg.qr(torch.randn(B, N, k, generator=gen, dtype=torch.float64).to(dtype=dtype, device=device))
    window = _HistoryTangents(B, m, s, k)
    dY, dF = window.split(Q)
    tangent, traced = (record(history_tangent_step(system, params, h), t, Y, F, dY, dF) if trace
                       else (history_tangent_step(system, params, h), False))
    h_t = torch.tensor(h, dtype=dtype, device=device)
    Y0, F0, Q0 = Y.clone(), F.clone(), Q.clone()
    lag_index = [m - j * (m // n_lags) for j in range(n_lags + 1)] if n_lags > 0 else [m]
    sample_every = max(1, round(sample_spacing / h))
    limit = Bound.of(system).value  # a member past it has diverged (every coordinate of a delay state)
    alive = torch.ones(B, dtype=torch.bool, device=device)
    logs = torch.zeros(B, k, dtype=dtype, device=device)
    samples: list[Tensor] = []
    blocks = _Blocks(8, cap=sample_every * 64)
    done, measured, n_total, n_qr = 0, 0, n_align + n_measure, 0
    while done < n_total:
        n = min(blocks.every, n_total - done)
        if done < n_align:
            n = min(n, n_align - done)
        for i in range(n):
            if (done + i) % sample_every == 0:
                samples.append(Y[:, lag_index].reshape(B, -1))
            Y, F, dY, dF = tangent(t, Y, F, dY, dF)
            t = t + h_t
        Q = window.join(dY, dF)
        alive = _survivors(alive, Y, limit, 2, Q)
        Y = torch.where(alive[:, None, None], Y, Y0)
        F = torch.where(alive[:, None, None], F, F0)
        Q, log_r = qr_step(torch.where(alive[:, None, None], Q, Q0))
        dY, dF = window.split(Q)
        n_qr += 1
        if done >= n_align:
            logs = logs + torch.where(alive[:, None], log_r, 0.0)
            measured += n
        done += n
        blocks.update(log_r, alive)
    T = measured * h
    exps = torch.where(alive[:, None], logs / T, math.nan)
    return LyapunovRun(
        exponents=exps.sort(-1, descending=True).values, divergence=None, valid=alive, measured=T,
        samples=torch.stack(samples, 1), sample_spacing=sample_every * h,
        settings={"method": "rk4 method of steps on the discretized history, jvp, QR", "h": h,
                  "steps_per_delay": m, "history_dimension": N, "n_exponents": k, "transient_steps": n_transient,
                  "align_steps": n_align, "measure_steps": n_measure, "qr_count": n_qr,
                  "traced": traced and traced_plain, "wall_time": time.perf_counter() - started},
    )


def pesin_entropy(exponents: list[float] | Tensor) -> float:
    """Sum of the positive exponents: Pesin's upper bound on the Kolmogorov-Sinai entropy."""
    return float(sum(v for v in (exponents.tolist() if isinstance(exponents, Tensor) else exponents) if v > 0))


def lyapunov_time(max_exponent: float, stderr: float = 0.0, *, sigmas: float = 4.0) -> float | None:
    """1 / lambda_1, or None unless lambda_1 is positive beyond `sigmas` standard errors."""
    if not math.isfinite(max_exponent) or max_exponent <= sigmas * stderr or max_exponent <= 0:
        return None
    return 1.0 / max_exponent
