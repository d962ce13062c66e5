"""Integrate one system for a release: every split and granularity, in memory, with attributes.

An ensemble integration costs steps, and a step never spans more than a few output intervals,
so a denser grid costs more steps; batch size is nearly free. Hence, per system:

1. draws: each split draws its initial conditions from its own seed (the catalogue's initial
   condition plus a seeded kick, as `make_trajectories` does), so growing one split never
   changes another;
2. transient (flows and maps): all splits in one batch, on a two-point grid so that only the
   tolerance limits the steps; its end states are every granularity's `start_state`;
3. flows: one pass, all splits in one batch, from those states, on the union of every
   granularity's grid (`union_grid`): the steps are taken once, each granularity reads its
   own outputs, and `coarse`, `fine` and `lyapunov` hold the same trajectories at different
   rates. Delay equations need a history, not a state: each of their grids gets a pass that
   starts from the constant history of the draws and discards the transient itself (rounded
   to its grid); grids that nest (50 and 100 points per period) share the finest one's pass.

A trajectory that fails anywhere (non-finite, out of bounds, too many steps) is drawn again
from the next seed of `chaosdata.integrate.RESAMPLE` (the one resampling policy, shared with
`make_trajectories`) for every pass, up to `RESAMPLE.max_resamples` times; one that still fails is
stored as NaN rows, marked False in the array's `valid` attribute and explained in `failures`.
Each granularity group's `recipe` says how `make_trajectories` reproduces its arrays, and its
`normalization` holds the per-coordinate mean and std of the train split's valid trajectories
(float64, over the stored values), which `load_dataset` uses instead of scanning the split.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError
from chaosdata.integrate import RESAMPLE, time_unit
from chaosdata.integrate.ensemble import Ensemble, OutputGrid, Sampling, failure_reasons, method_used, run_ensemble, run_passes
from chaosdata.integrate.trajectories import union_grid
from chaosdata.seeds import seed_of
from chaosdata.store import provenance
from chaosdata.store.config import (
    MIN_POINTS,
    SPLITS,
    ReleaseConfig,
    check_system_budget,
    integrator_table,
    noise_suffix,
    split_seed,
)
from chaosdata.store.corpus import Variants, plan_variants, system_of
from chaosdata.store.layout import FORMAT, MAP_GRANULARITY, SERIES, SERIES_DIMS, TRAJECTORY_VARIABLES, split_path
from chaosdata.systems import System

Progress = Callable[[int], None]  # called with the number of arrays' rows (trajectories) just produced


@dataclass
class ArrayData:
    """One array: `values` (for `series`, `[trajectory, time, component]` in the storage dtype),
    its dimension names and attributes."""

    values: np.ndarray
    dims: tuple[str, ...]
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SystemData:
    """Everything a system's group holds, before it is written."""

    name: str
    attrs: dict[str, Any]
    groups: dict[str, dict[str, Any]]  # "fine" and "fine/train" -> the group's attributes
    arrays: dict[str, ArrayData]  # "fine/train/series", "fine/train/valid", ... -> data
    skipped: dict[str, str] = field(default_factory=dict)  # granularity -> reason
    timings: dict[str, Any] = field(default_factory=dict)  # volatile


def jsonable(value: Any) -> Any:
    """Plain JSON: tensors and arrays as lists, non-finite floats as "NaN"/"Infinity" (as Zarr does)."""
    if hasattr(value, "to_dict") and not isinstance(value, dict):
        value = value.to_dict()
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


# ---------------------------------------------------------------------- planning
@dataclass
class _Member:
    """A granularity read from a pass: `n_time` points, at `index` of the pass's recorded part."""

    timescale: str
    points: float  # per unit of its timescale
    unit: float  # time units per period / Lyapunov time / iteration
    n_time: int
    index: np.ndarray

    @property
    def dt(self) -> float:
        return self.unit / self.points


@dataclass
class _Pass:
    """One integration: on a uniform grid (`n_transient` discarded points first, for delay
    equations), or for flows at explicit `times` (the union of its members' grids)."""

    timescale: str  # as make_trajectories takes it (maps ignore it)
    points: float
    unit: float
    n_transient: int
    members: dict[str, _Member]
    times: np.ndarray | None = None

    @property
    def n_points(self) -> int:
        if self.times is not None:
            return len(self.times)
        return self.n_transient + max(int(m.index[-1]) + 1 for m in self.members.values())


