"""Every metric by name, so the benchmark and the CLI compute them the same way.

`get_metric(name)` returns a `Metric`: the function, whether lower or higher is better, the
ideal value, the dysts name it equals (if any) and the context it needs. `compute_all(pred, true,
...)` evaluates the standard set on `[batch, time, dim]` tensors and returns `{name: [batch]}`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.metrics import attractor, correlation, invariants, pointwise, spectral, valid_time
from chaosdata.registry import Registry
from chaosdata.systems import get_system


@dataclass(frozen=True)
class Context:
    """What some metrics need beyond `pred, true`; None where unknown.

    `dt`: spacing of the forecast steps, in the system's time units; `lyapunov_time`: 1 /
    lambda_max in the same units; `scale`: per-dimension standard deviation of the attractor in
    the units of the data (the NRMSE valid time's sigma_d); `reference`: a system name whose
    stored invariants the invariant errors compare against (None: estimate from `true`).
    """

    dt: float | None = None
    lyapunov_time: float | None = None
    scale: Tensor | float | None = None
    reference: str | None = None

    def needed(self, name: Literal["dt", "lyapunov_time"]) -> float:
        """The field `name` ("dt" or "lyapunov_time") that a metric needs (`Metric` checks its
        `needs` before calling it, with a fuller message; this is for a metric function called alone)."""
        value = {"dt": self.dt, "lyapunov_time": self.lyapunov_time}[name]
        if value is None:
            raise InvalidInputError(f"this metric needs {name}: pass it to compute_all (or in a Context)")
        return value


@dataclass(frozen=True)
class Metric:
    """A named metric: `metric(pred, true, context)` -> `[batch]`.

    `goal` is "min" or "max" (which direction is better), `ideal` the value of a perfect
    forecast, `needs` the `Context` fields that must be set, `standard` whether `compute_all`
    includes it by default, `dysts` the `dysts.metrics` name it equals on one series (None if
    dysts has no such metric), `kind` "forecast" (agreement step by step, for forecasts within
    the predictable horizon) or "attractor" (distributions, spectra and invariants, blind to
    phase, for long free runs).
    """

    name: str
    fn: Callable[[Tensor, Tensor, Context], Tensor]
    goal: str
    ideal: float
    summary: str
    needs: tuple[str, ...] = ()
    standard: bool = True
    dysts: str | None = None
    kind: str = "forecast"

    def __call__(self, pred: Tensor, true: Tensor, context: Context | None = None) -> Tensor:
        context = context or Context()
        missing = [k for k in self.needs if getattr(context, k) is None]
        if missing:
            why = (f" ({context.reference} has no stored Lyapunov time: pass lyapunov_time= yourself)"
                   if "lyapunov_time" in missing and context.reference is not None else "")
            raise InvalidInputError(f"metric {self.name!r} needs {', '.join(missing)}: pass them to compute_all "
                                    f"(or in a Context){why}")
        return self.fn(pred, true, context)


def _plain(fn: Callable[..., Tensor], **options) -> Callable[[Tensor, Tensor, Context], Tensor]:
    return lambda pred, true, ctx: fn(pred, true, **options)


def _vpt(definition: str) -> Callable[[Tensor, Tensor, Context], Tensor]:
    def run(pred: Tensor, true: Tensor, ctx: Context) -> Tensor:
        scale = ctx.scale if definition == "nrmse" else None
        return valid_time.valid_prediction_time(pred, true, dt=ctx.needed("dt"), lyapunov_time=ctx.needed("lyapunov_time"),
                                                definition=definition, scale=scale)
    return run


_METRICS: tuple[Metric, ...] = (
    Metric("mse", _plain(pointwise.mse), "min", 0.0, "mean squared error", dysts="mse"),
    Metric("mae", _plain(pointwise.mae), "min", 0.0, "mean absolute error", dysts="mae"),
    Metric("rmse", _plain(pointwise.rmse), "min", 0.0, "root mean squared error", dysts="rmse"),
    Metric("nrmse", _plain(pointwise.nrmse), "min", 0.0, "RMSE / std of true per dimension", dysts="nrmse"),
    Metric("marre", _plain(pointwise.marre), "min", 0.0, "mean absolute error / range of true, percent", dysts="marre"),
    Metric("r2", _plain(pointwise.r2), "max", 1.0, "coefficient of determination", dysts="r2_score"),
    Metric("rmsle", _plain(pointwise.rmsle), "min", 0.0, "root mean squared log error (min-shifted)", dysts="rmsle"),
    Metric("smape", _plain(pointwise.smape, scale=200), "min", 0.0, "symmetric MAPE, 0-200 (published tables)"),
    Metric("smape_100", _plain(pointwise.smape, scale=100), "min", 0.0, "symmetric MAPE, 0-100 (dysts since 2025)",
           standard=False, dysts="smape"),
    Metric("mape", _plain(pointwise.mape), "min", 0.0, "mean absolute percentage error", dysts="mape"),
    Metric("wape", _plain(pointwise.wape), "min", 0.0, "weighted absolute percentage error", dysts="wape"),
    Metric("coefficient_of_variation", _plain(pointwise.coefficient_of_variation), "min", 0.0,
           "100 std(residual) / mean(true)", dysts="coefficient_of_variation"),
    Metric("pearson", _plain(correlation.pearson), "max", 1.0, "Pearson correlation, mean over dims", dysts="pearson"),
    Metric("spearman", _plain(correlation.spearman), "max", 1.0, "Spearman rank correlation, mean over dims", dysts="spearman"),
    Metric("kendall", _plain(correlation.kendall), "max", 1.0, "Kendall tau-b, mean over dims", dysts="kendall"),
    Metric("mutual_information", _plain(correlation.mutual_information), "max", float("inf"),
           "KSG mutual information (nats), mean over dims", dysts="mutual_information"),
    Metric("kl_divergence", _plain(attractor.gmm_kl_divergence), "min", 0.0,
           "Gaussian-mixture KL(true || pred), unit variance, raw units", dysts="kl_divergence",
           kind="attractor"),
    Metric("hellinger_distance", _plain(spectral.hellinger_distance), "min", 0.0,
           "Hellinger distance of the first 100 FFT power bins", dysts="hellinger_distance",
           kind="attractor"),
    Metric("vpt_smape", _vpt("smape"), "max", float("inf"),
           "valid prediction time (Lyapunov times), cumulative sMAPE(0-200) <= 30", needs=("dt", "lyapunov_time")),
    Metric("vpt_nrmse", _vpt("nrmse"), "max", float("inf"),
           "valid prediction time (Lyapunov times), per-dim NRMSE <= 0.5", needs=("dt", "lyapunov_time")),
    Metric("d_stsp", _plain(attractor.state_space_divergence), "min", 0.0,
           "state-space KL divergence (30-bin histograms; GMM from 6 dims)", kind="attractor"),
    Metric("d_h", _plain(spectral.power_spectrum_distance), "min", 0.0,
           "Hellinger distance of power spectra smoothed by a Gaussian, sigma 20 bins", kind="attractor"),
    Metric("pe20", _plain(pointwise.prediction_error, n=20), "min", 0.0, "squared error at the 20th step"),
    Metric("max_lyapunov_error", lambda p, t, c: invariants.max_lyapunov_error(p, t, dt=c.needed("dt"),
                                                                                   reference=c.reference),
           "min", 0.0, "relative error of lambda_max (Rosenstein) of a free run", needs=("dt",), standard=False,
           kind="attractor"),
    Metric("correlation_dimension_error",
           lambda p, t, c: invariants.correlation_dimension_error(p, t, reference=c.reference),
           "min", 0.0, "relative error of the correlation dimension of a free run", standard=False,
           kind="attractor"),
)
METRICS: Registry[Metric] = Registry("metric", listing="chaosdata.metrics.list_metrics()")
for _m in _METRICS:
    METRICS.add(_m.name, _m)


KINDS = ("forecast", "attractor")
INVARIANT_MIN_POINTS = 1000  # shortest free run on which compute_all(kind="attractor") estimates invariants
_INVARIANT_ERRORS = {"max_lyapunov_error": "max_lyapunov", "correlation_dimension_error": "correlation_dimension"}


def _has_reference(name: str, system: str | None) -> bool:
    """Whether invariant error `name` has a reference: `true` (no system) or a usable stored value."""
    if system is None:
        return True
    value = (get_system(system).invariants or {}).get(_INVARIANT_ERRORS[name])
    return value is not None and math.isfinite(float(value)) and float(value) != 0


def _kind(kind: str | None) -> str | None:
    if kind is not None and kind not in KINDS:
        raise InvalidInputError(f"kind must be one of {KINDS} or None (both), got {kind!r}")
    return kind


def list_metrics(*, standard: bool | None = None, kind: str | None = None) -> list[str]:
    """Names of the registered metrics, in registry order.

    `standard` keeps only the standard set (True) or only the others (False); `kind` only the
    "forecast" or the "attractor" metrics.
    """
    kind = _kind(kind)
    return [name for name, m in METRICS.items()
            if (standard is None or m.standard == standard) and (kind is None or m.kind == kind)]


def get_metric(name: str) -> Metric:
    """The metric registered as `name` (case-insensitive, see `METRICS`)."""
    return METRICS.get(name)


def _context(dt: float | None, lyapunov_time: float | None, lyapunov_time_steps: float | None, system: str | None,
             scale: Tensor | float | None) -> Context:
    if lyapunov_time_steps is not None:
        if lyapunov_time is not None:
            raise InvalidInputError("pass lyapunov_time (with dt) or lyapunov_time_steps, not both")
        steps = validate.positive(lyapunov_time_steps, "lyapunov_time_steps")
        # a Lyapunov time of `steps` steps: with dt it is steps * dt time units, without it in steps
        lyapunov_time = steps * (dt if dt is not None else 1.0)
        dt = dt if dt is not None else 1.0
    if system is not None and lyapunov_time is None:
        lyapunov_time = (get_system(system).invariants or {}).get("lyapunov_time")
    if dt is not None:
        dt = validate.positive(dt, "dt")
    if lyapunov_time is not None:
        lyapunov_time = validate.positive(lyapunov_time, "lyapunov_time")
    return Context(dt=dt, lyapunov_time=lyapunov_time, scale=scale, reference=system)


def compute_all(pred: Tensor, true: Tensor, *, dt: float | None = None, lyapunov_time: float | None = None,
                lyapunov_time_steps: float | None = None, system: str | None = None,
                scale: Tensor | float | None = None, include: Iterable[str] | None = None,
                kind: str | None = None) -> dict[str, Tensor]:
    """Every metric of `include` (default: the standard set) on `pred, true` `[batch, time, dim]`.

    `kind="forecast"` keeps the step-by-step metrics (for forecasts within the predictable
    horizon), `kind="attractor"` the distribution, spectrum and invariant metrics (for long free
    runs; it adds the lambda_max and correlation-dimension errors when the series has at least
    `INVARIANT_MIN_POINTS` points, against the stored invariants of `system` if given, else
    against the same estimators applied to `true`; left out where the system's stored value is
    missing or 0, as for Torus's lambda_max).

    `include` is a list of names or one comma-separated string ("vpt_smape,smape").
    Returns `{name: tensor [batch]}` in registry order (in the order of `include` if given).
    Context: `dt` (step spacing, time units) and `lyapunov_time` (1 / lambda_max, same units)
    give the valid prediction times in Lyapunov times; `lyapunov_time_steps` (steps per
    Lyapunov time) can replace `lyapunov_time`; a catalogue `system` name supplies its stored
    Lyapunov time and is the reference of the invariant errors;
    `scale` is the attractor's per-dimension std for the NRMSE valid time (pass ones for data
    standardized with attractor statistics). In the default set a metric whose context is
    missing (the valid times without dt and a Lyapunov time, PE(20) on a horizon under 20 steps)
    is left out of the result; a metric named in `include` raises instead.
    """
    ctx = _context(dt, lyapunov_time, lyapunov_time_steps, system, scale)
    kind = _kind(kind)
    explicit = include is not None
    horizon = pred.shape[-2] if hasattr(pred, "shape") and len(pred.shape) >= 2 else 0
    if include is not None:
        # a comma string ("smape,mse") as the CLI takes it; list("smape") would be five letters
        names = [n.strip() for n in include.split(",") if n.strip()] if isinstance(include, str) else list(include)
        if not names:
            raise InvalidInputError("include names no metric; pass None for the standard set, or names from list_metrics()")
    else:
        names = [n for n in list_metrics(kind=kind)
                 if get_metric(n).standard or (kind == "attractor" and n in _INVARIANT_ERRORS
                                               and horizon >= INVARIANT_MIN_POINTS and _has_reference(n, system))]
    metrics = [get_metric(n) for n in names]
    out: dict[str, Tensor] = {}
    for m in metrics:
        if not explicit:
            if any(getattr(ctx, k) is None for k in m.needs):
                continue
            if m.name == "pe20" and horizon < 20:
                continue
        out[m.name] = m(pred, true, ctx)
    return out
