"""The one forecaster interface, and the registry that finds every forecaster by name.

A forecaster follows the estimator convention: the constructor stores hyperparameters only
(each one an attribute of the same name as its constructor argument; `@hyperparameters` makes
that constructor from the class's declared fields), `fit(series)` learns
and returns `self`, `predict(context, horizon)` forecasts and never refits. Learned state is
held in attributes whose names end with an underscore (`weights_`, `mean_`), so settings
(`hyperparams()`) and learned state (`state_dict()`) stay separate, and `save`/`load` round-trip
both with `torch.save`.

Subclasses implement `_fit(series, dt, system)` and `_predict(context, horizon)` on validated
inputs (or override `fit`/`predict` entirely, e.g. neural models that train in float32), and
register themselves with `@register("name")`.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar, dataclass_transform

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import ChaosdataError, InvalidInputError
from chaosdata.registry import Registry

F = TypeVar("F", bound="Forecaster")

# every forecaster by name, and the families named `<prefix>:<name>` made on first use (darts' models)
FORECASTERS: Registry[type[Forecaster]] = Registry("forecaster")
FORMAT_VERSION = 1


class NotFittedError(ChaosdataError, RuntimeError):
    """`predict` or `state_dict` called on a forecaster that has not been fitted."""


def register(name: str, *, keep_case: bool = False) -> Callable[[type[F]], type[F]]:
    """Class decorator: add a forecaster to the registry under `name` (lower case, unique).
    `keep_case`: the name holds a path or Hub id (`chronos:<checkpoint>`), so the class keeps it
    as written, and another process (a Dask worker) can rebuild the class from it; lookups
    still ignore case."""

    def decorate(cls: type[F]) -> type[F]:
        FORECASTERS.add(name, cls)
        cls.name = name if keep_case else name.lower()
        return cls

    return decorate


def register_family(prefix: str, make: Callable[[str], type[Forecaster]]) -> None:
    """Forecasters named `<prefix>:<name>`: `make(name)` builds the class (registered under the
    full name on first use) or raises an error naming the fix (unknown name, package missing)."""
    FORECASTERS.add_family(prefix, make)


@dataclass_transform(kw_only_default=True, eq_default=False)
def hyperparameters(cls: type[F]) -> type[F]:
    """Class decorator: the class's annotated fields (with their defaults) are its hyperparameters,
    taken by keyword by a generated constructor that stores each as the attribute of its name
    (inherited fields come first; redeclaring one changes its default)."""
    return dataclass(eq=False, repr=False, kw_only=True)(cls)


def list_forecasters() -> list[str]:
    """Registered forecaster names, sorted."""
    return sorted(FORECASTERS)


def forecaster_class(name: str) -> type[Forecaster]:
    """The class registered under `name` (case-insensitive, see `FORECASTERS`)."""
    return FORECASTERS.get(name)


def get_forecaster(name: str, **hyperparams: Any) -> Forecaster:
    """A new, unfitted forecaster `name` with the given hyperparameters (others at defaults)."""
    cls = forecaster_class(name)
    accepted = cls.hyperparam_names()
    unknown = sorted(set(hyperparams) - set(accepted))
    if unknown:
        raise InvalidInputError(
            f"forecaster {cls.name!r} has no hyperparameter(s) {unknown}; it accepts {list(accepted)}"
        )
    return cls(**hyperparams)


def as_series_list(series: Sequence[Tensor] | Tensor, dtype: torch.dtype = torch.float64) -> list[Tensor]:
    """Training series as a list of `[time, dim]` tensors in `dtype`.

    Accepts one `[time, dim]` tensor, a `[n, time, dim]` stack, or a list of `[time, dim]`
    tensors (lengths may differ, dimensions may not). A `[time]` tensor is one univariate series.
    """
    if isinstance(series, (list, tuple)):
        items = [validate.tensor(s, f"series[{i}]", shape="[time, dim]", ndims=(1, 2)) for i, s in enumerate(series)]
    else:
        series = validate.tensor(series, "series", shape="[time, dim], [n, time, dim] or a list of [time, dim]",
                                 ndims=(1, 2, 3))
        items = list(series.unbind(0)) if series.ndim == 3 else [series]
    if not items:
        raise InvalidInputError("series holds no series; give at least one [time, dim] tensor")
    items = [s[:, None] if s.ndim == 1 else s for s in items]
    dims = {s.shape[-1] for s in items}
    if len(dims) != 1:
        raise InvalidInputError(f"all series must have the same dim; got dims {sorted(dims)}")
    out = [s.to(dtype) for s in items]
    for i, s in enumerate(out):
        if not torch.isfinite(s).all():
            raise InvalidInputError(f"series[{i}] holds NaN or inf; drop invalid trajectories before fitting")
    return out


def check_context(context: Tensor, horizon: int) -> Tensor:
    """Validate `context` `[batch, context_len, dim]` (a `[context_len, dim]` gets a batch of 1)."""
    context = validate.tensor(context, "context", shape="[batch, context_len, dim]")
    if context.ndim == 2:
        context = context[None]
    if context.ndim != 3 or context.shape[1] < 1:
        raise InvalidInputError(f"context must be [batch, context_len, dim] with context_len >= 1; got {tuple(context.shape)}")
    validate.count(horizon, "horizon", hint="forecast steps")
    return context


class Forecaster:
    """Base class: hyperparameters in the constructor, learned state in `*_` attributes.

    `fit(series)`: `series` is a list of `[time, dim]` training trajectories (or a stacked
    tensor); `dt` is the sampling step in time units and `system` the catalogue system (name or
    `System`), for models that use them (the oracle). `predict(context, horizon)`: `context`
    `[batch, context_len, dim]` -> forecast `[batch, horizon, dim]`, on the context's device and
    in its dtype. Classical models compute in float64.
    """

    name: str = "forecaster"

    # --- settings -----------------------------------------------------------------------
    @classmethod
    def hyperparam_names(cls) -> tuple[str, ...]:
        """The constructor's argument names: the hyperparameters."""
        params = inspect.signature(cls.__init__).parameters
        return tuple(
            p for p, v in params.items() if p != "self" and v.kind not in (v.VAR_POSITIONAL, v.VAR_KEYWORD)
        )

    def hyperparams(self) -> dict[str, Any]:
        """The settings this forecaster was built with (constructor arguments), by name."""
        return {k: getattr(self, k) for k in self.hyperparam_names()}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.hyperparams().items())
        return f"{type(self).__name__}({args})"

    # --- learning and forecasting ---------------------------------------------------------
    def fit(self: F, series: Sequence[Tensor] | Tensor, *, dt: float | None = None, system: Any = None) -> F:
        """Learn from training series (each `[time, dim]`); returns self."""
        self._fit(as_series_list(series), dt=dt, system=system)
        return self

    def predict(self, context: Tensor, horizon: int) -> Tensor:
        """Forecast `[batch, horizon, dim]` from `context` `[batch, context_len, dim]`."""
        context = check_context(context, horizon)
        self._check_fitted()
        device, dtype = context.device, context.dtype
        out = self._predict(context.to(self.device, torch.float64), horizon)
        return out.to(device, dtype)

    def fit_predict_each(self, contexts: Tensor, horizon: int, *, dt: float | None = None, system: Any = None) -> Tensor:
        """Fit a fresh forecaster with these settings on each context alone and forecast from it:
        `contexts` `[batch, context_len, dim]` -> `[batch, horizon, dim]` (the zero-shot setting,
        where a model sees nothing but the context). This loop is the definition; models may
        override it with a batched computation that gives the same forecasts (to rounding)."""
        contexts = check_context(contexts, horizon)
        out = []
        for i in range(contexts.shape[0]):
            model = type(self)(**self.hyperparams()).to(self.device)
            model.fit(contexts[i], dt=dt, system=system)
            out.append(model.predict(contexts[i:i + 1], horizon))
        return torch.cat(out)

    def _fit(self, series: list[Tensor], *, dt: float | None, system: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement _fit (or override fit)")

    def _predict(self, context: Tensor, horizon: int) -> Tensor:
        raise NotImplementedError(f"{type(self).__name__} must implement _predict (or override predict)")

    # --- learned state --------------------------------------------------------------------
    @property
    def is_fitted(self) -> bool:
        return any(k.endswith("_") and not k.startswith("_") for k in vars(self))

    def _check_fitted(self) -> None:
        if not self.is_fitted:
            raise NotFittedError(f"{type(self).__name__} is not fitted; call .fit(series) before this")

    @property
    def device(self) -> torch.device:
        """Where the learned tensors live (CPU until `.to(device)`)."""
        return getattr(self, "_device", torch.device("cpu"))

    def state_dict(self) -> dict[str, Any]:
        """The learned state: every public attribute ending in `_` (tensors, numbers, strings)."""
        self._check_fitted()
        return {k: v for k, v in vars(self).items() if k.endswith("_") and not k.startswith("_")}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Set the learned state from `state_dict()` output (tensors moved to `self.device`)."""
        bad = [k for k in state if not k.endswith("_") or k.startswith("_")]
        if bad:
            raise InvalidInputError(f"state keys must be learned attributes ending in '_'; got {bad}")
        for k, v in state.items():
            setattr(self, k, v.to(self.device) if isinstance(v, Tensor) else v)

    def to(self: F, device: str | torch.device) -> F:
        """Move the learned tensors to `device`; later fits and predictions run there."""
        self._device = torch.device(device)
        for k, v in list(vars(self).items()):
            if k.endswith("_") and isinstance(v, Tensor):
                setattr(self, k, v.to(self._device))
        return self

    # --- persistence ----------------------------------------------------------------------
    def save(self, path: str | os.PathLike) -> None:
        """Write name, hyperparameters and learned state with `torch.save` (tensors on CPU)."""
        state = {k: v.cpu() if isinstance(v, Tensor) else v for k, v in self.state_dict().items()}
        torch.save(
            {"format": FORMAT_VERSION, "name": self.name, "hyperparams": self.hyperparams(), "state": state},
            os.fspath(path),
        )

    @classmethod
    def load(cls, path: str | os.PathLike, map_location: str | torch.device = "cpu") -> Forecaster:
        """Rebuild a saved forecaster: `Forecaster.load(p)` finds the class by its saved name."""
        payload = torch.load(os.fspath(path), map_location=map_location, weights_only=True)
        saved_format = payload.get("format") if isinstance(payload, dict) else None
        if saved_format != FORMAT_VERSION:
            raise InvalidInputError(f"{path} is not a chaosdata forecaster file (format {FORMAT_VERSION})")
        target = forecaster_class(payload["name"]) if cls is Forecaster else cls
        if target.name != payload["name"]:
            raise InvalidInputError(
                f"{path} holds a {payload['name']!r} forecaster, not {target.name!r}; load it with Forecaster.load"
            )
        model = target(**payload["hyperparams"])
        model._device = torch.device(map_location)
        model.load_state_dict(payload["state"])
        return model
