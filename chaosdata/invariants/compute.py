"""`compute`: every invariant of one system, with uncertainties, settings and self-checks.

One ensemble run per system gives everything: the Lyapunov spectrum (Benettin/QR, see
`lyapunov`), and, from states sampled along the same trajectories, the dominant period, the
per-coordinate mean and standard deviation (of the data as `make_trajectories` returns it) and
the correlation dimension. Uncertainties are spreads over the ensemble members, which start
from independent seeded kicks of the catalogue's initial condition, decorrelated by a transient.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import torch
from torch import Tensor

from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError
from chaosdata.integrate import SolverSettings
from chaosdata.integrate.ensemble import OutputGrid, Sampling, failure_reasons, run_ensemble, sample_initial_conditions
from chaosdata.invariants.checks import run_checks
from chaosdata.invariants.dimension import correlation_dimension, kaplan_yorke_dimension
from chaosdata.invariants.lyapunov import LyapunovRun, clock_coordinates, delay_lyapunov, flow_lyapunov, map_lyapunov
from chaosdata.invariants.statistics import dominant_period, moments
from chaosdata.systems import System, get_system

SIGNIFICANCE = 4.0  # an exponent counts as positive when it exceeds this many standard errors


@dataclass(frozen=True)
class Settings:
    """How much computing goes into one system; recorded with its invariants.

    Flows: `n_ics` members, each through `transient` periods to reach the attractor (and a
    random time within `pick_periods` more), `align` periods for the tangent vectors to settle,
    then `periods` measured periods or `lyapunov_times` Lyapunov times (as estimated during the
    alignment), whichever is longer, but never more than `max_steps` RK4 steps in all. The RK4 step starts at the mean step of an
    adaptive DOPRI5 pilot at `pilot_tol` divided by `step_safety` (the pilot drops members that
    need more than `pilot_max_steps_per_period` steps), and is halved during the alignment until
    the sum check holds. Maps: the same with iterations. Delay equations:
    `delay_n_ics` constant histories kicked by `delay_kick` (relative), `delay_transient`
    periods, `delay_periods` measured, `delay_steps_per_period` RK4 steps per period, the
    leading `delay_exponents` exponents. States are sampled `pts_per_period` times per period; the correlation
    dimension uses at most `corr_points` of them with a Theiler window of `theiler` periods.
    """

    n_ics: int = 128
    transient: float = 10.0
    pick_periods: float = 20.0
    align: float = 5.0
    periods: float = 20.0
    lyapunov_times: float = 20.0
    pts_per_period: int = 20
    pilot_tol: float = 1e-6
    pilot_max_steps_per_period: float = 1_000
    step_safety: float = 1.25
    max_steps: int = 4_000
    map_transient: int = 1_000
    map_align: int = 100
    map_iterations: int = 2_000
    delay_n_ics: int = 32
    delay_kick: float = 0.1
    delay_transient: float = 100.0
    delay_periods: float = 60.0
    delay_exponents: int = 10
    delay_steps_per_period: int = 100
    corr_points: int = 6_000
    theiler: float = 1.0
    seed: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Invariants:
    """The invariants of one system. Exponents are per time unit (flows, delay equations) or per
    iteration (maps), sorted in descending order; `*_spread` is the standard deviation over the
    ensemble members and `*_stderr` the standard error of the mean. Quantities that could not
    be estimated are None. `to_dict` gives plain JSON."""

    system: str
    kind: str
    units: str
    lyapunov_spectrum: list[float]
    lyapunov_spectrum_spread: list[float]
    lyapunov_spectrum_stderr: list[float]
    max_lyapunov: float | None
    max_lyapunov_stderr: float | None
    chaotic: bool
    lyapunov_time: float | None
    kaplan_yorke_dimension: float | None
    kaplan_yorke_dimension_stderr: float | None
    pesin_entropy: float | None
    pesin_entropy_stderr: float | None
    correlation_dimension: float | None
    correlation_dimension_spread: float | None
    correlation_fit: dict[str, Any]
    period: float | None
    period_resolution: float | None
    period_peak_fraction: float | None
    period_by_coordinate: list[float | None]
    mean: list[float]
    std: list[float]
    clock_coordinates: list[int]
    partial_spectrum: bool
    integration_length: float
    n_members: int
    checks: dict[str, Any]
    passed: bool
    settings: dict[str, Any]
    wall_time: float
    cpu_time: float = math.nan
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return _plain({f.name: getattr(self, f.name) for f in fields(self)})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Invariants:
        names = {f.name for f in fields(cls)}
        missing = [f.name for f in fields(cls) if f.name not in data and f.name not in ("notes", "cpu_time")]
        if missing:
            raise InvalidInputError(f"invariants entry lacks {missing}")
        return cls(**{k: v for k, v in data.items() if k in names})


def _plain(value: Any) -> Any:
    """JSON-safe: tensors to lists, non-finite floats to None, tuples to lists."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Tensor):
        return _plain(value.tolist())
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    return value


