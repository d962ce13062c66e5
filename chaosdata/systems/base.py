"""The `System` record and the decorators that register an equation with its metadata.

A system is one torch function (the equations) plus one literal entry (the facts: parameters,
initial condition, citation...). The decorators `flow`, `delay` and `map_` put both side by side
in the family modules of this package, so that they cannot drift apart.

Equation functions are written once for every use: they take a state `x` of shape `[..., dim]`
(any leading batch shape), a time `t`, and the parameters as keyword arguments, each a Python
float or a tensor that broadcasts against the batch shape `x.shape[:-1]`. They use no in-place
operations and no Python branching on tensor values, so `torch.func` and `torch.compile` work
through them.
"""

from __future__ import annotations

import copy
import functools
import inspect
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal, cast

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError, suggest
from chaosdata.registry import Registry

Kind = Literal["flow", "delay", "map"]
KINDS: tuple[str, ...] = ("flow", "delay", "map")
ParamValue = float | tuple  # a float, or nested tuples of floats for vector/matrix parameters

SYSTEMS: Registry[System] = Registry("system", listing="chaosdata.list_systems() (`chaosdata systems` in a shell)")


@dataclass(frozen=True, eq=False)
class System:
    """One chaotic system: its equations and the facts about it.

    `dim` is the dimension of the data a trajectory holds; for delay equations this is the
    10-lag delay embedding (as in dysts), while `state_dim` is the dimension of the DDE state.
    """

    name: str
    kind: Kind
    equations: Callable[..., Tensor] = field(repr=False)
    parameters: Mapping[str, ParamValue]
    initial_conditions: tuple[float, ...]
    description: str
    citation: str
    dt: float | None = None
    period: float | None = None
    nonautonomous: bool = False
    hamiltonian: bool = False
    unbounded_indices: tuple[int, ...] = ()
    state_dim: int | None = None
    inverse: Callable[..., Tensor] | None = field(default=None, repr=False)
    postprocess: Callable[..., Tensor] | None = field(default=None, repr=False)
    delay_parameter: str | None = None
    dysts_name: str | None = None
    notes: str = ""
    solver: Mapping[str, Any] = field(default_factory=dict)  # per-system integrator defaults
    # where the state makes sense, per coordinate (low, high) with None for no bound: sampled
    # initial conditions are kept inside (fractions in [0, 1], concentrations >= 0)
    domain: tuple[tuple[float | None, float | None], ...] | None = None
    # relative size of the seeded kick that turns the default initial condition into sampled
    # ones; smaller where the basin of attraction is thin (SprottQ)
    perturbation: float = 0.01

    @property
    def dim(self) -> int:
        return len(self.initial_conditions)

    @property
    def has_inverse(self) -> bool:
        return self.inverse is not None

    def required_period(self, use: str) -> float:
        """The period, for a `use` that needs one (said in the error): `InvalidInputError` when
        the system has none (a map, or a flow declared without one)."""
        if self.period is None:
            raise InvalidInputError(f"{self.name} has no period: {use}")
        return float(self.period)

    def delay_of(self, params: Mapping[str, Any]) -> Any:
        """The delay's value among bound `params` (`bind()`); `InvalidTypeError` unless the system
        is a delay equation."""
        if self.delay_parameter is None:
            raise InvalidTypeError(f"{self.name} is a {self.kind}, not a delay equation: it has no delay")
        return params[self.delay_parameter]

    @property
    def invariants(self) -> dict[str, Any] | None:
        """The invariants chaosdata computed for this system (Lyapunov spectrum, dimensions,
        period, statistics, with uncertainties, settings and self-checks), or None if it has
        none. Read from the package data written by `generation/compute_invariants.py`; a copy."""
        entry = _stored_invariants().get(self.name)
        return copy.deepcopy(entry) if entry is not None else None

    # ------------------------------------------------------------------ parameters
    def bind(self, overrides: Mapping[str, Any] | None = None) -> dict[str, float | Tensor]:
        """Default parameters updated by `overrides`, validated; array-valued ones as tensors.

        A vector or matrix parameter is a tensor whose trailing axes are the array's axes
        (index it as `m[..., i]` or `k[..., i, j]`); leading axes broadcast over the batch.
        """
        overrides = dict(overrides or {})
        unknown = [k for k in overrides if k not in self.parameters]
        if unknown:
            raise InvalidInputError(
                f"{self.name} has no parameter {unknown[0]!r}; its parameters are "
                f"{sorted(self.parameters)}.{suggest(unknown[0], self.parameters)}"
            )
        bound: dict[str, float | Tensor] = {}
        for key, default in self.parameters.items():
            value = overrides.get(key, default)
            if isinstance(value, Tensor):
                bound[key] = value
            elif isinstance(value, (tuple, list)):
                bound[key] = torch.tensor(value, dtype=torch.float64)
            elif isinstance(value, (int, float)) and not isinstance(value, bool):
                bound[key] = float(value)
            else:
                raise InvalidTypeError(
                    f"{self.name}: parameter {key!r} must be a float or a tensor, "
                    f"got {type(value).__name__}"
                )
        return bound

    @staticmethod
    def _cast_params(params: Mapping[str, float | Tensor], like: Tensor) -> dict[str, Any]:
        return {
            k: v.to(dtype=like.dtype, device=like.device) if isinstance(v, Tensor) else v
            for k, v in params.items()
        }

    def _check_state(self, x: Any, what: str, dim: int) -> None:
        validate.tensor(x, f"{self.name}: {what}", shape=f"of shape [..., {dim}]")
        if x.ndim == 0 or x.shape[-1] != dim:
            raise InvalidInputError(
                f"{self.name}: {what} must have last dimension {dim}, got shape {tuple(x.shape)}"
            )
        if not x.is_floating_point():
            raise InvalidTypeError(
                f"{self.name}: {what} must be a floating-point tensor, got {x.dtype}"
            )

    def _time(self, t: Any, like: Tensor) -> Tensor | float:
        if isinstance(t, Tensor):
            return t.to(dtype=like.dtype, device=like.device)
        if isinstance(t, (int, float)) and not isinstance(t, bool):
            return float(t)
        raise InvalidTypeError(f"{self.name}: t must be a float or a tensor, got {type(t).__name__}")

    # ------------------------------------------------------------------ evaluation
    def rhs(self, x: Tensor, *args: Any, **params: Any) -> Tensor:
        """Time derivative, with the shape of `x`.

        Flows: `rhs(x, t=0.0, **params)`. Delay equations: `rhs(x, x_delayed, t=0.0, **params)`,
        where `x` and `x_delayed` have shape `[..., state_dim]`.
        """
        if self.kind == "map":
            raise InvalidTypeError(f"{self.name} is a map: use step(x, **params), not rhs")
        n_state = 2 if self.kind == "delay" else 1
        if len(args) > n_state:
            raise InvalidTypeError(f"{self.name}.rhs takes at most {n_state + 1} positional arguments")
        if self.kind == "delay" and not args:
            raise InvalidTypeError(f"{self.name} is a delay equation: call rhs(x, x_delayed, t)")
        t = params.pop("t", args[n_state - 1] if len(args) == n_state else 0.0)
        dim = self.state_dim or self.dim
        self._check_state(x, "x", dim)
        bound = self._cast_params(self.bind(params), x)
        if self.kind == "delay":
            x_delayed = args[0]
            self._check_state(x_delayed, "x_delayed", dim)
            return self.equations(x, x_delayed, self._time(t, x), **bound)
        return self.equations(x, self._time(t, x), **bound)

    def step(self, x: Tensor, **params: Any) -> Tensor:
        """One iteration of a map, with the shape of `x` (`[..., dim]`)."""
        if self.kind != "map":
            raise InvalidTypeError(f"{self.name} is a {self.kind}: use rhs(...), not step")
        self._check_state(x, "x", self.dim)
        return self.equations(x, **self._cast_params(self.bind(params), x))

    def step_inverse(self, x: Tensor, **params: Any) -> Tensor:
        """One iteration of the inverse map (only where `has_inverse`)."""
        if self.inverse is None:
            raise InvalidTypeError(f"{self.name} has no inverse in the catalogue")
        self._check_state(x, "x", self.dim)
        return self.inverse(x, **self._cast_params(self.bind(params), x))

    def to_dict(self) -> dict[str, Any]:
        """The metadata as plain JSON-able values (no code)."""
        return {
            "name": self.name,
            "kind": self.kind,
            "dim": self.dim,
            "state_dim": self.state_dim or self.dim,
            "parameters": {k: _thaw(v) for k, v in self.parameters.items()},
            "initial_conditions": list(self.initial_conditions),
            "dt": self.dt,
            "period": self.period,
            "nonautonomous": self.nonautonomous,
            "hamiltonian": self.hamiltonian,
            "unbounded_indices": list(self.unbounded_indices),
            "has_inverse": self.has_inverse,
            "delay_parameter": self.delay_parameter,
            "dysts_name": self.dysts_name or self.name,
            "citation": self.citation,
            "description": self.description,
            "notes": self.notes,
            "solver": dict(self.solver),
            "domain": [list(b) for b in self.domain] if self.domain is not None else None,
            "perturbation": self.perturbation,
        }