_LENGTH_IN_PERIODS = "a release's length and transient are counted in periods"


def _plan(system: System, config: ReleaseConfig) -> tuple[list[_Pass], dict[str, str]]:
    """The passes that produce this system's granularities, and the granularities skipped (why)."""
    if system.kind == "map":
        member = _Member("iteration", 1.0, 1.0, config.map_length, np.arange(config.map_length))
        return [_Pass("period", 1.0, 1.0, 0, {MAP_GRANULARITY: member})], {}
    period = system.required_period(_LENGTH_IN_PERIODS)
    span, transient = config.length * period, config.transient * period
    skipped: dict[str, str] = {}
    members: dict[str, _Member] = {}
    for g in sorted(config.granularities, key=lambda g: -g.points):
        unit = period
        if g.timescale == "lyapunov":
            try:
                unit = time_unit(system, "lyapunov")
            except InvalidInputError as err:  # no Lyapunov time stored (not chaotic): a recorded skip
                skipped[g.name] = f"no Lyapunov time for {system.name}: {err}"
                continue
        points = span / (unit / g.points)
        if points < MIN_POINTS * (1 - 1e-9):  # 2 points would span more than `length`: not this granularity
            skipped[g.name] = (f"{g.points:g} points per {g.timescale} ({unit:.6g} time units) over {config.length:g} "
                               f"periods of {system.name} are {points:.3g} points, fewer than 2")
            continue
        n_time = max(2, round(points))
        members[g.name] = _Member(g.timescale, g.points, unit, n_time, np.arange(n_time))
    if not members:
        return [], skipped
    if system.kind == "flow":
        times, slots = union_grid({n: (m.dt, m.n_time) for n, m in members.items()})
        for n, m in members.items():
            m.index = slots[n]
        return [_Pass("period", math.nan, period, 0, members, times)], skipped
    # delay equations: one pass per grid, nested grids read every stride-th point of the finest
    passes: list[_Pass] = []
    for n, m in members.items():
        host = next((p for p in passes if p.timescale == m.timescale and _divides(m.points, p.points)), None)
        if host is None:
            host = _Pass(m.timescale, m.points, m.unit, round(transient / m.dt), {})
            passes.append(host)
        m.index = np.arange(m.n_time) * round(host.points / m.points)
        host.members[n] = m
    return passes, skipped


def _divides(coarse: float, fine: float) -> bool:
    """Whether the grid of `coarse` points per unit lies on the grid of `fine` points per unit."""
    ratio = fine / coarse
    return coarse == int(coarse) and fine == int(fine) and ratio == int(ratio)


@dataclass
class _Batch:
    """Every split of one system in one batch: rows `bounds[j]` to `bounds[j + 1]` are split j
    (a corpus: each accepted variant's trajectories consecutive), `row_params` their parameters."""

    seeds: dict[str, int]
    bounds: np.ndarray
    variants: Variants | None
    per_variant: dict[str, int]
    row_params: dict[str, Tensor]

    @property
    def n_total(self) -> int:
        return int(self.bounds[-1])

    def rows(self, j: int) -> tuple[int, int]:
        return int(self.bounds[j]), int(self.bounds[j + 1])


def _batch(system: System, config: ReleaseConfig, device: str) -> tuple[_Batch, list[_Pass], dict[str, str]]:
    """The batch, the passes that produce the granularities, and the granularities skipped (why)."""
    passes, skipped = _plan(system, config)
    # a corpus group holds its accepted variants: `per_variant[s]` trajectories of each, per split
    variants = plan_variants(system, config, device) if config.corpus is not None else None
    n_variants = len(variants.accepted) if variants is not None else 1
    if n_variants == 0:
        skipped = {g.name: f"no variant of {system.name} passed the corpus screen" for g in config.granularities}
        passes = []
    per_variant = dict(config.splits)
    row_params = variants.row_parameters(per_variant) if variants is not None and n_variants else {}
    bounds = np.cumsum([0, *(config.splits[s] * n_variants for s in SPLITS)])
    seeds = {s: split_seed(config.seed, system.name, s) for s in SPLITS}
    return _Batch(seeds, bounds, variants, per_variant, row_params), passes, skipped


