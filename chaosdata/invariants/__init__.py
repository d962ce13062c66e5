"""Invariants of the catalogue systems: Lyapunov spectrum, dimensions, period, statistics.

`compute(system)` estimates all of them, with uncertainties and self-checks; the values the
package ships are `System.invariants`, written by `generation/compute_invariants.py`.
"""

from chaosdata.invariants.compute import Invariants, Settings, compute
from chaosdata.invariants.dimension import correlation_dimension, kaplan_yorke_dimension
from chaosdata.invariants.lyapunov import lyapunov_time, pesin_entropy
from chaosdata.invariants.statistics import dominant_period, moments

__all__ = [
    "Invariants",
    "Settings",
    "compute",
    "correlation_dimension",
    "dominant_period",
    "kaplan_yorke_dimension",
    "lyapunov_time",
    "moments",
    "pesin_entropy",
]
