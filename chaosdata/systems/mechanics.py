"""Mechanical, optical and astrophysical oscillators: pendula, forced oscillators, lasers, stars."""

import math

import torch

from chaosdata.systems.base import flow, stack


# ---------------------------------------------------------------------- postprocessing
def _sin_first_two_angles(state, **params):
    """Report both pendulum angles as their sines, keeping the momenta."""
    th1, th2, p1, p2 = state.unbind(-1)
    return stack(torch.sin(th1), torch.sin(th2), p1, p2, like=state)


def _sin_second_angle(state, **params):
    """Report the swing angle as its sine, keeping the radius and the momenta."""
    r, th, pr, pth = state.unbind(-1)
    return stack(r, torch.sin(th), pr, pth, like=state)


def _cos_phase(state, **params):
    """Report the forcing phase (third variable) as its cosine."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.cos(z), like=state)


def _sin_phase(state, **params):
    """Report the forcing phase (third variable) as its sine."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.sin(z), like=state)


# ---------------------------------------------------------------------- conservative mechanics
@flow(
    parameters={"g": 9.81, "l1": 1.0, "l2": 1.0, "m1": 1.0, "m2": 1.0},
    initial_conditions=(-44.334542, 223.53554, -1.2249799, 2.535486),
    dt=0.0008048141356891847,
    period=4.0234,
    hamiltonian=True,
    unbounded_indices=(0, 1),
    citation="Marion, J. B. & Thornton, S. T. (2013). Classical Dynamics of Particles and Systems. Cengage Learning (see for example).",
    description="Two point masses on massless rods hung one below the other, frictionless, in angle-momentum coordinates.",
    notes=(
        "The momentum equations follow dysts, which are not exactly Hamilton's equations of the "
        "point-mass double pendulum: in the sin(2(th1 - th2)) term h2, dysts's numerator is "
        "m2 (l2/l1) p1^2 + (m1 + m2) l1^2 p2^2 - m2 l1 l2 p1 p2 cos(th1 - th2), where "
        "-dH/dth gives m2 l2^2 p1^2 + (m1 + m2) l1^2 p2^2 - 2 m2 l1 l2 p1 p2 cos(th1 - th2) "
        "(the cross term has half the weight, even at the default unit lengths and masses). "
        "The angle equations agree with dH/dp."
    ),
    postprocess=_sin_first_two_angles,
)
def DoublePendulum(state, t, *, g, l1, l2, m1, m2):
    """With D = l1 l2 (m1 + m2 sin^2(th1 - th2)):
    th1' = (l2 p1 - l1 p2 cos(th1 - th2)) / (l1 D),
    th2' = ((m1 + m2) l1 p2 - m2 l2 p1 cos(th1 - th2)) / (m2 l2 D),
    h1 = p1 p2 sin(th1 - th2) / D,
    h2 = [m2 l2 p1^2 / (2 l1 D^2) + m2 l1 l2 p2 th2' / (2 D)] sin(2 (th1 - th2)),
    p1' = -(m1 + m2) g l1 sin(th1) - h1 + h2, p2' = -m2 g l2 sin(th2) + h1 - h2.
    """
    th1, th2, p1, p2 = state.unbind(-1)
    diff = th1 - th2
    cos_diff = torch.cos(diff)
    sin_diff = torch.sin(diff)
    denom = l1 * l2 * (m1 + m2 * sin_diff**2)
    th1_dot = (l2 * p1 - l1 * p2 * cos_diff) / (l1 * denom)
    th2_dot = ((m1 + m2) * l1 * p2 - m2 * l2 * p1 * cos_diff) / (m2 * l2 * denom)
    h1 = p1 * p2 * sin_diff / denom
    h2 = (m2 * l2 * p1**2) / (2 * l1 * denom**2) + 0.5 * m2 * p2 * l2 * l1 * th2_dot / denom
    h2 = h2 * torch.sin(2 * diff)
    p1_dot = -(m1 + m2) * g * l1 * torch.sin(th1) - h1 + h2
    p2_dot = -m2 * g * l2 * torch.sin(th2) + h1 - h2
    return stack(th1_dot, th2_dot, p1_dot, p2_dot, like=state)