def _grid(p: _Pass) -> OutputGrid:
    if p.times is not None:
        return OutputGrid(times=torch.as_tensor(p.times, dtype=torch.float64), timescale=p.timescale)
    return OutputGrid(n_points=p.n_points, pts_per_period=p.points, timescale=p.timescale)


def _run(system: System, config: ReleaseConfig, batch: _Batch, passes: list[_Pass], device: str) -> list[Ensemble]:
    """Every split's draws (a block of the batch with the split's seed) through the transient
    (flows and maps; delay equations discard theirs on each grid) onto every pass's grid, a
    row that fails on any redrawn on all (`run_passes`)."""
    transient = 0 if system.kind == "delay" else config.map_transient if system.kind == "map" else config.transient
    blocks = [Sampling(n_ics=hi - lo, seed=batch.seeds[s], transient=transient, resample_failed=True)
              for s, (lo, hi) in zip(SPLITS, map(batch.rows, range(len(SPLITS))), strict=True)]
    return run_passes(system, [_grid(p) for p in passes], sampling=blocks, solver=config.integrator,
                      params=batch.row_params, device=device, dtype=torch.float64)


class _Rows:
    """One pass's per-trajectory results for all splits stacked (train, val, test), on the CPU."""

    def __init__(self, system: System, run: Ensemble):
        sol = run.solution
        self.x = sol.y.cpu()
        self.valid = (sol.status == 0).cpu()
        self.n_accepted = sol.n_accepted.cpu()
        self.n_rejected = sol.n_rejected.cpu()
        self.failures = failure_reasons(sol)
        self.used = {"method": method_used(system, run.settings), "rtol": run.settings.rtol, "atol": run.settings.atol}

    @classmethod
    def stacked(cls, system: System, parts: list[Ensemble]) -> _Rows:
        """The rows of several integrations, one after the other (failures re-indexed)."""
        out = cls(system, parts[0])
        offset = parts[0].draws.shape[0]
        for run in parts[1:]:
            more = cls(system, run)
            out.x, out.valid = torch.cat([out.x, more.x]), torch.cat([out.valid, more.valid])
            out.n_accepted = torch.cat([out.n_accepted, more.n_accepted])
            out.n_rejected = torch.cat([out.n_rejected, more.n_rejected])
            out.failures.update({offset + i: why for i, why in more.failures.items()})
            offset += run.draws.shape[0]
        return out


def _postprocess(system: System, x: Tensor) -> Tensor:
    if system.postprocess is None:
        return x
    params = {k: v.to(dtype=x.dtype) if isinstance(v, Tensor) else v for k, v in system.bind().items()}
    return system.postprocess(x, **params)


def _recipe(system: System, config: ReleaseConfig, p: _Pass, m: _Member) -> dict[str, Any]:
    """How `make_trajectories` reproduces a granularity's arrays from the array attributes."""
    if system.kind == "delay":
        start = "initial_condition (constant history)"
    elif (config.map_transient if system.kind == "map" else config.transient) == 0:
        start = "initial_condition"
    else:
        start = "start_state (the initial_condition carried through the transient)"
    if p.times is not None:
        return {
            "call": "make_trajectories(system, times=union_grid(grids)[0], initial_conditions=<start>, "
                    "postprocess=False, <integrator.used>); this granularity is union_grid(grids)[1][<name>]",
            "union_grid": "chaosdata.integrate.trajectories.union_grid",
            "grids": {n: [q.dt, q.n_time] for n, q in p.members.items()},
            "start": start, "then": "the system's postprocess, if it has one",
        }
    return {
        "call": "make_trajectories(system, n_points, pts_per_period=..., timescale=..., "
                "initial_conditions=<start>, postprocess=False, <integrator.used>)",
        "start": start, "n_points": p.n_points, "pts_per_period": p.points, "timescale": p.timescale,
        "discard": p.n_transient, "stride": int(m.index[1] - m.index[0]) if m.n_time > 1 else 1,
        "then": "the system's postprocess, if it has one",
    }


