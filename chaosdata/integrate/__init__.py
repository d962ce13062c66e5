"""Solvers: Runge-Kutta tableaux as data, batched adaptive ODE stepping, delay equations, maps.

Layers, lowest first: `integrate` (a vector field `f(t, y)`, a batch, an output grid) with
its `Controller` and dense-output writer; `simulate` (a catalogue system and `SolverSettings`);
`run_ensemble` (sampling, transient, integration, redraws: `ensemble`) and its front door
`make_trajectories` (postprocessing and stats).
"""

from chaosdata.integrate.controller import Controller
from chaosdata.integrate.ensemble import OutputGrid, Sampling, run_ensemble
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.sde import NoiseSpec
from chaosdata.integrate.settings import Bound, Execution, SolverSettings
from chaosdata.integrate.simulate import RESAMPLE, ResamplePolicy, simulate, time_unit
from chaosdata.integrate.solution import Solution, Status
from chaosdata.integrate.tableaux import TABLEAUX, Tableau

__all__ = ["RESAMPLE", "TABLEAUX", "Bound", "Controller", "Execution", "NoiseSpec", "OutputGrid", "ResamplePolicy", "Sampling",
           "Solution", "SolverSettings", "Status", "Tableau", "integrate", "run_ensemble", "simulate", "time_unit"]
