"""Valid prediction time: how long a forecast stays close to the truth, in Lyapunov times.

A chaotic forecast fails after a time set by the largest Lyapunov exponent, so its horizon is
reported in Lyapunov times (1 / lambda_max). Two published definitions, both an error curve
e_i over forecast steps i = 0, 1, ... (`pred[:, 0]` is the first forecast step) and a threshold:

- "smape" (Zhang & Gilpin, ICLR 2025; 30 points per Lyapunov time in their benchmark): e_i is
  the cumulative sMAPE on the 0-200 scale, the sMAPE of steps 0..i together,
  200 * mean_{s <= i, d} |p - t| / (|p| + |t| + 1e-10); threshold 30. `cumulative=False` uses
  the sMAPE of step i alone.
- "nrmse" (Vlachas et al., Neural Networks 2020): e_i = sqrt(mean_d (p_id - t_id)^2 / sigma_d^2),
  the error at step i normalized per dimension by the standard deviation sigma_d (pass the
  attractor's as `scale`; by default that of `true` over the window); threshold 0.5.

The valid steps are the steps before the first i where e_i exceeds the threshold strictly (an
error equal to the threshold is still valid) or is not finite (a diverged forecast); if that
never happens the whole horizon is valid. So a forecast equal to the truth for exactly k steps
and then off by more than the threshold has k valid steps, and its valid prediction time is
k * dt / lyapunov_time.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError
from chaosdata.metrics._inputs import pair, per_dim_scale

DEFINITIONS = {"smape": 30.0, "nrmse": 0.5}  # definition -> published threshold
EPS = 1e-10


def error_curve(pred: Tensor, true: Tensor, *, definition: str = "smape", cumulative: bool = True,
                scale: Tensor | float | None = None) -> Tensor:
    """The error e_i at each forecast step (`[batch, time]`) that the valid prediction time thresholds.

    See the module docstring for the two definitions; `cumulative` applies to "smape" only and
    `scale` to "nrmse" only (a number, `[dim]` or `[batch, dim]`). Without `scale`, "nrmse"
    raises an InvalidInputError where `true` is constant over the window in a dimension.
    """
    p, t = pair(pred, true)
    return _curve(p, t, definition, cumulative, scale)


def _curve(p: Tensor, t: Tensor, definition: str, cumulative: bool, scale: Tensor | float | None) -> Tensor:
    """`error_curve` of a checked float64 pair."""
    definition = validate.choice(definition, "definition", sorted(DEFINITIONS))
    cumulative = validate.flag(cumulative, "cumulative")
    if definition == "smape":
        step = 200 * ((p - t).abs() / (p.abs() + t.abs() + EPS)).mean(dim=2)
        if not cumulative:
            return step
        count = torch.arange(1, step.shape[1] + 1, dtype=torch.float64, device=step.device)
        return step.cumsum(dim=1) / count
    s = per_dim_scale(scale, t)
    if s is None:
        sigma2 = t.var(dim=1, unbiased=False, keepdim=True)
        # tested exactly: the computed variance of a constant is rounding noise (~1e-33), not 0
        flat = (t.amax(dim=1) == t.amin(dim=1)).nonzero().tolist()
        if flat:
            raise InvalidInputError(
                f"true is constant over the window at (batch, dim) {flat[:4]}{' ...' if len(flat) > 4 else ''}, so the "
                "default sigma_d of the NRMSE (the std of true over the window) is 0; pass scale= the attractor's "
                "standard deviation per dimension"
            )
    else:
        sigma2 = s ** 2
    return ((p - t) ** 2 / sigma2).mean(dim=2).sqrt()


def valid_prediction_steps(pred: Tensor, true: Tensor, *, definition: str = "smape", threshold: float | None = None,
                           cumulative: bool = True, scale: Tensor | float | None = None) -> Tensor:
    """Number of leading forecast steps whose error stays within `threshold` (`[batch]`, int64).

    The threshold defaults to the published one for the definition (sMAPE 30, NRMSE 0.5); a
    step with an error above it, or a non-finite error (a diverged forecast), ends the valid
    stretch; the full horizon when none does. `true` must be finite (an InvalidInputError
    otherwise), and with the "nrmse" definition and no `scale` it must vary over the window in
    every dimension.
    """
    p, t = pair(pred, true)
    broken = (~torch.isfinite(t).flatten(1).all(dim=1)).nonzero().flatten().tolist()
    if broken:
        raise InvalidInputError(
            f"true has non-finite values in batch element(s) {broken[:8]}{' ...' if len(broken) > 8 else ''}; the "
            "valid time would count them as forecast failures: drop or repair those series"
        )
    curve = _curve(p, t, definition, cumulative, scale)
    limit = DEFINITIONS[definition] if threshold is None else validate.positive(threshold, "threshold")
    bad = (curve > limit) | ~torch.isfinite(curve)
    n = curve.shape[1]
    first = torch.where(bad, torch.arange(n, device=curve.device), torch.full_like(bad, n, dtype=torch.int64))
    return first.amin(dim=1)


def valid_prediction_time(pred: Tensor, true: Tensor, *, dt: float, lyapunov_time: float, definition: str = "smape",
                          threshold: float | None = None, cumulative: bool = True,
                          scale: Tensor | float | None = None) -> Tensor:
    """Valid prediction time in Lyapunov times: valid steps * `dt` / `lyapunov_time` (`[batch]`).

    `dt` is the spacing of the forecast steps and `lyapunov_time` = 1 / lambda_max, both in the
    system's time units (for a map, dt = 1 and lambda_max per iteration); with `dt = 1` and
    `lyapunov_time` = points per Lyapunov time the units are steps. See `valid_prediction_steps`.
    Higher is better; at most the horizon length in Lyapunov times.
    """
    dt = validate.positive(dt, "dt")
    lyapunov_time = validate.positive(lyapunov_time, "lyapunov_time")
    steps = valid_prediction_steps(pred, true, definition=definition, threshold=threshold, cumulative=cumulative, scale=scale)
    return steps.to(torch.float64) * (dt / lyapunov_time)