# ---------------------------------------------------------------------- stored invariants
INVARIANTS_FILE = "invariants.json"  # in chaosdata/systems/data/


@functools.cache
def _stored_invariants() -> dict[str, dict[str, Any]]:
    """The `systems` table of the generated invariants file (empty if it is not there)."""
    path = resources.files("chaosdata.systems").joinpath("data", INVARIANTS_FILE)
    if not path.is_file():
        return {}
    with path.open() as f:
        return json.load(f).get("systems", {})


# ---------------------------------------------------------------------- registration
def _freeze(value: Any) -> ParamValue:
    """A parameter as an immutable float, or nested tuples of floats (vectors, matrices)."""
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    return float(value)


def freeze_params(params: Mapping[str, Any]) -> Mapping[str, ParamValue]:
    """A read-only copy of `params` with lists made tuples: a system's parameters cannot be
    changed in place (`System.bind` gives a fresh mutable set)."""
    return MappingProxyType({key: _freeze(value) for key, value in params.items()})


def _thaw(value: ParamValue) -> Any:
    return [_thaw(v) for v in value] if isinstance(value, tuple) else value


def _check_signature(fn: Callable, params: Mapping[str, Any], n_positional: int) -> None:
    sig = inspect.signature(fn)
    names = list(sig.parameters)
    keyword = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
    if len(names) - len(keyword) != n_positional or set(keyword) != set(params):
        raise TypeError(
            f"{fn.__name__}: the equation must take {n_positional} positional arguments and "
            f"exactly its parameters {sorted(params)} as keyword-only arguments; "
            f"its signature is {sig}"
        )


