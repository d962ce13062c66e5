"""Forecast metrics as pure torch functions of `pred, true` (`[batch, time, dim]` -> `[batch]`).

- `pointwise`: mse, mae, rmse, nrmse, marre, r2, rmsle, smape (0-200; 0-100 via `scale=100`),
  mape, wape, coefficient of variation, PE(n);
- `correlation`: pearson, spearman, kendall, mutual information (KSG);
- `spectral`: dysts's Hellinger distance of FFT power, and D_H of smoothed power spectra;
- `attractor`: dysts's Gaussian-mixture KL divergence, and the state-space divergence D_stsp;
- `valid_time`: valid prediction time in Lyapunov times (cumulative sMAPE > 30, or NRMSE > 0.5);
- `invariants`: errors in lambda_max and the correlation dimension of a free-running forecast.

By name: `get_metric(name)`, `list_metrics()`, and `compute_all(pred, true, dt=..., lyapunov_time=...)`
for the standard set. The dysts-named metrics equal `dysts.metrics` (0.96) on one series.
"""

from chaosdata.metrics.attractor import gmm_kl_divergence, state_space_divergence
from chaosdata.metrics.correlation import kendall, mutual_information, pearson, spearman
from chaosdata.metrics.invariants import (
    correlation_dimension_error,
    forecast_correlation_dimension,
    forecast_max_lyapunov,
    max_lyapunov_error,
)
from chaosdata.metrics.pointwise import (
    coefficient_of_variation,
    mae,
    mape,
    marre,
    mse,
    nrmse,
    prediction_error,
    r2,
    rmse,
    rmsle,
    smape,
    wape,
)
from chaosdata.metrics.registry import METRICS, Context, Metric, compute_all, get_metric, list_metrics
from chaosdata.metrics.spectral import hellinger_distance, power_spectrum_distance
from chaosdata.metrics.valid_time import error_curve, valid_prediction_steps, valid_prediction_time

__all__ = [
    "METRICS",
    "Context",
    "Metric",
    "coefficient_of_variation",
    "compute_all",
    "correlation_dimension_error",
    "error_curve",
    "forecast_correlation_dimension",
    "forecast_max_lyapunov",
    "get_metric",
    "gmm_kl_divergence",
    "hellinger_distance",
    "kendall",
    "list_metrics",
    "mae",
    "mape",
    "marre",
    "max_lyapunov_error",
    "mse",
    "mutual_information",
    "nrmse",
    "pearson",
    "power_spectrum_distance",
    "prediction_error",
    "r2",
    "rmse",
    "rmsle",
    "smape",
    "spearman",
    "state_space_divergence",
    "valid_prediction_steps",
    "valid_prediction_time",
    "wape",
]
