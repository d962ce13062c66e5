"""`make_trajectories`: ensembles of any catalogue system on a uniform (or given) time grid.

The front door of the ensemble runner (`chaosdata.integrate.ensemble`): it turns keyword
arguments into an `OutputGrid`, runs `run_ensemble` with the given `Sampling`, `SolverSettings`
and noise, and applies the system's postprocessing. Initial conditions are sampled on the
attractor (the catalogue's default, perturbed by a seeded draw made on the CPU, carried
through a discarded transient), so a seed gives the same starting points on every device;
same seed and device give bitwise the same output.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.ensemble import (
    DEFAULT_PTS_PER_PERIOD,
    Ensemble,
    OutputGrid,
    Sampling,
    failure_reasons,
    method_used,
    run_ensemble,
)
from chaosdata.integrate.sde import NoiseSpec, noise_step
from chaosdata.integrate.settings import SolverSettings
from chaosdata.systems import System, get_system


@dataclass
class Trajectories:
    """An ensemble: `x` is `[B, n_points, dim]` on the grid `t` (`[n_points]`).

    `valid[b]` is False where trajectory `b` failed (its rows are NaN); `stats["failures"]`
    maps each such index to the reason. One meaning per name, as in the stores:
    `initial_conditions` are the draws (or the given states) before the transient, and
    `start_states` the states at `t[0]`, after it (delay equations: the history's value).
    """

    system: str
    t: Tensor
    x: Tensor
    valid: Tensor
    initial_conditions: Tensor
    start_states: Tensor
    parameters: dict[str, Any]
    stats: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return self.x.shape[0]


def union_grid(grids: Mapping[str, tuple[float, int]]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sorted union of uniform grids `{name: (dt, n)}` (times `k * dt` from 0), and each
    grid's positions in it.

    Times that agree to 1e-9 of the finest spacing are one time (the first in sorted order),
    so grids that meet (15 and 100 points per period meet every fifth of a period) share
    those outputs. One integration on the union serves every grid with the same steps.
    """
    if not grids:
        raise InvalidInputError("union_grid needs at least one grid")
    parts = []
    for name, (dt, n) in grids.items():
        dt = validate.positive(dt, f"grid {name!r}: dt", hint="the spacing of the grid's times k * dt")
        n = validate.count(n, f"grid {name!r}: n", hint="the number of times k * dt, k = 0 .. n - 1")
        parts.append(np.arange(n, dtype=np.float64) * dt)
    every = np.concatenate(parts)
    order = np.argsort(every, kind="stable")
    ranked = every[order]
    tol = 1e-9 * min(dt for dt, _ in grids.values())
    new = np.concatenate([[True], np.diff(ranked) > tol])
    times = ranked[new]
    slot = np.empty(every.size, dtype=np.int64)
    slot[order] = np.cumsum(new) - 1
    bounds = np.cumsum([0, *(int(n) for _, n in grids.values())])
    return times, {name: slot[bounds[i]:bounds[i + 1]] for i, name in enumerate(grids)}


def make_trajectories(
    system: str | System,
    n_points: int | None = None,
    *,
    times: Tensor | np.ndarray | list[float] | None = None,
    pts_per_period: float | None = None,
    timescale: str = "period",
    initial_conditions: Tensor | None = None,
    sampling: Sampling | None = None,
    solver: SolverSettings | None = None,
    noise: float | NoiseSpec | Mapping[str, Any] | None = None,
    postprocess: bool = True,
    device: str | torch.device | None = None,
    dtype: torch.dtype = torch.float64,
    **params: Any,
) -> Trajectories:
    """Integrate `system` from many initial conditions onto one grid (`OutputGrid`).

    Flows and delay equations are sampled every `unit / pts_per_period` time units (`unit`: the
    period, or the Lyapunov time with `timescale='lyapunov'`; `pts_per_period` 100 unless given;
    delay equations as the 10-lag delay embedding), maps every iteration (`pts_per_period` and
    `timescale` do not apply). Flows may instead be sampled at explicit `times` (increasing;
    `n_points` and `pts_per_period` left out), e.g. the `union_grid` of several samplings; the
    trajectory starts at `times[0]`. Starts: `sampling` (`Sampling(n_ics, seed, transient,
    resample_failed)`: one draw, seed 0, 10 units of transient by default), or given
    `initial_conditions` (`[B, dim]` or `[dim]`), the states at the first output (no
    transient, no redraw; a failed one stays flagged in `valid`; a `sampling` with them may
    set only the seed, which seeds the noise). `solver`: a `SolverSettings`
    (method, tolerances, fixed step, step limits, `compile`; left out, the system's own
    `solver` defaults, else DOP853 at 1e-13, tolerances raised to `tolerance_floor(dtype)`,
    the values used in `stats`). `noise` (flows only) makes the recorded part an Itô SDE
    (`NoiseSpec`; a number is dysts's additive level, `noise * |x0_k|` on coordinate k):
    the transient stays deterministic, trajectory i draws its Brownian path from (the noise
    seed, i). `postprocess` applies the system's own map of unbounded coordinates (angles to
    sines), as dysts does. Extra keyword arguments override the system's parameters (floats,
    or tensors broadcasting over B: a sweep has one value per trajectory on its batch axis).
    `dtype` is torch.float32 or torch.float64.
    """
    system = get_system(system)
    grid = OutputGrid(n_points=n_points, pts_per_period=pts_per_period, timescale=timescale,
                      times=None if times is None else torch.as_tensor(times, dtype=torch.float64))
    postprocess = validate.flag(postprocess, "postprocess")
    run = run_ensemble(system, grid, sampling=sampling,
                       starts=initial_conditions, solver=solver, noise=noise, params=params, device=device,
                       dtype=dtype)
    x = run.solution.y
    cast = {k: v.to(dtype=dtype, device=x.device) if isinstance(v, Tensor) else v for k, v in run.params.items()}
    if postprocess and system.postprocess is not None:
        x = system.postprocess(x, **cast)
    return Trajectories(
        system=system.name, t=run.t_eval.to(dtype=dtype, device=x.device), x=x, valid=run.solution.status == 0,
        initial_conditions=run.draws, start_states=run.starts,
        parameters={k: (v.tolist() if isinstance(v, Tensor) else v) for k, v in run.params.items()},
        stats=_stats(system, run, grid, sampling or Sampling(), x.device),
    )


def _stats(system: System, run: Ensemble, grid: OutputGrid, sampling: Sampling, device: torch.device) -> dict[str, Any]:
    """What a run used and how it went (`Trajectories.stats`)."""
    sol = run.solution
    span = float(run.t_eval[-1] - run.t_eval[0]) / run.unit
    stats = {
        "n_accepted": sol.n_accepted.cpu(),
        "n_rejected": sol.n_rejected.cpu(),
        "steps_per_period": (sol.n_accepted.double().mean().item() / span) if span > 0 else float("nan"),
        "failures": failure_reasons(sol),
        "wall_time": sol.wall_time,
        "method": method_used(system, run.settings),
        "rtol": run.settings.rtol,
        "atol": run.settings.atol,
        "dt": run.spacing,  # the output spacing (None for explicit times), not the solver's step
        "timescale": grid.timescale,
        "pts_per_period": None if grid.times is not None else (
            DEFAULT_PTS_PER_PERIOD if grid.pts_per_period is None else grid.pts_per_period),
        "seed": sampling.seed,
        "device": str(device),
    }
    if run.noise is not None:  # what decides the noisy bytes (redrawn trajectories use key i + attempt * 2**32)
        stats["noise"] = {**run.noise.to_dict(), "seed": run.noise_seed, "method": run.noise.method_name,
                          "max_step": noise_step(system, run.noise)}
    return stats
