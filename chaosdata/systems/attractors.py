"""Classic three-dimensional strange attractors: Rossler, Aizawa, Thomas, Halvorsen, jerk flows and kin."""

import torch

from chaosdata.systems.base import also_register, flow, stack


# ---------------------------------------------------------------------- Rossler-type flows
@flow(
    parameters={"a": 0.2, "b": 0.2, "c": 5.7},
    initial_conditions=(6.5134412, 0.4772013, 0.34164294),
    dt=0.001181916986164424,
    period=5.9086,
    citation="Rossler, O. E. (1976). An equation for continuous chaos. Physics Letters A 57(5), 397-398.",
    description="A spiral in the (x, y) plane reinjected by the single nonlinear term z x: the simplest band-like strange attractor.",
)
def Rossler(state, t, *, a, b, c):
    """x' = -y - z, y' = x + a y, z' = b + z x - c z."""
    x, y, z = state.unbind(-1)
    return stack(-y - z, x + a * y, b + z * x - c * z, like=state)


@flow(
    parameters={"a": 0.95, "b": 0.7, "c": 0.6, "d": 3.5, "e": 0.25, "f": 0.1},
    initial_conditions=(-0.78450179, -0.62887672, -0.17620268),
    dt=0.0005168261376896056,
    period=2.5837,
    citation=(
        "Aizawa, Y. & Uezu, T. (1982). Topological aspects in chaos and in 2^k-period doubling cascade. "
        "Progress of Theoretical Physics 67(3), 982-985. See also Langford, W. F. (1984). Numerical studies "
        "of torus bifurcations. Numerical Methods for Bifurcation Problems (Birkhauser), 285-295."
    ),
    description="A rotation about the z axis coupled to a cubic z dynamics; trajectories wind on a sphere-like surface pierced by a tube along the axis.",
)
def Aizawa(state, t, *, a, b, c, d, e, f):
    """x' = x z - b x - d y, y' = d x + y z - b y,
    z' = c + a z - z^3 / 3 - x^2 - y^2 - e z x^2 - e z y^2 + f z x^3.
    """
    x, y, z = state.unbind(-1)
    r2 = x**2 + y**2
    return stack(
        x * z - b * x - d * y,
        d * x + y * z - b * y,
        c + a * z - z**3 / 3 - r2 - e * z * r2 + f * z * x**3,
        like=state,
    )


# ---------------------------------------------------------------------- jerk flows x''' = J(x, x', x'')
@flow(
    parameters={"a": -5.5, "b": 4.5, "c": 1.0, "d": -1.0},
    initial_conditions=(-2.7515698, 0.19079818, 3.4703629),
    dt=0.000632925487581133,
    period=3.1641,
    citation="Arneodo, A., Coullet, P. & Tresser, C. (1980). Occurrence of strange attractors in three-dimensional Volterra equations. Physics Letters A 79(4), 259-263.",
    description="A third-order oscillator with a cubic restoring force; a spiral attractor of the Shilnikov type.",
)
def Arneodo(state, t, *, a, b, c, d):
    """x' = y, y' = z, z' = -a x - b y - c z + d x^3."""
    x, y, z = state.unbind(-1)
    return stack(y, z, -a * x - b * y - c * z + d * x**3, like=state)


also_register(
    Arneodo,
    name="Coullet",
    kind="flow",
    parameters={"a": -0.8, "b": 1.1, "c": 0.45, "d": -1.0},
    initial_conditions=(0.34539837958549907, 0.4284701181998099, 0.086983698175975),
    dt=0.0011534522420402027,
    period=5.7663,
    citation="Arneodo, A., Coullet, P. & Tresser, C. (1980). Occurrence of strange attractors in three-dimensional Volterra equations. Physics Letters A 79(4), 259-263.",
    description="The Arneodo-Coullet-Tresser cubic jerk flow with smaller coefficients (a = -0.8, b = 1.1, c = 0.45).",
    notes="Same equations as Arneodo (dysts subclasses it); only the parameters differ.",
)


@flow(
    parameters={"a": 0.44, "b": 1.1, "c": 1.0},
    initial_conditions=(-0.053772565, -0.26162564, 0.33501557),
    dt=0.0011888181363559625,
    period=5.9431,
    citation="Genesio, R. & Tesi, A. (1992). Harmonic balance methods for the analysis of chaotic dynamics in nonlinear systems. Automatica 28(3), 531-548.",
    description="A linear third-order feedback loop closed by a quadratic static nonlinearity, used to test harmonic-balance predictions of chaos.",
)
def GenesioTesi(state, t, *, a, b, c):
    """x' = y, y' = z, z' = -c x - b y - a z + x^2."""
    x, y, z = state.unbind(-1)
    return stack(y, z, -c * x - b * y - a * z + x**2, like=state)


