"""The oracle: the true equations integrated from a slightly perturbed last context state.

It is the physics limit of predictability: with a relative perturbation `eps`, its forecast
parts from the truth after about `ln(1/eps)` Lyapunov times, so its valid prediction time
grows logarithmically as `eps` shrinks, which also checks the metrics. It needs the raw state
(before normalization and before the system's `postprocess`, e.g. angles rather than their
sines), so benchmark runners give it the raw context (`raw_state = True`) and it applies the
system's `postprocess` to its forecast itself. Delay equations are refused: their state is a
history that a context sampled on the output grid does not hold exactly.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from chaosdata.baselines.base import Forecaster, hyperparameters, register
from chaosdata.errors import InvalidInputError
from chaosdata.integrate import SolverSettings
from chaosdata.integrate.trajectories import make_trajectories
from chaosdata.systems import System, get_system


@register("oracle")
@hyperparameters
class Oracle(Forecaster):
    """Integrate `system` from `last_state * (1 + eps * n)`, `n` `[dim]` standard normal drawn
    from `seed` (the same relative kick for every context).
    `rtol`/`atol` left as None use the system's default solver settings."""

    raw_state = True

    eps: float = 1e-6
    seed: int = 0
    rtol: float | None = None
    atol: float | None = None
    postprocess: bool = True

    def fit(self, series: Any = None, *, dt: float | None = None, system: Any = None) -> Oracle:
        """Learns nothing from `series` (it may be None); records `system` and the step `dt`."""
        if system is None:
            raise InvalidInputError("the oracle needs system= (a catalogue name or System) in fit()")
        sys_ = get_system(system) if not isinstance(system, System) else system
        if sys_.kind == "delay":
            raise InvalidInputError(
                f"{sys_.name} is a delay equation: its state is a history the sampled context does not hold; "
                f"the oracle covers flows and maps"
            )
        if sys_.kind != "flow":
            dt = 1.0  # a map's step
        elif dt is None or not dt > 0:
            raise InvalidInputError(f"the oracle needs the sampling step dt > 0 for the flow {sys_.name}, got {dt!r}")
        self.system_ = sys_.name
        self.dt_ = float(dt)
        return self

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        """Learns nothing from a context: one fit, one batched integration."""
        model = type(self)(**self.hyperparams()).to(self.device)
        return model.fit(None, dt=dt, system=system).predict(contexts, horizon)

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        sys_ = get_system(self.system_)
        last = context[:, -1]
        gen = torch.Generator().manual_seed(int(self.seed))
        # one relative kick for every row, so a row's forecast does not depend on the batch
        noise = torch.randn(last.shape[-1], generator=gen, dtype=torch.float64).to(last.device)
        x0 = last * (1 + float(self.eps) * noise)
        kw: dict[str, Any] = {"initial_conditions": x0, "postprocess": self.postprocess, "device": last.device,
                              "solver": SolverSettings(rtol=self.rtol, atol=self.atol)}
        if sys_.kind == "flow":
            tr = make_trajectories(sys_, times=torch.arange(horizon + 1, dtype=torch.float64) * self.dt_, **kw)
        else:
            tr = make_trajectories(sys_, horizon + 1, **kw)
        return tr.x[:, 1:]