# ---------------------------------------------------------------------- what a split group holds
_VARIABLE_ATTRS = {
    "trajectory": {"long_name": "trajectory id within the split", "units": "1"},
    "valid": {"long_name": "trajectory is valid",
              "description": "False where the integration failed even after fresh draws; its series is NaN"},
    "failure": {"long_name": "why the trajectory failed", "description": "empty for valid trajectories"},
    "resampled": {"long_name": "fresh draws used", "units": "1",
                  "description": "0: the split's own draw; k: the k-th replacement draw after failures"},
    "initial_condition": {"long_name": "initial condition (the seeded draw, before the transient)"},
    "start_state": {"long_name": "state at the first time point (after the transient)"},
    "n_accepted": {"long_name": "accepted integrator steps", "units": "1"},
    "n_rejected": {"long_name": "rejected integrator steps", "units": "1"},
}


def _split_attrs(system: System, granularity: str, split: str, seed: int, m: _Member) -> dict[str, Any]:
    """A split group's attributes: CF-style global attributes and the split's seed."""
    sampling = ("one point per iteration" if system.kind == "map"
                else f"{m.points:g} points per {m.timescale} ({m.unit:.6g} time units)")
    return {
        "title": f"{system.name}, {granularity} granularity, {split} split",
        "description": f"{system.description} Sampled at {sampling}.",
        "source": "chaosdata", "Conventions": "CF-1.10",
        "system": system.name, "granularity": granularity, "split": split, "seed": seed,
    }


def _split_arrays(system: System, series: np.ndarray, times: np.ndarray,
                  per_trajectory: dict[str, np.ndarray]) -> dict[str, ArrayData]:
    """The arrays of one split group: `series`, the `time` coordinate and per-trajectory variables."""
    unit = "iterations" if system.kind == "map" else f"time units of {system.name}"
    out = {
        SERIES: ArrayData(series, SERIES_DIMS, {
            "long_name": f"state of {system.name}",
            "description": ("the 10-lag delay embedding x(t - j tau / 9), j = 0..9" if system.kind == "delay"
                            else "state coordinates in the catalogue's order"),
            "coordinates": " ".join(v for v in TRAJECTORY_VARIABLES if v != "trajectory"),
        }),
        "time": ArrayData(times, ("time",), {"long_name": "time" if system.kind != "map" else "iteration",
                                             "description": unit}),
    }
    for var, dims in TRAJECTORY_VARIABLES.items():
        out[var] = ArrayData(per_trajectory[var], dims, dict(_VARIABLE_ATTRS[var]))
    return out


def _variant_arrays(variants: Variants, per_variant: int) -> dict[str, ArrayData]:
    """A corpus split's per-trajectory `variant` ids and `parameters`, and the `parameter` names."""
    ids = np.repeat(np.asarray(variants.accepted, dtype=np.int64), per_variant)
    return {
        "variant": ArrayData(ids, ("trajectory",), {"long_name": "variant id (see the group's `corpus` attribute)"}),
        "parameters": ArrayData(np.repeat(variants.table(variants.accepted), per_variant, axis=0),
                                ("trajectory", "parameter"), {"long_name": "the trajectory's parameter values"}),
        "parameter": ArrayData(np.array(variants.columns(), dtype=np.dtypes.StringDType()), ("parameter",),
                               {"long_name": "parameter name"}),
    }


def noise_seed(base_seed: int, system: str, split: str, level: float) -> int:
    """The Brownian seed of one (system, split, noise level): SHA-256-derived, like split seeds."""
    return seed_of(f"chaosdata/{base_seed}/{system}/{split}/noise/{level!r}")


