"""Size and work checks made before any integration starts, so an absurd request fails at once.

Every entry point that integrates (a release config, `make_trajectories`, the loader's
regenerate path, the demo) estimates what it was asked before doing it:

- memory: the largest arrays held at once, `trajectories x points x coordinates x bytes`
  (times the copies the caller keeps), against `memory_limit()`: 75% of the machine's RAM
  (of the GPU's memory for a CUDA device), or `CHAOSDATA_MEMORY_LIMIT` (bytes, e.g. `64e9`);
- sequential steps of one trajectory (the span in periods times the typical steps per period),
  against `CHAOSDATA_MAX_STEPS` (default 1e9: about 20 days at this machine's 1.8 ms per step);
- field evaluations of the whole batch (steps x trajectories x `STAGES`), against
  `CHAOSDATA_MAX_EVALUATIONS` (default 1e13: days on a CPU at ~1.4e6 evaluations a second).

A refusal is one `InvalidInputError` naming the inputs (keys) that set the estimate, the
estimate and the limit. The estimates are rough (within a small factor): they guard against
requests thousands of times too large, not against a tight fit.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from chaosdata.errors import InvalidInputError

MEMORY_FRACTION = 0.75
DEFAULT_MAX_STEPS = 1e9
DEFAULT_MAX_EVALUATIONS = 1e13
# Adaptive DOP853 at the catalogue's 1e-13 takes 23 to 1,287 accepted steps per period, median
# 118 (benchmarks/steps_per_period.jsonl, 264 runs over the flows); the estimate uses 100, so
# that a refusal never rests on an overestimate of a typical system.
TYPICAL_STEPS_PER_PERIOD = 100.0
STAGES = 12  # field evaluations per step of DOP853, the default method (RK4 takes 4)

ENV_MEMORY, ENV_STEPS, ENV_EVALUATIONS = "CHAOSDATA_MEMORY_LIMIT", "CHAOSDATA_MAX_STEPS", "CHAOSDATA_MAX_EVALUATIONS"


@dataclass(frozen=True)
class Limits:
    """What one request may use: bytes held at once, steps of one trajectory, field evaluations."""

    memory: float
    steps: float
    evaluations: float
    memory_source: str


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise InvalidInputError(f"${name} must be a positive number, got {raw!r}; unset it for the default")
    return value


def _physical_memory() -> float:
    """Bytes of RAM (POSIX sysconf); 16 GiB where the system does not say."""
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return float(16 << 30)


def limits(device: object = None) -> Limits:
    """The limits in force: the environment's overrides, else the defaults above. A CUDA
    `device` takes its memory limit from the GPU (where the arrays are held)."""
    source, total = "of this machine's RAM", None
    if device is not None and str(device).startswith("cuda"):
        import torch

        if torch.cuda.is_available():
            total = float(torch.cuda.get_device_properties(torch.device(str(device))).total_memory)
            source = f"of the memory of {device}"
    total = _physical_memory() if total is None else total
    memory = MEMORY_FRACTION * total
    if os.environ.get(ENV_MEMORY, "").strip():
        memory, source = _env_number(ENV_MEMORY, memory), f"${ENV_MEMORY}"
    else:
        source = f"{MEMORY_FRACTION:.0%} {source}; set ${ENV_MEMORY} to change it"
    return Limits(memory, _env_number(ENV_STEPS, DEFAULT_MAX_STEPS),
                  _env_number(ENV_EVALUATIONS, DEFAULT_MAX_EVALUATIONS), source)


def size(nbytes: float) -> str:
    """Bytes in the largest unit that keeps the number readable (`745 GB`)."""
    for unit, scale in (("PB", 1e15), ("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if nbytes >= scale:
            return f"{nbytes / scale:.3g} {unit}"
    return f"{nbytes:.0f} B"


def check_memory(where: str, nbytes: float, detail: str, *, device: object = None) -> None:
    """Refuse `nbytes` held at once past the memory limit; `detail` says how it was estimated
    (a product of named inputs)."""
    lim = limits(device)
    if nbytes > lim.memory:
        raise InvalidInputError(f"{where}: about {size(nbytes)} held at once ({detail}), more than the limit "
                                f"{size(lim.memory)} ({lim.memory_source}); ask for fewer trajectories or points")


def check_work(where: str, steps: float, trajectories: float, detail: str) -> None:
    """Refuse more sequential `steps` per trajectory, or field evaluations over the batch, than
    the limits; `detail` says where the steps come from (the named inputs)."""
    lim = limits()
    if steps > lim.steps:
        raise InvalidInputError(f"{where}: about {steps:.3g} integration steps per trajectory ({detail}), more than "
                                f"the limit {lim.steps:.3g} (${ENV_STEPS}); shorten the span")
    evaluations = steps * trajectories * STAGES
    if evaluations > lim.evaluations:
        raise InvalidInputError(f"{where}: about {evaluations:.3g} field evaluations ({steps:.3g} steps ({detail}) x "
                                f"{trajectories:.3g} trajectories x {STAGES} stages), more than the limit "
                                f"{lim.evaluations:.3g} (${ENV_EVALUATIONS}); ask for fewer trajectories or a "
                                "shorter span")


def steps_per_period(period: float | None, *, kind: str, dt: float | None = None,
                     dde_steps_per_period: float | None = None) -> float:
    """Typical solver steps per period (maps: per iteration): `period / dt` for a fixed step,
    `dde_steps_per_period` for delay equations, else `TYPICAL_STEPS_PER_PERIOD`."""
    if kind == "map":
        return 1.0
    if kind == "delay" and dde_steps_per_period is not None:
        return float(dde_steps_per_period)
    if dt is not None and period:
        return float(period) / dt
    return TYPICAL_STEPS_PER_PERIOD
