"""Chemical oscillators: Belousov-Zhabotinsky models, the Brusselator and autocatalytic schemes."""

import torch

from chaosdata.systems.base import flow, stack


@flow(
    parameters={
        "c1": -8.03474,
        "c10": 0.0223915,
        "c11": 7.53559e-05,
        "c12": 8.07384e-06,
        "c13": -0.000499825,
        "c2": 0.05408,
        "c3": -0.0115886,
        "c4": 832.587,
        "c5": -0.029155,
        "c6": 0.00321617,
        "c7": -0.01352,
        "c8": -0.0831709,
        "c9": -0.0199985,
        "ci": 0.000833,
        "kf": 0.00035,
        "t0": 2308.62,
        "y0": 7.72571e-06,
        "yb1": 6.92813e-07,
        "yb2": 2.00869,
        "yb3": 0.01352,
        "z0": 8.33e-06,
    },
    initial_conditions=(0.023491701, 0.61703254, 0.84669066),
    dt=3.6520086681113285e-06,
    period=0.038257,
    citation="Gyorgyi, L. & Field, R. J. (1992). A three-variable model of deterministic chaos in the Belousov-Zhabotinsky reaction. Nature.",
    description="Three-variable reduction of the BZ reaction in a flow reactor; the flow rate kf takes it from periodic to chaotic oscillation.",
)
def BelousovZhabotinsky(state, t, *, c1, c10, c11, c12, c13, c2, c3, c4, c5, c6, c7, c8, c9, ci, kf, t0, y0, yb1, yb2, yb3, z0):
    """Scaled Gyorgyi-Field model in (x, z, v), with the fast variable y eliminated:
    ybar = yb1 z v / (y0 (yb2 x + yb3 + kf)), then x+ = max(x, 0), rf = (ci - z0 z) sqrt(x+),
    x' = t0 (c1 x+ ybar + c2 ybar + c3 x+^2 + c4 rf + c5 x+ z - kf x+),
    z' = t0 (c6 rf / z0 + c7 x+ z + c8 z v + c9 z - kf z),
    v' = t0 (c10 x+ ybar + c11 ybar + c12 x+^2 + c13 z v - kf v).
    (ybar uses x before clipping, as in dysts.)"""
    x, z, v = state.unbind(-1)
    ybar = (1 / y0) * yb1 * z * v / (yb2 * x + yb3 + kf)
    x = torch.clamp(x, min=0.0)
    rf = (ci - z0 * z) * torch.sqrt(x)
    xdot = c1 * x * ybar + c2 * ybar + c3 * x**2 + c4 * rf + c5 * x * z - kf * x
    zdot = (c6 / z0) * rf + c7 * x * z + c8 * z * v + c9 * z - kf * z
    vdot = c10 * x * ybar + c11 * ybar + c12 * x**2 + c13 * z * v - kf * v
    return stack(xdot * t0, zdot * t0, vdot * t0, like=state)


def _sin_phase(state, **params):
    """Report the forcing phase z as sin(z), keeping x and y."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.sin(z), like=state)


@flow(
    parameters={"a": 0.4, "b": 1.2, "f": 0.05, "w": 0.81},
    initial_conditions=(0.40635464, 1.8192295, 6381.6484),
    dt=0.004082880480079893,
    period=20.411,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Prigogine, I. (1980). From Being to Becoming: Time and Complexity in the Physical Sciences. W. H. Freeman and Company, New York.",
    description="Brusselator autocatalytic reaction under weak periodic forcing, the phase carried as a third variable.",
    postprocess=_sin_phase,
)
def ForcedBrusselator(state, t, *, a, b, f, w):
    """x' = a + x^2 y - (b + 1) x + f cos(z), y' = b x - x^2 y, z' = w."""
    x, y, z = state.unbind(-1)
    x2y = x**2 * y
    return stack(a + x2y - (b + 1) * x + f * torch.cos(z), b * x - x2y, w, like=state)


@flow(
    parameters={"delta": 1.0, "kappa": 2.5, "mu": 0.29786, "sigma": 0.013},
    initial_conditions=(0.5141505602006595, 0.9984288208727641, 1.0061777118724),
    dt=0.00014608034672445314,
    period=0.7302799999999999,
    citation="Petrov, V., Scott, S. K. & Showalter, K. (1992). Mixed-mode oscillations in chemical systems. Journal of Chemical Physics.",
    description="Isothermal autocatalator with a slow reservoir species; shows mixed-mode and chaotic oscillations.",
)
def IsothermalChemical(state, t, *, delta, kappa, mu, sigma):
    """alpha' = mu (kappa + gamma) - alpha beta^2 - alpha,
    sigma beta' = alpha beta^2 + alpha - beta, delta gamma' = beta - gamma."""
    alpha, beta, gamma = state.unbind(-1)
    ab2 = alpha * beta**2
    return stack(
        mu * (kappa + gamma) - ab2 - alpha,
        (ab2 + alpha - beta) / sigma,
        (beta - gamma) / delta,
        like=state,
    )


@flow(
    parameters={"beta": -0.4, "gamma": 0.49, "kappa": 0.2, "mu": 2.1},
    initial_conditions=(-1.160501, 5.8636902, -1.2031947),
    dt=0.0015985997666280128,
    period=10.991666666666667,
    citation="Strizhak, P. E. & Kawczynski, A. L. (1995). Journal of Physical Chemistry 99, 10830.",
    description="Cubic three-variable model of mixed-mode oscillations in the BZ reaction.",
)
def KawczynskiStrizhak(state, t, *, beta, gamma, kappa, mu):
    """x' = gamma (y - x^3 + 3 mu x), y' = -2 mu x - y - z + beta, z' = kappa (x - z)."""
    x, y, z = state.unbind(-1)
    return stack(
        gamma * y - gamma * x**3 + 3 * mu * gamma * x,
        -2 * mu * x - y - z + beta,
        kappa * x - kappa * z,
        like=state,
    )
