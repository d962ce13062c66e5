"""The ensemble runner: sample -> transient -> integrate -> redraw failures, written once.

A solve is described by small values, each checked once where it is made (diffrax's
`diffeqsolve(..., saveat, stepsize_controller)` in spirit):

- `OutputGrid`: what to save, `n_points` outputs `unit / pts_per_period` apart (`unit`: the
  period or the Lyapunov time) or explicit `times`; never the solver's step;
- `Sampling`: how starts are drawn, `n_ics` seeded kicks of the catalogue's initial condition
  carried through `transient` units, failures redrawn when `resample_failed`;
- `SolverSettings` (`chaosdata.integrate.settings`) and `NoiseSpec` (`chaosdata.integrate.sde`).

`run_passes` executes the pipeline: for `make_trajectories` (`run_ensemble`, one grid; it only
adds postprocessing and the stats), for the store's builder (several grids from the same
starts, each split a block of the batch with its own seed) and for the invariants' pilots.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata import budget, validate
from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.sde import NoiseSpec, noise_step, parse_noise, solve_noisy
from chaosdata.integrate.settings import Bound, SolverSettings, check_state_dtype
from chaosdata.integrate.simulate import RESAMPLE, check_params, simulate, time_unit
from chaosdata.integrate.solution import Solution, Status
from chaosdata.systems import System

DEFAULT_PTS_PER_PERIOD = 100
DEFAULT_TRANSIENT = 10.0  # in units of the timescale (periods, or Lyapunov times); iterations for maps
SEED_LIMIT = 2**63  # the redraws' seeds (`RESAMPLE.seed`, a few million more) stay below torch's 2**64


@dataclass(frozen=True)
class OutputGrid:
    """What to save: `n_points` outputs from t = 0, `unit / pts_per_period` apart (`unit` per
    `timescale`: a period, or a Lyapunov time; maps: one iteration, and neither applies), or
    explicit increasing `times` (flows only; `n_points` and `pts_per_period` left out)."""

    n_points: int | None = None
    pts_per_period: float | None = None
    timescale: str = "period"
    times: Tensor | None = None

    def __post_init__(self) -> None:
        if self.times is not None:
            if self.n_points is not None:
                raise InvalidInputError("give n_points (a uniform grid) or times (explicit output times), not both")
            if self.pts_per_period is not None:
                raise InvalidInputError("pts_per_period sets the spacing of a uniform grid; explicit times set "
                                        "their own: leave pts_per_period out")
            t = torch.as_tensor(self.times, dtype=torch.float64).cpu()
            if t.ndim != 1 or t.numel() < 2 or not bool(torch.isfinite(t).all()) or not bool((t[1:] > t[:-1]).all()):
                raise InvalidInputError("times must be a 1-D sequence of at least 2 finite, strictly increasing times")
            object.__setattr__(self, "times", t)
        elif self.n_points is None:
            raise InvalidInputError("n_points is required (or explicit times, for a flow)")
        else:
            object.__setattr__(self, "n_points", validate.count(self.n_points, "n_points", minimum=2))
        if self.pts_per_period is not None:  # checked, kept as given (the stats record it)
            validate.positive(self.pts_per_period, "pts_per_period")

    @property
    def size(self) -> int:
        return self.times.numel() if self.times is not None else int(self.n_points or 0)

    def resolve(self, system: System) -> tuple[float, float | None, float]:
        """`(unit, spacing, span)` for `system`: the time unit of the step budget, the uniform
        spacing (None for explicit times) and the time the outputs span; nothing allocated."""
        if self.times is not None and system.kind != "flow":
            raise InvalidInputError(f"{system.name} is a {system.kind}: explicit times are for flows; use n_points")
        if system.kind == "map":
            if self.timescale != "period":  # one sampling: a point per iteration (pts_per_period does not apply)
                raise InvalidInputError(f"{system.name} is a map, sampled once per iteration: "
                                        f"timescale={self.timescale!r} does not apply; leave timescale out")
            unit, spacing = 1.0, 1.0
        else:
            unit = time_unit(system, self.timescale)
            spacing = unit / (DEFAULT_PTS_PER_PERIOD if self.pts_per_period is None else self.pts_per_period)
        if self.times is not None:
            return unit, None, float(self.times[-1] - self.times[0])
        return unit, spacing, (self.size - 1) * spacing

    def times_of(self, spacing: float | None) -> Tensor:
        """The output times (float64, CPU) at the `spacing` `resolve` gave."""
        if self.times is not None:
            return self.times
        if spacing is None:
            raise InvalidInputError("a uniform grid needs the spacing OutputGrid.resolve gave, got None")
        return torch.arange(self.size, dtype=torch.float64) * spacing


@dataclass(frozen=True)
class Sampling:
    """How starts are drawn: `n_ics` seeded kicks of the catalogue's initial condition
    (`sample_initial_conditions`), carried through `transient` units of the grid's timescale
    (iterations for maps) ending at the first output; with `resample_failed`, a trajectory
    that fails is drawn again (`RESAMPLE`), else it stays flagged."""

    n_ics: int = 1
    seed: int = 0
    transient: float = DEFAULT_TRANSIENT
    resample_failed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "n_ics", validate.count(self.n_ics, "n_ics"))
        object.__setattr__(self, "seed", validate.seed(self.seed, "seed", minimum=-SEED_LIMIT, limit=SEED_LIMIT,
                                                       hint="redraws add to it"))
        object.__setattr__(self, "transient", validate.non_negative(
            self.transient, "transient", hint="a number of periods (iterations for maps)"))
        object.__setattr__(self, "resample_failed", validate.flag(self.resample_failed, "resample_failed"))


def sample_initial_conditions(system: System, n_ics: int, seed: int, scale: float | None = None) -> Tensor:
    """Seeded perturbations of the default initial condition (float64, CPU): each coordinate
    kicked by `scale * (|x| + 0.1)` times a standard normal (`scale`: the system's
    `perturbation` unless given), then kept inside the system's `domain` if it declares one.

    The draws depend on `n_ics` as well as `seed`: torch's normal sampler takes another path
    from 16 numbers on, so a larger draw does not start with a smaller one's rows (a bigger
    split is a new set of starts, not an extension of the old one)."""
    n_ics = validate.count(n_ics, "n_ics")
    seed = validate.seed(seed, "seed", minimum=-(2**63))
    scale = system.perturbation if scale is None else validate.non_negative(
        scale, "scale", hint="a relative kick, or None for the system's perturbation")
    dim = system.state_dim or system.dim
    ic = torch.tensor(system.initial_conditions[:dim], dtype=torch.float64)
    gen = torch.Generator().manual_seed(int(seed))
    kick = torch.randn(n_ics, dim, generator=gen, dtype=torch.float64)
    x = ic + scale * (ic.abs() + 0.1) * kick
    if system.domain is not None:  # keep the draws where the state makes sense
        lo = torch.tensor([-math.inf if b[0] is None else b[0] for b in system.domain], dtype=torch.float64)
        hi = torch.tensor([math.inf if b[1] is None else b[1] for b in system.domain], dtype=torch.float64)
        x = torch.minimum(torch.maximum(x, lo), hi)
    return x


def redraw_failures(valid: Callable[[], Tensor], redo: Callable[[int, Tensor], None]) -> dict[int, int]:
    """The one redraw loop: while rows fail (`valid()` False), redo them with attempt
    1 .. `RESAMPLE.max_resamples` (`redo(attempt, rows)` draws from `RESAMPLE.seed(base, attempt)`
    and patches the rows). Returns each redrawn row's last attempt."""
    resampled: dict[int, int] = {}
    for attempt in RESAMPLE.attempts():
        bad = (~valid()).nonzero().flatten()
        if bad.numel() == 0:
            break
        redo(attempt, bad)
        resampled.update(dict.fromkeys(bad.tolist(), attempt))
    return resampled


