"""The benchmark runner: every (system, model) of a protocol, scored per initial condition.

`run_benchmark(protocol, systems, models, out)` writes into `out`:
- `data/<protocol>/<system>.pt`: the task (contexts, targets), cached, so a rerun integrates
  nothing twice;
- `results.csv`: one row per (protocol, system, model, ic) with the metrics as columns,
  appended as each (system, model) finishes, so an interrupted run resumes where it stopped and
  a rerun skips what exists;
- `skipped.csv`: (protocol, system, model, reason) for what could not run (no Lyapunov time, a
  delay equation for the oracle, a model error), also skipped on rerun;
- `timings.csv`: seconds each (system, model) took to fit and forecast all its contexts (kept
  apart from the results, since timings differ between runs).
Tables and plots are made from `results.csv` alone (`leaderboard.py`, `plots.py`).

Everything is seeded (data seeds from the protocol's base seed and the system name, model seeds
from their hyperparameters), so a rerun with the same threads gives identical files.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import time
import traceback
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from chaosdata.atomic import replacing
from chaosdata.baselines import forecaster_class, get_forecaster
from chaosdata.benchmark.protocols import Protocol, SkipSystem, Task, get_protocol, make_task
from chaosdata.errors import ChaosdataError, InvalidInputError, suggest
from chaosdata.systems import list_systems

KEY = ("protocol", "system", "model", "ic")
HORIZON_STEPS = (1, 2, 5, 10, 20, 30, 50, 100, 150, 200, 300, 500, 1000, 1500)
SKIPPED_FIELDS = ("protocol", "system", "model", "reason")
TIMING_FIELDS = ("protocol", "system", "model", "n_ics", "forecast_seconds", "threads")


@dataclass(frozen=True)
class RunSummary:
    """What one `run_benchmark` call did: rows written, pairs skipped, and seconds spent
    generating data and fitting/predicting/scoring (per model)."""

    out: Path
    written: int
    skipped: int
    data_seconds: float
    model_seconds: dict[str, float] = field(default_factory=dict)


# --- scoring ------------------------------------------------------------------------------
# The metrics each kind of protocol records: chaosdata.metrics' standard set less the two that
# cost seconds per call here (Kendall's tau, KSG mutual information; 2 s of 5 s per pair on
# [20, 300, 3]); for free runs the divergences, less the Gaussian-mixture KL (5.6 s per pair on
# [20, 1500, 3]) and the invariant errors (about 20 s per pair). Others via `metrics=`.
FORECAST_METRICS = ("vpt_smape", "vpt_nrmse", "smape", "mse", "mae", "rmse", "nrmse", "marre", "r2", "rmsle",
                    "mape", "wape", "coefficient_of_variation", "pearson", "spearman", "pe20")
ATTRACTOR_METRICS = ("d_stsp", "d_h", "hellinger_distance")


def score(pred: Tensor, true: Tensor, *, dt: float, lyapunov_time: float, scale: Tensor | None = None,
          free_run: bool = False, metrics: Sequence[str] | None = None) -> dict[str, Tensor]:
    """Metrics of `pred` against `true` (`[batch, horizon, dim]`) by name -> `[batch]`, from
    `chaosdata.metrics.compute_all` (`metrics`, default `FORECAST_METRICS` or, for free runs,
    `ATTRACTOR_METRICS`; the valid times are left out where the Lyapunov time is unknown), plus
    the cumulative sMAPE (0-200) at the steps of `HORIZON_STEPS` within the horizon
    (`smape_at_<k>`, for the error-against-horizon plot). `scale` `[dim]`: the attractor's std,
    the sigma of the NRMSE valid time."""
    from chaosdata import metrics as M

    names = list(metrics) if metrics is not None else list(ATTRACTOR_METRICS if free_run else FORECAST_METRICS)
    lt = lyapunov_time if math.isfinite(lyapunov_time) else None
    if lt is None:
        names = [n for n in names if "lyapunov_time" not in M.get_metric(n).needs]
    if pred.shape[1] < 20:
        names = [n for n in names if n != "pe20"]
    out = M.compute_all(pred, true, dt=dt, lyapunov_time=lt, scale=scale, include=names)
    curve = M.error_curve(pred, true, definition="smape", cumulative=True)
    for k in HORIZON_STEPS:
        if k <= curve.shape[1]:
            out[f"smape_at_{k}"] = curve[:, k - 1]
    return out


# --- files -------------------------------------------------------------------------------
def _read_csv(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return list(csv.DictReader(f))


def _append_rows(path: Path, rows: Sequence[Mapping[str, Any]], first_fields: Sequence[str]) -> None:
    """Append rows to a CSV; if they bring new columns, rewrite it with the union header
    (atomically) first. Values are written with `repr` for floats so reruns are byte-identical."""
    if not rows:
        return
    existing_header: list[str] = []
    if path.exists():
        with path.open(newline="") as f:
            existing_header = next(csv.reader(f), [])
    new_cols = [c for r in rows for c in r if c not in existing_header]
    header = list(existing_header) or [c for c in first_fields]
    for c in new_cols:
        if c not in header:
            header.append(c)
    if existing_header and header != existing_header:
        old = _read_csv(path)
        with replacing(path) as tmp, tmp.open("w", newline="") as f:
            w = csv.DictWriter(f, header)
            w.writeheader()
            w.writerows(old)
    fresh = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, header)
        if fresh:
            w.writeheader()
        w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)
        f.flush()
        os.fsync(f.fileno())


def _fmt(v: Any) -> Any:
    if isinstance(v, float):
        return repr(v)
    return v


def task_path(out: Path, protocol: str, system: str) -> Path:
    return out / "data" / protocol / f"{system}.pt"


def load_task(protocol: Protocol, system: str, out: Path, seed: int) -> Task:
    """The cached task, or integrate it and cache it (written to a temporary name, then renamed)."""
    path = task_path(out, protocol.name, system)
    if path.exists():
        d = torch.load(path, weights_only=True)
        if d.get("seed_base") == seed:
            d.pop("seed_base")
            return Task.from_dict(d)
    task = make_task(protocol, system, base_seed=seed)
    with replacing(path) as tmp:
        torch.save({**task.to_dict(), "seed_base": seed}, tmp)
    return task


# --- one (system, model) -------------------------------------------------------------------
def forecast_task(task: Task, model: str, params: Mapping[str, Any], protocol: Protocol) -> tuple[Tensor, float]:
    """Forecast every context of `task` with a fresh `model` fitted on that context alone
    (`Forecaster.fit_predict_each`); returns (`[n_ics, horizon, dim]` float64, seconds taken).
    Models that integrate the system (the oracle) get the raw contexts and, unless told
    otherwise, the protocol's solver tolerances."""
    cls = forecaster_class(model)
    raw = getattr(cls, "raw_state", False)
    settings = dict(params)
    for name, value in (("rtol", protocol.rtol), ("atol", protocol.atol)):
        if name in cls.hyperparam_names():
            settings.setdefault(name, value)
    contexts = task.raw_context if raw else task.context
    t0 = time.perf_counter()
    pred = get_forecaster(model, **settings).fit_predict_each(contexts, task.target.shape[1], dt=task.dt,
                                                              system=task.system)
    seconds = time.perf_counter() - t0
    return pred[..., : task.target.shape[-1]].to(torch.float64), seconds  # the oracle forecasts the full state


