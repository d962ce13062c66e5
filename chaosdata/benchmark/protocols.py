"""Benchmark protocols: how each system's forecasting task is made, as frozen values.

A protocol turns a system into a `Task`: contexts `[n_ics, context, dim]` (what models see),
the true continuations `[n_ics, horizon, dim]`, the raw contexts for the oracle (before the
system's `postprocess`), the sampling step and the Lyapunov time. Models that train fit on
each context alone (`fit_on="context"`: one fit per initial condition, no other data).

Maps are sampled once per iteration whatever the protocol says (their Lyapunov time is in
iterations, so 300 forecast steps are 300 iterations, 300 / T_lambda Lyapunov times); delay
equations are sampled per Lyapunov time like flows, as their 10-column delay embedding.

Protocols with a training trajectory (`train_points` > 0, the Gilpin 2023 ones) draw one
more initial condition per system: its first `train_points` points are `Task.train`, on which
models are tuned (`chaosdata.benchmark.tuning`) before they are fitted on each context.

Data come from `make_trajectories` (deterministic per seed; the seed of each system is derived
from the protocol's base seed and the system's name with SHA-256), so a task is a pure function
of (protocol, system, seed). The solver tolerance is `rtol` (1e-10 by default, looser than the
catalogue's 1e-13 to make the benchmark data cheaper): by the figures in DESIGN.md, scipy's
DOP853 stays within 1% of a 1e-13 reference on Lorenz for 17.7 Lyapunov times at 1e-10, past
the 10 Lyapunov times of the zero-shot horizon and the 17 of context + horizon, so the truth
is accurate over the part of the trajectory that is scored.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError
from chaosdata.integrate import Sampling, SolverSettings
from chaosdata.integrate.trajectories import make_trajectories
from chaosdata.registry import Registry
from chaosdata.systems import System, get_system, list_systems


class SkipSystem(Exception):
    """A protocol cannot be run on a system (the reason is the message); recorded, not fatal."""


@dataclass(frozen=True)
class Protocol:
    """One benchmark protocol.

    `timescale`/`pts_per_step` set the sampling (`"lyapunov"`: `pts_per_step` points per
    Lyapunov time; `"period"`: per dominant period); maps are sampled once per iteration.
    `context` and `horizon` are in steps; `univariate` keeps the first coordinate only;
    `free_run` marks the attractor protocol (long generation compared by invariant measures).
    `transient` is in periods (iterations for maps; Lyapunov times for delay equations sampled
    per Lyapunov time). `train_points` > 0: a training trajectory of that many points from its
    own initial condition, for tuning on its last `tune_horizon` points. `kinds`: the kinds of
    system the protocol applies to (others are skipped).
    """

    name: str
    description: str
    n_ics: int
    context: int
    horizon: int
    timescale: str
    pts_per_step: float
    univariate: bool = False
    free_run: bool = False
    rtol: float = 1e-10
    atol: float = 1e-10
    transient: float = 10.0
    fit_on: str = "context"
    train_points: int = 0
    tune_horizon: int = 0
    kinds: tuple[str, ...] = ("flow", "delay", "map")

    @property
    def n_points(self) -> int:
        return self.context + self.horizon


_DYSTS2021 = Protocol(
    name="dysts2021",
    description="Gilpin 2021: first coordinate, 12 periods at 100 points per period, "
                "first 5/6 to fit, last 1/6 to forecast",
    n_ics=1, context=1000, horizon=200, timescale="period", pts_per_step=100, univariate=True,
)
_GILPIN2023 = Protocol(
    name="gilpin2023",
    description="Gilpin 2023, fixed task: flows at 100 points per period, multivariate; models tuned "
                "per system on a 12-period training trajectory (fit 1000 points, score the last 200), "
                "then fitted on the first 1000 points of a test trajectory from another initial "
                "condition and scored on the next 200",
    n_ics=1, context=1000, horizon=200, timescale="period", pts_per_step=100, train_points=1200,
    tune_horizon=200, kinds=("flow", "delay"),
)
PROTOCOLS: Registry[Protocol] = Registry("protocol")
for _p in (
        Protocol(
            name="zero-shot",
            description="Zhang & Gilpin 2025: 20 initial conditions, 30 points per Lyapunov time, "
                        "context 512, horizon 300; trained models fit on each context alone",
            n_ics=20, context=512, horizon=300, timescale="lyapunov", pts_per_step=30,
        ),
        _DYSTS2021,
        replace(_DYSTS2021, name="dysts2021-coarse", context=150, horizon=30, pts_per_step=15,
                description="Gilpin 2021 at 15 points per period: first coordinate, 12 periods (180 points), "
                            "first 5/6 to fit, last 1/6 to forecast"),
        Protocol(
            name="attractor",
            description="free-running generation: 20 initial conditions, 30 points per Lyapunov time, "
                        "context 512, then 1500 generated steps (50 Lyapunov times) compared with the "
                        "true orbit by state-space and spectral divergences and the moments",
            n_ics=20, context=512, horizon=1500, timescale="lyapunov", pts_per_step=30, free_run=True,
        ),
        _GILPIN2023,
        replace(_GILPIN2023, name="gilpin2023-long", horizon=5000,
                description="Gilpin 2023, long task: as gilpin2023, but a 60-period test trajectory: fit on "
                            "its first 1000 points, forecast the next 5000"),
):
    PROTOCOLS.add(_p.name, _p)


def get_protocol(name: str) -> Protocol:
    """The protocol called `name` (case-insensitive, see `PROTOCOLS`)."""
    return PROTOCOLS.get(name)


def system_seed(base_seed: int, protocol: str, system: str) -> int:
    """A 63-bit seed from (base seed, protocol, system) by SHA-256: independent per system, stable."""
    digest = hashlib.sha256(f"{base_seed}:{protocol}:{system}".encode()).digest()
    return int.from_bytes(digest[:8], "little") & ((1 << 63) - 1)


def seeded_subset(protocol: Protocol, n: int, seed: int) -> list[str]:
    """`n` of the systems `protocol` covers (catalogue kinds in `protocol.kinds`), drawn without
    replacement by `numpy.random.default_rng(seed)` from the sorted names, returned sorted: the
    stated subset on which the costly models of a benchmark run."""
    names = sorted(s for s in list_systems() if get_system(s).kind in protocol.kinds)
    if not 1 <= n <= len(names):
        raise InvalidInputError(f"n must be between 1 and {len(names)} (the systems protocol {protocol.name} "
                                f"covers), got {n}")
    picked = np.random.default_rng(seed).choice(len(names), size=n, replace=False)
    return sorted(names[i] for i in picked)


@dataclass(frozen=True)
class Task:
    """One system's forecasting problem under a protocol (tensors float64, CPU).

    `context` `[n_ics, context, dim]`, `target` `[n_ics, horizon, dim]` (the model's view, after
    `postprocess` and the univariate cut); `raw_context` the states before `postprocess`
    (full dimension) for the oracle; `dt` the step in time units (1 for maps);
    `lyapunov_time` in the same units (NaN when unknown); `seed` the data seed; `train`
    `[train_points, dim]` the training trajectory of tuned protocols (None otherwise).
    """

    protocol: str
    system: str
    context: Tensor
    target: Tensor
    raw_context: Tensor
    dt: float
    lyapunov_time: float
    seed: int
    valid: Tensor
    train: Tensor | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Task:
        return cls(**d)


def lyapunov_time(system: System) -> float:
    """The system's Lyapunov time from our invariants (NaN when not known)."""
    inv = system.invariants or {}
    value = inv.get("lyapunov_time")
    return float(value) if value is not None and math.isfinite(float(value)) and value > 0 else math.nan


