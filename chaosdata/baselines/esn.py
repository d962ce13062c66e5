"""Echo state network (Jaeger 2001; leaky-integrator form of Jaeger et al. 2007): a fixed random
recurrent reservoir driven by the standardized state, with a ridge-regression readout.

Update: `r' = (1 - leak) r + leak tanh(W r + W_in u + b)`; readout: `u_next = W_out [1, u, r']`.
`W` is a sparse random matrix (about `degree` nonzeros per row) scaled to spectral radius
`spectral_radius`; `W_in` and `b` are uniform in `[-input_scaling, input_scaling]` and
`[-bias_scaling, bias_scaling]`. All are drawn on the CPU from `seed`, so a seed gives the same
reservoir everywhere. Training drives the reservoir with each series (teacher forcing), drops
`washout` steps, and fits `W_out` by ridge; forecasting warms the reservoir up on the context,
then feeds the readout back as input, clamped to `clip` training standard deviations.
"""

from __future__ import annotations

import warnings
from functools import lru_cache
from typing import Any

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.baselines.base import Forecaster, check_context, hyperparameters, register
from chaosdata.baselines.linear import clamp, context_standardizer, finite_contexts, ridge, standardizer
from chaosdata.errors import InvalidInputError


@lru_cache(maxsize=16)
def reservoir(size: int, dim: int, degree: float, spectral_radius: float, input_scaling: float,
              bias_scaling: float, seed: int) -> tuple[Tensor, Tensor, Tensor]:
    """The seeded reservoir `(W [size, size], W_in [size, dim], b [size])`, float64 on the CPU.
    Cached: the benchmark refits the same reservoir for every context."""
    gen = torch.Generator().manual_seed(seed)
    mask = torch.rand(size, size, generator=gen, dtype=torch.float64) < min(1.0, degree / size)
    w = torch.where(mask, torch.rand(size, size, generator=gen, dtype=torch.float64) * 2 - 1, 0.0)
    radius = torch.linalg.eigvals(w).abs().max().real.item()
    w = w * (spectral_radius / radius) if radius > 0 else w
    w_in = (torch.rand(size, dim, generator=gen, dtype=torch.float64) * 2 - 1) * input_scaling
    b = (torch.rand(size, generator=gen, dtype=torch.float64) * 2 - 1) * bias_scaling
    return w, w_in, b


