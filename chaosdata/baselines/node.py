"""A neural ODE forecaster: an MLP vector field trained through fixed-step Runge-Kutta steps.

The field `g` acts on standardized states and is learned in units of `time_scale` sampling
steps: `dz/ds = g(z)`, with `z = (x - mean) / std` and `s = t / (time_scale dt)`, so one sample
advances `s` by `1 / time_scale` (the time constant that Gilpin 2023 tunes for its neural ODE, on
the grid the ESN's leak and NVAR's delay share: `chaosdata.benchmark.tuning`; 1, the default,
learns in samples).
Training integrates `rollout` samples ahead from the first point of each window, `substeps`
steps per sample, and regresses the whole path on the data (the loss is differentiated through
the solver, "discretize-then-optimize").

The solver's coefficients are our tableaux (`chaosdata.integrate.tableaux`); forecasts
integrate the learned field with our ensemble integrator (`chaosdata.integrate.integrate`, the
same tableau and step). Training cannot go through `integrate` itself: it steps under
`torch.inference_mode` and writes its outputs in place into a preallocated buffer, so no
autograd graph is recorded; `rk_solve` below is a small differentiable loop over the same
tableau data, and a test checks that the two agree.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import torch
from torch import Tensor, nn

from chaosdata import validate
from chaosdata.baselines.base import hyperparameters, register
from chaosdata.baselines.neural import NeuralForecaster, mlp
from chaosdata.errors import InvalidInputError
from chaosdata.integrate import TABLEAUX, SolverSettings, Tableau, integrate

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "silu": nn.SiLU, "softplus": nn.Softplus}


def fixed_step_tableau(method: str) -> Tableau:
    """The fixed-step tableau named `method` (the ones `integrate` steps with a given `dt`)."""
    tab = TABLEAUX.get(method)
    if tab.adaptive:
        choices = sorted(k for k, t in TABLEAUX.items() if not t.adaptive)
        raise InvalidInputError(f"method must be a fixed-step tableau, one of {choices}; got {method!r}")
    return tab


def rk_step(f: Callable[[Tensor], Tensor], y: Tensor, h: float, tab: Tableau) -> Tensor:
    """One explicit Runge-Kutta step of the autonomous `dy/dt = f(y)` with the main stages of
    `tab` (`a`, `b`; zero coefficients skipped). Differentiable; `y` `[B, d]` -> `[B, d]`."""
    ks: list[Tensor] = []
    for row in tab.a:
        stage = y
        for a_ij, k in zip(row, ks, strict=False):
            if a_ij:
                stage = stage + (h * a_ij) * k
        ks.append(f(stage))
    out = y
    for b_i, k in zip(tab.b, ks, strict=True):
        if b_i:
            out = out + (h * b_i) * k
    return out


def rk_solve(f: Callable[[Tensor], Tensor], y0: Tensor, n_samples: int, substeps: int, tab: Tableau) -> Tensor:
    """Integrate `dy/ds = f(y)` from `y0` `[B, d]` over `n_samples` unit intervals with
    `substeps` steps each; returns the states at s = 0, 1, ..., n_samples: `[B, n_samples + 1, d]`."""
    h = 1.0 / substeps
    y, out = y0, [y0]
    for _ in range(n_samples):
        for _ in range(substeps):
            y = rk_step(f, y, h, tab)
        out.append(y)
    return torch.stack(out, dim=1)


class _Field(nn.Module):
    """The learned vector field `g(z)`, `[..., d] -> [..., d]`; starts near zero."""

    def __init__(self, dim: int, width: int, depth: int, activation: str):
        super().__init__()
        self.net = mlp(dim, width, depth, dim, ACTIVATIONS[activation])
        last = cast(nn.Linear, self.net[-1])  # mlp ends in a Linear; nn.Sequential types a layer as any Module
        with torch.no_grad():
            last.weight.mul_(0.1)
            last.bias.zero_()

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


@register("neural_ode")
@hyperparameters
class NeuralODE(NeuralForecaster):
    """A neural ODE (Chen, Rubanova, Bettencourt & Duvenaud 2018): an MLP vector field of
    `depth` layers of `width` units (`activation`: tanh, silu or softplus), trained by
    backpropagating through `rollout` samples of `method` with `substeps` steps per sample;
    forecasts integrate the field from the last context state with `chaosdata.integrate`."""

    width: int = 64
    depth: int = 2
    activation: str = "tanh"
    rollout: int = 8
    substeps: int = 2
    method: str = "rk4"
    lr: float = 3e-3
    time_scale: float = 1.0

    def check_hyperparams(self) -> None:
        super().check_hyperparams()
        validate.count(self.rollout, "rollout")
        validate.count(self.substeps, "substeps")
        validate.positive(self.time_scale, "time_scale", hint="the field's unit of time, in samples")
        fixed_step_tableau(self.method)
        if self.activation not in ACTIVATIONS:
            raise InvalidInputError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")

    def window_length(self) -> int:
        return self.rollout + 1

    def build(self, dim: int) -> nn.Module:
        return _Field(dim, self.width, self.depth, self.activation)

    def loss(self, net: nn.Module, batch: Tensor) -> Tensor:
        path = rk_solve(self._per_sample(net), batch[:, 0], self.rollout, self.substeps,
                        fixed_step_tableau(self.method))
        return (path[:, 1:] - batch[:, 1:]).square().mean()

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        super()._fit(series, dt=dt, system=system)
        self.dt_ = float(dt) if dt else 1.0

    def forecast(self, net: nn.Module, context: Tensor, horizon: int) -> Tensor:
        z0 = context[:, -1]
        s = torch.arange(horizon + 1, dtype=z0.dtype, device=z0.device)
        field = self._per_sample(net)
        sol = integrate(lambda t, z: field(z), z0, s, SolverSettings(method=self.method, fixed_step=1.0 / self.substeps))
        return sol.y[:, 1:]

    def vector_field(self, t: Tensor, x: Tensor) -> Tensor:
        """The learned field in the data's units, `dx/dt` at states `x` `[B, d]` (`t` unused),
        shaped for `chaosdata.integrate.integrate`; time in the units of the `dt` given to fit
        (samples when none was given)."""
        self._check_fitted()
        z = ((x - self.mean_) / self.std_).to(validate.dtype(self.dtype))
        with torch.no_grad():
            g = self._net(z)
        return g.to(x.dtype) * self.std_.to(x.dtype) / (self.dt_ * self.time_scale)

    def _per_sample(self, net: nn.Module) -> Callable[[Tensor], Tensor]:
        """The field per sample (`dz` per unit of sample index): `net / time_scale` (at the default
        1 the same values as `net`: dividing by 1 is exact)."""
        return lambda z: net(z) / self.time_scale