@flow(
    parameters={"eps": 1e-09, "y0": 0.026},
    initial_conditions=(-1.300882, 0.065382947, 0.91801911),
    dt=0.003891568594765431,
    period=19.4546,
    citation="Sprott, J. C. (2011). A new chaotic jerk circuit. IEEE Transactions on Circuits and Systems II: Express Briefs 58(4), 240-243.",
    description="An electronic jerk circuit whose only nonlinearity is the exponential current-voltage law of a diode (saturation current eps, thermal voltage y0).",
    notes="dysts 0.96 also carries a commented-out copy of this class marked 'Not chaotic'; the active class, with these equations, is the one followed.",
)
def JerkCircuit(state, t, *, eps, y0):
    """x' = y, y' = z, z' = -z - x - eps (exp(y / y0) - 1)."""
    x, y, z = state.unbind(-1)
    return stack(y, z, -z - x - eps * (torch.exp(y / y0) - 1), like=state)


# ---------------------------------------------------------------------- quadratic flows
@flow(
    parameters={"e": 13.0, "n": 10.0},
    initial_conditions=(-0.79153188, 0.65244479, 0.22517831),
    dt=0.00015669211535254134,
    period=0.78333,
    citation="Shaw, R. (1981). Strange attractors, chaotic behavior, and information flow. Zeitschrift fur Naturforschung A 36(1), 80-112.",
    description="Burke and Shaw's variant of the Lorenz equations: a two-lobed attractor with the Lorenz symmetry (x, y, z) -> (-x, -y, z).",
    notes=(
        "dysts writes y' = y - n x z with e = 13; the form usually quoted for the Burke-Shaw system "
        "(e.g. Sprott's collections) is y' = -y - n x z with e = 4.272. dysts's form is kept."
    ),
)
def BurkeShaw(state, t, *, e, n):
    """x' = -n x - n y, y' = y - n x z, z' = n x y + e."""
    x, y, z = state.unbind(-1)
    return stack(-n * x - n * y, y - n * x * z, n * x * y + e, like=state)


@flow(
    parameters={"a": 3.0, "b": 2.2, "bb": 0.0, "c": 0.0, "g": 1.0, "m": -0.0026667, "y0": 1.0},
    initial_conditions=(-0.79392257, 1.3617589, -0.030578888),
    dt=0.0005356692782129358,
    period=7.6779,
    citation="Bouali, S. (1999). Feedback loop in extended van der Pol's equation applied to an economic model of cycles. International Journal of Bifurcation and Chaos 9(4), 745-756.",
    description="A van der Pol-like cycle in (x, y) (an economic business-cycle model) destabilised by a slow feedback loop through z.",
)
def Bouali2(state, t, *, a, b, bb, c, g, m, y0):
    """x' = a y0 x - a x y - b z, y' = -g y + g y x^2, z' = -1.5 m x + m bb x z - c z."""
    x, y, z = state.unbind(-1)
    return stack(
        a * y0 * x - a * x * y - b * z,
        -g * y + g * y * x**2,
        -1.5 * m * x + m * bb * x * z - c * z,
        like=state,
    )


also_register(
    Bouali2,
    name="Bouali",
    kind="flow",
    parameters={"a": 1.0, "b": -0.3, "bb": 1.0, "c": 0.05, "g": 1.0, "m": 1.0, "y0": 4.0},
    initial_conditions=(0.38673159, 3.0544196, -0.0067836194),
    dt=0.0006083213868978987,
    period=3.0411,
    citation="Bouali, S. (1999). Feedback loop in extended van der Pol's equation applied to an economic model of cycles. International Journal of Bifurcation and Chaos 9(4), 745-756.",
    description="Bouali's extended van der Pol flow with a nonlinear z feedback, whose attractor has a long stretched loop.",
    notes=(
        "Same equations as Bouali2 (dysts subclasses it). With these parameters the equations are "
        "x' = x (4 - y) + 0.3 z, y' = -y (1 - x^2), z' = -x (1.5 - z) - 0.05 z, the 'stretched loop' "
        "attractor of Bouali's later paper (A novel strange attractor with a stretched loop, Nonlinear "
        "Dynamics 70 (2012)), while dysts cites the 1999 paper."
    ),
)


