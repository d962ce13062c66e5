"""The benchmark runner: every (system, model) of a protocol, scored per initial condition.

`run_benchmark(protocol, systems, models, out)` writes into `out` the files described in
`chaosdata.benchmark.results` (`results.csv`, `timings.csv`, `failures.csv`, `skipped.csv`)
and caches each task in `data/<protocol>/seed<seed>/<system>.pt`, so a rerun integrates
nothing twice. A pair is identified by (protocol, system, model, data seed, hash of the model's
settings): a rerun skips the pairs that finished, runs those that failed or were cut short, and
a new seed or new hyperparameters are new pairs. Tables and plots are made from `results.csv`
(`leaderboard.py`, `plots.py`).

Everything is seeded (data seeds from the protocol's base seed and the system name, model seeds
from their hyperparameters), so a rerun with the same threads gives identical files.

Each (system, model) is one job (`run_pair`, given the run's `RunSpec`), dispatched as its
`Dispatch` says: run here in order; with a time limit, in a worker process killed when a pair
passes it (`chaosdata.store.executors.TimedWorker`); or spread over a Dask cluster
(`chaosdata.store.executors.run_on_dask`, as `chaosdata generate` does). Either way this process
alone writes the files, as jobs finish, so all give the same rows (in another order).
"""

from __future__ import annotations

import dataclasses
import importlib
import math
import os
import sys
import time
import traceback
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from chaosdata import metrics as M
from chaosdata import validate
from chaosdata.atomic import replacing
from chaosdata.baselines import forecaster_class, get_forecaster
from chaosdata.benchmark.protocols import Protocol, SkipSystem, Task, get_protocol, make_task
from chaosdata.benchmark.results import (
    FAILURE_FIELDS,
    PAIR_KEY,
    ROW_KEY,
    SKIPPED_FIELDS,
    TIMING_FIELDS,
    append_rows,
    check_format,
    pair_key,
    params_hash,
    read_csv,
    rewrite,
    settings_json,
)
from chaosdata.benchmark.tuning import grid_for, tune
from chaosdata.errors import ChaosdataError, InvalidInputError, ModelError, suggest
from chaosdata.store import executors
from chaosdata.systems import get_system, list_systems

HORIZON_STEPS = (1, 2, 5, 10, 20, 30, 50, 100, 150, 200, 300, 500, 1000, 1500, 2000, 3000, 5000)
# horizons in Lyapunov times (lambda_max x dt x step) at which the cumulative sMAPE is recorded
LYAPUNOV_HORIZONS = (0.1, 0.25, 0.5, 1, 1.5, 2, 3, 4, 5, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48)
# a model's error on data it cannot handle is recorded in failures.csv (one line; the traceback,
# for errors that are not chaosdata's, in failures.log) and tried again next run. Any Exception:
# third-party models (darts, statsforecast, a user's own) raise types of their own, and one
# model's failure must not stop the other pairs of a run.
FAILURE_LOG = "failures.log"