def evaluate(task: Task, model: str, params: Mapping[str, Any], protocol: Protocol,
             metric_names: Sequence[str] | None = None) -> tuple[list[dict[str, Any]], float]:
    """Rows of `results.csv` for one (system, model), one per initial condition, and the seconds
    the forecasts took (kept out of the rows, which a rerun reproduces byte for byte)."""
    pred, seconds = forecast_task(task, model, params, protocol)
    scale = torch.cat([task.context, task.target], dim=1).flatten(0, 1).std(0)  # pooled over ICs and time
    metrics = score(pred, task.target, dt=task.dt, lyapunov_time=task.lyapunov_time, scale=scale,
                    free_run=protocol.free_run, metrics=metric_names)
    rows = []
    for i in range(pred.shape[0]):
        row: dict[str, Any] = {
            "protocol": task.protocol, "system": task.system, "model": model, "ic": i,
            "data_seed": task.seed, "context": task.context.shape[1], "horizon": task.target.shape[1],
            "dim": task.target.shape[-1], "dt": task.dt, "lyapunov_time": task.lyapunov_time,
        }
        for name, values in metrics.items():
            row[name] = float(values[i])
        rows.append(row)
    return rows, seconds


# --- the whole run -------------------------------------------------------------------------
def resolve_systems(systems: Iterable[str] | str | None) -> list[str]:
    """`None`/`"all"`: the whole catalogue; else names (comma-separated string or list), checked."""
    from chaosdata.systems import get_system

    if systems is None or systems == "all":
        return list_systems()
    names = systems.split(",") if isinstance(systems, str) else list(systems)
    return [get_system(n.strip()).name for n in names if n.strip()]


def resolve_models(models: Iterable[str] | str) -> list[str]:
    names = models.split(",") if isinstance(models, str) else list(models)
    return [forecaster_class(n.strip()).name for n in names if n.strip()]


