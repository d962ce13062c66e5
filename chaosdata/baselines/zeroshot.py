"""Zero-shot forecasters: models that learn nothing from the data they are given (pretrained
foundation models), behind the forecaster interface.

A zero-shot model is any object with `predict(context, horizon)` (`Predictor`): `context`
`[batch, context_len, dim]` float64 -> forecast `[batch, horizon, dim]`. `register_predictor`
puts a user's own one in the registry, so `run_benchmark(..., models=["mine"])` and
`chaosdata benchmark --models mine` score it like every other forecaster; `chronos:<checkpoint>`
(`chronos_models.py`) is the same kind of forecaster made from a Chronos checkpoint.

`fit` checks the series and records their dimension only; `fit_predict_each` forecasts every
context in one call, which is what one fit per context amounts to for a model that sees only
its context (a sampling model draws other samples in a batch than alone: same distribution,
same seed, other draws).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.baselines.base import Forecaster, as_series_list, check_context, register
from chaosdata.errors import InvalidInputError, InvalidTypeError


class Predictor(Protocol):
    """What a zero-shot model must offer: a forecast from a context, nothing learned."""

    def predict(self, context: Tensor, horizon: int) -> Tensor:
        """`context` `[batch, context_len, dim]` -> `[batch, horizon, dim]`."""
        ...


class ZeroShotForecaster(Forecaster):
    """Base of zero-shot forecasters: subclasses give `predictor()`, built from their
    hyperparameters, and take `context_length` (None: the whole context; else the last that
    many points, which must exist)."""

    context_length: int | None = None

    def predictor(self) -> Predictor:
        raise NotImplementedError(f"{type(self).__name__} must implement predictor()")

    def fit(self, series: Sequence[Tensor] | Tensor, *, dt: float | None = None, system: Any = None
            ) -> ZeroShotForecaster:
        """Nothing to learn: the series are checked and their dimension kept."""
        self.dim_ = as_series_list(series)[0].shape[-1]
        return self

    def predict(self, context: Tensor, horizon: int) -> Tensor:
        """The predictor's forecast `[batch, horizon, dim]` from the last `context_length` points."""
        context = check_context(context, horizon)
        self._check_fitted()
        if context.shape[-1] != self.dim_:
            raise InvalidInputError(f"{self.name}: context has dim {context.shape[-1]}, the series given to fit had "
                                    f"{self.dim_}; fit it on series of this dimension")
        n = self.context_length
        if n is not None:
            n = validate.count(n, f"{self.name}: context_length", hint="or None: the whole context")
            if n > context.shape[1]:
                raise InvalidInputError(f"{self.name}: context_length {n} is longer than the context given "
                                        f"({context.shape[1]} points); set context_length <= {context.shape[1]} "
                                        "or leave it out to use the whole context")
            context = context[:, -n:]
        out = self.predictor().predict(context.to(torch.float64), horizon)
        expected = (context.shape[0], horizon, context.shape[2])
        match out:  # what a user's or a third-party predictor returned: matched, not trusted
            case Tensor() if tuple(out.shape) == expected:
                return out.to(context.device, context.dtype)
            case Tensor():
                got: object = tuple(out.shape)
            case _:
                got = type(out).__name__
        raise InvalidInputError(f"{self.name}: predict(context, horizon) returned {got}; a zero-shot model "
                                f"must return a tensor [batch, horizon, dim] = {expected}")

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None
                         ) -> Tensor:
        """All contexts in one call (see the module docstring)."""
        contexts = check_context(contexts, horizon)
        model = type(self)(**self.hyperparams()).to(self.device)
        return model.fit(contexts[0]).predict(contexts, horizon)


def register_predictor(name: str, predictor: Predictor) -> type[Forecaster]:
    """Register `predictor` (any object with `predict(context, horizon)`, see `Predictor`) as the
    zero-shot forecaster `name`; its one hyperparameter is `context_length`. Returns the class.
    A Dask cluster's workers find it only if they run the registration too (import it from a
    module they load)."""
    if not callable(getattr(predictor, "predict", None)):
        raise InvalidTypeError(f"register_predictor({name!r}, ...): the predictor must have a method "
                               f"predict(context, horizon); got {type(predictor).__name__}")

    def __init__(self: ZeroShotForecaster, context_length: int | None = None) -> None:
        self.context_length = context_length

    made = type(f"ZeroShot_{name}", (ZeroShotForecaster,), {
        "__init__": __init__, "predictor": lambda self: predictor,
        "__doc__": f"Zero-shot forecaster {name!r}: {type(predictor).__name__}.predict behind the interface."})
    return register(name)(made)
