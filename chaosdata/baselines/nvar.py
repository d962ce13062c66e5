"""Next-generation reservoir computing (NVAR; Gauthier, Bollt, Griffith & Barbosa 2021,
Nat. Commun. 12:5564): ridge regression from polynomial features of a few delay taps.

The feature vector is a constant, the `k` taps `x_t, x_{t-s}, ..., x_{t-(k-1)s}` (the linear
part, `k*dim` entries) and every distinct monomial of the linear part of degree 2..`order`.
For Lorenz with k = 2 that is 1 + 6 + 21 = 28 features. The model regresses the increment
`x_{t+1} - x_t` by default, as the paper does. Defaults are the paper's Lorenz settings
(k = 2, s = 1, order 2, ridge 2.5e-6), except that states are standardized per coordinate
(`standardize=False` reproduces the paper's raw units).
"""

from __future__ import annotations

import itertools
from functools import lru_cache

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.baselines.base import hyperparameters, register
from chaosdata.baselines.linear import DelayRidge


@lru_cache(maxsize=64)
def _monomial_index(m: int, degree: int) -> tuple[tuple[int, ...], ...]:
    return tuple(itertools.combinations_with_replacement(range(m), degree))


def polynomial_features(d: Tensor, order: int) -> Tensor:
    """`d` `[..., m]` -> `[..., n]`: constant, linear terms, then every distinct monomial of
    degree 2..`order` (in `itertools.combinations_with_replacement` order)."""
    parts = [torch.ones_like(d[..., :1]), d]
    for degree in range(2, order + 1):
        idx = torch.tensor(_monomial_index(d.shape[-1], degree), device=d.device)  # [n_monomials, degree]
        parts.append(d[..., idx].prod(-1))
    return torch.cat(parts, dim=-1)


def n_features(dim: int, k: int, order: int) -> int:
    """How many features `polynomial_features` makes from `k` taps of a `dim`-dimensional state."""
    m = k * dim
    return 1 + sum(len(_monomial_index(m, p)) for p in range(1, order + 1))


@register("nvar")
@hyperparameters
class NVAR(DelayRidge):
    """NG-RC: `k` taps `s` steps apart, polynomial features up to `order`, ridge `ridge`."""

    k: int = 2
    s: int = 1
    order: int = 2
    ridge: float = 2.5e-6
    increment: bool = True

    def taps(self) -> tuple[int, int]:
        for name in ("k", "s", "order"):
            validate.count(getattr(self, name), name)
        return self.k, self.s

    def features(self, d: Tensor) -> Tensor:
        return polynomial_features(d, self.order)