def _finite_or_none(x: float) -> float | None:
    return float(x) if x is not None and math.isfinite(x) else None


def _pilot(system: System, params: dict[str, Any], cfg: Settings, device: torch.device) -> tuple[Tensor, float, dict[str, Any]]:
    """On-attractor states after the transient, and the starting RK4 step for the tangent run.

    The pilot integrates every member through `cfg.transient` periods and records
    `cfg.pick_periods` more; each member starts the tangent run from its state at a random one
    of the recorded times. The starting states are then spread like the attractor's invariant
    measure even where chaos has not yet separated the members; a start biased towards some
    part of the attractor would bias every finite-time exponent by O(1 / T) (the zero exponent
    measures log |f(x_T)| / |f(x_0)| / T).
    Members the pilot loses (non-finite, unbounded, or more than
    `cfg.pilot_max_steps_per_period` steps per period) are left out, not redrawn; if it loses
    them all, it runs once more with twenty times the step allowance (stiff systems).
    """
    n_periods, period = cfg.pick_periods, _period(system)
    own = dict(system.solver)
    if "steps_per_period" in own:  # a system that must be stepped with a fixed step (discontinuous field)
        pilot = SolverSettings(method=own["method"], fixed_step=period / own["steps_per_period"])
    else:
        pilot = SolverSettings(method="dopri5", rtol=cfg.pilot_tol, atol=cfg.pilot_tol)
    sampling = Sampling(n_ics=cfg.n_ics, transient=cfg.transient, seed=cfg.seed)
    grid = OutputGrid(n_points=round(n_periods * 10) + 1, pts_per_period=10)
    for cap in (cfg.pilot_max_steps_per_period, 20 * cfg.pilot_max_steps_per_period):
        run = run_ensemble(system, grid, sampling=sampling, solver=pilot.replace(max_steps_per_unit=cap),
                           params=params, device=device)
        sol, valid = run.solution, run.solution.status == 0
        if bool(valid.any()):
            break
    else:
        raise InvalidInputError(f"{system.name}: every pilot trajectory failed ({failure_reasons(sol)})")
    gen = torch.Generator().manual_seed(cfg.seed + 1)
    pick = torch.randint(0, sol.y.shape[1], (sol.y.shape[0],), generator=gen).to(sol.y.device)
    states = sol.y[torch.arange(sol.y.shape[0], device=sol.y.device), pick][valid]
    if "steps_per_period" in own:
        h = period / own["steps_per_period"]
    else:
        spp = sol.n_accepted.cpu()[valid.cpu()].double().mean().item() / n_periods
        h = period / (cfg.step_safety * spp)
    info = {"pilot_method": pilot.method, "pilot_failures": len(failure_reasons(sol)),
            "pilot_max_steps_per_period": cap,
            "pilot_wall_time": sol.wall_time}
    return states, h, info


def _run_flow(system: System, params: dict, cfg: Settings, device: torch.device) -> tuple[LyapunovRun, dict]:
    states, h, info = _pilot(system, params, cfg, device)
    bound = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in system.bind(params).items()}
    clock = clock_coordinates(system, bound, states)
    run = flow_lyapunov(system, states, bound, h=h, align=cfg.align, periods=cfg.periods,
                        lyapunov_times=cfg.lyapunov_times, pts_per_period=cfg.pts_per_period, clock=clock,
                        max_steps=cfg.max_steps)
    return run, info


def _run_map(system: System, params: dict, cfg: Settings, device: torch.device) -> tuple[LyapunovRun, dict]:
    sol = run_ensemble(system, OutputGrid(n_points=2), params=params, device=device, sampling=Sampling(
        n_ics=cfg.n_ics, transient=cfg.map_transient, seed=cfg.seed, resample_failed=True)).solution
    states = sol.y[:, -1][sol.status == 0]
    if states.shape[0] == 0:
        raise InvalidInputError(f"{system.name}: every orbit failed during the transient")
    bound = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in system.bind(params).items()}
    run = map_lyapunov(system, states, bound, n_align=cfg.map_align, n_measure=cfg.map_iterations)
    return run, {"pilot_failures": len(failure_reasons(sol))}


