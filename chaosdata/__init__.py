"""chaosdata: datasets of chaotic dynamical systems, GPU-native and one call from training code."""

from chaosdata.errors import ChaosdataError, UnknownNameError
from chaosdata.integrate import NoiseSpec, OutputGrid, Sampling, SolverSettings
from chaosdata.integrate.trajectories import Trajectories, make_trajectories
from chaosdata.loader import Source, load_dataset
from chaosdata.systems import System, get_system, list_systems
from chaosdata.version import __version__
from chaosdata.windows import Observation, WindowDataset, collate_padded

__all__ = [
    "ChaosdataError",
    "NoiseSpec",
    "Observation",
    "OutputGrid",
    "Sampling",
    "SolverSettings",
    "Source",
    "System",
    "Trajectories",
    "UnknownNameError",
    "WindowDataset",
    "__version__",
    "collate_padded",
    "get_system",
    "list_systems",
    "load_dataset",
    "make_trajectories",
]
