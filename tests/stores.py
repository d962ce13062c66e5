"""Store configs and helpers shared by the tests that build stores (a helper module, like
`reference.py`: test modules import it, never each other)."""

from __future__ import annotations

import tomllib
from pathlib import Path

from chaosdata.store.layout import BUILD_LOG, LOCK

ROOT = Path(__file__).resolve().parents[1]
# three kinds of system (a flow, a map, a delay equation), three granularities, seconds to build
TINY = """
name = "tiny"
systems = ["Lorenz", "Henon", "MackeyGlass"]
seed = 7
length = 2
transient = 1
map_length = 50
map_transient = 10
[splits]
train = 2
val = 1
test = 1
[granularities.coarse]
timescale = "period"
points = 15
[granularities.fine]
timescale = "period"
points = 100
[granularities.lyapunov]
timescale = "lyapunov"
points = 50
[integrator]
rtol = 1e-6
atol = 1e-6
dde_steps_per_period = 50
[storage]
chunk_time = 64
"""


def raw_tiny(**changes) -> dict:
    """The tiny config as a dict, with `changes` over its top-level keys."""
    raw = tomllib.loads(TINY)
    raw.update(changes)
    return raw


def store_bytes(path: Path) -> dict[str, bytes]:
    """Every file of a store but the volatile ones (build log, lock), by relative path."""
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*"))
            if p.is_file() and p.name not in (BUILD_LOG, LOCK)}


def quiet(msg: str) -> None:
    """A build log that prints nothing."""
