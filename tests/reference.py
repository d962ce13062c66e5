"""dysts as an independent reference: its systems evaluated at the same states as ours."""

from __future__ import annotations

import json
import warnings
from functools import cache
from importlib import resources

import numpy as np

warnings.filterwarnings("ignore", message="Numba not installed")

import dysts.flows  # noqa: E402
import dysts.maps  # noqa: E402

from chaosdata.systems import System  # noqa: E402


@cache
def dysts_metadata(kind: str) -> dict:
    fname = "discrete_maps.json" if kind == "map" else "chaotic_attractors.json"
    with open(resources.files("dysts").joinpath("data", fname)) as f:
        return json.load(f)


def dysts_system(system: System):
    module = dysts.maps if system.kind == "map" else dysts.flows
    return getattr(module, system.dysts_name or system.name)()


def dysts_entry(system: System) -> dict:
    return dysts_metadata(system.kind)[system.dysts_name or system.name]


def reference_values(system: System, states: np.ndarray, times: np.ndarray, delayed=None, inverse=False):
    """dysts's right-hand side (or map) at each state, one state at a time."""
    ref = dysts_system(system)
    out = []
    for i, x in enumerate(states):
        if system.kind == "flow":
            out.append(np.asarray(ref.rhs(x.copy(), float(times[i])), dtype=float).ravel())
        elif system.kind == "delay":
            value = ref._rhs(x[0], delayed[i][0], float(times[i]), *ref.param_list)
            out.append(np.atleast_1d(np.asarray(value, dtype=float)))
        else:
            fn = ref.rhs_inv if inverse else ref.rhs
            out.append(np.asarray(fn(x[None, :].copy()), dtype=float).ravel())
    return np.stack(out)
