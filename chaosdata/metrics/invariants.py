"""Errors in the invariants of a free-running forecast: does it reproduce the attractor's chaos?

A forecast run far past its valid prediction time cannot match the truth point by point, but a
good model still has the right largest Lyapunov exponent and attractor dimension. Per batch
element, `pred` `[batch, time, dim]` (sampled every `dt`, in the system's time units) is
measured with data-only estimators (`chaosdata.invariants.series.max_lyapunov_rosenstein`,
`chaosdata.invariants.correlation_dimension`) and compared with a reference: a number, the
invariant stored for a catalogue system (`chaosdata.get_system(name).invariants`), or, with
`reference=None`, the same estimator applied to `true` (so the estimator's own bias cancels).
These need long series (thousands of points spanning many Lyapunov times) and cost
O(time^2) per batch element.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.invariants.dimension import correlation_dimension
from chaosdata.invariants.series import max_lyapunov_rosenstein, mean_period_samples
from chaosdata.metrics._inputs import as_series, from_numpy, pair
from chaosdata.systems import get_system

Reference = float | str | Tensor | None


def _reference_value(reference: Reference, key: str) -> float | Tensor | None:
    """The reference as given (a number or a `[batch]` tensor or array), the stored invariant `key`
    of the system named `reference`, or None (estimate from `true`).

    The relative errors divide by it: a number (given or stored) must be finite and nonzero, and
    a tensor nonzero (a NaN entry, an estimate that failed, gives NaN for its batch element).
    """
    if reference is None:
        return None
    if isinstance(reference, (Tensor, np.ndarray)):
        return _tensor_reference(reference, key)
    if isinstance(reference, str):
        return _stored_reference(reference, key)
    value = validate.real(reference, "reference",
                          what=f"a finite nonzero number for the relative {key} error, a [batch] tensor, "
                               "a system name or None")
    if value == 0:
        raise InvalidInputError(f"reference for the relative {key} error must be a finite nonzero number, got {reference!r}")
    return value


def _tensor_reference(reference: Tensor | np.ndarray, key: str) -> Tensor:
    """A `[batch]` reference as float64, with no zero entry (NaN entries give NaN errors)."""
    ref = (from_numpy(reference, "reference") if isinstance(reference, np.ndarray) else reference).to(torch.float64)
    zero = (ref == 0).flatten().nonzero().flatten().tolist()
    if zero:
        raise InvalidInputError(f"reference for the relative {key} error must be nonzero, got 0 at batch element(s) {zero[:8]}")
    return ref


def _stored_reference(system: str, key: str) -> float:
    """The invariant `key` stored for the system named `system`: finite and nonzero."""
    stored = get_system(system).invariants or {}
    value = stored.get(key)
    if value is None or not math.isfinite(float(value)):
        raise InvalidInputError(f"{system!r} has no stored {key}; pass reference= a number or None (estimate from true)")
    if float(value) == 0:
        raise InvalidInputError(f"{system!r} has a stored {key} of 0, so the relative error is undefined; "
                                "pass reference= a nonzero number or None (estimate from true)")
    return float(value)


def _theiler(x: Tensor) -> int:
    period = mean_period_samples(x)
    cap = x.shape[0] // 10
    return int(min(round(period), cap)) if math.isfinite(period) else cap


def forecast_max_lyapunov(pred: Tensor, *, dt: float, divergence_steps: int | None = None) -> Tensor:
    """Largest Lyapunov exponent (per unit time) of each series by Rosenstein's method (`[batch]`).

    Non-finite series give NaN. See `max_lyapunov_rosenstein` for the estimator and its options.
    """
    dt = validate.positive(dt, "dt")
    divergence_steps = None if divergence_steps is None else validate.count(divergence_steps, "divergence_steps")
    x = as_series(pred, "pred")
    out = []
    for b in range(x.shape[0]):
        if not bool(torch.isfinite(x[b]).all()):
            out.append(math.nan)
            continue
        out.append(max_lyapunov_rosenstein(x[b], dt, divergence_steps=divergence_steps).value)
    return torch.tensor(out, dtype=torch.float64, device=x.device)


def forecast_correlation_dimension(pred: Tensor) -> Tensor:
    """Grassberger-Procaccia correlation dimension of each series' points (`[batch]`), NaN if it fails.

    The Theiler window (pairs closer in time are skipped) is the mean period in samples, at most
    a tenth of the series.
    """
    x = as_series(pred, "pred")
    out = []
    for b in range(x.shape[0]):
        if not bool(torch.isfinite(x[b]).all()) or float((x[b].amax(0) - x[b].amin(0)).norm()) == 0:
            out.append(math.nan)
            continue
        out.append(correlation_dimension(x[b:b + 1], theiler=_theiler(x[b])).value)
    return torch.tensor(out, dtype=torch.float64, device=x.device)


def _as_reference(value: float | Tensor, like: Tensor) -> Tensor:
    ref = torch.as_tensor(value, dtype=torch.float64, device=like.device)
    if ref.ndim == 0:
        return ref.expand_as(like)
    if ref.shape != like.shape:
        raise InvalidInputError(f"reference must be a number or have shape [batch] = {tuple(like.shape)}, got {tuple(ref.shape)}")
    return ref


def max_lyapunov_error(pred: Tensor, true: Tensor, *, dt: float, reference: Reference = None) -> Tensor:
    """Relative error |lambda(pred) - lambda_ref| / |lambda_ref| of the largest Lyapunov exponent.

    lambda_ref: `reference` (a number per unit time, a `[batch]` tensor, e.g. the truth's
    estimates computed once with `forecast_max_lyapunov` and reused for every model, or a
    system name whose stored `max_lyapunov` is used) or, if None, Rosenstein's estimate on
    `true` per batch element. Dimensionless; ideal 0; NaN where an estimate fails (e.g. a
    diverged forecast).
    """
    p, t = pair(pred, true)
    ref_value = _reference_value(reference, "max_lyapunov")
    lam = forecast_max_lyapunov(p, dt=dt)
    ref = forecast_max_lyapunov(t, dt=dt) if ref_value is None else _as_reference(ref_value, lam)
    return (lam - ref).abs() / ref.abs()


def correlation_dimension_error(pred: Tensor, true: Tensor, *, reference: Reference = None) -> Tensor:
    """Relative error |D2(pred) - D2_ref| / D2_ref of the correlation dimension.

    D2_ref: `reference` (a number, a `[batch]` tensor such as `forecast_correlation_dimension(true)`
    computed once, or a system name whose stored `correlation_dimension` is used) or, if None,
    the estimate on `true` per batch element. Dimensionless; ideal 0.
    """
    p, t = pair(pred, true)
    ref_value = _reference_value(reference, "correlation_dimension")
    d2 = forecast_correlation_dimension(p)
    ref = forecast_correlation_dimension(t) if ref_value is None else _as_reference(ref_value, d2)
    return (d2 - ref).abs() / ref.abs()
