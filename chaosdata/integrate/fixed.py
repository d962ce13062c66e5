"""Fixed-step integration onto an output grid a whole number of steps apart: no records, no
interpolation, no per-trajectory bookkeeping in the step.

When a fixed-step method (`rk4`) takes steps of `dt` and every output time is `t0 + i m dt`
for one integer `m >= 1` (a uniform grid of spacing `m dt`, or just `[t0, t_end]` with
`t_end - t0 = m dt`), the state at output `i` is the state after `i m` steps. The generic
path of `ode.integrate` still runs such solves through its masked per-trajectory step and
dense-output writer (about 100 bytes of records per trajectory-step); here a step is the
tableau's stages and nothing else, written with Python-float coefficients (zeros skipped) so
that a compiled graph holds them as constants, and `steps_per_graph` steps run unrolled in one
call (`advance`). Working memory is O(B * d) (the state and the stages of one step) plus the
output; a graph compiled by inductor for the CPU writes each stage's derivative to a buffer of
its own (it lowers the fields' `torch.stack` to a concatenation into memory), so one call
there holds `steps_per_graph * stages * B * d` elements (64 * B * d for 16 RK4 steps).

The grid rule (`steps_per_output`): with `eps` the rounding unit of the output grid's dtype
and `scale = max(|t_eval[0]|, |t_eval[-1]|)`, the grid is aligned when
`m = round((t_eval[1] - t_eval[0]) / dt) >= 1` and every output time lies within
`ALIGN_ULPS * eps * scale` of `t_eval[0] + i m dt` (computed in float64), and that
tolerance is below `dt / 2` (so `m` is not ambiguous). `torch.linspace`, `torch.arange`
and `t0 + arange * spacing` grids pass (within 1 rounding unit in float32 and float64);
a grid built by a running sum drifts by tens to thousands of units in float64 and does not:
`integrate_fixed_grid` then returns None and the caller takes the generic path.

Failures are reported as the generic path reports them (`Status`, NaN rows), but checked once
per output, not per step: a trajectory whose output is non-finite, or outside its `Bound`,
is flagged at the first such output; one that leaves the bound and
returns between two outputs is not. Times of step `k` are `t0 + k dt` in float64 (one
multiplication and one addition from `t0`, never a running sum), cast to the state's dtype.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.compiled import recompile_room, uses_cuda_graphs
from chaosdata.integrate.settings import Bound
from chaosdata.integrate.solution import Solution, Status, VectorField, classify
from chaosdata.integrate.tableaux import Tableau, Terms, combine, nonzero_terms

ALIGN_ULPS = 4  # an output may sit this many rounding units (of the grid's dtype, at its largest |t|) off the steps
# steps unrolled in one call of `advance`: they share the call's cost (on CUDA one CUDA-graph
# replay and two copies; compiled on this CPU about 20 us: float32 RK4 Lorenz, 1 thread, loaded
# machine, ran 6.8e7 trajectory-steps/s at 1 step per call and 1.2e8 at 16 on 2^12 trajectories,
# 1.6e8 at both on 2^16, 1.4e8 and 1.5e8 on 2^18; 16 steps compile in 12 s there, 1 in 2 s)
STEPS_PER_GRAPH = 16
CHECK_CHUNK_ELEMENTS = 2**24  # the failure check reads the output in slices of about this many elements

Advance = Callable[[Tensor, Tensor], Tensor]  # advance(y: [B, d], t_start: 0-d float64) -> y: [B, d]


def steps_per_output(t_eval: Tensor, dt: float) -> int | None:
    """`m` such that output `i` of `t_eval` (`[n]`, increasing) is `t_eval[0] + i m dt`
    to within `ALIGN_ULPS` rounding units of `t_eval`'s dtype (see the module doc), or None
    when there is no such `m >= 1`. Reads `t_eval` on the host once."""
    if t_eval.ndim != 1 or t_eval.numel() < 2 or not dt > 0:
        return None
    times = t_eval.detach().to(device="cpu", dtype=torch.float64)
    t0, t_end = float(times[0]), float(times[-1])
    m = round(float(times[1] - times[0]) / dt)
    tol = ALIGN_ULPS * torch.finfo(t_eval.dtype).eps * max(abs(t0), abs(t_end))
    if m < 1 or not tol < dt / 2:
        return None
    expected = t0 + torch.arange(times.numel(), dtype=torch.float64) * (m * dt)
    return m if float((times - expected).abs().max()) <= tol else None


StageField = Callable[[int, Tensor], Tensor]  # field(i, y_i) -> stage i's derivative at y_i


def rk_step(field: StageField, y: Tensor, a: tuple[Terms, ...], b: Terms) -> tuple[Tensor, list[Tensor]]:
    """One explicit Runge-Kutta step, the one written for every fixed-step scheme (the ODE
    fixed grid, delay equations, tangent dynamics): stage `i` is `k_i = field(i, y_i)` at
    `y_i = y + sum_j a[i] k_j`; returns `y + sum_i b_i k_i` and the stages.

    `a` and `b` are a tableau's rows as `nonzero_terms`, scaled by the step `h` when it is a
    Python float (then `field` gives the plain derivative), or unscaled when `h` is a tensor
    (then `field` gives `h` times it); the caller knows stage `i`'s time, `t + c_i h`."""
    k: list[Tensor] = []
    for i, terms in enumerate(a):
        k.append(field(i, combine(y, terms, k)))
    return combine(y, b, k), k