@dataclass
class _Groups:
    """The granularity groups of one system being filled: their attributes and arrays."""

    system: System
    config: ReleaseConfig
    batch: _Batch
    draws: Tensor
    resampled: dict[int, int]
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    arrays: dict[str, ArrayData] = field(default_factory=dict)

    def emit(self, gname: str, p: _Pass, m: _Member, r: _Rows, good: Tensor, sources: list[_Rows],
             first: Tensor, extra_attrs: dict[str, Any]) -> None:
        """One granularity group and its splits from pass `p`'s results `r`; `good` marks the
        valid rows, `sources` hold their failure reasons."""
        system, batch = self.system, self.batch
        window = _postprocess(system, r.x[:, p.n_transient:])
        x = window[:, torch.as_tensor(m.index)].numpy().astype(np.dtype(self.config.storage.dtype))
        x[~good.numpy()] = np.nan
        x[np.isnan(x)] = np.nan  # one NaN bit pattern, so checksums do not depend on how it arose
        grid = {"t0": 0.0, "dt": m.unit / m.points, "n": m.n_time}
        lo, hi = batch.rows(0)
        self.groups[gname] = {
            "granularity": gname, "timescale": m.timescale, "points_per_unit": m.points, "time_unit": m.unit,
            "time": grid, "recipe": _recipe(system, self.config, p, m),
            "normalization": normalization(system.name, x[lo:hi], good[lo:hi].numpy()), **extra_attrs,
        }
        times = (np.arange(m.n_time, dtype=np.int64) if system.kind == "map"
                 else grid["t0"] + grid["dt"] * np.arange(m.n_time, dtype=np.float64))
        for j, s in enumerate(SPLITS):
            lo, hi = batch.rows(j)
            reasons = [next((q.failures[i] for q in sources if i in q.failures), "failed") if not good[i] else ""
                       for i in range(lo, hi)]
            self.groups[split_path(gname, s)] = _split_attrs(system, gname, s, batch.seeds[s], m)
            extra = {} if batch.variants is None else _variant_arrays(batch.variants, batch.per_variant[s])
            for var, arr in {**_split_arrays(system, x[lo:hi], times, {
                "trajectory": np.arange(hi - lo, dtype=np.int64),
                "valid": good[lo:hi].numpy(),
                "failure": np.array(reasons, dtype=np.dtypes.StringDType()),
                "resampled": np.array([self.resampled.get(i, 0) for i in range(lo, hi)], dtype=np.int64),
                "initial_condition": self.draws[lo:hi].numpy(),
                "start_state": first[lo:hi].numpy(),
                "n_accepted": r.n_accepted[lo:hi].numpy().astype(np.int64),
                "n_rejected": r.n_rejected[lo:hi].numpy().astype(np.int64),
            }), **extra}.items():
                self.arrays[f"{split_path(gname, s)}/{var}"] = arr


def _noisy(system: System, config: ReleaseConfig, p: _Pass, starts: Tensor, ok: Tensor, batch: _Batch,
           out: _Groups, device: str, timings: dict[str, float]) -> dict[str, Any]:
    """The noisy variants of a flow's granularities (`config.noise`), emitted as groups
    `<granularity>_noise<level>`: pass `p`'s grid and start states, each split with its own
    Brownian seed (trajectory i of a split uses key i), a trajectory valid only where its clean
    one is (`run_ensemble` from the given starts: no redraw)."""
    noise = config.noise
    made = {}
    for spec in noise:
        t0 = time.perf_counter()
        parts, split_seeds = [], {}
        for j, s in enumerate(SPLITS):
            lo, hi = batch.rows(j)
            split_seeds[s] = noise_seed(config.seed, system.name, s, spec.level)
            parts.append(run_ensemble(system, _grid(p), starts=starts[lo:hi],
                                      noise=dataclasses.replace(spec, seed=split_seeds[s]), solver=config.integrator,
                                      params={k: v[lo:hi] for k, v in batch.row_params.items()}, device=device))
        r = _Rows.stacked(system, parts)
        good = ok & r.valid
        record = {"level": spec.level, "kind": spec.kind, "scale": spec.scale, "method": spec.method_name,
                  "steps_per_period": spec.steps_per_period, "seeds": split_seeds,
                  "keys": "trajectory i of a split draws its Brownian path with key i from the split's seed",
                  "start": "the clean granularity's start_state"}
        for gname, m in p.members.items():
            out.emit(f"{gname}{noise_suffix(spec.level)}", p, m, r, good, [r], starts,
                     {"noise": jsonable(record), "clean": gname})
        made[f"{spec.level:g}"] = record
        timings[f"noise{spec.level:g}_s"] = time.perf_counter() - t0
    return jsonable({"levels": [spec.level for spec in noise], "variants": made})


def normalization(name: str, train: np.ndarray, valid: np.ndarray) -> dict[str, Any]:
    """Per-coordinate mean and std (float64, two passes) over the valid train trajectories.

    With no valid train trajectory there is nothing to normalize with: the entry says so and
    `load_dataset` raises, naming the system.
    """
    x = train[valid].astype(np.float64)
    if x.shape[0] == 0:
        return {"split": "train", "error": f"{name} has no valid trajectory in its train split"}
    mean = x.mean(axis=(0, 1))
    std = np.sqrt(np.square(x - mean).mean(axis=(0, 1)))
    return {"split": "train", "n_trajectories": int(x.shape[0]), "n_points": int(x.shape[0] * x.shape[1]),
            "mean": mean.tolist(), "std": std.tolist()}