@dataclass(frozen=True)
class RunSummary:
    """What one `run_benchmark` call did: rows written, pairs skipped (the protocol does not
    apply) and failed (a model error, tried again next run), and seconds spent generating data
    and fitting/predicting/scoring (per model)."""

    out: Path
    written: int
    skipped: int
    data_seconds: float
    model_seconds: dict[str, float] = field(default_factory=dict)
    failed: int = 0


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
    (`smape_at_<k>`, for the error-against-horizon plot) and, where the Lyapunov time is known,
    at the step nearest each horizon of `LYAPUNOV_HORIZONS` in Lyapunov times (`smape_lt_<h>`;
    left out below one step or past the forecast). `scale` `[dim]`: the attractor's std, the
    sigma of the NRMSE valid time."""
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
    if lt is not None:
        for h in LYAPUNOV_HORIZONS:
            k = round(h * lt / dt)
            if 1 <= k <= curve.shape[1]:
                out[f"smape_lt_{h:g}"] = curve[:, k - 1]
    return out


# --- data ------------------------------------------------------------------------------
def task_path(out: Path, protocol: str, system: str, seed: int) -> Path:
    return out / "data" / protocol / f"seed{seed}" / f"{system}.pt"


def load_task(protocol: Protocol, system: str, out: Path, seed: int) -> Task:
    """The cached task, or integrate it and cache it (written to a temporary name, then renamed)."""
    path = task_path(out, protocol.name, system, seed)
    if path.exists():
        return Task.from_dict(torch.load(path, weights_only=True))
    task = make_task(protocol, system, base_seed=seed)
    with replacing(path) as tmp:
        torch.save(task.to_dict(), tmp)
    return task


# --- one (system, model) -------------------------------------------------------------------
def model_settings(model: str, params: Mapping[str, Any], protocol: Protocol) -> dict[str, Any]:
    """Every hyperparameter `model` runs with under `protocol`: its defaults, `params` over
    them, and for models that integrate the system (the oracle) the protocol's solver
    tolerances unless given. What `params_hash` hashes into the results' key."""
    cls = forecaster_class(model)
    settings = dict(params)
    for name, value in (("rtol", protocol.rtol), ("atol", protocol.atol)):
        if name in cls.hyperparam_names():
            settings.setdefault(name, value)
    return get_forecaster(model, **settings).hyperparams()


@contextmanager
def model_calls() -> Iterator[None]:
    """The boundary around a model's own code (fit, forecast, tuning): chaosdata's errors pass as
    they are, any other becomes a `ModelError` (its message the original's type and text, the
    original chained), which the run records and tries again next time. An error outside it (the
    data, the scoring) is not a model's and stops the run."""
    try:
        yield
    except ChaosdataError:
        raise
    except Exception as err:  # noqa: BLE001 - a model (darts, statsforecast, a user's) may raise any type
        raise ModelError(f"{type(err).__name__}: {err}") from err


def forecast_task(task: Task, model: str, settings: Mapping[str, Any], device: str = "cpu") -> tuple[Tensor, float]:
    """Forecast every context of `task` with a fresh `model` on `device` fitted on that context
    alone (`Forecaster.fit_predict_each`); returns (`[n_ics, horizon, dim]` float64, seconds
    taken). Models that integrate the system (the oracle) get the raw contexts."""
    raw = getattr(forecaster_class(model), "raw_state", False)
    contexts = task.raw_context if raw else task.context
    n, horizon, dim = task.target.shape
    t0 = time.perf_counter()
    with model_calls():
        pred = get_forecaster(model, **settings).to(device).fit_predict_each(contexts, horizon, dt=task.dt,
                                                                             system=task.system)
    seconds = time.perf_counter() - t0
    if pred.ndim != 3 or pred.shape[:2] != (n, horizon) or pred.shape[-1] < dim:
        raise ModelError(f"{model} forecast a tensor of shape {tuple(pred.shape)}; expected [{n}, {horizon}, {dim}] "
                         "(contexts, horizon, dimension)")
    return pred[..., :dim].to(torch.float64), seconds  # the oracle forecasts the full state


