"""Lorenz's convection model and the quadratic 3-D flows descended from it (Chen, Lu, ...)."""

from chaosdata.systems.base import flow, stack


@flow(
    parameters={"beta": 2.667, "rho": 28.0, "sigma": 10.0},
    initial_conditions=(-9.7869288, -15.03852, 20.533978),
    dt=0.0003002100350058257,
    period=1.5008,
    citation="Lorenz, E. N. (1963). Deterministic nonperiodic flow. Journal of the Atmospheric Sciences 20(2), 130-141.",
    description="Three-mode truncation of Rayleigh-Benard convection; the butterfly attractor.",
)
def Lorenz(state, t, *, beta, rho, sigma):
    """x' = sigma (y - x), y' = x (rho - z) - y, z' = x y - beta z."""
    x, y, z = state.unbind(-1)
    return stack(sigma * (y - x), x * (rho - z) - y, x * y - beta * z, like=state)
