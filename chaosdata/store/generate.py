"""Integrate one system for a release: every split and granularity, in memory, with attributes.

Initial states (flows and maps): for each split, `make_trajectories` draws on-attractor states
from the split's own seed through the transient. All splits are then recorded together, once
per granularity, from those states, so every granularity of a system holds the same
trajectories sampled at different rates. Delay equations need their history, not just a state,
so each (split, granularity) is one `make_trajectories` call with the split's seed and the
transient (same seed, same trajectories).

A trajectory that fails (non-finite, out of bounds...) is replaced by a fresh draw from a
derived seed, up to `MAX_RESAMPLES` times; one that still fails is stored as NaN rows, marked
False in the array's `valid` attribute and explained in `failures`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.integrate.trajectories import Trajectories, make_trajectories
from chaosdata.store import provenance
from chaosdata.store.config import SPLITS, Granularity, ReleaseConfig, split_seed
from chaosdata.store.layout import FORMAT, MAP_GRANULARITY, array_path
from chaosdata.systems import System, get_system

MAX_RESAMPLES = 4
TRANSIENT_PTS_PER_PERIOD = 100  # output density of the discarded transient (sets its rounding)

Progress = Callable[[int], None]  # called with the number of trajectories just integrated


@dataclass
class ArrayData:
    """One array: `values` `[n_trajectories, n_time, dim]` in the storage dtype, and attributes."""

    values: np.ndarray
    attrs: dict[str, Any]


@dataclass
class SystemData:
    """Everything a system's group holds, before it is written."""

    name: str
    attrs: dict[str, Any]
    groups: dict[str, dict[str, Any]]  # granularity -> its group's attributes (time grid)
    arrays: dict[str, ArrayData]  # "fine/train" -> data
    skipped: dict[str, str] = field(default_factory=dict)  # granularity -> reason
    timings: dict[str, Any] = field(default_factory=dict)  # volatile

    @property
    def n_invalid(self) -> int:
        """Flagged trajectories, each counted once however many granularities it appears in."""
        worst: dict[str, int] = {}
        for path, arr in self.arrays.items():
            split = path.rsplit("/", 1)[1]
            worst[split] = max(worst.get(split, 0), arr.attrs["valid"].count(False))
        return sum(worst.values())


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


@dataclass
class _Plan:
    """One granularity as it applies to one system: its grid and how to call the integrator."""

    name: str
    timescale: str
    points: float
    unit: float  # time units per period / Lyapunov time (1 iteration for maps)
    dt: float
    n_time: int


def _plans(system: System, config: ReleaseConfig, kw: dict[str, Any]) -> tuple[list[_Plan], dict[str, str]]:
    """The granularities this system gets, and the ones skipped with the reason."""
    if system.kind == "map":
        return [_Plan(MAP_GRANULARITY, "iteration", 1.0, 1.0, 1.0, config.map_length)], {}
    plans, skipped = [], {}
    span = config.length * float(system.period)
    for g in config.granularities:
        unit = float(system.period)
        if g.timescale == "lyapunov":
            try:
                unit = _lyapunov_unit(system, g, kw)
            except Exception as err:  # noqa: BLE001 - any failure of the timescale is a recorded skip
                skipped[g.name] = f"no Lyapunov time for {system.name}: {err}"
                continue
        dt = unit / g.points
        plans.append(_Plan(g.name, g.timescale, g.points, unit, dt, max(2, round(span / dt))))
    return plans, skipped


def _lyapunov_unit(system: System, g: Granularity, kw: dict[str, Any]) -> float:
    """The Lyapunov time, as `make_trajectories` resolves it (a two-point probe)."""
    x0 = torch.tensor(system.initial_conditions[: system.state_dim or system.dim], dtype=torch.float64)
    probe = make_trajectories(system, 2, pts_per_period=g.points, timescale="lyapunov",
                              initial_conditions=x0, **kw)
    unit = probe.stats["dt"] * g.points
    if not (math.isfinite(unit) and unit > 0):
        raise ValueError(f"Lyapunov time {unit!r} is not a positive number")
    return unit


def _sample_starts(system: System, n: int, seed: int, config: ReleaseConfig, kw: dict[str, Any]) -> Trajectories:
    transient = config.map_transient if system.kind == "map" else config.transient
    return make_trajectories(system, 2, pts_per_period=TRANSIENT_PTS_PER_PERIOD, n_ics=n, transient=transient,
                             seed=seed, resample_failed=True, postprocess=False, **kw)