def _model_params(model_params: Mapping[str, Mapping[str, Any]] | None, model_names: list[str]) -> dict[str, dict]:
    """`model_params` by registered model name, checked before anything runs: each must name a
    model of this run (else its settings would be ignored) and hyperparameters it accepts."""
    params: dict[str, dict[str, Any]] = {}
    for key, values in (model_params or {}).items():
        cls = forecaster_class(key)  # an unknown name raises, with suggestions
        if cls.name not in model_names:
            raise InvalidInputError(f"params (--params) set hyperparameters of {key!r}, which is not among the models "
                                    f"run (--models {','.join(model_names)}); add it to the models or drop its params")
        if not isinstance(values, Mapping):
            raise InvalidInputError(f"params (--params) for {key!r} must map hyperparameter names to values, "
                                    f"got {values!r}")
        unknown = sorted(set(values) - set(cls.hyperparam_names()))
        if unknown:
            raise InvalidInputError(f"params (--params) for {key!r}: forecaster {cls.name!r} has no hyperparameter "
                                    f"{unknown[0]!r}; it accepts {list(cls.hyperparam_names())}."
                                    f"{suggest(unknown[0], cls.hyperparam_names())}")
        params[cls.name] = dict(values)
    return params


def run_benchmark(protocol: str | Protocol, systems: Iterable[str] | str | None, models: Iterable[str] | str,
                  out: str | os.PathLike, *, seed: int = 0, model_params: Mapping[str, Mapping[str, Any]] | None = None,
                  metrics: Sequence[str] | None = None, progress: bool = True) -> RunSummary:
    """Run `models` on `systems` under `protocol`, writing into `out` (see the module docstring).

    `model_params` maps a model name to hyperparameters (others at their defaults); `metrics`
    names the metrics to record (default: see `score`). Pairs already
    in `results.csv` or `skipped.csv` are skipped; a model error is recorded in `skipped.csv`
    with its message and the run goes on.
    """
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    names = resolve_systems(systems)
    model_names = resolve_models(models)
    if not model_names:
        raise InvalidInputError("models is empty; give at least one forecaster name (see list_forecasters())")
    params = _model_params(model_params, model_names)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, skipped, timings = out / "results.csv", out / "skipped.csv", out / "timings.csv"
    done = {(r["protocol"], r["system"], r["model"]) for r in _read_csv(results)}
    done |= {(r["protocol"], r["system"], r["model"]) for r in _read_csv(skipped)}

    todo = [(s, m) for s in names for m in model_names if (proto.name, s, m) not in done]
    written = n_skipped = 0
    data_seconds = 0.0
    model_seconds: dict[str, float] = {m: 0.0 for m in model_names}
    bar = _progress(len(todo), progress, proto.name)
    task_cache: tuple[str, Task | SkipSystem] | None = None
    try:
        for system, model in todo:
            bar.set_postfix_str(f"{system} / {model}", refresh=False)
            if task_cache is None or task_cache[0] != system:
                t0 = time.perf_counter()
                try:
                    task_cache = (system, load_task(proto, system, out, seed))
                except SkipSystem as why:
                    task_cache = (system, why)
                data_seconds += time.perf_counter() - t0
            task = task_cache[1]
            if isinstance(task, SkipSystem):
                _append_rows(skipped, [{"protocol": proto.name, "system": system, "model": model, "reason": str(task)}],
                             SKIPPED_FIELDS)
                n_skipped += 1
                bar.update(1)
                continue
            t0 = time.perf_counter()
            try:
                rows, seconds = evaluate(task, model, params.get(model, {}), proto, metrics)
            except (ChaosdataError, RuntimeError, ValueError, torch.linalg.LinAlgError) as err:
                reason = f"{type(err).__name__}: {err}".replace("\n", " ")[:500]
                if not isinstance(err, ChaosdataError):
                    traceback.print_exc(file=sys.stderr)
                _append_rows(skipped, [{"protocol": proto.name, "system": system, "model": model, "reason": reason}],
                             SKIPPED_FIELDS)
                n_skipped += 1
            else:
                _append_rows(results, rows, KEY)
                _append_rows(timings, [{"protocol": proto.name, "system": system, "model": model,
                                        "n_ics": len(rows), "forecast_seconds": round(seconds, 4),
                                        "threads": torch.get_num_threads()}], TIMING_FIELDS)
                written += len(rows)
            model_seconds[model] += time.perf_counter() - t0
            bar.update(1)
    finally:
        bar.close()
    return RunSummary(out=out, written=written, skipped=n_skipped, data_seconds=data_seconds, model_seconds=model_seconds)


def _progress(total: int, enabled: bool, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=f"benchmark {name}", unit="pair", file=sys.stderr,
                dynamic_ncols=True)