def make_task(protocol: Protocol, system: str | System, base_seed: int = 0) -> Task:
    """Integrate `system` for `protocol` and cut contexts and targets; raises `SkipSystem`
    (with the reason) where the protocol does not apply."""
    sys_ = get_system(system)
    if sys_.kind not in protocol.kinds:
        raise SkipSystem(f"{sys_.name} is a {sys_.kind}; protocol {protocol.name} covers {', '.join(protocol.kinds)}")
    lt = lyapunov_time(sys_)
    if protocol.timescale == "lyapunov" and sys_.kind != "map" and not math.isfinite(lt):
        raise SkipSystem(f"{sys_.name} has no Lyapunov time in the invariants (not chaotic by our estimate)")
    if protocol.timescale == "period" and sys_.kind != "map" and not (sys_.period and sys_.period > 0):
        raise SkipSystem(f"{sys_.name} has no dominant period")
    seed = system_seed(base_seed, protocol.name, sys_.name)
    n_train = 1 if protocol.train_points else 0
    n_points = max(protocol.n_points, protocol.train_points)
    kw: dict[str, Any] = dict(sampling=Sampling(n_ics=protocol.n_ics + n_train, seed=seed, transient=protocol.transient,
                                                resample_failed=True),
                              solver=SolverSettings(rtol=protocol.rtol, atol=protocol.atol), postprocess=False)
    if protocol.timescale == "lyapunov" and sys_.kind == "flow":
        # explicit times keep the transient in periods (the catalogue's unit): weakly chaotic
        # flows have Lyapunov times of many periods (ArnoldWeb: 319 time units, period 67)
        dt = lt / protocol.pts_per_step
        tr = make_trajectories(sys_, times=torch.arange(n_points, dtype=torch.float64) * dt, **kw)
    elif sys_.kind == "map":  # one point per iteration
        tr = make_trajectories(sys_, n_points, **kw)
        dt = 1.0
    else:
        tr = make_trajectories(sys_, n_points, timescale=protocol.timescale,
                               pts_per_period=protocol.pts_per_step, **kw)
        dt = float(tr.stats["dt"])
    if not bool(tr.valid.all()):
        raise SkipSystem(f"{sys_.name}: {int((~tr.valid).sum())} trajectories failed after resampling: {tr.stats['failures']}")
    raw = tr.x
    x = sys_.postprocess(raw, **sys_.bind()) if sys_.postprocess is not None else raw
    if protocol.univariate:
        x = x[..., :1]
    train = x[0, : protocol.train_points].contiguous() if n_train else None
    raw, x = raw[n_train:, : protocol.n_points], x[n_train:, : protocol.n_points]  # the test trajectories
    c = protocol.context
    return Task(
        protocol=protocol.name, system=sys_.name, context=x[:, :c].contiguous(), target=x[:, c:].contiguous(),
        raw_context=raw[:, :c].contiguous(), dt=dt, lyapunov_time=lt, seed=seed, valid=tr.valid[n_train:],
        train=train,
    )