@dataclass(frozen=True)
class FixedStep:
    """`n_steps` steps of one explicit tableau, unrolled: `step(y, t_start)` (`y`: `[B, d]`,
    `t_start`: 0-d float64, the time of the first step) returns the states after every
    `every` steps, `[n_steps // every, B, d]` (the last is the state `n_steps` later).

    `a` and `b` hold `(stage, coefficient * dt)` pairs as Python floats (constants in a
    compiled graph; zero coefficients left out); `offsets` (`[n_steps, stages]` float64) is
    `(j + c_i) dt`, so stage `i` of step `j` sees `t = t_start + offsets[j, i]`, cast to `y`'s
    dtype and expanded to `[B]` (a view), as `f(t: [B], y: [B, d])` expects. Build it with
    `fixed_step`. `f` must not change its input in place."""

    f: VectorField
    a: tuple[Terms, ...]
    b: Terms
    offsets: Tensor
    every: int

    def __call__(self, y: Tensor, t_start: Tensor) -> Tensor:
        B = y.shape[0]
        stage_t = (t_start + self.offsets).to(y.dtype)  # [n_steps, stages]
        kept = []
        for j, row in enumerate(stage_t.unbind(0)):
            y, _ = rk_step(self._at(row.unbind(0), B), y, self.a, self.b)
            if (j + 1) % self.every == 0:
                kept.append(y)
        return torch.stack(kept)

    def _at(self, times: tuple[Tensor, ...], B: int) -> StageField:
        """`f` at the stage times of one step (0-d each), expanded over the batch."""
        return lambda i, y: self.f(times[i].expand(B), y)


def fixed_step(f: VectorField, tab: Tableau, dt: float, n_steps: int, every: int | None = None,
               device: torch.device | str = "cpu") -> FixedStep:
    """`tab`'s step of size `dt`, `n_steps` times over, keeping the state after every `every`
    steps (None: only the last; `FixedStep`), its time offsets on `device`."""
    every = n_steps if every is None else every
    if not 1 <= every <= n_steps or n_steps % every:
        raise InvalidInputError(f"every must divide n_steps = {n_steps}, got {every!r}")
    dt = float(dt)
    a = tuple(nonzero_terms(row, dt) for row in tab.a)
    b = nonzero_terms(tab.b, dt)
    offsets = torch.tensor([[(j + float(c)) * dt for c in tab.c] for j in range(n_steps)], dtype=torch.float64,
                           device=device)
    return FixedStep(f, a, b, offsets, every)


def make_advance(f: VectorField, tab: Tableau, dt: float, n_steps: int, every: int | None = None, *,
                 device: torch.device | str = "cpu", compile: bool = False, mode: str | None = None) -> Advance:
    """`advance(y, t_start)`: `n_steps` steps in one call, the states after every `every`
    (`fixed_step`), eager or through `torch.compile(fullgraph=True, dynamic=False,
    mode=mode)`; a compiled graph is specialised to the shapes, dtype and device of its
    first call."""
    step = fixed_step(f, tab, dt, n_steps, every, device)
    if not compile:
        return step
    return torch.compile(step, fullgraph=True, dynamic=False, mode=mode)


