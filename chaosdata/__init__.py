"""chaosdata: datasets of chaotic dynamical systems, GPU-native and one call from training code."""

from chaosdata.errors import ChaosdataError, UnknownSystemError
from chaosdata.systems import System, get_system, list_systems
from chaosdata.integrate.trajectories import Trajectories, make_trajectories

__version__ = "0.1.0.dev0"

__all__ = [
    "ChaosdataError",
    "System",
    "Trajectories",
    "UnknownSystemError",
    "get_system",
    "list_systems",
    "make_trajectories",
]
