"""Sprott's minimal chaotic flows (cases A-S of his 1994 search) and his later jerk and torus flows."""

import torch

from chaosdata.systems.base import flow, stack

_SPROTT_1994 = "Sprott, J. C. (1994). Some simple chaotic flows. Physical Review E 50(2), R647-R650."


# ---------------------------------------------------------------------- the 1994 cases A-S
@flow(
    parameters={},
    initial_conditions=(1.54131864, 1.43079727, -1.52555412),
    dt=0.001274781694385183,
    period=6.3728461538461545,
    citation=_SPROTT_1994,
    description="Case A: the Nose-Hoover thermostatted oscillator at a = 1; time-reversible, with a chaotic sea around nested invariant tori.",
)
def SprottA(state, t):
    """x' = y, y' = -x + y z, z' = 1 - y^2."""
    x, y, z = state.unbind(-1)
    return stack(y, -x + y * z, 1 - y**2, like=state)


@flow(
    parameters={},
    initial_conditions=(1.6878282, 1.4848132, -0.53706628),
    dt=0.0022103969709235116,
    period=11.050142857142857,
    citation=_SPROTT_1994,
    description="Case B: five terms, two of them quadratic products; a dissipative two-lobed attractor.",
)
def SprottB(state, t):
    """x' = y z, y' = x - y, z' = 1 - x y."""
    x, y, z = state.unbind(-1)
    return stack(y * z, x - y, 1 - x * y, like=state)


@flow(
    parameters={},
    initial_conditions=(-0.47199823, -0.27198066, 1.9418244),
    dt=0.001777336222703525,
    period=8.8852,
    citation=_SPROTT_1994,
    description="Case C: case B with the product x y in the last equation replaced by a square x^2.",
)
def SprottC(state, t):
    """x' = y z, y' = x - y, z' = 1 - x^2."""
    x, y, z = state.unbind(-1)
    return stack(y * z, x - y, 1 - x**2, like=state)


@flow(
    parameters={},
    initial_conditions=(-1.3396906, -0.21238338, 0.32982163),
    dt=0.0009668211368563107,
    period=4.8333,
    citation=_SPROTT_1994,
    description="Case D: a flow with no constant term whose only nonlinearities are x z and 3 y^2.",
)
def SprottD(state, t):
    """x' = -y, y' = x + z, z' = x z + 3 y^2."""
    x, y, z = state.unbind(-1)
    return stack(-y, x + z, x * z + 3 * y**2, like=state)


@flow(
    parameters={},
    initial_conditions=(0.6173759, 0.66599285, -1.6575023),
    dt=0.0015257542923819757,
    period=7.6275,
    citation=_SPROTT_1994,
    description="Case E: two quadratic terms and a linear drive 1 - 4x on the last variable.",
)
def SprottE(state, t):
    """x' = y z, y' = x^2 - y, z' = 1 - 4 x."""
    x, y, z = state.unbind(-1)
    return stack(y * z, x**2 - y, 1 - 4 * x, like=state)


@flow(
    parameters={"a": 0.5},
    initial_conditions=(-0.98941275, -1.4191706, 0.85797204),
    dt=0.0038494415735954137,
    period=19.244,
    citation=_SPROTT_1994,
    description="Case F: a negatively damped linear oscillator fed back through a single square x^2.",
)
def SprottF(state, t, *, a):
    """x' = y + z, y' = -x + a y, z' = x^2 - z."""
    x, y, z = state.unbind(-1)
    return stack(y + z, -x + a * y, x**2 - z, like=state)


@flow(
    parameters={"a": 0.4},
    initial_conditions=(-0.77182478, -0.74756595, 1.3073285),
    dt=0.0017422303717285104,
    period=8.7097,
    citation=_SPROTT_1994,
    description="Case G: six terms with a single quadratic product x z; chaos from linear instability in x.",
)
def SprottG(state, t, *, a):
    """x' = a x + z, y' = x z - y, z' = -x + y."""
    x, y, z = state.unbind(-1)
    return stack(a * x + z, x * z - y, -x + y, like=state)


@flow(
    parameters={"a": 0.5},
    initial_conditions=(-1.360042, 0.62585352, -1.2788196),
    dt=0.004046474412402859,
    period=20.229,
    citation=_SPROTT_1994,
    description="Case H: an unstable oscillator in (x, y) whose frequency is modulated by a filtered copy z^2 of x.",
)
def SprottH(state, t, *, a):
    """x' = -y + z^2, y' = x + a y, z' = x - z."""
    x, y, z = state.unbind(-1)
    return stack(-y + z**2, x + a * y, x - z, like=state)