_ATWOOD_GRAVITY = 9.82  # the value dysts fixes inside its equations


@flow(
    parameters={"m1": 1.0, "m2": 4.5},
    initial_conditions=(0.113296, 1.5707963267948966, 0.10992, 0.17747),
    dt=6.836433523233154e-05,
    period=0.3417647058823529,
    hamiltonian=True,
    unbounded_indices=(1,),
    citation="Tufillaro, N. B., Abbott, T. A. & Griffiths, D. J. (1984). Swinging Atwood's Machine. American Journal of Physics 52(10), 895-903.",
    description="A pendulum mass m1 on a rope over a pulley, counterweighted by a non-swinging mass m2; chaotic for large mass ratios.",
    notes="The gravitational acceleration is fixed at g = 9.82 inside dysts's equations (not a parameter).",
    postprocess=_sin_second_angle,
)
def SwingingAtwood(state, t, *, m1, m2):
    """r' = pr / (m1 + m2), th' = pth / (m1 r^2),
    pr' = pth^2 / (m1 r^3) - m2 g + m1 g cos(th), pth' = -m1 g r sin(th), with g = 9.82.
    """
    r, th, pr, pth = state.unbind(-1)
    g = _ATWOOD_GRAVITY
    r_dot = pr / (m1 + m2)
    th_dot = pth / (m1 * r**2)
    pr_dot = pth**2 / (m1 * r**3) - m2 * g + m1 * g * torch.cos(th)
    pth_dot = -m1 * g * r * torch.sin(th)
    return stack(r_dot, th_dot, pr_dot, pth_dot, like=state)


@flow(
    parameters={"lam": 1.0},
    initial_conditions=(-0.29707259, -0.0031367513, 0.42548865, 0.071905482),
    dt=0.0012742123687280581,
    period=6.37,
    citation="Henon, M. & Heiles, C. (1964). The applicability of the third integral of motion: some numerical experiments. The Astronomical Journal 69, 73-79.",
    description="A star orbiting in an axisymmetric galactic potential with a cubic perturbation; mixed regular and chaotic orbits.",
    notes="dysts's metadata marks this system as not Hamiltonian, although it is the Hamiltonian flow of H = (px^2 + py^2 + x^2 + y^2) / 2 + lam (x^2 y - y^3 / 3); the flag follows dysts.",
)
def HenonHeiles(state, t, *, lam):
    """x' = px, y' = py, px' = -x - 2 lam x y, py' = -y - lam x^2 + lam y^2."""
    x, y, px, py = state.unbind(-1)
    return stack(px, py, -x - 2 * lam * x * y, -y - lam * x**2 + lam * y**2, like=state)


@flow(
    parameters={"a": 1.0, "b": 0.55, "d": 0.4},
    initial_conditions=(-0.85591178, 1.48078342, -0.85075322, 1.63576085),
    dt=0.0012048161873133268,
    period=6.023076923076923,
    hamiltonian=True,
    citation="Baran, V. & Raduta, A. A. (1998). Classical and quantal chaos described by a fourth order quadrupole boson Hamiltonian. International Journal of Modern Physics E 7(4), 527-551.",
    description="Classical limit of a quadrupole boson Hamiltonian for nuclear surface vibrations; chaos from overlapping resonances.",
)
def NuclearQuadrupole(state, t, *, a, b, d):
    """q1' = a p1, q2' = a p2,
    p1' = -a q1 + (3/sqrt2) b (q1^2 - q2^2) - d q1 (q1^2 + q2^2),
    p2' = -a q2 - 3 sqrt2 b q1 q2 - d q2 (q1^2 + q2^2).
    """
    q1, q2, p1, p2 = state.unbind(-1)
    c = 3 / math.sqrt(2)
    p1_dot = -a * q1 + c * b * q1**2 - c * b * q2**2 - d * q1**3 - d * q1 * q2**2
    p2_dot = -a * q2 - 3 * math.sqrt(2) * b * q1 * q2 - d * q2 * q1**2 - d * q2**3
    return stack(a * p1, a * p2, p1_dot, p2_dot, like=state)