def keyed_settings(settings: Mapping[str, Any], grid: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """What a pair's `params_hash` covers: the model's settings and, when it is tuned, its grid."""
    return {**settings, "tuning_grid": {k: list(v) for k, v in grid.items()}} if grid else dict(settings)


def evaluate(task: Task, model: str, settings: Mapping[str, Any], protocol: Protocol,
             metric_names: Sequence[str] | None = None, *, seed: int = 0,
             grid: Mapping[str, Sequence[Any]] | None = None, device: str = "cpu") -> tuple[list[dict[str, Any]], float]:
    """Rows of `results.csv` for one (system, model), one per initial condition, and the seconds
    the forecasts took (kept out of the rows, which a rerun reproduces byte for byte). `seed` is
    the run's base data seed (the key); the task's own derived seed goes in `data_seed`. With a
    `grid` and a task that has a training trajectory, the model is first tuned on it (`tune`):
    the values chosen go in `tuned`, their sMAPE on the training trajectory in `tune_smape`.
    Models fit and forecast on `device`."""
    grid = grid or {}
    chosen, tuned, tune_smape = dict(settings), {}, math.nan
    if grid and task.train is not None:
        with model_calls():
            chosen, tune_smape = tune(model, settings, grid, task.train, protocol.tune_horizon, dt=task.dt,
                                      system=task.system, device=device)
        tuned = {k: chosen[k] for k in grid}
    pred, seconds = forecast_task(task, model, chosen, device)
    scale = torch.cat([task.context, task.target], dim=1).flatten(0, 1).std(0)  # pooled over ICs and time
    metrics = score(pred, task.target, dt=task.dt, lyapunov_time=task.lyapunov_time, scale=scale,
                    free_run=protocol.free_run, metrics=metric_names)
    key = {"protocol": task.protocol, "system": task.system, "model": model, "seed": seed,
           "params_hash": params_hash(keyed_settings(settings, grid))}
    rows = []
    for i in range(pred.shape[0]):
        row: dict[str, Any] = {
            **key, "ic": i, "params": _overrides(model, settings),
            **({"tuned": settings_json(tuned), "tune_smape": tune_smape} if grid else {}),
            "data_seed": task.seed, "context": task.context.shape[1], "horizon": task.target.shape[1],
            "dim": task.target.shape[-1], "dt": task.dt, "lyapunov_time": task.lyapunov_time,
        }
        for name, values in metrics.items():
            row[name] = float(values[i])
        rows.append(row)
    return rows, seconds


def _overrides(model: str, settings: Mapping[str, Any]) -> str:
    """The settings that differ from the model's defaults, as canonical JSON (`{}`: defaults)."""
    defaults = forecaster_class(model)().hyperparams()
    return settings_json({k: v for k, v in settings.items() if defaults.get(k) != v})


# --- the whole run -------------------------------------------------------------------------
def resolve_systems(systems: Iterable[str] | str | None) -> list[str]:
    """`None`/`"all"`: the whole catalogue; else names (comma-separated string or list), checked."""
    if systems is None or systems == "all":
        return list_systems()
    names = systems.split(",") if isinstance(systems, str) else list(systems)
    return [get_system(n.strip()).name for n in names if n.strip()]


def resolve_models(models: Iterable[str] | str) -> list[str]:
    names = models.split(",") if isinstance(models, str) else list(models)
    return [forecaster_class(n.strip()).name for n in names if n.strip()]


def resolve_metrics(metrics: Sequence[str] | None) -> list[str] | None:
    """`metrics` checked by name before anything runs (a typo would otherwise fail every pair)."""
    if metrics is None:
        return None
    for name in metrics:
        try:
            M.get_metric(name)
        except InvalidInputError as err:
            raise InvalidInputError(f"metrics (--metrics): {err}") from None
    return list(metrics)


def _model_params(model_params: Mapping[str, Mapping[str, Any]] | None, model_names: list[str]) -> dict[str, dict]:
    """`model_params` by registered model name, checked before anything runs: each must name a
    model of this run (else its settings would be ignored) and hyperparameters it accepts."""
    params: dict[str, dict[str, Any]] = {}
    for key, values in (model_params or {}).items():
        cls = forecaster_class(key)  # an unknown name raises, with suggestions
        if cls.name not in model_names:
            raise InvalidInputError(f"params (--params) set hyperparameters of {key!r}, which is not among the models "
                                    f"run (--models {','.join(model_names)}); add it to the models or drop its params")
        validate.instance(values, f"params (--params) for {key!r}", Mapping, hint="of hyperparameter names to values")
        unknown = sorted(set(values) - set(cls.hyperparam_names()))
        if unknown:
            raise InvalidInputError(f"params (--params) for {key!r}: forecaster {cls.name!r} has no hyperparameter "
                                    f"{unknown[0]!r}; it accepts {list(cls.hyperparam_names())}."
                                    f"{suggest(unknown[0], cls.hyperparam_names())}")
        params[cls.name] = dict(values)
    return params


@dataclass
class _Ledger:
    """The output folder's record of a run: which pairs finished, failed, or cannot run."""

    out: Path
    done: set[tuple[str, ...]]
    failures: dict[tuple[str, ...], dict[str, str]]
    skips: dict[tuple[str, str, str], str]

    @classmethod
    def open(cls, out: Path) -> _Ledger:
        """Read the folder; results rows of a pair with no timings row (a run killed between
        the two writes) are dropped, so that pair runs again."""
        for name in ("results.csv", "timings.csv", "failures.csv", "skipped.csv"):
            check_format(out / name)
        done = {pair_key(r) for r in read_csv(out / "timings.csv")}
        results = out / "results.csv"
        rows = read_csv(results)
        kept = [r for r in rows if pair_key(r) in done]
        if results.exists() and len(kept) != sum(1 for _ in results.open(newline="")) - 1:
            rewrite(results, kept, ROW_KEY)  # also drops a line cut short by a killed write
        failures = {pair_key(r): r for r in read_csv(out / "failures.csv")}
        skips = {(r["protocol"], r["system"], r["seed"]): r["reason"] for r in read_csv(out / "skipped.csv")}
        return cls(out, done, failures, skips)

    def finished(self, key: tuple[str, ...], rows: list[dict[str, Any]], timing: dict[str, Any]) -> None:
        append_rows(self.out / "results.csv", rows, ROW_KEY)
        append_rows(self.out / "timings.csv", [timing], TIMING_FIELDS)  # the pair's commit record
        self.done.add(key)
        if self.failures.pop(key, None) is not None:
            rewrite(self.out / "failures.csv", list(self.failures.values()), FAILURE_FIELDS)

    def failed(self, key: tuple[str, ...], reason: str, trace: str = "") -> None:
        attempts = int(self.failures.get(key, {}).get("attempts", 0)) + 1
        self.failures[key] = {**dict(zip(PAIR_KEY, key, strict=True)), "attempts": str(attempts), "reason": reason}
        rewrite(self.out / "failures.csv", list(self.failures.values()), FAILURE_FIELDS)
        if trace:
            with (self.out / FAILURE_LOG).open("a") as log:
                log.write(f"--- {' | '.join(key)} (attempt {attempts})\n{trace}\n")

    def skip(self, protocol: str, system: str, seed: int, reason: str) -> None:
        if (protocol, system, str(seed)) not in self.skips:
            self.skips[(protocol, system, str(seed))] = reason
            append_rows(self.out / "skipped.csv", [{"protocol": protocol, "system": system, "seed": seed,
                                                    "reason": reason}], SKIPPED_FIELDS)


@dataclass(frozen=True)
class Dispatch:
    """How a run's (system, model) jobs execute, checked on construction. `executor` "local":
    here, in order; with `time_limit` (seconds of wall-clock time for a pair's model: fit,
    forecast, scoring; None: no limit) in one worker process at a time, killed and replaced
    when a pair passes the limit, which is recorded as that pair's failure. "dask": on the
    cluster at `scheduler`, or a local one of `workers` processes (default 1); no time limit."""

    executor: str = "local"
    scheduler: str | None = None
    workers: int | None = None
    time_limit: float | None = None

    def __post_init__(self) -> None:
        validate.choice(self.executor, "executor (--executor)", executors.EXECUTORS)
        if self.workers is not None:
            object.__setattr__(self, "workers", validate.count(self.workers, "workers (--workers)"))
        if self.time_limit is not None:
            object.__setattr__(self, "time_limit", validate.positive(self.time_limit, "time_limit (--time-limit)",
                                                                     hint="seconds per (system, model) pair"))
        if self.executor == "dask":
            if self.scheduler is not None and self.workers is not None:
                raise InvalidInputError("workers (--workers) does not apply with a scheduler (--scheduler): the "
                                        "cluster's own workers run the jobs; leave out workers (or the scheduler, "
                                        "for a local cluster)")
            if self.time_limit is not None:
                raise InvalidInputError("time_limit (--time-limit) works with the local executor only (it kills the "
                                        "local process running a pair); leave it out with executor='dask', or run "
                                        "the models that may hang with the local executor and a time limit")
        elif self.scheduler is not None or self.workers is not None:
            raise InvalidInputError("scheduler and workers (--scheduler, --workers) set up a Dask cluster; they need "
                                    "executor='dask' (--executor dask): the local executor runs the jobs here")


@dataclass(frozen=True)
class RunSpec:
    """What every (system, model) job of a run shares, checked once by `run_benchmark` and sent
    to the workers whole: the protocol, each model's settings and tuning grid, the metrics, the
    base data seed, the output folder (workers cache the data there), device and threads."""

    protocol: Protocol
    settings: dict[str, dict[str, Any]]
    grids: dict[str, dict[str, tuple[Any, ...]]]
    metrics: list[str] | None
    seed: int
    out: str
    device: str = "cpu"
    threads: int = 1


@dataclass(frozen=True)
class PairOutcome:
    """What one job gives back: `status` "done" (its `rows`), "skipped" (the protocol does not
    apply to the system) or "failed" (a model error, `reason` and, for errors that are not
    chaosdata's, the `trace`); seconds spent making data, forecasting, and in all."""

    status: str
    rows: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    trace: str = ""
    data_seconds: float = 0.0
    forecast_seconds: float = 0.0
    wall_seconds: float = 0.0


def run_pair(spec: RunSpec, system: str, model: str) -> PairOutcome:
    """One (system, model) job: the task (cached under `spec.out`), then `evaluate`. Pure given
    the spec, so it runs the same in this process or on a Dask worker."""
    if torch.get_num_threads() != spec.threads:
        torch.set_num_threads(spec.threads)
    t0 = time.perf_counter()
    try:
        task = load_task(spec.protocol, system, Path(spec.out), spec.seed)
    except SkipSystem as why:
        return PairOutcome("skipped", reason=str(why), data_seconds=time.perf_counter() - t0)
    t1 = time.perf_counter()
    try:
        rows, seconds = evaluate(task, model, spec.settings[model], spec.protocol, spec.metrics, seed=spec.seed,
                                 grid=spec.grids[model], device=spec.device)
    except ChaosdataError as err:  # a model's failure (`model_calls`) or a refused setting: recorded, tried again
        wrapped = isinstance(err, ModelError) and err.__cause__ is not None  # message: the original's type and text
        reason = str(err) if wrapped else f"{type(err).__name__}: {err}"
        return PairOutcome("failed", reason=reason.replace("\n", " ")[:500],
                           trace=traceback.format_exc() if wrapped else "",
                           data_seconds=t1 - t0, wall_seconds=time.perf_counter() - t1)
    return PairOutcome("done", rows, data_seconds=t1 - t0, forecast_seconds=seconds,
                       wall_seconds=time.perf_counter() - t1)


def _run_named(spec: RunSpec, name: str) -> PairOutcome:
    """`run_pair` for a job named `"<system> | <model>"` (system names hold no spaces)."""
    system, _, model = name.partition(" | ")
    return run_pair(spec, system, model)


def run_benchmark(protocol: str | Protocol, systems: Iterable[str] | str | None, models: Iterable[str] | str,
                  out: str | os.PathLike, *, seed: int = 0, model_params: Mapping[str, Mapping[str, Any]] | None = None,
                  metrics: Sequence[str] | None = None, progress: bool = True, device: str = "cpu",
                  dispatch: Dispatch | None = None) -> RunSummary:
    """Run `models` on `systems` under `protocol`, writing into `out` (see the module docstring).

    `model_params` maps a model name to hyperparameters (others at their defaults); `metrics`
    names the metrics to record (default: see `score`). Pairs of this (seed, settings) already
    finished are skipped, as are systems the protocol does not apply to; a model error is
    recorded in `failures.csv` with its message, the run goes on, and the next run tries again.
    Models run on `device` (checked here). `dispatch` (default: here, in order, no time limit)
    may set a time limit per pair, or spread the pairs over a Dask cluster, as `chaosdata
    generate` does (its workers must see `out`, where they cache the data, and a system's data
    may be made by more than one of them on a first run); this process writes the files.
    """
    dispatch = Dispatch() if dispatch is None else validate.instance(dispatch, "dispatch", Dispatch)
    seed = validate.seed(seed, hint="the protocol's base seed")
    proto = get_protocol(protocol) if isinstance(protocol, str) else protocol
    names = resolve_systems(systems)
    model_names = resolve_models(models)
    if not model_names:
        raise InvalidInputError("models is empty; give at least one forecaster name (see list_forecasters())")
    params = _model_params(model_params, model_names)
    metric_names = resolve_metrics(metrics)
    validate.device(device)
    settings = {m: model_settings(m, params.get(m, {}), proto) for m in model_names}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    ledger = _Ledger.open(out)
    grids = {m: grid_for(m, params.get(m, {})) if proto.train_points else {} for m in model_names}
    spec = RunSpec(proto, settings, grids, metric_names, seed, str(out), str(device), torch.get_num_threads())
    hashes = {m: params_hash(keyed_settings(settings[m], grids[m])) for m in model_names}

    def pair(system: str, model: str) -> tuple[str, ...]:
        return (proto.name, system, model, str(seed), hashes[model])

    todo = [(s, m) for s in names for m in model_names
            if pair(s, m) not in ledger.done and (proto.name, s, str(seed)) not in ledger.skips]
    counts = {"written": 0, "skipped": 0, "failed": 0, "data": 0.0}
    model_seconds: dict[str, float] = {m: 0.0 for m in model_names}
    bar = _progress(len(todo), progress, proto.name)

    def record(system: str, model: str, outcome: PairOutcome) -> None:
        key = pair(system, model)
        counts["data"] += outcome.data_seconds
        model_seconds[model] += outcome.wall_seconds
        if outcome.status == "skipped":
            ledger.skip(proto.name, system, seed, outcome.reason)
            counts["skipped"] += 1
        elif outcome.status == "failed":
            ledger.failed(key, outcome.reason, outcome.trace)
            bar.write(f"failed: {system} / {model}: {outcome.reason[:200]}"
                      + (f" (traceback in {out / FAILURE_LOG})" if outcome.trace else ""), file=sys.stderr)
            counts["failed"] += 1
        else:
            ledger.finished(key, outcome.rows, {
                **dict(zip(PAIR_KEY, key, strict=True)), "n_ics": len(outcome.rows),
                "forecast_seconds": round(outcome.forecast_seconds, 4), "wall_seconds": round(outcome.wall_seconds, 4),
                "threads": spec.threads, "device": spec.device, "params": settings_json(settings[model])})
            counts["written"] += len(outcome.rows)
        bar.update(1)

    try:
        _execute(spec, todo, record, ledger.skips, bar, dispatch)
    finally:
        bar.close()
    return RunSummary(out=out, written=int(counts["written"]), skipped=int(counts["skipped"]),
                      data_seconds=counts["data"], model_seconds=model_seconds, failed=int(counts["failed"]))


def _execute(spec: RunSpec, todo: list[tuple[str, str]], record: Any, skips: Mapping[tuple[str, str, str], str],
             bar: Any, dispatch: Dispatch) -> None:
    """Run the jobs of `todo` as `dispatch` says: here (or in a timed worker), in order (a system
    found skipped is not made again for its other models), or on Dask; `record(system, model,
    outcome)` in this process as each ends."""
    if dispatch.executor == "dask":
        def done(name: str, result: Any) -> None:
            system, _, model = name.partition(" | ")
            record(system, model, result())

        executors.run_on_dask([f"{s} | {m}" for s, m in todo], dispatch.workers or 1, partial(_run_named, spec), done,
                              lambda line: bar.write(line, file=sys.stderr), dispatch.scheduler)
        return
    with _pair_runner(spec, dispatch.time_limit) as run:
        for system, model in todo:
            bar.set_postfix_str(f"{system} / {model}", refresh=False)
            if (spec.protocol.name, system, str(spec.seed)) in skips:  # found by an earlier model of this run
                record(system, model, PairOutcome("skipped", reason=skips[(spec.protocol.name, system, str(spec.seed))]))
            else:
                record(system, model, run(system, model))


@contextmanager
def _pair_runner(spec: RunSpec, time_limit: float | None) -> Iterator[Any]:
    """`run(system, model) -> PairOutcome`: `run_pair` here without a time limit (a cheap model
    costs milliseconds: no process to start), else `_run_timed` in a worker process started once."""
    if time_limit is None:
        yield partial(run_pair, spec)
        return
    models = tuple(spec.settings)
    modules = tuple(sorted({forecaster_class(m).__module__ for m in models}))
    with executors.TimedWorker(time_limit, setup=partial(_find_models, modules, models)) as worker:
        yield partial(_run_timed, worker, spec)


def _find_models(modules: tuple[str, ...], models: tuple[str, ...]) -> None:
    """In a worker process: import the modules that define `models` (which registers them), and
    check that each resolves by name there."""
    for module in modules:
        importlib.import_module(module)
    for model in models:
        try:
            forecaster_class(model)
        except InvalidInputError as err:
            raise InvalidInputError(f"with a time limit the models run in a worker process, which finds no forecaster "
                                    f"{model!r} ({err}); register it in a module that process can import (at its top "
                                    "level, as Dask workers need too), or leave out the time limit") from None


def _run_timed(worker: executors.TimedWorker, spec: RunSpec, system: str, model: str) -> PairOutcome:
    """`run_pair` in `worker`, the task made (or found cached) here first, so that the limit
    covers the model's work alone; a pair past the limit, or whose process died, has failed."""
    t0 = time.perf_counter()
    if not task_path(Path(spec.out), spec.protocol.name, system, spec.seed).exists():
        try:
            load_task(spec.protocol, system, Path(spec.out), spec.seed)
        except SkipSystem as why:
            return PairOutcome("skipped", reason=str(why), data_seconds=time.perf_counter() - t0)
    data_seconds = time.perf_counter() - t0
    worker.start()  # seconds of imports, the first time and after a kill: outside the pair's time
    t1 = time.perf_counter()
    try:
        outcome = worker.run(run_pair, spec, system, model)
    except executors.TimeLimitError:
        return PairOutcome("failed", reason=f"time limit {worker.limit:g} s exceeded; raise --time-limit (time_limit) "
                           "or leave this model out", data_seconds=data_seconds, wall_seconds=time.perf_counter() - t1)
    except executors.WorkerLostError as err:
        return PairOutcome("failed", reason=str(err), data_seconds=data_seconds, wall_seconds=time.perf_counter() - t1)
    return dataclasses.replace(outcome, data_seconds=outcome.data_seconds + data_seconds)


def _progress(total: int, enabled: bool, name: str) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, disable=not enabled, desc=f"benchmark {name}", unit="pair", file=sys.stderr,
                dynamic_ncols=True)
