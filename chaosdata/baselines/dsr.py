"""Dynamical-systems reconstruction: a shallow piecewise-linear RNN (shPLRNN) trained with
generalized teacher forcing (GTF), after Hess, Monfared, Brenner & Durstewitz 2023,
"Generalized Teacher Forcing for Learning Chaotic Dynamics" (ICML).

The latent map, on standardized data, is

    z_{t+1} = A z_t + W1 relu(W2 z_t + h2) + h1        (A diagonal, z in R^M, hidden width L)

(`clipped=True` uses the paper's bounded variant W1 [relu(W2 z + h2) - relu(W2 z)]). The
observation is the first N latent units (identity observation, M >= N); the M - N unobserved
units start from a learned linear map of the first observation.

Generalized teacher forcing: during training each step's prediction is scored against the data,
then the observed units are pulled toward the data before the next step,

    z_t[:N] <- (1 - alpha) z_t[:N] + alpha x_t,

so `alpha = 1` is classical teacher forcing (one-step predictions, gradients cut at every
step) and `alpha = 0` is free-running backpropagation through time (exploding gradients on
chaotic orbits). Intermediate values keep gradients bounded while the model still has to
carry its own errors. The paper also sets alpha adaptively from the growth of the model's
Jacobians; here `alpha` is a fixed hyperparameter for the whole fit (default 0.2; the alpha
sweep on Lorenz in benchmarks/RESULTS.md, "Neural forecasters", shows how much it matters).
Forecasts read the last `warmup` context points with the observed units set to the data
(alpha = 1), then run freely.
"""

from __future__ import annotations

import math
from typing import cast

import torch
from torch import Tensor, nn

from chaosdata import validate
from chaosdata.baselines.base import hyperparameters, register
from chaosdata.baselines.neural import NeuralForecaster
from chaosdata.errors import InvalidInputError


class _ShPLRNN(nn.Module):
    """The shPLRNN map on `[B, M]` latent states, with `observe`/`initial` for `N` observations."""

    def __init__(self, dim: int, latent: int, hidden: int, clipped: bool):
        super().__init__()
        self.dim, self.clipped = dim, clipped
        bound = 1.0 / math.sqrt(latent)
        self.A = nn.Parameter(torch.full((latent,), 0.9))
        self.W1 = nn.Parameter(0.1 * bound * torch.randn(latent, hidden))
        self.W2 = nn.Parameter(torch.empty(hidden, latent).uniform_(-bound, bound))
        self.h1 = nn.Parameter(torch.zeros(latent))
        self.h2 = nn.Parameter(torch.empty(hidden).uniform_(-bound, bound))
        self.C = nn.Parameter(torch.zeros(latent - dim, dim))  # unobserved units from x_0

    def forward(self, z: Tensor) -> Tensor:
        pre = z @ self.W2.T
        act = torch.relu(pre + self.h2)
        if self.clipped:
            act = act - torch.relu(pre)
        return self.A * z + act @ self.W1.T + self.h1

    def initial(self, x0: Tensor) -> Tensor:
        """Latent state `[B, M]` for a first observation `x0` `[B, N]`."""
        return torch.cat([x0, x0 @ self.C.T], dim=-1)

    def force(self, z: Tensor, x: Tensor, alpha: float) -> Tensor:
        """Pull the observed units of `z` toward the data `x` by `alpha` (1: replace them)."""
        if alpha == 1.0:
            return torch.cat([x, z[:, self.dim :]], dim=-1)
        return torch.cat([(1.0 - alpha) * z[:, : self.dim] + alpha * x, z[:, self.dim :]], dim=-1)


@register("plrnn")
@hyperparameters
class ShPLRNN(NeuralForecaster):
    """A shallow PLRNN with `latent` units (the data's dimension if None) and `hidden`
    piecewise-linear units, trained with generalized teacher forcing of strength `alpha` on
    windows of `seq_len` points; `clipped` selects the bounded variant."""

    latent: int | None = None
    hidden: int = 64
    alpha: float = 0.2
    seq_len: int = 64
    warmup: int = 32
    clipped: bool = False

    def check_hyperparams(self) -> None:
        super().check_hyperparams()
        validate.count(self.hidden, "hidden")
        validate.count(self.seq_len, "seq_len", minimum=2)
        validate.count(self.warmup, "warmup")
        if self.latent is not None:
            validate.count(self.latent, "latent")
        if not 0.0 <= self.alpha <= 1.0:
            raise InvalidInputError(f"alpha must be in [0, 1] (1 = teacher forcing), got {self.alpha!r}")

    def window_length(self) -> int:
        return self.seq_len

    def build(self, dim: int) -> nn.Module:
        latent = self.latent or dim
        if latent < dim:
            raise InvalidInputError(
                f"latent ({latent}) must be at least the data's dimension ({dim}): the first units are observed"
            )
        return _ShPLRNN(dim, latent, self.hidden, self.clipped)

    def loss(self, net: nn.Module, batch: Tensor) -> Tensor:
        rnn = cast(_ShPLRNN, net)  # what `build` made; NeuralForecaster types it as any nn.Module
        z = rnn.initial(batch[:, 0])
        preds = []
        for t in range(1, batch.shape[1]):
            z = rnn(z)
            preds.append(z[:, : rnn.dim])
            z = rnn.force(z, batch[:, t], self.alpha)
        return (torch.stack(preds, dim=1) - batch[:, 1:]).square().mean()

    def forecast(self, net: nn.Module, context: Tensor, horizon: int) -> Tensor:
        rnn = cast(_ShPLRNN, net)  # as in `loss`
        context = context[:, -self.warmup :]
        z = rnn.initial(context[:, 0])
        for t in range(1, context.shape[1]):
            z = rnn.force(rnn(z), context[:, t], 1.0)
        out = []
        for _ in range(horizon):
            z = rnn(z)
            out.append(z[:, : rnn.dim])
        return torch.stack(out, dim=1)