def _run_delay(system: System, params: dict, cfg: Settings, device: torch.device) -> tuple[LyapunovRun, dict]:
    x0 = sample_initial_conditions(system, cfg.delay_n_ics, cfg.seed, scale=cfg.delay_kick).to(device)  # constant histories
    bound = {k: v.to(device) if isinstance(v, Tensor) else v for k, v in system.bind(params).items()}
    period = _period(system)
    h_target = period / cfg.delay_steps_per_period
    run = delay_lyapunov(
        system, x0, bound, h_target=h_target, n_exponents=cfg.delay_exponents,
        n_transient=math.ceil(cfg.delay_transient * period / h_target),
        n_align=math.ceil(cfg.align * period / h_target),
        n_measure=math.ceil(cfg.delay_periods * period / h_target),
        sample_spacing=period / cfg.pts_per_period, seed=cfg.seed,
    )
    return run, {}


def _period(system: System) -> float:
    """The period of a flow or delay equation, the unit its runs are measured in."""
    return system.required_period("the integration length is measured in periods")


def _sem(x: Tensor) -> Tensor:
    return x.std(0) / math.sqrt(x.shape[0]) if x.shape[0] > 1 else torch.full_like(x[0], math.nan)


def _config(system: System, settings: Settings | None, n_ics: int | None, periods: float | None, seed: int) -> Settings:
    """`settings` with `n_ics`, `periods` and `seed` put into the fields they mean for `system`'s kind."""
    overrides: dict[str, Any] = {"seed": seed}
    if n_ics is not None:
        overrides["n_ics" if system.kind != "delay" else "delay_n_ics"] = int(n_ics)
    if periods is not None:
        key = {"flow": "periods", "map": "map_iterations", "delay": "delay_periods"}[system.kind]
        overrides[key] = int(periods) if system.kind == "map" else float(periods)
    return Settings(**{**(settings or Settings()).to_dict(), **overrides})


@dataclass
class _Spectrum:
    """The exponents over the members (`exps`, `[members, k]`) and what they give."""

    exps: Tensor
    mean: Tensor
    spread: Tensor
    sem: Tensor
    chaotic: bool
    positive: Tensor
    ky_members: Tensor

    @classmethod
    def of(cls, system: System, run: LyapunovRun, partial: bool) -> _Spectrum:
        exps = run.exponents[run.valid].cpu()
        if exps.shape[0] == 0:
            raise InvalidInputError(f"{system.name}: every ensemble member diverged")
        mean, sem = exps.mean(0), _sem(exps)
        spread = exps.std(0) if exps.shape[0] > 1 else torch.zeros(exps.shape[1])
        lam1, se1 = float(mean[0]), float(sem[0])
        chaotic = bool(lam1 > SIGNIFICANCE * se1 and lam1 > 1e-4 * float(mean.abs().sum()))
        if system.kind == "flow" and not run.settings.get("clock_coordinates", []) and int(mean.abs().argmin()) == 0:
            chaotic = False  # lambda_1 is the exponent along the flow: no exponent above it
        ky = [kaplan_yorke_dimension(row.tolist(), partial=partial) for row in exps]
        return cls(exps, mean, spread, sem, chaotic, (mean > SIGNIFICANCE * sem) & (mean > 0),
                   torch.tensor([v for v in ky if v is not None], dtype=torch.float64))


