"""Neural forecasters trained on windows of the training series: an MLP, N-BEATS, a GRU and a
small channel-independent patch Transformer (PatchTST-like), plus the training machinery that
the neural ODE (`node.py`) and the shPLRNN (`dsr.py`) share.

Every neural forecaster standardizes the data per coordinate with the training mean and std
(`mean_`, `std_`, kept in its state), cuts training windows of a fixed length from the
standardized series, and trains with Adam for a fixed number of `steps` on random batches of
windows, under a cosine learning-rate decay. The seed fixes the initial weights, the batches and
any dropout, so a fit on CPU is deterministic; fits run on `self.device` (`.to("cuda")` before
`fit` trains on the GPU). Models train in float32 by default (`dtype="float64"` to change it):
the data and forecasts stay float64 outside the model.

Window models (`mlp`, `nbeats`, `patchtst`) map the last `lookback` points to the next
`out_steps` points and forecast longer horizons by feeding their own output back, `out_steps`
at a time. The GRU learns one step and rolls out one step at a time.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from chaosdata import validate
from chaosdata.baselines.base import Forecaster, hyperparameters, register
from chaosdata.errors import InvalidInputError


def window_starts(lengths: list[int], window: int, stride: int) -> Tensor:
    """Start indices, in the concatenation of series of `lengths`, of every window of `window`
    consecutive points that lies inside one series, `stride` apart. Returns `[n_windows]`."""
    starts, offset = [], 0
    for n in lengths:
        if n >= window:
            starts.append(offset + torch.arange(0, n - window + 1, stride))
        offset += n
    return torch.cat(starts) if starts else torch.zeros(0, dtype=torch.long)


def mlp(n_in: int, width: int, depth: int, n_out: int, activation: type[nn.Module] = nn.ReLU) -> nn.Sequential:
    """`depth` hidden layers of `width` units: `[..., n_in] -> [..., n_out]`."""
    layers: list[nn.Module] = []
    for i in range(depth):
        layers += [nn.Linear(n_in if i == 0 else width, width), activation()]
    layers.append(nn.Linear(width if depth else n_in, n_out))
    return nn.Sequential(*layers)


@hyperparameters
class NeuralForecaster(Forecaster):
    """Shared fit/predict/state machinery of the torch forecasters.

    The shared hyperparameters are declared here (a subclass redeclares one to change its
    default); a subclass adds its own and implements:
      - `window_length()`: points per training window;
      - `min_context()`: the shortest context `predict` accepts;
      - `build(dim)`: a fresh `nn.Module` for `dim` coordinates;
      - `loss(net, batch)`: the training loss of a batch of standardized windows `[B, window, dim]`;
      - `forecast(net, context, horizon)`: standardized `[B, ctx, dim]` -> `[B, horizon, dim]`.
    Learned state: `dim_`, `mean_`, `std_` (`[dim]`, float64), `losses_` (`[steps]`, the
    training loss per step) and `weights_` (the module's parameters, made on `state_dict()`).
    """

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    seed: int = 0
    dtype: str = "float32"  # or "float64" (`validate.dtype`)
    stride: int = 1
    grad_clip: float | None = 1.0

    def window_length(self) -> int:
        raise NotImplementedError

    def min_context(self) -> int:
        return 1

    def build(self, dim: int) -> nn.Module:
        raise NotImplementedError

    def loss(self, net: nn.Module, batch: Tensor) -> Tensor:
        raise NotImplementedError

    def forecast(self, net: nn.Module, context: Tensor, horizon: int) -> Tensor:
        raise NotImplementedError

    def check_hyperparams(self) -> None:
        """Validate the shared hyperparameters (subclasses extend it for their own)."""
        for name in ("steps", "batch_size", "stride"):
            validate.count(getattr(self, name), name)
        if not self.lr > 0:
            raise InvalidInputError(f"lr must be positive, got {self.lr!r}")
        validate.dtype(self.dtype)

    # --- learning -----------------------------------------------------------------------
    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        self.check_hyperparams()
        device, dtype = self.device, validate.dtype(self.dtype)
        dim = series[0].shape[-1]
        flat = torch.cat(series)
        mean = flat.mean(0)
        std = flat.std(0) if flat.shape[0] > 1 else torch.ones_like(mean)
        std = torch.where(std > 0, std, torch.ones_like(std))  # a constant coordinate stays as is
        length = self.window_length()
        starts = window_starts([s.shape[0] for s in series], length, self.stride)
        if starts.numel() == 0:
            raise InvalidInputError(
                f"series: {self.name} needs training series of at least {length} points (one window); "
                f"the longest has {max(s.shape[0] for s in series)}; give longer series or shorten the window"
            )
        data = ((flat - mean) / std).to(device, dtype)
        offsets = torch.arange(length, device=device)
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed)
            net = self.build(dim).to(device, dtype)
            gen = torch.Generator().manual_seed(self.seed)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, self.steps, eta_min=0.05 * self.lr)
            losses = torch.empty(self.steps, dtype=torch.float64, device=device)  # no host sync per step
            net.train()
            for step in range(self.steps):
                pick = starts[torch.randint(starts.numel(), (self.batch_size,), generator=gen)]
                batch = data[pick.to(device)[:, None] + offsets]  # [B, window, dim]
                loss = self.loss(net, batch)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if self.grad_clip:
                    nn.utils.clip_grad_norm_(net.parameters(), self.grad_clip)
                opt.step()
                schedule.step()
                losses[step] = loss.detach()
        net.eval()
        self._net = net
        self.dim_ = int(dim)
        self.mean_ = mean.to(device)
        self.std_ = std.to(device)
        self.losses_ = losses.cpu()

    # --- forecasting ----------------------------------------------------------------------
    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        if context.shape[-1] != self.dim_:
            raise InvalidInputError(
                f"context has {context.shape[-1]} coordinates; this {self.name} was fitted on {self.dim_}"
            )
        need = self.min_context()
        if context.shape[1] < need:
            raise InvalidInputError(
                f"context has {context.shape[1]} steps; {self.name} needs at least {need} "
                "(its lookback); give a longer context or build the model with a smaller lookback"
            )
        z = ((context - self.mean_) / self.std_).to(validate.dtype(self.dtype))
        with torch.no_grad():
            out = self.forecast(self._net, z, horizon)
        return out.to(torch.float64) * self.std_ + self.mean_

    # --- learned state --------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["weights_"] = {k: v.detach().clone() for k, v in self._net.state_dict().items()}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        state = dict(state)
        weights = state.pop("weights_", None)
        if weights is None:
            raise InvalidInputError(f"state for {self.name} has no 'weights_'; pass the output of state_dict()")
        super().load_state_dict(state)
        net = self.build(self.dim_).to(self.device, validate.dtype(self.dtype))
        net.load_state_dict(weights)
        net.eval()
        self._net = net

    def to(self, device: str | torch.device) -> NeuralForecaster:
        super().to(device)
        if getattr(self, "_net", None) is not None:
            self._net.to(self.device)
        return self


def roll_windows(step: Any, context: Tensor, horizon: int, lookback: int) -> Tensor:
    """Forecast `horizon` steps by applying `step` (`[B, lookback, d] -> [B, k, d]`) to its own
    output: the last `lookback` points of context + forecast feed each call. `[B, horizon, d]`."""
    window = context[:, -lookback:]
    parts, made = [], 0
    while made < horizon:
        y = step(window)
        parts.append(y)
        made += y.shape[1]
        window = torch.cat([window, y], dim=1)[:, -lookback:]
    return torch.cat(parts, dim=1)[:, :horizon]


class WindowForecaster(NeuralForecaster):
    """A model of the last `lookback` points -> the next `out_steps`; loss: MSE over them."""

    lookback: int
    out_steps: int

    def window_length(self) -> int:
        return self.lookback + self.out_steps

    def min_context(self) -> int:
        return self.lookback

    def check_hyperparams(self) -> None:
        super().check_hyperparams()
        validate.count(self.lookback, "lookback")
        validate.count(self.out_steps, "out_steps")

    def loss(self, net: nn.Module, batch: Tensor) -> Tensor:
        pred = net(batch[:, : self.lookback])
        return (pred - batch[:, self.lookback :]).square().mean()

    def forecast(self, net: nn.Module, context: Tensor, horizon: int) -> Tensor:
        return roll_windows(net, context, horizon, self.lookback)


# ----------------------------------------------------------------------------- MLP
class _MLPNet(nn.Module):
    """Flattened `[B, lookback, d]` -> `[B, out_steps, d]`, as increments on the last point."""

    def __init__(self, dim: int, lookback: int, out_steps: int, width: int, depth: int):
        super().__init__()
        self.out_steps, self.dim = out_steps, dim
        self.body = mlp(lookback * dim, width, depth, out_steps * dim)

    def forward(self, x: Tensor) -> Tensor:
        last = x[:, -1:]
        return last + self.body((x - last).flatten(1)).view(-1, self.out_steps, self.dim)


@register("mlp")
@hyperparameters
class MLPForecaster(WindowForecaster):
    """A multilayer perceptron on the flattened last `lookback` points of all coordinates,
    predicting the next `out_steps` points as offsets from the last one (`depth` ReLU layers
    of `width` units)."""

    lookback: int = 32
    out_steps: int = 8
    width: int = 256
    depth: int = 2

    def build(self, dim: int) -> nn.Module:
        return _MLPNet(dim, self.lookback, self.out_steps, self.width, self.depth)


# ----------------------------------------------------------------------------- N-BEATS
class _NBeatsBlock(nn.Module):
    """One generic N-BEATS block: a ReLU stack, then linear backcast and forecast heads."""

    def __init__(self, lookback: int, out_steps: int, width: int, layers: int):
        super().__init__()
        self.stack = nn.Sequential(*[m for i in range(layers)
                                     for m in (nn.Linear(lookback if i == 0 else width, width), nn.ReLU())])
        self.backcast = nn.Linear(width, lookback)
        self.forecast = nn.Linear(width, out_steps)

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.stack(x)
        return self.backcast(h), self.forecast(h)


class _NBeatsNet(nn.Module):
    """Channel-independent generic N-BEATS: each coordinate's `[lookback]` -> `[out_steps]` with
    the same weights; blocks subtract their backcast from the residual and add their forecasts.
    The input is taken relative to each channel's last value, which is added back."""

    def __init__(self, lookback: int, out_steps: int, width: int, layers: int, blocks: int):
        super().__init__()
        self.blocks = nn.ModuleList(_NBeatsBlock(lookback, out_steps, width, layers) for _ in range(blocks))

    def forward(self, x: Tensor) -> Tensor:
        B, L, d = x.shape
        series = x.transpose(1, 2).reshape(B * d, L)
        level = series[:, -1:]
        residual, total = series - level, 0.0
        for block in self.blocks:
            back, fore = block(residual)
            residual = residual - back
            total = total + fore
        return (total + level).view(B, d, -1).transpose(1, 2)


@register("nbeats")
@hyperparameters
class NBeatsForecaster(WindowForecaster):
    """N-BEATS, generic architecture (Oreshkin, Carpov, Chapados & Bengio 2020, ICLR), applied
    to each coordinate separately with shared weights: `blocks` blocks of `layers` ReLU layers
    of `width` units, doubly residual, `lookback` -> `out_steps` points."""

    lookback: int = 64
    out_steps: int = 16
    width: int = 256
    layers: int = 4
    blocks: int = 3

    def build(self, dim: int) -> nn.Module:
        return _NBeatsNet(self.lookback, self.out_steps, self.width, self.layers, self.blocks)


# ----------------------------------------------------------------------------- PatchTST
class _PatchTSTNet(nn.Module):
    """Channel-independent patch Transformer: per coordinate and window, standardize the
    lookback (instance normalization), cut it into patches of `patch` points every
    `patch_stride` (the last point repeated to fill the end), embed each patch linearly, add a
    learned position, run a Transformer encoder, and map the flattened patch tokens linearly to
    `out_steps` points, which are de-standardized. `[B, lookback, d] -> [B, out_steps, d]`."""

    def __init__(self, lookback: int, out_steps: int, patch: int, patch_stride: int, d_model: int,
                 heads: int, layers: int, ff: int, dropout: float):
        super().__init__()
        self.patch, self.patch_stride = patch, patch_stride
        self.n_patches = (lookback - patch) // patch_stride + 2
        self.embed = nn.Linear(patch, d_model)
        self.position = nn.Parameter(0.02 * torch.randn(self.n_patches, d_model))
        layer = nn.TransformerEncoderLayer(d_model, heads, ff, dropout, batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.head = nn.Linear(self.n_patches * d_model, out_steps)

    def forward(self, x: Tensor) -> Tensor:
        B, L, d = x.shape
        series = x.transpose(1, 2).reshape(B * d, L)
        mu = series.mean(-1, keepdim=True)
        sigma = (series.var(-1, keepdim=True, unbiased=False) + 1e-5).sqrt()
        z = (series - mu) / sigma
        z = torch.cat([z, z[:, -1:].expand(-1, self.patch_stride)], dim=-1)
        patches = z.unfold(-1, self.patch, self.patch_stride)  # [B*d, n_patches, patch]
        tokens = self.encoder(self.embed(patches) + self.position)
        y = self.head(self.norm(tokens).flatten(1)) * sigma + mu
        return y.view(B, d, -1).transpose(1, 2)


@register("patchtst")
@hyperparameters
class PatchTSTForecaster(WindowForecaster):
    """A small PatchTST-like model (Nie, Nguyen, Sinthong & Kalagnanam 2023, ICLR): channel
    independence, instance normalization, patches of `patch` points every `patch_stride` as
    tokens, `layers` pre-norm Transformer encoder layers (`d_model`, `heads`, `ff`; LayerNorm
    where the paper uses BatchNorm), a flatten-linear head to `out_steps` points."""

    lookback: int = 128  # context points the model reads
    out_steps: int = 32  # points forecast per call
    patch: int = 16  # points per token
    patch_stride: int = 8  # points between the starts of two patches
    d_model: int = 64  # token width
    heads: int = 4  # attention heads
    layers: int = 2  # encoder layers
    ff: int = 128  # width of each layer's feed-forward block
    dropout: float = 0.0  # in the encoder layers

    def check_hyperparams(self) -> None:
        super().check_hyperparams()
        validate.count(self.patch, "patch")
        validate.count(self.patch_stride, "patch_stride")
        if self.patch > self.lookback:
            raise InvalidInputError(f"patch ({self.patch}) must not exceed lookback ({self.lookback})")
        if self.d_model % self.heads:
            raise InvalidInputError(f"d_model ({self.d_model}) must be a multiple of heads ({self.heads})")

    def build(self, dim: int) -> nn.Module:
        return _PatchTSTNet(self.lookback, self.out_steps, self.patch, self.patch_stride, self.d_model,
                            self.heads, self.layers, self.ff, self.dropout)


# ----------------------------------------------------------------------------- GRU
class _GRUNet(nn.Module):
    """A GRU over the states, read out linearly as the increment to the next state."""

    def __init__(self, dim: int, hidden: int, layers: int):
        super().__init__()
        self.rnn = nn.GRU(dim, hidden, layers, batch_first=True)
        self.readout = nn.Linear(hidden, dim)

    def forward(self, x: Tensor, h: Tensor | None = None) -> tuple[Tensor, Tensor]:
        """`x` `[B, T, d]` -> next states `[B, T, d]` and the final hidden state."""
        out, h = self.rnn(x, h)
        return x + self.readout(out), h


@register("gru")
@hyperparameters
class GRUForecaster(NeuralForecaster):
    """A gated recurrent network that predicts the next state as the current one plus a
    learned increment. Trained with teacher forcing on windows of `seq_len + 1` points, the loss
    counted after `burn_in` steps; forecasts read the last `warmup` context points (all of them
    if None), then feed each prediction back."""

    hidden: int = 64
    layers: int = 1
    seq_len: int = 64
    burn_in: int = 16
    warmup: int | None = 128
    lr: float = 2e-3

    def check_hyperparams(self) -> None:
        super().check_hyperparams()
        validate.count(self.seq_len, "seq_len")
        if not 0 <= self.burn_in < self.seq_len:
            raise InvalidInputError(f"burn_in must be in [0, seq_len={self.seq_len}), got {self.burn_in!r}")

    def window_length(self) -> int:
        return self.seq_len + 1

    def build(self, dim: int) -> nn.Module:
        return _GRUNet(dim, self.hidden, self.layers)

    def loss(self, net: nn.Module, batch: Tensor) -> Tensor:
        pred, _ = net(batch[:, :-1])
        return (pred[:, self.burn_in :] - batch[:, self.burn_in + 1 :]).square().mean()

    def forecast(self, net: nn.Module, context: Tensor, horizon: int) -> Tensor:
        if self.warmup:
            context = context[:, -self.warmup :]
        pred, h = net(context)
        x = pred[:, -1:]
        out = [x]
        for _ in range(horizon - 1):
            x, h = net(x, h)
            out.append(x)
        return torch.cat(out, dim=1)