def _record(system: System, plan: _Plan, starts: Tensor, kw: dict[str, Any]) -> Trajectories:
    return make_trajectories(system, plan.n_time, pts_per_period=plan.points, timescale=_timescale(plan),
                             initial_conditions=starts, **kw)


def _timescale(plan: _Plan) -> str:
    return "period" if plan.timescale == "iteration" else plan.timescale


class _Rows:
    """Per-trajectory results of one granularity for all splits stacked (train, val, test)."""

    def __init__(self, tr: Trajectories):
        self.x = tr.x.cpu()
        self.valid = tr.valid.cpu().clone()
        self.n_accepted = tr.stats["n_accepted"].clone()
        self.n_rejected = tr.stats["n_rejected"].clone()
        self.failures = dict(tr.stats["failures"])

    def patch(self, rows: Tensor, tr: Trajectories) -> None:
        self.x[rows] = tr.x.cpu()
        self.valid[rows] = tr.valid.cpu()
        self.n_accepted[rows] = tr.stats["n_accepted"]
        self.n_rejected[rows] = tr.stats["n_rejected"]
        for i, r in enumerate(rows.tolist()):
            self.failures.pop(r, None)
            if i in tr.stats["failures"]:
                self.failures[r] = tr.stats["failures"][i]


def _generate_shared(system, config, plans, kw, progress):
    """Flows and maps: sample each split's states, then record all splits per granularity."""
    sizes = [config.splits[s] for s in SPLITS]
    offsets = np.cumsum([0] + sizes)
    seeds = {s: split_seed(config.seed, system.name, s) for s in SPLITS}
    timings: dict[str, float] = {}

    def sample(attempt: int, wanted: dict[str, int]) -> tuple[Tensor, Tensor, dict[int, str]]:
        parts, valid, failures = [], [], {}
        for s, k in wanted.items():
            tr = _sample_starts(system, k, split_seed(config.seed, system.name, s, attempt), config, kw)
            offset = sum(len(v) for v in valid)
            for i, reason in tr.stats["failures"].items():
                failures[offset + i] = f"sampling the initial state: {reason}"
            parts.append(tr.initial_conditions.cpu())
            valid.append(tr.valid.cpu())
        return torch.cat(parts), torch.cat(valid), failures

    started = time.perf_counter()
    starts, start_ok, start_fail = sample(0, dict(zip(SPLITS, sizes)))
    timings["sampling_s"] = time.perf_counter() - started
    rows: dict[str, _Rows] = {}
    for plan in plans:
        started = time.perf_counter()
        rows[plan.name] = _Rows(_record(system, plan, starts, kw))
        timings[f"{plan.name}_s"] = time.perf_counter() - started
        if progress:
            progress(len(starts))

    resampled: dict[int, int] = {}
    for attempt in range(1, MAX_RESAMPLES + 1):
        ok = start_ok.clone()
        for r in rows.values():
            ok &= r.valid
        bad = (~ok).nonzero().flatten()
        if bad.numel() == 0:
            break
        wanted = {s: int(((bad >= offsets[j]) & (bad < offsets[j + 1])).sum()) for j, s in enumerate(SPLITS)}
        fresh, fresh_ok, fresh_fail = sample(attempt, {s: k for s, k in wanted.items() if k})
        starts[bad], start_ok[bad] = fresh, fresh_ok
        for i, r in enumerate(bad.tolist()):
            resampled[r] = attempt
            start_fail.pop(r, None)
            if i in fresh_fail:
                start_fail[r] = fresh_fail[i]
        for plan in plans:
            rows[plan.name].patch(bad, _record(system, plan, fresh, kw))

    arrays: dict[str, dict[str, Any]] = {}
    for plan in plans:
        r = rows[plan.name]
        for j, s in enumerate(SPLITS):
            lo, hi = offsets[j], offsets[j + 1]
            valid = (r.valid[lo:hi] & start_ok[lo:hi]).tolist()
            failures = {i - lo: start_fail.get(i) or r.failures.get(i, "failed") for i in range(lo, hi) if not valid[i - lo]}
            arrays[array_path(plan.name, s)] = dict(
                x=r.x[lo:hi], split=s, seed=seeds[s], initial_conditions=starts[lo:hi], valid=valid,
                failures=failures, resampled={i - lo: a for i, a in resampled.items() if lo <= i < hi},
                n_accepted=r.n_accepted[lo:hi], n_rejected=r.n_rejected[lo:hi],
            )
    return arrays, timings


