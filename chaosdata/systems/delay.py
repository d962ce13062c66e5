"""Delay differential equations: scalar feedback loops with a time lag (physiology, optics, circuits)."""

import torch

from chaosdata.systems.base import also_register, delay, stack


@delay(
    parameters={"beta": 0.2, "gamma": 0.1, "n": 10.0, "tau": 16},
    initial_conditions=(
        0.83347846, 1.04053938, 1.25764979, 0.38088098, 0.92160075,
        1.14714708, 0.80463944, 0.86849516, 1.16961728, 0.76980123,
    ),
    dt=0.0012027363718948435,
    period=5.9612230962292045,
    state_dim=1,
    citation="Glass, L. & Mackey, M. C. (1979). Pathological physiological conditions resulting from instabilities in physiological control systems. Annals of the New York Academy of Sciences 316, 214-235.",
    description="Blood-cell production regulated by a hormone acting after a maturation lag; a long enough delay makes the feedback chaotic.",
)
def MackeyGlass(state, state_delayed, t, *, beta, gamma, n, tau):
    """x' = beta x_tau/(1 + x_tau^n) - gamma x, with x_tau = x(t - tau)."""
    x, xt = state[..., 0], state_delayed[..., 0]
    return stack(beta * (xt / (1 + xt**n)) - gamma * x, like=state)


@delay(
    parameters={"c": 1.0, "mu": -20, "tau": 2.0, "x0": 0.0},
    initial_conditions=(
        0.024144317, 3.79262024, 3.17466302, -3.87959208, 2.05198674,
        0.95755518, 1.45382405, 3.04462032, -1.70340258, 1.00350536,
    ),
    dt=0.00029831999999998973,
    period=3.486528,
    state_dim=1,
    citation="Ikeda, K. & Matsumoto, K. (1987). High-dimensional chaotic behavior in systems with time-delayed feedback. Physica D 29(1-2), 223-235.",
    description="A ring optical cavity whose nonlinear (sinusoidal) transmission feeds back after the round-trip time; high-dimensional chaos for long delays.",
)
def IkedaDelay(state, state_delayed, t, *, c, mu, tau, x0):
    """x' = mu sin(x_tau - x0) - c x, with x_tau = x(t - tau)."""
    x, xt = state[..., 0], state_delayed[..., 0]
    return stack(mu * torch.sin(xt - x0) - c * x, like=state)


also_register(
    IkedaDelay,
    name="SprottDelay",
    kind="delay",
    parameters={"c": 0.0, "mu": 1.0, "x0": 0.0, "tau": 5.1},
    initial_conditions=(
        9.30770542, 12.7465327, 9.98335715, 7.33212279, 8.554363,
        11.19207081, 10.35063786, 6.07706904, 8.05360832, 8.98894939,
    ),
    dt=0.0028125,
    period=20.15628,
    state_dim=1,
    citation="Sprott, J. C. (2007). A simple chaotic delay differential equation. Physics Letters A 366(4-5), 397-402.",
    description="Sprott's minimal chaotic delay equation x' = sin(x(t - tau)): the Ikeda form without damping.",
)


@delay(
    parameters={"alpha": 3.24, "tau": 13.28},
    initial_conditions=(
        0.24640194, 0.02997028, 0.02899997, 0.07092207, 0.29465271,
        -0.46294535, 0.27610925, -0.52696993, 0.19878552, -0.23221942,
    ),
    dt=0.0053123603161361645,
    period=10.0,
    state_dim=1,
    citation="Voss, H. U. (2002). Real-time anticipation of chaotic states of an electronic circuit. International Journal of Bifurcation and Chaos 12(7), 1619-1625.",
    description="An electronic delay-line oscillator with a cubic nonlinearity in its feedback, used to demonstrate anticipating synchronisation.",
)
def VossDelay(state, state_delayed, t, *, alpha, tau):
    """x' = -alpha x + f(x_tau), f(u) = -10.44 u^3 - 13.95 u^2 - 3.63 u + 0.85."""
    x, xt = state[..., 0], state_delayed[..., 0]
    feedback = -10.44 * xt**3 - 13.95 * xt**2 - 3.63 * xt + 0.85
    return stack(-alpha * x + feedback, like=state)


@delay(
    parameters={"alpha": 0.2, "beta": 0.2, "tau": 10.0},
    initial_conditions=(
        -0.70009241, -0.1619611, -1.3858096, -2.00973849, -0.3170297,
        0.33881451, 0.97378904, 1.95957145, 0.89772925, -0.340544,
    ),
    dt=0.030694772119777555,
    period=152.40701151828662,
    state_dim=1,
    citation="Driver, R. D. (1977). Ordinary and Delay Differential Equations. Springer, New York.",
    description="A delayed feedback through a steep sigmoid (tanh) switch, realisable as an electronic circuit; its delay embedding shows multi-scroll chaos.",
    notes=(
        "As in dysts, the linear term acts on the delayed value, x' = -alpha x(t - tau) + beta tanh(10 x(t - tau)), "
        "so the current value x(t) does not enter; the usual circuit form damps x(t) instead."
    ),
)
def ScrollDelay(state, state_delayed, t, *, alpha, beta, tau):
    """x' = -alpha x_tau + beta tanh(10 x_tau), with x_tau = x(t - tau)."""
    xt = state_delayed[..., 0]
    return stack(-alpha * xt + beta * torch.tanh(10 * xt), like=state)


@delay(
    parameters={"alpha": 1.0, "beta": 1.0, "c": 2.24, "tau": 4.9},
    initial_conditions=(
        -0.37155972, -0.55024994, -1.07760125, -2.08210946, -2.92172609,
        0.22026821, 2.18909877, 1.43553442, 0.47734972, 1.36510289,
    ),
    dt=0.01059473019233792,
    period=52.99484890125133,
    state_dim=1,
    citation="Tamasevicius, A., Mykolaitis, G. & Bumeliene, S. (2006). Delayed feedback chaotic oscillator with improved spectral characteristics. Electronics Letters 42(13), 736-737.",
    description="A delayed-feedback electronic oscillator whose nonlinearity is a cubic N-shaped curve, designed for a flat broadband chaotic spectrum.",
    notes=(
        "As in dysts, the linear term acts on the delayed value, x' = -alpha x(t - tau) + beta f(x(t - tau)), "
        "so x(t) does not enter; and f is the smooth cubic -(u/c)^3 + 3 u/c rather than the circuit's "
        "piecewise-linear characteristic."
    ),
)
def PiecewiseCircuit(state, state_delayed, t, *, alpha, beta, c, tau):
    """x' = -alpha x_tau + beta f(x_tau), f(u) = -(u/c)^3 + 3 u/c, with x_tau = x(t - tau)."""
    xt = state_delayed[..., 0]
    u = xt / c
    return stack(-alpha * xt + beta * (-(u**3) + 3 * xt / c), like=state)