@flow(
    parameters={"a": 1.4, "b": 4.0},
    initial_conditions=(-8.6807408, -2.4741399, 0.070775762),
    dt=0.000297829638273015,
    period=1.4889,
    citation="Sprott, J. C. (2010). Elegant Chaos: Algebraically Simple Chaotic Flows. World Scientific.",
    description="A flow symmetric under the cyclic shift x -> y -> z -> x, with one square per equation; a three-lobed attractor.",
)
def Halvorsen(state, t, *, a, b):
    """x' = -a x - b y - b z - y^2, y' = -a y - b z - b x - z^2, z' = -a z - b x - b y - x^2."""
    x, y, z = state.unbind(-1)
    return stack(
        -a * x - b * y - b * z - y**2,
        -a * y - b * z - b * x - z**2,
        -a * z - b * x - b * y - x**2,
        like=state,
    )


@flow(
    parameters={"a": 40.0, "c": 0.833, "d": 0.5, "eps": 0.65, "f": 20.0, "k": 0.0},
    initial_conditions=(1.2969944, 1.12138, 50.028988),
    dt=6.906351058511007e-05,
    period=0.34526,
    citation="Pan, L., Zhou, W. & Li, Y. (2013). Synchronization of three-scroll unified chaotic system (TSUCS) and its hyper-chaotic system using active pinning control.",
    description="The three-scroll unified chaotic system: a Lorenz-like quadratic flow whose attractor has three scrolls.",
    notes=(
        "dysts defines Tsucs2 as a subclass of DequanLi: the same equations (written here once more) "
        "with these parameters."
    ),
)
def Tsucs2(state, t, *, a, c, d, eps, f, k):
    """x' = a y - a x + d x z, y' = k x + f y - x z, z' = c z + x y - eps x^2."""
    x, y, z = state.unbind(-1)
    return stack(a * y - a * x + d * x * z, k * x + f * y - x * z, c * z + x * y - eps * x**2, like=state)


@flow(
    parameters={"a": 1.5},
    initial_conditions=(-1.9758582, 0.24647527, 0.79024299),
    dt=0.0011736556092682804,
    period=5.8673,
    citation=(
        "Nose, S. (1984). A unified formulation of the constant temperature molecular dynamics methods. "
        "Journal of Chemical Physics 81(1), 511-519. Hoover, W. G. (1985). Canonical dynamics: equilibrium "
        "phase-space distributions. Physical Review A 31(3), 1695-1697. Hoover, W. G., Ladd, A. J. C. & "
        "Moran, B. (1982). High-strain-rate plastic flow studied via nonequilibrium molecular dynamics. "
        "Physical Review Letters 48(26), 1818-1820."
    ),
    description="A harmonic oscillator coupled to a Nose-Hoover thermostat variable z that holds its mean kinetic energy at a; time-reversible.",
    notes=(
        "dysts's thermostat variable has the opposite sign to Hoover's (y' = -x + y z, z' = a - y^2 "
        "instead of y' = -x - y z, z' = y^2 - a); the two are equivalent under z -> -z. With a = 1 this "
        "is SprottA. dysts's citation dates Nose's paper 1985; it appeared in 1984."
    ),
)
def NoseHoover(state, t, *, a):
    """x' = y, y' = -x + y z, z' = a - y^2."""
    x, y, z = state.unbind(-1)
    return stack(y, -x + y * z, a - y**2, like=state)


# ---------------------------------------------------------------------- other nonlinearities
@flow(
    parameters={"a": 1.85, "b": 10.0},
    initial_conditions=(2.199442, 2.3634225, 3.220197),
    dt=0.0009939656609435589,
    period=4.969,
    citation="Thomas, R. (1999). Deterministic chaos seen in terms of feedback circuits: analysis, synthesis, 'labyrinth chaos'. International Journal of Bifurcation and Chaos 9(10), 1889-1905.",
    description="Thomas's cyclically symmetric feedback circuit: each variable decays and is driven by the sine of the next.",
    notes=(
        "Thomas writes x' = sin y - b x with one damping b; dysts's form -a x + b sin y is the same flow in "
        "time units 1/b, with damping a / b (0.185 here)."
    ),
)
def Thomas(state, t, *, a, b):
    """x' = -a x + b sin y, y' = -a y + b sin z, z' = -a z + b sin x."""
    x, y, z = state.unbind(-1)
    return stack(-a * x + b * torch.sin(y), -a * y + b * torch.sin(z), -a * z + b * torch.sin(x), like=state)


also_register(
    Thomas,
    name="ThomasLabyrinth",
    kind="flow",
    parameters={"a": 0.5, "b": 10.0},
    initial_conditions=(-4.9599545, 1.0302034, -4.6883893),
    dt=0.0012102017002834486,
    period=6.05,
    citation="Thomas, R. (1999). Deterministic chaos seen in terms of feedback circuits: analysis, synthesis, 'labyrinth chaos'. International Journal of Bifurcation and Chaos 9(10), 1889-1905.",
    description="Thomas's sine feedback circuit at weak damping (a / b = 0.05): 'labyrinth chaos', a walk through the lattice of unstable equilibria.",
    notes="Same equations as Thomas (dysts subclasses it); only the parameters differ.",
)