def rows_of(system: System, params: Mapping[str, Any], rows: Tensor, n: int) -> dict[str, Any]:
    """Parameters for a subset `rows` of a batch of `n`: a tensor parameter whose last batch
    axis has length `n` (a sweep, one value per trajectory) is indexed; others broadcast as is."""
    out = {}
    for key, value in params.items():
        axis = value.ndim - np.ndim(system.parameters[key]) - 1 if isinstance(value, Tensor) else -1
        if axis >= 0 and n > 1 and value.shape[axis] == n:
            value = value.index_select(axis, rows.to(value.device))
        out[key] = value
    return out


@dataclass
class Ensemble:
    """What the runner returns for one grid: the recorded solution on `t_eval`, the draws (or
    given states) and the states at the first output, the settings it resolved, and each
    redrawn row's last attempt (`resampled`)."""

    solution: Solution
    t_eval: Tensor
    unit: float
    spacing: float | None
    draws: Tensor
    starts: Tensor
    params: dict[str, Any]
    settings: SolverSettings
    noise: NoiseSpec | None
    noise_seed: int | None
    resampled: dict[int, int]


def failure_reasons(solution: Solution) -> dict[int, str]:
    """Why each failed trajectory of `solution` failed, by its row."""
    return {int(i): Status(int(solution.status[i])).reason for i in (solution.status != 0).nonzero().flatten()}