def _generate_delay(system, config, plans, kw, progress):
    """Delay equations: one call per (split, granularity) from the split's seed and the transient."""
    arrays: dict[str, dict[str, Any]] = {}
    timings: dict[str, float] = {}
    for plan in plans:
        started = time.perf_counter()
        for s in SPLITS:
            seed = split_seed(config.seed, system.name, s)
            tr = make_trajectories(system, plan.n_time, pts_per_period=plan.points, timescale=_timescale(plan),
                                   n_ics=config.splits[s], transient=config.transient, seed=seed,
                                   resample_failed=True, **kw)
            valid = tr.valid.cpu().tolist()
            arrays[array_path(plan.name, s)] = dict(
                x=tr.x.cpu(), split=s, seed=seed, initial_conditions=tr.initial_conditions.cpu(), valid=valid,
                failures=dict(tr.stats["failures"]), resampled={},
                n_accepted=tr.stats["n_accepted"], n_rejected=tr.stats["n_rejected"],
            )
            if progress:
                progress(config.splits[s])
        timings[f"{plan.name}_s"] = time.perf_counter() - started
    return arrays, timings


def generate_system(name: str, config: ReleaseConfig, *, device: str = "cpu",
                    progress: Progress | None = None) -> SystemData:
    """Integrate system `name` as `config` says; arrays in memory, attributes ready to write."""
    system = get_system(name)
    started = time.perf_counter()
    integ = config.integrator
    kw = dict(method=integ.method, rtol=integ.rtol, atol=integ.atol, dt=integ.dt,
              dde_steps_per_period=integ.dde_steps_per_period, device=device, dtype=torch.float64)
    plans, skipped = _plans(system, config, kw)
    if progress:
        for _ in skipped:
            progress(sum(config.splits.values()))
    run = _generate_delay if system.kind == "delay" else _generate_shared
    raw, timings = run(system, config, plans, kw, progress)

    dtype = np.dtype(config.storage.dtype)
    arrays = {}
    for path, a in raw.items():
        values = a["x"].numpy().astype(dtype)
        values[~np.asarray(a["valid"], dtype=bool)] = np.nan
        values[np.isnan(values)] = np.nan  # one NaN bit pattern, so checksums do not depend on how it arose
        arrays[path] = ArrayData(values, jsonable({
            "split": a["split"],
            "seed": a["seed"],
            "valid": a["valid"],
            "failures": a["failures"],
            "resampled": a["resampled"],
            "initial_conditions": a["initial_conditions"],
            "n_accepted": a["n_accepted"],
            "n_rejected": a["n_rejected"],
        }))

    method = {"map": "iterate", "delay": "rk4"}.get(system.kind, integ.method)
    groups = {
        p.name: {
            "granularity": p.name,
            "timescale": p.timescale,
            "points_per_unit": p.points,
            "time_unit": p.unit,
            "time": {"t0": 0.0, "dt": p.dt, "n": p.n_time},
        }
        for p in plans
    }
    attrs: dict[str, Any] = {
        "chaosdata": {"format": FORMAT, "config_name": config.name, "config_hash": config.config_hash},
        "system": system.to_dict(),
    }
    invariants = getattr(system, "invariants", None)
    if invariants is not None:
        attrs["invariants"] = jsonable(invariants)
    attrs["generation"] = jsonable({
        "splits": {s: {"n_trajectories": config.splits[s], "seed": split_seed(config.seed, system.name, s)} for s in SPLITS},
        "base_seed": config.seed,
        "granularities": list(groups),
        "skipped_granularities": skipped,
        "span": ({"iterations": config.map_length} if system.kind == "map"
                 else {"periods": config.length, "time": config.length * float(system.period)}),
        "transient": ({"iterations": config.map_transient} if system.kind == "map"
                      else {"periods": config.transient}),
        "integrator": {**asdict(integ), "method_used": method},
        "storage_dtype": config.storage.dtype,
        "initial_states": "the catalogue's initial condition perturbed by a seeded draw, carried through the transient",
        "max_resamples": MAX_RESAMPLES,
    })
    attrs["provenance"] = provenance.stable(str(torch.device(device)))
    timings["total_s"] = time.perf_counter() - started
    return SystemData(system.name, attrs, groups, arrays, skipped, timings)