@flow(
    parameters={"a": 2.0},
    initial_conditions=(0.63878078, 1.0901873, 2.4479814),
    dt=0.0014933288881479711,
    period=7.4654,
    citation="San-Um, W. & Srisuchinwong, B. (2012). Highly complex chaotic system with piecewise linear nonlinearity and compound structures. Journal of Computers 7(4).",
    description="A flow built from a tanh nonlinearity and an absolute value, designed for electronic implementation; its attractor has compound structures.",
)
def SanUmSrisuchinwong(state, t, *, a):
    """x' = y - x, y' = -z tanh(x), z' = -a + x y + |y|."""
    x, y, z = state.unbind(-1)
    return stack(y - x, -z * torch.tanh(x), -a + x * y + torch.abs(y), like=state)


@flow(
    parameters={"eta": 0.5, "mu": 1.2},
    initial_conditions=(3.6225814, 3.3226339, 1.9973142),
    dt=0.001363027171195199,
    period=6.814,
    citation="Anishchenko, V. S., Astakhov, V., Neiman, A., Vadivasova, T. & Schimansky-Geier, L. (2007). Nonlinear Dynamics of Chaotic and Stochastic Systems: Tutorial and Modern Developments. Springer.",
    description="A negative-resistance oscillator with inertial nonlinearity: z charges only while x > 0 and damps the oscillation.",
)
def AnishchenkoAstakhov(state, t, *, eta, mu):
    """x' = mu x + y - x z, y' = -x, z' = -eta z + eta H(x) x^2, with H the unit step (H(0) = 0)."""
    x, y, z = state.unbind(-1)
    charge = torch.where(x > 0, x**2, torch.zeros_like(x))
    return stack(mu * x + y - x * z, -x, -eta * z + eta * charge, like=state)


@flow(
    parameters={"a": 0.4, "b": 20.25, "c": 3.0, "d": 1.6, "e": 1.7, "f": 0.44},
    initial_conditions=(-0.55582369, 0.05181624, 0.37766104),
    dt=6.154871965840413e-05,
    period=0.3076923076923077,
    citation="Guckenheimer, J. & Holmes, P. (1983). Nonlinear Oscillations, Dynamical Systems, and Bifurcations of Vector Fields. Applied Mathematical Sciences 42, Springer.",
    description="A fast rotation (rate b) about the z axis coupled to a cubic height dynamics, the textbook example of an invariant torus breaking up into a strange attractor.",
)
def GuckenheimerHolmes(state, t, *, a, b, c, d, e, f):
    """x' = a x - b y + c z x + d z (x^2 + y^2), y' = a y + b x + c z y,
    z' = e - z^2 - f (x^2 + y^2) - a z^3.
    """
    x, y, z = state.unbind(-1)
    r2 = x**2 + y**2
    return stack(
        a * x - b * y + c * z * x + d * z * r2,
        a * y + b * x + c * z * y,
        e - z**2 - f * r2 - a * z**3,
        like=state,
    )


@flow(
    parameters={"a": 0.5, "n": 15.3, "r": 1.0},
    initial_conditions=(-13.72884, 1.9094726, 0.72831447),
    dt=0.0012722120353390665,
    period=6.36,
    citation="Strogatz, S. H. (1994). Nonlinear Dynamics and Chaos. Addison-Wesley.",
    description="Not chaotic: the velocity of a point winding n times around the tube (radius a) of a torus (radius r) per turn; with irrational n the curve is quasi-periodic.",
    notes=(
        "As in dysts, the velocity depends on time only (not on the state), so the system is explicitly "
        "time-dependent although dysts's metadata marks it autonomous; it is a quasi-periodic example, not a "
        "chaotic one."
    ),
)
def Torus(state, t, *, a, n, r):
    """x' = -a n sin(n t) cos t - (r + a cos(n t)) sin t, y' = -a n sin(n t) sin t + (r + a cos(n t)) cos t,
    z' = a n cos(n t).
    """
    tt = t + torch.zeros_like(state[..., 0])  # the time as a tensor of the batch shape and dtype
    tube = r + a * torch.cos(n * tt)
    swing = -a * n * torch.sin(n * tt)
    return stack(
        swing * torch.cos(tt) - tube * torch.sin(tt),
        swing * torch.sin(tt) + tube * torch.cos(tt),
        a * n * torch.cos(n * tt),
        like=state,
    )