def method_used(system: System, settings: SolverSettings) -> str:
    """The scheme that stepped `system`: 'rk4' for delay equations, 'iterate' for maps, else
    the resolved method of `settings`."""
    return "rk4" if system.kind == "delay" else ("iterate" if system.kind == "map" else str(settings.method))


@dataclass
class _Pipeline:
    """The stages of one request: the transient from the draws (its clock from 0 to
    `transient` units of the first grid), then the recorded part on each grid."""

    system: System
    grids: list[tuple[Tensor, float]]  # (t_eval, unit) per grid
    transient: float
    settings: SolverSettings
    noise: NoiseSpec | None
    noise_seed: int
    device: torch.device
    dtype: torch.dtype

    def solve(self, x0: Tensor, t_eval: Tensor, params: Mapping[str, Any], unit: float,
              t_start: float | None = None) -> Solution:
        return simulate(self.system, x0, t_eval.to(dtype=self.dtype, device=self.device), self.settings,
                        params=params, t_start=t_start, unit=unit)

    def warm(self, x0: Tensor, params: Mapping[str, Any]) -> tuple[Tensor, Tensor]:
        """Flows and maps: the states after the transient (zeros where it failed) and its status."""
        status = torch.zeros(x0.shape[0], dtype=torch.int8, device=self.device)
        if self.transient == 0 or self.system.kind == "delay":
            return x0, status
        unit = self.grids[0][1]
        if self.system.kind == "map":
            t_tr = torch.arange(math.ceil(self.transient) + 1, dtype=torch.float64)
        else:  # only the end state is kept: a two-point grid leaves the steps to the tolerance
            t_tr = torch.arange(2, dtype=torch.float64) * (unit / (1.0 / self.transient))  # the store's spelling
        warm = self.solve(x0, t_tr, params, unit)
        return torch.where((warm.status != 0)[:, None], torch.zeros_like(x0), warm.y[:, -1]), warm.status

    def record(self, x0: Tensor, status: Tensor, params: Mapping[str, Any], keys: Tensor | None) -> list[Solution]:
        """The recorded part on every grid from the states `x0` (`status`: the transient's)."""
        system, out = self.system, []
        for t_eval, unit in self.grids:
            if self.noise is None:
                sol = self.solve(x0, t_eval, params, unit)
            else:  # failed transients start from zeros, like the clean path, and stay flagged
                sol = solve_noisy(system, x0, t_eval.to(dtype=self.dtype, device=self.device), params, self.noise,
                                  self.noise_seed, torch.arange(x0.shape[0], device=self.device) if keys is None
                                  else keys, bound=Bound.of(system))
            sol.status = torch.where(status != 0, status, sol.status)
            out.append(sol)
        return out

    def run(self, x0: Tensor, params: Mapping[str, Any], sample: bool, keys: Tensor | None = None
            ) -> tuple[list[Solution], Tensor]:
        """Transient (when sampling), then the recorded part; returns it and its start states."""
        system = self.system
        x0 = x0.to(dtype=self.dtype, device=self.device)
        if sample and self.transient > 0 and system.kind == "delay":  # a continuous solution from a history before 0
            sols = [self.solve(x0, t_eval, params, unit,
                               t_start=-self.transient * unit - float(params[str(system.delay_parameter)]))
                    for t_eval, unit in self.grids]
            return sols, sols[0].y[:, 0, :system.state_dim or system.dim]
        first, status = self.warm(x0, params) if sample else (x0, torch.zeros(x0.shape[0], dtype=torch.int8,
                                                                                device=self.device))
        return self.record(first, status, params, keys), first


def _noise_of(system: System, noise: Any, seed: int) -> tuple[NoiseSpec | None, int]:
    spec = parse_noise(noise)
    if spec is not None and system.kind != "flow":
        raise InvalidInputError(f"{system.name} is a {system.kind}: noise is implemented for flows only; leave noise out")
    noise_seed = seed if spec is None or spec.seed is None else spec.seed
    if spec is not None and noise_seed < 0:
        raise InvalidInputError(f"with noise, seed seeds the Brownian paths and must be non-negative, got {seed}; "
                                "pass a seed >= 0 (or the noise's own seed)")
    return spec, noise_seed


