"""Screening derived systems for a corpus: bounded, not a fixed point, chaotic (lambda_max > 0).

Each variant (a parameter set of one system) is integrated from `n_ics` sampled initial
conditions; the ensemble answers, per variant, with the first reason that rejects it:

1. `unbounded`: a member left the bound or stopped being finite (most members must survive);
2. `fixed point`: the state stops moving (std over the second half below 1e-6 of its size);
3. `not chaotic`: the largest Lyapunov exponent, from the batched Benettin estimate of
   `chaosdata.invariants.lyapunov.flow_lyapunov` over the surviving members, does not stand
   out from the flow's zero exponent. A finite run measures that zero exponent with a bias of
   order 1/T (a limit cycle's leading exponent came out at 0.007 over 20 periods of Rossler at
   c = 2.3), so the test is on the gap between lambda_1 and the exponent nearest zero: where
   lambda_1 is itself the nearest to zero (a limit cycle), or the gap times the period is
   below `MIN_EXPONENT_PER_PERIOD`, or below 3 standard errors, the variant is rejected. This
   separates chaos from limit cycles and tori, whose leading exponents are zero.

Every variant's verdict carries lambda_max with its standard error, so acceptance rates and
borderline cases can be read off afterwards.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import Tensor

from chaosdata.integrate import Sampling, SolverSettings
from chaosdata.integrate.trajectories import make_trajectories
from chaosdata.invariants.lyapunov import flow_lyapunov
from chaosdata.systems import System

MIN_EXPONENT_PER_PERIOD = 0.01  # lambda_max * period: below it, not distinguishable from a zero exponent
MIN_ALIVE_SHARE = 0.75  # share of a variant's members that must stay bounded
FIXED_POINT_STD = 1e-6  # relative std over the second half: below it, the state has stopped


@dataclass(frozen=True)
class Verdict:
    """One variant's screening result."""

    accepted: bool
    reason: str  # "" when accepted
    lambda_max: float | None
    lambda_max_stderr: float | None
    n_members: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def screen(system: System, params: dict[str, Tensor], n_variants: int, n_ics: int, seed: int, *,
           periods: float = 20.0, pts_per_period: float = 20.0, rtol: float = 1e-8,
           device: str | torch.device = "cpu") -> list[Verdict]:
    """Verdicts for `n_variants` parameter sets of `system`; `params` are per-row tensors of
    `n_variants * n_ics` rows (each variant's `n_ics` members consecutive)."""
    B, period = n_variants * n_ics, system.required_period("screening runs and judges chaos per period")
    sweep: dict[str, Any] = {k: v.to(device) for k, v in params.items()}  # make_trajectories' **params: Any
    tr = make_trajectories(system, max(4, round(periods * pts_per_period)), pts_per_period=pts_per_period,
                           device=device, postprocess=False, **sweep,
                           sampling=Sampling(n_ics=B, seed=seed), solver=SolverSettings(rtol=rtol, atol=rtol))
    x = tr.x.cpu()
    alive = tr.valid.cpu().clone()
    half = x[:, x.shape[1] // 2:]
    size = half.abs().amax(dim=(1, 2)).clamp_min(1.0)
    moving = (half.std(dim=1).amax(-1) / size) > FIXED_POINT_STD
    exps = _spectra(system, x[:, -1], params, alive & moving, periods, device)
    verdicts = []
    for v in range(n_variants):
        rows = slice(v * n_ics, (v + 1) * n_ics)
        ok = alive[rows]
        if ok.double().mean() < MIN_ALIVE_SHARE:
            verdicts.append(Verdict(False, f"unbounded ({int((~ok).sum())} of {n_ics} members left the bound)",
                                    None, None, int(ok.sum())))
            continue
        if not bool(moving[rows][ok].any()):
            verdicts.append(Verdict(False, "fixed point (the state stops moving)", None, None, int(ok.sum())))
            continue
        use = ok & moving[rows] & torch.isfinite(exps[rows]).all(-1)
        if not bool(use.any()):
            verdicts.append(Verdict(False, "unbounded (the tangent dynamics blew up)", None, None, 0))
            continue
        e = exps[rows][use]  # [members, d], descending
        lam1, gap = e[:, 0], e[:, 0] - e.gather(1, e.abs().argmin(1, keepdim=True))[:, 0]
        mean, gap_mean = float(lam1.mean()), float(gap.mean())
        n = lam1.numel()
        sem = float(lam1.std() / math.sqrt(n)) if n > 1 else math.inf
        gap_sem = float(gap.std() / math.sqrt(n)) if n > 1 else math.inf
        chaotic = gap_mean * period > MIN_EXPONENT_PER_PERIOD and gap_mean > 3 * gap_sem
        reason = "" if chaotic else (f"not chaotic (lambda_max {mean:.3g} +- {sem:.2g} does not stand out from "
                                     f"the zero exponent: a limit cycle, a torus or too weak to tell)")
        verdicts.append(Verdict(chaotic, reason, mean, sem, n))
    return verdicts


def _spectra(system: System, x0: Tensor, params: dict[str, Tensor], usable: Tensor, periods: float,
             device: str | torch.device) -> Tensor:
    """Per-member Lyapunov spectra `[B, d]`, descending (NaN where not usable), by RK4 on the
    state and its variational equations."""
    d = system.dim
    out = torch.full((x0.shape[0], d), math.nan, dtype=torch.float64)
    idx = usable.nonzero().flatten()
    if idx.numel() == 0:
        return out
    # the tangent field evaluates the equations on [B * 2d] folded rows (d tangents + d basis vectors)
    folded = {k: v[idx].repeat_interleave(2 * d, dim=0).to(device) for k, v in params.items()}
    steps_per_period = max(100.0, float(system.solver.get("steps_per_period", 100)))
    h = system.required_period("its tangent step is a fraction of the period") / steps_per_period
    run = flow_lyapunov(system, x0[idx].to(device), {**system.bind(), **folded}, h=h, align=2.0,
                        periods=periods, pts_per_period=1.0, max_steps=int(40 * periods * 100), trace=True)
    out[idx] = run.exponents.cpu().sort(-1, descending=True).values
    return out