@flow(
    parameters={"a": 0.2},
    initial_conditions=(-0.060099389, -0.49558355, 0.023159035),
    dt=0.002186364394065663,
    period=10.93,
    citation=_SPROTT_1994,
    description="Case I: six terms with one square y^2; a compact single-scroll attractor.",
)
def SprottI(state, t, *, a):
    """x' = -a y, y' = x + z, z' = x + y^2 - z."""
    x, y, z = state.unbind(-1)
    return stack(-a * y, x + z, x + y**2 - z, like=state)


@flow(
    parameters={},
    initial_conditions=(4.4786928, 2.2977432, 6.5847115),
    dt=0.0009673612268710486,
    period=4.836,
    citation=_SPROTT_1994,
    description="Case J: a linear system closed by a single square y^2; its attractor is large compared with cases A-I.",
)
def SprottJ(state, t):
    """x' = 2 z, y' = -2 y + z, z' = -x + y + y^2."""
    x, y, z = state.unbind(-1)
    return stack(2 * z, -2 * y + z, -x + y + y**2, like=state)


@flow(
    parameters={"a": 0.3},
    initial_conditions=(-1.3165015, -1.5429951, 0.664053),
    dt=0.0014014335722617943,
    period=7.006,
    citation=_SPROTT_1994,
    description="Case K: one product x y drives an otherwise linear flow with a growing z.",
)
def SprottK(state, t, *, a):
    """x' = x y - z, y' = x - y, z' = x + a z."""
    x, y, z = state.unbind(-1)
    return stack(x * y - z, x - y, x + a * z, like=state)


@flow(
    parameters={"a": 0.9, "b": 3.9},
    initial_conditions=(4.3611557, 13.705573, -2.6835659),
    dt=0.0013454642440407839,
    period=6.7262,
    citation=_SPROTT_1994,
    description="Case L: a square a x^2 feeding a leaky integrator, with a constant drive 1 - x; a wide attractor.",
)
def SprottL(state, t, *, a, b):
    """x' = y + b z, y' = a x^2 - y, z' = 1 - x."""
    x, y, z = state.unbind(-1)
    return stack(y + b * z, a * x**2 - y, 1 - x, like=state)


@flow(
    parameters={"a": 1.7},
    initial_conditions=(1.6024402, -1.5983203, -2.6236374),
    dt=0.0010730588431405862,
    period=5.3644,
    citation=_SPROTT_1994,
    description="Case M: six terms with one square x^2; the parameter a sets both the constant and the linear feedback.",
)
def SprottM(state, t, *, a):
    """x' = -z, y' = -x^2 - y, z' = a + a x + y."""
    x, y, z = state.unbind(-1)
    return stack(-z, -(x**2) - y, a + a * x + y, like=state)


@flow(
    parameters={},
    initial_conditions=(-8.3258705, 7.3033716, 3.2798909),
    dt=0.0009628604767459592,
    period=4.8135,
    citation=_SPROTT_1994,
    description="Case N: an oscillator in (x, y) perturbed by z^2, where z is a damped, driven copy of y.",
)
def SprottN(state, t):
    """x' = -2 y, y' = x + z^2, z' = 1 + y - 2 z."""
    x, y, z = state.unbind(-1)
    return stack(-2 * y, x + z**2, 1 + y - 2 * z, like=state)


@flow(
    parameters={"a": 2.7},
    initial_conditions=(0.20549455, 0.022792985, 0.93636949),
    dt=0.001951325220870217,
    period=9.755,
    citation=_SPROTT_1994,
    description="Case O: a flow whose only nonlinearity is the product x z.",
)
def SprottO(state, t, *, a):
    """x' = y, y' = x - z, z' = x + x z + a y."""
    x, y, z = state.unbind(-1)
    return stack(y, x - z, x + x * z + a * y, like=state)


@flow(
    parameters={"a": 2.7},
    initial_conditions=(0.83420675, 0.14915817, 0.44028635),
    dt=0.0010684580763461328,
    period=5.3414,
    citation=_SPROTT_1994,
    description="Case P: six terms with the single square y^2; no constant term.",
)
def SprottP(state, t, *, a):
    """x' = a y + z, y' = -x + y^2, z' = x + y."""
    x, y, z = state.unbind(-1)
    return stack(a * y + z, -x + y**2, x + y, like=state)