@register("esn")
@hyperparameters
class EchoStateNetwork(Forecaster):
    """Leaky ESN with `size` units; `ridge` penalizes the readout on standardized data."""

    size: int = 300  # reservoir units
    spectral_radius: float = 0.9  # of W
    degree: float = 6.0  # about this many nonzeros per row of W
    input_scaling: float = 0.5  # W_in uniform in [-input_scaling, input_scaling]
    bias_scaling: float = 0.2  # b uniform in [-bias_scaling, bias_scaling]
    leak: float = 0.6  # r' = (1 - leak) r + leak tanh(W r + W_in u + b)
    ridge: float = 1e-6  # penalty of the readout's ridge regression
    washout: int = 100  # steps of each series dropped before the fit
    seed: int = 0  # draws W, W_in and b
    clip: float = 20.0  # fed-back forecasts clamped to +-clip training stds

    def _recurrent(self) -> Tensor:
        """`W` as a sparse CSR matrix: about `degree` nonzeros per row, so `W r` costs
        `degree / size` of the dense product (6x faster at size 300)."""
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
            return self.w_.to_sparse_csr()

    def _step(self, w: Tensor, r: Tensor, u: Tensor) -> Tensor:
        pre = torch.sparse.mm(w, r.T).T + u @ self.w_in_.T + self.b_
        return torch.lerp(r, torch.tanh(pre), float(self.leak))

    def _drive(self, u: Tensor, w: Tensor) -> Tensor:
        """Reservoir states after each input: `u` `[batch, time, dim]` -> `[batch, time, size]`."""
        drive = u @ self.w_in_.T + self.b_  # the input's share, for all steps at once
        states = torch.empty(u.shape[0], u.shape[1], self.size, dtype=u.dtype, device=u.device)
        r = torch.zeros(u.shape[0], self.size, dtype=u.dtype, device=u.device)
        leak = float(self.leak)
        for t in range(u.shape[1]):
            r = torch.lerp(r, torch.tanh(torch.sparse.mm(w, r.T).T + drive[:, t]), leak)
            states[:, t] = r
        return states

    def _readout_input(self, u: Tensor, r: Tensor) -> Tensor:
        return torch.cat([torch.ones_like(u[..., :1]), u, r], dim=-1)

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        validate.count(self.size, "size")
        dim = series[0].shape[-1]
        w, w_in, b = reservoir(self.size, dim, float(self.degree), float(self.spectral_radius),
                               float(self.input_scaling), float(self.bias_scaling), int(self.seed))
        self.w_, self.w_in_, self.b_ = (a.to(self.device) for a in (w, w_in, b))
        mean, std = standardizer([x.to(self.device) for x in series], True)
        rows, targets = [], []
        for x in series:
            if x.shape[0] - 1 <= self.washout:
                raise InvalidInputError(
                    f"a training series of {x.shape[0]} steps leaves nothing after washout={self.washout}; "
                    f"give longer series or a smaller washout"
                )
            u = ((x.to(self.device) - mean) / std)[None]
            r = self._drive(u[:, :-1], self._recurrent())[0]
            rows.append(self._readout_input(u[0, :-1], r)[self.washout:])
            targets.append(u[0, 1 + self.washout:])
        self.w_out_ = ridge(torch.cat(rows), torch.cat(targets), float(self.ridge))
        self.mean_, self.std_ = mean, std

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        u = (context - self.mean_) / self.std_
        w = self._recurrent()
        r = self._drive(u, w)[:, -1]
        return self._run(w, r, u[:, -1], self.w_out_, horizon) * self.std_ + self.mean_

    def _run(self, w: Tensor, r: Tensor, last: Tensor, w_out: Tensor, horizon: int) -> Tensor:
        """Free run from reservoir state `r` `[batch, size]` and input `last` `[batch, dim]`;
        `w_out` `[features, dim]` (one readout) or `[batch, features, dim]` (one per row)."""
        out, ones = [], torch.ones_like(last)
        for _ in range(horizon):
            f = self._readout_input(last, r)
            y = f @ w_out if w_out.ndim == 2 else (f[:, None] @ w_out)[:, 0]
            nxt = clamp(y, (-float(self.clip) * ones, float(self.clip) * ones))
            out.append(nxt)
            r = self._step(w, r, nxt)
            last = nxt
        return torch.stack(out, dim=1)

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        """One readout per context on the shared reservoir, driven, solved and run together."""
        contexts = check_context(contexts, horizon)
        x = finite_contexts(contexts).to(self.device)
        if x.shape[1] - 1 <= self.washout:
            raise InvalidInputError(
                f"contexts of {x.shape[1]} steps leave nothing after washout={self.washout}; "
                f"give longer contexts or a smaller washout"
            )
        w, w_in, b = reservoir(self.size, x.shape[-1], float(self.degree), float(self.spectral_radius),
                               float(self.input_scaling), float(self.bias_scaling), int(self.seed))
        self.w_, self.w_in_, self.b_ = (a.to(self.device) for a in (w, w_in, b))
        try:
            mean, std = context_standardizer(x, True)
            u = (x - mean) / std
            w_sparse = self._recurrent()
            states = self._drive(u, w_sparse)
            features = self._readout_input(u[:, :-1], states[:, :-1])[:, self.washout:]
            w_out = ridge(features, u[:, 1 + self.washout:], float(self.ridge))
            out = self._run(w_sparse, states[:, -1], u[:, -1], w_out, horizon)
        finally:  # the batched fit leaves this (settings-only) instance unfitted
            del self.w_, self.w_in_, self.b_
        return (out * std + mean).to(contexts.device, contexts.dtype)