def integrate_fixed_grid(
    f: VectorField,
    y0: Tensor,
    t_eval: Tensor,
    tab: Tableau,
    fixed_step: float,
    *,
    bound: Bound | None = None,
    compile: bool = False,
    steps_per_graph: int = STEPS_PER_GRAPH,
    mode: str | None = None,
    max_steps: int | None = None,
) -> Solution | None:
    """Integrate `dy/dt = f(t, y)` from `y0` (`[B, d]`) onto `t_eval` (`[n]`) with fixed
    steps `dt = fixed_step` of `tab` (`SolverSettings.fixed_step`), or return None when the grid is not aligned with the step
    (`steps_per_output`) or needs more than `max_steps` steps: the caller then takes the
    generic path, which handles any grid (and reports MAX_STEPS).

    Output `i` is the state after `i m` steps (no interpolation). The steps run in calls
    of `make_advance`, at most `steps_per_graph` steps each: for `m > steps_per_graph`,
    calls of `steps_per_graph` steps and one of the `m mod steps_per_graph` left per output;
    otherwise `q = steps_per_graph // m` outputs per call (`q m` steps) and one call for
    the outputs left. `compile=True` compiles both graphs, with `mode` defaulting to
    "reduce-overhead" (CUDA graphs) on CUDA and inductor's default elsewhere. With CUDA
    graphs each call is preceded by `torch.compiler.cudagraph_mark_step_begin()` and its
    states are copied into the output and the working state outside the graph.

    Failures, checked once per output (not per step; module doc): a row whose output is
    non-finite gets `Status.NONFINITE`, one whose output leaves `bound` (a `Bound`, on the
    coordinates it does not exempt) `Status.OUT_OF_BOUNDS`; its whole
    row of `y` is NaN (as on the generic path) and the other rows are unaffected.
    `n_accepted` counts the steps up to the first failed output (all `(n - 1) m` for a
    valid row), `n_rejected` is 0, `n_evaluations` is steps times stages. Failed rows are
    still stepped to the end (no compaction); `y` is `[B, n, d]` in `y0`'s dtype.
    """
    if y0.ndim != 2:
        raise InvalidInputError(f"y0 must have shape [batch, dim], got {tuple(y0.shape)}")
    if tab.adaptive:
        raise InvalidInputError(f"integrate_fixed_grid takes fixed-step methods; {tab.name!r} is adaptive: "
                                "use ode.integrate")
    dt = validate.positive(fixed_step, "fixed_step")
    steps_per_graph = validate.count(steps_per_graph, "steps_per_graph")
    started = time.perf_counter()
    dtype, device = y0.dtype, y0.device
    t_eval = t_eval.to(dtype=dtype, device=device)
    m = steps_per_output(t_eval, dt)
    n_out = t_eval.numel()
    if m is None or (max_steps is not None and (n_out - 1) * m > max_steps):
        return None
    B, d = y0.shape
    mode = mode if mode is not None or not compile else ("reduce-overhead" if uses_cuda_graphs(device) else None)
    cudagraphs = compile and uses_cuda_graphs(device) and mode is not None and "reduce-overhead" in mode

    def advance(n_steps: int, every: int) -> Advance:
        return make_advance(f, tab, dt, n_steps, every, device=device, compile=compile, mode=mode)

    calls = _schedule(m, n_out, steps_per_graph, advance)
    out = torch.empty(B, n_out, d, dtype=dtype, device=device)
    out[:, 0] = y0
    _run(calls(), y0, out, float(t_eval[0]), dt, compile=compile, cudagraphs=cudagraphs)
    with torch.no_grad():  # ordinary tensors (not inference ones), which callers may update in place
        status, first_bad = _failures(out, bound)
        failed = status != Status.OK
        if bool(failed.any()):
            out.masked_fill_(failed[:, None, None], math.nan)
    n_acc = first_bad * m
    return Solution(
        t=t_eval, y=out, status=status, n_accepted=n_acc, n_rejected=torch.zeros_like(n_acc),
        n_evaluations=(n_out - 1) * m * len(tab.b), wall_time=time.perf_counter() - started,
    )


Call = tuple[int, Advance, int | None]  # (first step, advance, first output it writes or None)