@flow(
    parameters={"a": 3.1, "b": 0.5},
    initial_conditions=(2.978102, -0.065260683, -2.8031286),
    dt=0.0009690215035840311,
    period=4.8443,
    citation=_SPROTT_1994,
    description="Case Q: a low-pass filtered x feeding a square y^2 into an unstable z.",
    # its basin is thin: 8 of 64 starts kicked by 1% escape to infinity within 50 periods,
    # 0 of 128 kicked by 0.5% or 0.3% over 110 periods
    perturbation=0.003,
)
def SprottQ(state, t, *, a, b):
    """x' = -z, y' = x - y, z' = a x + y^2 + b z."""
    x, y, z = state.unbind(-1)
    return stack(-z, x - y, a * x + y**2 + b * z, like=state)


@flow(
    parameters={"a": 0.9, "b": 0.4},
    initial_conditions=(-1.6914909, -1.9783678, 1.9807775),
    dt=0.0014028938156360482,
    period=7.0133,
    citation=_SPROTT_1994,
    description="Case R: two constant drives and a single product x y.",
)
def SprottR(state, t, *, a, b):
    """x' = a - y, y' = b + z, z' = x y - z."""
    x, y, z = state.unbind(-1)
    return stack(a - y, b + z, x * y - z, like=state)


@flow(
    parameters={},
    initial_conditions=(0.12635702, 0.12260693, 1.2215429),
    dt=0.0006702117019503362,
    period=3.3505,
    citation=_SPROTT_1994,
    description="Case S: the last of the 1994 cases; a damped linear pair closed by z^2 and driven by 1 + x.",
)
def SprottS(state, t):
    """x' = -x - 4 y, y' = x + z^2, z' = 1 + x."""
    x, y, z = state.unbind(-1)
    return stack(-x - 4 * y, x + z**2, 1 + x, like=state)


# ---------------------------------------------------------------------- later flows
@flow(
    parameters={"mu": 2.017},
    initial_conditions=(-0.54106056, 0.59383201, 0.45127217),
    dt=0.0023845974329054797,
    period=11.921,
    citation="Sprott, J. C. (1997). Simplest dissipative chaotic flow. Physics Letters A 228(4-5), 271-274.",
    description="The jerk equation x''' = -mu x'' + x'^2 - x: the algebraically simplest dissipative chaotic flow known.",
)
def SprottJerk(state, t, *, mu):
    """x' = y, y' = z, z' = -x + y^2 - mu z."""
    x, y, z = state.unbind(-1)
    return stack(y, z, -x + y**2 - mu * z, like=state)


@flow(
    parameters={},
    initial_conditions=(0.6883476, -0.18017646, 0.58539724),
    dt=0.0027218536422742544,
    period=13.607,
    citation="Sprott, J. C. (2014). A dynamical system with a strange attractor and invariant tori. Physics Letters A 378(20), 1361-1363.",
    description="A quadratic flow in which a strange attractor coexists with conservative-looking nested invariant tori.",
)
def SprottTorus(state, t):
    """x' = y + 2 x y + x z, y' = 1 - 2 x^2 + y z, z' = x - x^2 - y^2."""
    x, y, z = state.unbind(-1)
    return stack(y + 2 * x * y + x * z, 1 - 2 * x**2 + y * z, x - x**2 - y**2, like=state)


@flow(
    parameters={},
    initial_conditions=(-1.3396906, -0.21238338, 0.32982163),
    dt=0.0013244125162412957,
    period=6.62095890410959,
    citation="Sprott, J. C. (2020). Do we need more chaos examples? Chaos Theory and Applications 2(2), 1-3.",
    description="An oscillator whose damping switches sign with z, z being driven by y^2 - exp(-x^2); a parameter-free example with a sign nonlinearity.",
    notes="dysts's default initial condition is exactly SprottD's; it is kept as is.",
)
def SprottMore(state, t):
    """x' = y, y' = -x - sign(z) y, z' = y^2 - exp(-x^2)."""
    x, y, z = state.unbind(-1)
    return stack(y, -x - torch.sign(z) * y, y**2 - torch.exp(-(x**2)), like=state)