# ---------------------------------------------------------------------- forced oscillators
@flow(
    parameters={"alpha": 1.0, "beta": -1.0, "delta": 0.1, "gamma": 0.35, "omega": 1.4},
    initial_conditions=(-1.1635382, -0.5092374, 0.0),
    dt=0.0014901683613936711,
    period=7.4496,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Duffing, G. (1918). Erzwungene Schwingungen bei veranderlicher Eigenfrequenz und ihre technische Bedeutung (Forced oscillations with variable natural frequency and their technical relevance). Heft 41/42, Vieweg, Braunschweig.",
    description="Damped oscillator with a cubic restoring force in a double-well potential, driven by a cosine; the phase is the third variable.",
    postprocess=_cos_phase,
)
def Duffing(state, t, *, alpha, beta, delta, gamma, omega):
    """x' = y, y' = -delta y - beta x - alpha x^3 + gamma cos(z), z' = omega."""
    x, y, z = state.unbind(-1)
    y_dot = -delta * y - beta * x - alpha * x**3 + gamma * torch.cos(z)
    return stack(y, y_dot, omega, like=state)


@flow(
    parameters={"a": 1.2, "mu": 8.53, "w": 0.63},
    initial_conditions=(-1.520504, 0.19640249, 687.39073),
    dt=0.0028958576429408823,
    period=14.476875,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="van der Pol, B. (1920). A theory of the amplitude of free and forced triode vibrations. Radio Review 1.",
    description="Relaxation oscillator of a triode circuit under sinusoidal drive; strong nonlinear damping mu gives chaotic phase slips.",
    postprocess=_sin_phase,
)
def ForcedVanDerPol(state, t, *, a, mu, w):
    """x' = y, y' = mu (1 - x^2) y - x + a sin(z), z' = w."""
    x, y, z = state.unbind(-1)
    return stack(y, mu * (1 - x**2) * y - x + a * torch.sin(z), w, like=state)


@flow(
    parameters={"a": 1.0, "alpha": 0.3, "b": 1.0, "beta": 0.3, "eps": 0.05, "gamma": 1.0, "t0": 0.3, "vs": 0.4, "w": 2.0},
    initial_conditions=(0.85539847, -0.39125834, 0.0),
    dt=0.00032263377229540424,
    period=1.6129,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Awrejcewicz, J. & Holicke, M. M. (1999). Melnikov's method and stick-slip chaotic oscillations in very weakly forced mechanical systems. International Journal of Bifurcation and Chaos 9(3), 505-518.",
    description="Duffing-type oscillator on a moving belt with dry (Coulomb plus cubic) friction and weak periodic forcing.",
    notes=(
        "As in dysts, the friction torque is t0 sign(v - vs) - alpha v + beta (v - vs)^3: its linear "
        "term uses the absolute velocity v while the other two use the relative velocity v - vs. "
        "The sign makes the field discontinuous at v = vs, and orbits slide along it while they "
        "stick; adaptive error control then shrinks the step without bound, so this system is "
        "integrated with fixed-step RK4 (first-order accurate across the switch)."
    ),
    solver={"method": "rk4", "steps_per_period": 1000},
    postprocess=_cos_phase,
)
def StickSlipOscillator(state, t, *, a, alpha, b, beta, eps, gamma, t0, vs, w):
    """T = t0 sign(v - vs) - alpha v + beta (v - vs)^3,
    x' = v, v' = eps (gamma cos(th) - T) + a x - b x^3, th' = w.
    """
    x, v, th = state.unbind(-1)
    rel = v - vs
    torque = t0 * torch.sign(rel) - alpha * v + beta * rel**3
    v_dot = eps * (gamma * torch.cos(th) - torque) + a * x - b * x**3
    return stack(v, v_dot, w, like=state)