def _given_starts(system: System, starts: Any) -> Tensor:
    dim = system.state_dim or system.dim
    validate.tensor(starts, "initial_conditions", shape="of shape [B, dim] or [dim]")
    ics = starts.reshape(1, -1) if starts.ndim == 1 else starts
    if ics.ndim != 2 or ics.shape[-1] != dim or ics.shape[0] == 0:
        raise InvalidInputError(f"{system.name}: initial_conditions must have shape [B, {dim}] (B >= 1) or [{dim}], "
                                f"got {tuple(starts.shape)}")
    return ics


def _check_given_sampling(sampling: Sampling) -> None:
    """With given starts only the seed applies (it seeds the noise): refuse a sampling that asks
    for more draws, redraws or a transient, naming the field."""
    if sampling.n_ics != 1 or sampling.resample_failed:
        given = f"n_ics={sampling.n_ics}" if sampling.n_ics != 1 else "resample_failed=True"
        raise InvalidInputError(
            f"the sampling's {given} applies only to sampled starts, and initial_conditions are used as given (their "
            "number is the batch; a failed one stays flagged in `valid`): leave one of them out")
    if sampling.transient:
        raise InvalidInputError(
            f"the sampling's transient={sampling.transient:g} applies to sampled starts; initial_conditions are used "
            "as the states at the first output time: pass Sampling(transient=0) (or no sampling), or carry them "
            "through a transient first (a 2-point run)")


def _blocks(sampling: Sampling | Sequence[Sampling] | None, starts: Tensor | None, noise: Any) -> tuple[Sampling, ...]:
    """The sampling as blocks of one batch: one `Sampling`, or several (a store's splits: each
    drawn and redrawn from its own seed) that share the transient and the redraw policy."""
    if sampling is None or isinstance(sampling, Sampling):
        if starts is not None and sampling is not None:
            _check_given_sampling(sampling)
        return (Sampling() if sampling is None else sampling,)
    blocks = tuple(validate.instance(s, "sampling[]", Sampling, hint="Sampling(n_ics, seed, ...)") for s in sampling)
    if not blocks:
        raise InvalidInputError("sampling is an empty list: give one Sampling, or one per block of the batch")
    first = blocks[0]
    if any((b.transient, b.resample_failed) != (first.transient, first.resample_failed) for b in blocks):
        raise InvalidInputError("the blocks of a sampling run in one batch and must share transient and "
                                "resample_failed; give every Sampling the same two")
    if len(blocks) > 1 and (starts is not None or noise is not None):
        raise InvalidInputError("several samplings (blocks of draws) take neither initial_conditions nor noise: "
                                "run those with one Sampling")
    return blocks


def _draw(system: System, blocks: tuple[Sampling, ...], counts: list[int], attempt: int) -> Tensor:
    """`counts[j]` draws of block j, from attempt `attempt`'s seed of its own (0: the block's seed)."""
    return torch.cat([sample_initial_conditions(system, k, RESAMPLE.seed(b.seed, attempt))
                      for b, k in zip(blocks, counts, strict=True) if k])


def run_ensemble(system: System, grid: OutputGrid, **kwargs: Any) -> Ensemble:
    """`run_passes` on one grid (`make_trajectories`'s runner); the same keywords."""
    return run_passes(system, (grid,), **kwargs)[0]


