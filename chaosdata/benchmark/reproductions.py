"""Published figures reproduced with our baselines, as functions of their settings.

`nvar_lorenz`: Gauthier, Bollt, Griffith & Barbosa 2021 (Nat. Commun. 12:5564), NG-RC on
Lorenz: dt 0.025, k = 2 taps, s = 1, constant + linear + quadratic features (28), ridge 2.5e-6,
increments regressed, 5 time units of warm-up then 10 of training (400 points); the test
NRMSE over one Lyapunov time (1.104 time units, 44 steps) normalized by the variance pooled
over coordinates (the mean of the three variances of the training stretch); one trajectory
per seed. The paper reports a figure of order 1e-3.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chaosdata.baselines import get_forecaster
from chaosdata.integrate import Sampling, SolverSettings
from chaosdata.integrate.trajectories import make_trajectories

GAUTHIER_LORENZ = {"dt": 0.025, "warmup": 5.0, "train": 10.0, "lyapunov_time": 1.104,
                   "k": 2, "s": 1, "order": 2, "ridge": 2.5e-6}


def nvar_lorenz(n_seeds: int = 10, *, seed: int = 0, standardize: bool = True, rtol: float = 1e-13) -> Tensor:
    """NRMSE `[n_seeds]` of NVAR on Lorenz over one Lyapunov time after training (see module).

    The trajectories start on the attractor (make_trajectories, `seed`, DOP853 at `rtol`).
    `standardize=False` regresses in raw units as the paper does; in float64 its feature Gram
    matrix then has a condition number near 1e17 and most rollouts diverge (see RESULTS.md).
    """
    g = GAUTHIER_LORENZ
    dt = g["dt"]
    warm, train = round(g["warmup"] / dt), round(g["train"] / dt)
    test = round(g["lyapunov_time"] / dt)
    n = warm + train + 1 + test
    x = make_trajectories("Lorenz", times=torch.arange(n, dtype=torch.float64) * dt,
                          sampling=Sampling(n_ics=n_seeds, seed=seed), solver=SolverSettings(rtol=rtol, atol=rtol)).x
    span = (g["k"] - 1) * g["s"]
    out = torch.empty(n_seeds, dtype=torch.float64)
    for i in range(n_seeds):
        model = get_forecaster("nvar", k=g["k"], s=g["s"], order=g["order"], ridge=g["ridge"],
                               increment=True, standardize=standardize)
        # rows whose newest tap is step warm .. warm + train - 1, each regressed on the next step
        model.fit(x[i, warm - span: warm + train + 1])
        pred = model.predict(x[i: i + 1, : warm + train + 1], test)[0]
        true = x[i, warm + train + 1:]
        pooled_var = x[i, warm: warm + train].var(0).mean()
        out[i] = ((pred - true) ** 2).mean().div(pooled_var).sqrt()
    return out