# ---------------------------------------------------------------------- lasers, stars, plasmas
@flow(
    parameters={"a": 10.0, "b": 1.0, "c": 5.0, "d": -1.0, "h": -5.0, "k": -6.0},
    initial_conditions=(-2.540801356216252, -1.940570579119389, -2.9680975444071955),
    dt=0.00018936556092683077,
    period=0.94667,
    citation="Abooee, A., Yaghini-Bonabi, H. A. & Jahed-Motlagh, M. R. (2013). Analysis and circuitry realization of a novel three-dimensional chaotic system. Communications in Nonlinear Science and Numerical Simulation 18.",
    description="Three-variable semiconductor-laser-like flow with cubic couplings through the square of the third variable.",
)
def Laser(state, t, *, a, b, c, d, h, k):
    """x' = a (y - x) + b y z^2, y' = c x + d x z^2, z' = h z + k x^2."""
    x, y, z = state.unbind(-1)
    z2 = z**2
    return stack(a * y - a * x + b * y * z2, c * x + d * x * z2, h * z + k * x**2, like=state)


@flow(
    parameters={"a": 10.0, "b": 4.0, "eps": 9.0},
    initial_conditions=(-3.4733266, 19.666962, -3.8262485),
    dt=0.00025778296382725327,
    period=1.2887,
    citation="Moore, D. W. & Spiegel, E. A. (1966). A thermally excited non-linear oscillator. The Astrophysical Journal 143, 871-887.",
    description="Third-order oscillator for a fluid parcel in a stratified, radiating stellar atmosphere; irregular pulsations.",
)
def MooreSpiegel(state, t, *, a, b, eps):
    """x' = y, y' = a z, z' = -z + eps y - y x^2 - b x."""
    x, y, z = state.unbind(-1)
    return stack(y, a * z, -z + eps * y - y * x**2 - b * x, like=state)


@flow(
    parameters={"a1": 0.247, "b1": 10.8, "b2": 0.0752, "b3": 1.06, "d1": 2200.0, "vsw": 5.0},
    initial_conditions=(0.93337506, 6.2678923, 41.969547),
    dt=0.0009348158026337216,
    period=4.6733,
    citation="Smith, J. P., Thiffeault, J.-L. & Horton, W. (2000). Dynamical range of the WINDMI model: an exploration of possible magnetospheric plasma states. Journal of Geophysical Research 105(A6), 12983-12996; Horton, W., Weigel, R. S. & Sprott, J. C. (2001). Chaos 11.",
    description="Reduced WINDMI model of solar-wind energy loading of the magnetosphere-ionosphere: current, voltage and plasma pressure.",
    notes=(
        "dysts writes the pressure term of v' as b2 * p**1 / 2, i.e. b2 p / 2, where the published "
        "reduced WINDMI model has b2 p^(1/2); dysts's form is kept."
    ),
)
def WindmiReduced(state, t, *, a1, b1, b2, b3, d1, vsw):
    """i' = a1 (vsw - v), v' = b1 i - b2 p / 2 - b3 v,
    p' = vsw^2 - p^(5/4) vsw^(1/2) (1 + tanh(d1 (i - 1))) / 2.
    """
    i, v, p = state.unbind(-1)
    i_dot = a1 * (vsw - v)
    v_dot = b1 * i - b2 * p / 2 - b3 * v
    p_dot = vsw**2 - p**1.25 * vsw**0.5 * (1 + torch.tanh(d1 * (i - 1))) / 2
    return stack(i_dot, v_dot, p_dot, like=state)
