"""Solvers: Runge-Kutta tableaux as data, batched adaptive ODE stepping, delay equations, maps."""

from chaosdata.integrate.ode import Solution, Status, integrate
from chaosdata.integrate.tableaux import TABLEAUX, Tableau

__all__ = ["Solution", "Status", "TABLEAUX", "Tableau", "integrate"]