def run_passes(system: System, grids: Sequence[OutputGrid], *, sampling: Sampling | Sequence[Sampling] | None = None,
               starts: Tensor | None = None, solver: SolverSettings | None = None, noise: Any = None,
               params: Mapping[str, Any] | None = None, device: str | torch.device | None = None,
               dtype: torch.dtype = torch.float64) -> list[Ensemble]:
    """The runner: draw the starts (`sampling`: one `Sampling`, or several run as blocks of one
    batch), or take the given `starts` (the states at the first output: no transient, no
    redraw; of a sampling only the seed applies, the noise's), carry them through the transient
    (in units of the first grid's timescale), integrate onto each of `grids` (as an Itô SDE with
    `noise`), and redraw a row that fails on any of them, on all of them, if asked. `params`
    override the system's parameters (a sweep has one value per trajectory on its batch axis)."""
    blocks = _blocks(sampling, starts, noise)
    check_state_dtype(dtype)
    resolved = [g.resolve(system) for g in grids]
    settings = (SolverSettings() if solver is None else solver).resolve(system, dtype)
    spec, noise_seed = _noise_of(system, noise, blocks[0].seed)
    device = usable_device(device)
    bound_params = system.bind(dict(params or {}))
    cast = {k: v.to(dtype=dtype, device=device) if isinstance(v, Tensor) else v for k, v in bound_params.items()}
    given = None if starts is None else _given_starts(system, starts)
    counts = [b.n_ics for b in blocks] if given is None else [given.shape[0]]
    transient = 0.0 if given is not None else blocks[0].transient
    for g, (unit, _, span) in zip(grids, resolved, strict=True):
        _check_budget(system, g, span, unit, transient, sum(counts), settings, spec, dtype, device)
    t_evals = [g.times_of(spacing) for g, (_, spacing, _) in zip(grids, resolved, strict=True)]
    pipe = _Pipeline(system, [(t, u) for t, (u, _, _) in zip(t_evals, resolved, strict=True)], blocks[0].transient,
                     settings, spec, noise_seed, device, dtype)
    draws = (given if given is not None else _draw(system, blocks, counts, 0)).to(dtype=dtype, device=device)
    check_params(system, cast, draws.shape[0])
    sols, first = pipe.run(draws, cast, sample=given is None)
    resampled: dict[int, int] = {}
    if given is None and blocks[0].resample_failed:
        edges = torch.tensor([0, *counts]).cumsum(0)

        def redo(attempt: int, failed: Tensor) -> None:
            fresh = _draw(system, blocks, [int(((failed >= lo) & (failed < hi)).sum())
                                           for lo, hi in zip(edges[:-1], edges[1:], strict=True)], attempt)
            again, again_first = pipe.run(fresh, rows_of(system, cast, failed, draws.shape[0]), sample=True,
                                          keys=failed.to(device) + (attempt << 32))
            for sol, new in zip(sols, again, strict=True):
                for name in ("y", "status", "n_accepted", "n_rejected"):
                    getattr(sol, name)[failed] = getattr(new, name)
            first[failed] = again_first
            draws[failed] = fresh.to(dtype=dtype, device=device)

        resampled = redraw_failures(lambda: torch.stack([s.status == 0 for s in sols]).all(0), redo)
    return [Ensemble(sol, t, unit, spacing, draws, first, bound_params, settings, spec,
                     noise_seed if spec is not None else None, resampled)
            for sol, t, (unit, spacing, _) in zip(sols, t_evals, resolved, strict=True)]


def _check_budget(system: System, grid: OutputGrid, span: float, unit: float, transient: float, n: int,
                  settings: SolverSettings, noise: NoiseSpec | None, dtype: torch.dtype, device: torch.device) -> None:
    """Refuse, before integrating, a request whose output or steps cannot fit (`chaosdata.budget`):
    `n` trajectories on `grid`, after `transient` units (0 for given initial conditions)."""
    where = f"make_trajectories({system.name!r})"
    n_points, dim = grid.size, system.dim
    itemsize = torch.empty((), dtype=dtype).element_size()
    what = f"times ({n_points} of them)" if grid.times is not None else f"n_points = {n_points}"
    budget.check_memory(where, 2.0 * n * n_points * dim * itemsize,  # the solution and its postprocessed copy
                        f"n_ics = {n} trajectories x {what} x {dim} coordinates x {itemsize} bytes x 2 copies",
                        device=device)
    steps: float
    if system.kind == "map":
        steps = n_points + (math.ceil(transient) + 1 if transient > 0 else 0)
        detail = f"transient = {transient:g} + n_points = {n_points} iterations"
    else:
        period = float(system.period) if system.period else unit
        per_period = budget.steps_per_period(period, kind=system.kind, dt=settings.fixed_step,
                                             dde_steps_per_period=settings.dde_steps_per_period)
        recorded = span / noise_step(system, noise) if noise is not None else span / period * per_period
        steps = recorded + transient * unit / period * per_period
        ppp = DEFAULT_PTS_PER_PERIOD if grid.pts_per_period is None else grid.pts_per_period
        spacing = "" if grid.times is not None else f" at pts_per_period = {ppp:g}"
        detail = (f"transient = {transient:g} + {what}{spacing}: {transient * unit / period + span / period:.3g} "
                  f"periods x ~{per_period:.3g} steps per period")
    budget.check_work(where, steps, n, detail)

