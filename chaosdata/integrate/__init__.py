"""Solvers: Runge-Kutta tableaux as data, batched adaptive ODE stepping, delay equations, maps.

Layers, lowest first: `integrate` (a vector field `f(t, y)`, a batch, an output grid) with
its `Controller` and dense-output writer; `simulate` (a catalogue system and `SolverSettings`);
`make_trajectories` (sampling, transient, resampling, postprocessing).
"""

from chaosdata.integrate.controller import Controller
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.simulate import RESAMPLE, ResamplePolicy, SolverSettings, simulate, time_unit
from chaosdata.integrate.solution import Solution, Status
from chaosdata.integrate.tableaux import TABLEAUX, Tableau

__all__ = ["Controller", "RESAMPLE", "ResamplePolicy", "Solution", "SolverSettings", "Status", "TABLEAUX", "Tableau",
           "integrate", "simulate", "time_unit"]