def _run(calls: Iterator[Call], y0: Tensor, out: Tensor, t0: float, dt: float, *, compile: bool,
         cudagraphs: bool) -> None:
    """Make the calls in turn from `y0`, each from step `first` at `t0 + first dt`, the states
    they keep copied into `out` (`[B, n, d]`) from their first output on."""
    t_start = torch.zeros((), dtype=torch.float64, device=out.device)  # one buffer, filled before each call
    with recompile_room(compile), torch.inference_mode():
        # made here, so that every call gets an inference tensor: a compiled graph guards on the
        # kind, and an ordinary first input would compile it a second time at the second call
        y = y0.clone()
        for first, adv, i in calls:
            t_start.fill_(t0 + first * dt)  # t0 + k dt, k a whole number of steps
            if cudagraphs:
                torch.compiler.cudagraph_mark_step_begin()
            states = adv(y, t_start)  # [kept, B, d]
            if i is not None:  # copied out before the next call (a CUDA graph's replay overwrites it)
                out[:, i:i + states.shape[0]] = states.transpose(0, 1)
            if cudagraphs:
                y.copy_(states[-1])
            else:
                y = states[-1]


def _schedule(m: int, n_out: int, steps_per_graph: int,
              advance: Callable[[int, int], Advance]) -> Callable[[], Iterator[Call]]:
    """The calls of `integrate_fixed_grid`, in order, for outputs `m` steps apart; each
    `advance(n_steps, every)` graph is made here, once, and the calls' states go to
    consecutive outputs. For `m > steps_per_graph`, several calls per output; else `q` outputs
    per call (`q m <= steps_per_graph` steps), then one call for those left."""
    if m > steps_per_graph:
        full, rest = divmod(m, steps_per_graph)
        main = advance(steps_per_graph, steps_per_graph)
        parts = [(c * steps_per_graph, main) for c in range(full)]
        if rest:
            parts.append((full * steps_per_graph, advance(rest, rest)))

        def per_output() -> Iterator[Call]:
            for i in range(1, n_out):
                for c, (first, adv) in enumerate(parts):
                    yield (i - 1) * m + first, adv, (i if c == len(parts) - 1 else None)
        return per_output
    q = steps_per_graph // m
    full, rest = divmod(n_out - 1, q)
    main = advance(q * m, m)
    tail = advance(rest * m, m) if rest else None

    def per_call() -> Iterator[Call]:
        for c in range(full):
            yield c * q * m, main, 1 + c * q
        if tail is not None:
            yield full * q * m, tail, 1 + full * q
    return per_call


def _failures(out: Tensor, bound: Bound | None,
              chunk_elements: int = CHECK_CHUNK_ELEMENTS) -> tuple[Tensor, Tensor]:
    """Per row of `out` (`[B, n, d]`): the `Status` (int8 `[B]`) of its first failed output
    and that output's index (int64 `[B]`, `n - 1` for a valid row).

    First one pass over all of `out` (`aminmax`, which propagates NaN; 0.04 s for 200M
    float32 elements on one CPU thread): when every element is finite and within `bound`
    (on any coordinate, which implies the bounded ones) every row is valid. Else rows are
    examined output by output (about 1 s for the same 200M there), in slices of about
    `chunk_elements` elements, so the temporaries stay that small."""
    B, n, d = out.shape
    first = torch.full((B,), n - 1, dtype=torch.long, device=out.device)
    code = torch.full((B,), int(Status.OK), dtype=torch.int8, device=out.device)
    if out.numel() == 0:
        return code, first
    lo, hi = (float(v) for v in torch.aminmax(out))
    if math.isfinite(lo) and math.isfinite(hi) and (bound is None or max(-lo, hi) <= bound.value):
        return code, first
    limit = bound.limits(d, out.dtype, out.device) if bound is not None else None
    step = max(1, chunk_elements // max(1, B * d))
    for start in range(0, n, step):
        codes = classify(out[:, start:start + step], limit)  # [B, outputs in the slice]
        bad = codes != Status.OK
        hit = bad.any(-1) & (code == Status.OK)  # rows whose first failure is in this slice
        at = bad.to(torch.int8).argmax(-1)  # the first True
        first = torch.where(hit, start + at, first)
        code = torch.where(hit, codes.gather(-1, at[:, None])[:, 0], code)
    return code, first
