"""Checking and shaping the `(pred, true)` pair that every metric takes.

Metrics compare a forecast `pred` with the truth `true`, both `[batch, time, dim]`; a single
series `[time, dim]` is read as a batch of one. Values are compared in float64 (float32 forecasts
are upcast), on whatever device the tensors live.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError


def from_numpy(x: np.ndarray, name: str) -> Tensor:
    """A real numpy array as a tensor, also a reversed view (x[::-1]) or one in non-native byte
    order (e.g. '>f8'), which `torch.from_numpy` refuses; other dtypes are an InvalidTypeError."""
    if x.dtype.kind not in "biuf":
        raise InvalidTypeError(f"{name} must hold real numbers, got a numpy array of dtype {x.dtype}")
    if not x.dtype.isnative or any(s < 0 for s in x.strides):
        x = np.array(x, dtype=x.dtype.newbyteorder("="))
    return torch.from_numpy(x)


def as_series(x: Tensor | np.ndarray, name: str) -> Tensor:
    """`x` as a float64 tensor `[batch, time, dim]` (a 2-D `[time, dim]` gains a batch of one)."""
    if isinstance(x, np.ndarray):
        x = from_numpy(x, name)
    x = validate.tensor(x, name, shape="or numpy array [batch, time, dim]")
    if x.ndim == 2:
        x = x.unsqueeze(0)
    if x.ndim != 3:
        raise InvalidInputError(
            f"{name} must have shape [batch, time, dim] (or [time, dim]), got {tuple(x.shape)}; "
            "add a trailing dim of 1 for a univariate series"
        )
    if 0 in x.shape:
        raise InvalidInputError(f"{name} needs at least one series, one time point and one dimension, got {tuple(x.shape)}")
    if x.is_complex():
        raise InvalidTypeError(f"{name} must be real, got {x.dtype}")
    return x.to(torch.float64)


def pair(pred: Tensor | np.ndarray, true: Tensor | np.ndarray) -> tuple[Tensor, Tensor]:
    """`pred` and `true` as float64 `[batch, time, dim]` of the same shape, on `true`'s device."""
    p, t = as_series(pred, "pred"), as_series(true, "true")
    if p.shape != t.shape:
        raise InvalidInputError(
            f"pred and true must have the same shape [batch, time, dim], got {tuple(p.shape)} and "
            f"{tuple(t.shape)}; cut the forecast to the horizon of the truth"
        )
    return p.to(t.device), t


def per_dim_scale(scale: Tensor | np.ndarray | float | None, like: Tensor, name: str = "scale") -> Tensor | None:
    """A user-given per-dimension scale as float64 `[batch or 1, 1, dim]`, broadcastable to `like`."""
    if scale is None:
        return None
    if isinstance(scale, np.ndarray):
        scale = from_numpy(scale, name)
    s = torch.as_tensor(scale, dtype=torch.float64, device=like.device)
    batch, _, dim = like.shape
    if s.ndim == 0:
        s = s.expand(dim)
    if s.ndim == 1 and s.shape[0] == dim:
        s = s.view(1, 1, dim)
    elif s.ndim == 2 and s.shape in ((batch, dim), (1, dim)):
        s = s.unsqueeze(1)
    else:
        raise InvalidInputError(f"{name} must be a number, [dim] or [batch, dim] (dim={dim}, batch={batch}), "
                                f"got shape {tuple(s.shape)}")
    if not bool(torch.isfinite(s).all() and (s > 0).all()):
        raise InvalidInputError(f"{name} must be finite and > 0 in every dimension")
    return s