def _sample_statistics(system: System, run: LyapunovRun, bound: dict[str, Any], cfg: Settings,
                       clock: list[int]) -> tuple[Any, list[float], list[float], Any]:
    """Period, mean, std and correlation dimension of the sampled states, in the form the data
    takes (postprocessed coordinates)."""
    data = run.samples[run.valid].cpu()
    if system.postprocess is not None and system.kind != "delay":
        data = system.postprocess(data, **bound)
    period = dominant_period(data, run.sample_spacing, exclude=clock) if data.shape[1] >= 8 else None
    mu, sd = moments(data)
    # correlation dimension: every member, thinned in time (independent members beat long series)
    stride = max(1, math.ceil(data.shape[0] * data.shape[1] / cfg.corr_points))
    cd_points = data[:, ::stride][:, : max(2, cfg.corr_points // data.shape[0])]
    theiler = 0 if system.kind == "map" else max(1, round(cfg.theiler * _period(system) / (run.sample_spacing * stride)))
    return period, mu, sd, correlation_dimension(cd_points, theiler=theiler)


def _separation(system: System, cfg: Settings) -> tuple[float, float]:
    """How long the members ran apart before measuring, and the relative kick they started from."""
    if system.kind == "map":
        return cfg.map_transient + cfg.map_align, system.perturbation
    if system.kind == "delay":
        return (cfg.delay_transient + cfg.align) * _period(system), cfg.delay_kick
    return (cfg.transient + cfg.align) * _period(system), system.perturbation


def compute(system: str | System, *, n_ics: int | None = None, periods: float | None = None,
            settings: Settings | None = None, device: str | torch.device | None = None, seed: int = 0,
            dtype: torch.dtype = torch.float64, **params: Any) -> Invariants:
    """All invariants of `system`, at its default parameters updated by `params`.

    `settings` fixes the effort (see `Settings`); `n_ics`, `periods` and `seed` override its
    fields of the same name (for maps `periods` sets the measured iterations, for delay
    equations the measured periods). Runs on `device` (default CPU) in float64.
    """
    started, cpu_started = time.perf_counter(), time.process_time()
    system = get_system(system)
    cfg = _config(system, settings, n_ics, periods, seed)
    if dtype != torch.float64:
        raise InvalidInputError("invariants are computed in float64 only")
    if system.kind != "map":
        _period(system)  # raises, naming why, for a flow or delay equation without one
    device = usable_device(device)
    bound = system.bind(params)  # validates the overrides

    runner = {"flow": _run_flow, "map": _run_map, "delay": _run_delay}[system.kind]
    run, info = runner(system, params, cfg, device)
    partial = system.kind == "delay"
    sp = _Spectrum.of(system, run, partial)
    lam1, se1 = float(sp.mean[0]), float(sp.sem[0])
    clock = run.settings.get("clock_coordinates", [])
    period, mu, sd, cd = _sample_statistics(system, run, bound, cfg, clock)
    separation, kick = _separation(system, cfg)
    checks = run_checks(system, run, sp.mean, sp.sem, clock=clock, chaotic=sp.chaotic, lam1=lam1,
                        separation_time=separation, kick=kick, cd=cd,
                        n_requested=cfg.delay_n_ics if system.kind == "delay" else cfg.n_ics)
    notes = []
    if clock:
        notes.append(f"coordinates {clock} are clocks (forcing phases): each adds an exact zero exponent")
    if partial:
        notes.append(f"leading {sp.exps.shape[1]} exponents of the discretized delay equation only")
    recorded = {"config": cfg.to_dict(), "pilot": info, "lyapunov": run.settings, "device": str(device),
                "sample_spacing": run.sample_spacing,
                "parameters": {k: v.tolist() if isinstance(v, Tensor) else v for k, v in bound.items()}}
    return Invariants(
        system=system.name, kind=system.kind, units="iteration" if system.kind == "map" else "time",
        lyapunov_spectrum=sp.mean.tolist(), lyapunov_spectrum_spread=sp.spread.tolist(),
        lyapunov_spectrum_stderr=sp.sem.tolist(), max_lyapunov=lam1, max_lyapunov_stderr=se1, chaotic=sp.chaotic,
        lyapunov_time=1.0 / lam1 if sp.chaotic else None,
        kaplan_yorke_dimension=kaplan_yorke_dimension(sp.mean.tolist(), partial=partial),
        kaplan_yorke_dimension_stderr=(_finite_or_none(float(_sem(sp.ky_members[:, None])[0]))
                                       if sp.ky_members.numel() > 1 else None),
        pesin_entropy=float(sp.mean[sp.positive].sum()),
        pesin_entropy_stderr=_finite_or_none(float(_sem(sp.exps[:, sp.positive].sum(1, keepdim=True))[0])),
        correlation_dimension=_finite_or_none(cd.value), correlation_dimension_spread=_finite_or_none(cd.spread),
        correlation_fit=cd.to_dict(),
        period=_finite_or_none(period.value) if period else None,
        period_resolution=_finite_or_none(period.resolution) if period else None,
        period_peak_fraction=_finite_or_none(period.peak_fraction) if period else None,
        period_by_coordinate=list(period.by_coordinate) if period else [],
        mean=mu, std=sd, clock_coordinates=list(clock), partial_spectrum=partial,
        integration_length=run.measured, n_members=int(sp.exps.shape[0]),
        checks=checks, passed=all(c["ok"] for c in checks.values() if c.get("applies", True)),
        settings=recorded, wall_time=time.perf_counter() - started, cpu_time=time.process_time() - cpu_started,
        notes=notes,
    )