def _register(system: System) -> System:
    if system.kind not in KINDS:
        raise ValueError(f"{system.name}: kind must be one of {KINDS}")
    if any(not (0 <= i < system.dim) for i in system.unbounded_indices):
        raise ValueError(f"{system.name}: unbounded_indices out of range")
    if not all(math.isfinite(v) for v in system.initial_conditions):
        raise ValueError(f"{system.name}: non-finite initial condition")
    if not (0 < system.perturbation < 1):
        raise ValueError(f"{system.name}: perturbation must be a relative kick size in (0, 1), "
                         f"got {system.perturbation!r}")
    if system.domain is not None:
        n = system.state_dim or system.dim
        inside = all((lo is None or lo <= v) and (hi is None or v <= hi)
                     for v, (lo, hi) in zip(system.initial_conditions[:n], system.domain, strict=False))
        if len(system.domain) != n or not inside:
            raise ValueError(f"{system.name}: domain must give (low, high) for each of {n} coordinates "
                             "and contain the initial condition")
    return SYSTEMS.add(system.name, system)


def _decorator(kind: Kind, n_positional: int, name: str | None, meta: dict[str, Any]):
    params = meta.pop("parameters")

    def register(fn: Callable[..., Tensor]) -> Callable[..., Tensor]:
        _check_signature(fn, params, n_positional)
        inverse = meta.pop("inverse", None)
        domain = meta.pop("domain", None)
        if inverse is not None:
            _check_signature(inverse, params, n_positional)
        _register(
            System(
                name=name or fn.__name__,
                kind=kind,
                equations=fn,
                parameters=freeze_params(params),
                initial_conditions=tuple(float(v) for v in meta.pop("initial_conditions")),
                unbounded_indices=tuple(meta.pop("unbounded_indices", ())),
                domain=tuple(tuple(b) for b in domain) if domain is not None else None,
                inverse=inverse,
                **meta,
            )
        )
        return fn

    return register


def flow(*, name: str | None = None, **meta: Any):
    """Register `fn(x, t, *, **parameters)` as an ODE. `meta` holds the `System` fields."""
    return _decorator("flow", 2, name, meta)


def delay(*, name: str | None = None, **meta: Any):
    """Register `fn(x, x_delayed, t, *, **parameters)` as a delay equation (method of steps)."""
    meta.setdefault("delay_parameter", "tau")
    return _decorator("delay", 3, name, meta)


def map_(*, name: str | None = None, **meta: Any):
    """Register `fn(x, *, **parameters)` as a discrete map; `inverse=` registers its inverse."""
    return _decorator("map", 1, name, meta)


def also_register(fn: Callable[..., Tensor], *, name: str, kind: Kind, **meta: Any) -> None:
    """Register a second system that shares an equation with another (e.g. new parameters)."""
    n_positional = {"flow": 2, "delay": 3, "map": 1}[kind]
    if kind == "delay":
        meta.setdefault("delay_parameter", "tau")
    _decorator(kind, n_positional, name, meta)(fn)


def stack(*components: Tensor | float, like: Tensor) -> Tensor:
    """Stack components on a new last axis, broadcasting each to the batch shape of `like`.

    Lets an equation return constants (`dz/dt = omega`) or parameter tensors that broadcast
    against the batch, as in `stack(y, omega, like=x)`.
    """
    try:  # the common case, kept cheap (it runs at every stage): components of the batch shape
        out = torch.stack(cast("tuple[Tensor, ...]", components), dim=-1)  # a float among them: TypeError
        if out.shape == like.shape:
            return out
    except (TypeError, RuntimeError):  # a float, or shapes that only broadcast
        pass
    base = like[..., 0]
    shape = torch.broadcast_shapes(base.shape, *(c.shape for c in components if isinstance(c, Tensor)))
    return torch.stack(
        [(c if isinstance(c, Tensor) else torch.full_like(base, c)).expand(shape) for c in components],
        dim=-1,
    )


def per_coordinate(param: Tensor | float) -> Tensor | float:
    """A scalar parameter made to broadcast against a whole state `[..., dim]`.

    Scalar parameters broadcast against the batch shape `x.shape[:-1]`; equations written on
    the whole state vector at once need them with a trailing axis.
    """
    return param.unsqueeze(-1) if isinstance(param, Tensor) else param
