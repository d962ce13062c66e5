"""Self-checks stored with the invariants: facts an estimate must satisfy, tested on the estimate.

- `sum_vs_divergence`: the exponents of a full spectrum sum to the time average of the
  divergence (trace of the Jacobian) along the same trajectory, or of log|det J| for maps
  (Liouville). Both are accumulated on the same steps, independently (tangent vectors through
  QR on one side, the trace from basis vectors on the other), so any disagreement is
  numerical error: step size, lost tangent directions, an unresolved region of the flow.
- `zero_exponent`: an autonomous flow has an exponent of zero (along the flow).
- `members`: the share of the requested ensemble members that stayed finite and bounded
  (through the pilot and the tangent run).
- `member_independence`: members start a small kick apart; their spread is an honest
  uncertainty only if the transient lasted long enough for chaos to separate them
  (lambda_1 t >= ln(1 / kick)).
- `correlation_fit`: the correlation-sum slope was nearly constant over the fitted range.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from chaosdata.invariants.lyapunov import SUM_TOLERANCE
from chaosdata.systems import System

ZERO_SIGMAS = 4.0
ZERO_FLOOR = 1e-4  # relative to the sum of |exponents|: the RK4 step's own bias
MIN_MEMBERS = 0.9
PLATEAU = 0.15  # largest spread of local slopes, relative to the dimension


def run_checks(system: System, run, mean: Tensor, sem: Tensor, *, clock: list[int], chaotic: bool, lam1: float,
               separation_time: float, kick: float, cd, n_requested: int) -> dict[str, dict[str, Any]]:
    """The checks above, each a dict with the numbers compared and `ok` (`applies: False` where
    a check has no meaning for the system)."""
    checks: dict[str, dict[str, Any]] = {}
    scale = float(mean.abs().sum())
    valid = run.valid.cpu()
    exps = run.exponents.cpu()[valid]
    if run.divergence is not None:
        ours = exps.sum(1)
        div = run.divergence.cpu()[valid]
        both_inf = torch.isinf(ours) & torch.isinf(div) & (ours.sign() == div.sign())
        diff = torch.where(both_inf, 0.0, (ours - div).abs())
        tol = SUM_TOLERANCE * scale + 1e-12
        worst = float(diff.max()) if diff.numel() else math.nan
        checks["sum_vs_divergence"] = {
            "ours": float(ours.mean()), "divergence": float(div.mean()), "max_member_difference": worst,
            "tolerance": tol, "ok": bool(worst <= tol),
        }
    else:
        checks["sum_vs_divergence"] = {"applies": False, "ok": True,
                                       "reason": "partial spectrum (leading exponents of a delay equation)"}
    if system.kind == "flow" and not clock:
        i = int(mean.abs().argmin())
        tol = ZERO_SIGMAS * float(sem[i]) + ZERO_FLOOR * scale
        checks["zero_exponent"] = {"index": i, "value": float(mean[i]), "stderr": float(sem[i]),
                                   "tolerance": tol, "ok": bool(abs(float(mean[i])) <= tol)}
    elif system.kind == "flow":
        checks["zero_exponent"] = {"applies": False, "ok": True,
                                   "reason": f"clock coordinates {clock} give exact zeros"}
    n_valid, n_total = int(valid.sum()), max(n_requested, int(valid.numel()))
    checks["members"] = {"valid": n_valid, "total": n_total, "ok": n_valid >= MIN_MEMBERS * n_total}
    if chaotic:
        needed = math.log(1.0 / kick)
        checks["member_independence"] = {"separation": lam1 * separation_time, "needed": needed,
                                         "ok": bool(lam1 * separation_time >= needed)}
    plateau = cd.spread / cd.value if cd.value and math.isfinite(cd.value) and cd.value > 0 else math.inf
    checks["correlation_fit"] = {"relative_slope_spread": plateau if math.isfinite(plateau) else None,
                                 "tolerance": PLATEAU, "ok": bool(plateau <= PLATEAU)}
    return checks