def generate_system(name: str, config: ReleaseConfig, *, device: str = "cpu",
                    progress: Progress | None = None, fingerprint: dict[str, Any] | None = None) -> SystemData:
    """Integrate system `name` as `config` says; arrays in memory, attributes ready to write.

    `fingerprint` is the build's code fingerprint (`provenance.fingerprint`), computed once by
    the caller so every system of a build records the same one.
    """
    system = system_of(name, config)
    # a config made in code has not been through parse_config's checks: refuse what cannot fit before any work
    check_system_budget(system, config, f"config {config.name!r}")
    started = time.perf_counter()
    fp = fingerprint or provenance.fingerprint(device)
    batch, passes, skipped = _batch(system, config, device)
    if progress:
        for _ in skipped:
            progress(batch.n_total)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    runs = _run(system, config, batch, passes, device) if passes and batch.n_total else []
    timings["+".join(g for p in passes for g in p.members) + "_s"] = time.perf_counter() - t0
    if progress:
        for p in passes:
            progress(batch.n_total * len(p.members))
    rows = [_Rows(system, run) for run in runs]
    out = _Groups(system, config, batch, runs[0].draws.cpu() if runs else torch.zeros(0, system.state_dim or system.dim,
                  dtype=torch.float64), runs[0].resampled if runs else {})
    ok = torch.stack([r.valid for r in rows]).all(0) if rows else torch.ones(batch.n_total, dtype=torch.bool)
    for p, run, r in zip(passes, runs, rows, strict=False):
        # delay equations: the state at the first output is the embedding's current column
        first = run.starts.cpu() if system.kind != "delay" else r.x[:, p.n_transient, :system.state_dim or system.dim]
        for gname, m in p.members.items():
            out.emit(gname, p, m, r, ok, rows, first, {})
    noise_record = None
    if config.noise:
        noise_record = (_noisy(system, config, passes[0], runs[0].starts.cpu(), ok, batch, out, device, timings)
                        if system.kind == "flow" and runs else
                        {"levels": [], "reason": "noisy variants are made for flows only" if system.kind != "flow"
                         else "nothing to add noise to"})
    attrs = _system_attrs(system, config, batch, out, skipped, rows, noise_record, fp)
    timings["total_s"] = time.perf_counter() - started
    return SystemData(system.name, attrs, out.groups, out.arrays, skipped, timings)


def _system_attrs(system: System, config: ReleaseConfig, batch: _Batch, out: _Groups, skipped: dict[str, str],
                  rows: list[_Rows], noise_record: dict[str, Any] | None, fp: dict[str, Any]) -> dict[str, Any]:
    """The system group's attributes: identity, the system, its corpus and invariants, how it was generated."""
    attrs: dict[str, Any] = {
        "chaosdata": {"format": FORMAT, "config_name": config.name, "config_hash": config.config_hash,
                      "code_hash": provenance.code_hash(fp)},
        "system": system.to_dict(),
    }
    if batch.variants is not None:
        attrs["corpus"] = jsonable(batch.variants.attrs(config))
    invariants = getattr(system, "invariants", None)
    if invariants is not None:
        attrs["invariants"] = jsonable(invariants)
    attrs["generation"] = jsonable({
        "splits": {s: {"n_trajectories": config.splits[s], "seed": batch.seeds[s]} for s in SPLITS},
        "base_seed": config.seed,
        "granularities": list(out.groups),
        "skipped_granularities": skipped,
        "span": ({"iterations": config.map_length} if system.kind == "map"
                 else {"periods": config.length, "time": config.length * system.required_period(_LENGTH_IN_PERIODS)}),
        "transient": ({"iterations": config.map_transient} if system.kind == "map"
                      else {"periods": config.transient}),
        "integrator": {"config": integrator_table(config.integrator), "used": rows[0].used if rows else None},
        "storage_dtype": config.storage.dtype,
        "initial_conditions": "each split's own seeded draws around the catalogue's initial condition",
        "noise": noise_record,
        "max_resamples": RESAMPLE.max_resamples,
        "resample_seeds": "attempt a draws from RESAMPLE.seed(split seed, a) (chaosdata.integrate.RESAMPLE)",
    })
    attrs["provenance"] = provenance.stable(fp)
    return attrs
