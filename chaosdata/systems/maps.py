"""Discrete-time chaotic maps: one- and two-dimensional iterated maps x_{n+1} = F(x_n)."""

import math

import torch

from chaosdata.systems.base import map_, stack

_TWO_PI = 2 * math.pi


# ---------------------------------------------------------------------- one-dimensional maps
@map_(
    parameters={"r": 3.9},
    initial_conditions=(0.51,),
    citation="May, R. M. (1976). Simple mathematical models with very complicated dynamics. Nature 261, 459-467.",
    description="Discrete-generation population growth with crowding; the textbook period-doubling route to chaos.",
)
def Logistic(state, *, r):
    """x' = r x (1 - x)."""
    (x,) = state.unbind(-1)
    return stack(r * x * (1 - x), like=state)


@map_(
    parameters={"a": 6.0},
    initial_conditions=(0.51,),
    citation="Geisel, T. & Fairen, V. (1984). Statistical properties of chaos in Chebyshev maps. Physics Letters A 105(6), 263-266.",
    description="Iteration of a Chebyshev polynomial on [-1, 1]; fully chaotic with an explicitly known invariant density.",
)
def Chebyshev(state, *, a):
    """x' = cos(a arccos x)."""
    (x,) = state.unbind(-1)
    return stack(torch.cos(a * torch.arccos(x)), like=state)


@map_(
    parameters={"a": 3.3},
    initial_conditions=(0.51,),
    citation="Ricker, W. E. (1954). Stock and recruitment. Journal of the Fisheries Research Board of Canada 11(5), 559-623.",
    description="Fish stock-recruitment model with exponential overcompensation at high density.",
)
def Ricker(state, *, a):
    """x' = x exp(a - x)."""
    (x,) = state.unbind(-1)
    return stack(x * torch.exp(a - x), like=state)


@map_(
    parameters={"mu": 0.95},
    initial_conditions=(0.51,),
    citation="No reference given in dysts; a textbook map, e.g. Ott, E. (2002). Chaos in Dynamical Systems, 2nd ed. Cambridge University Press.",
    description="Piecewise-linear unimodal map folding the unit interval like a tent; the simplest stretch-and-fold.",
)
def Tent(state, *, mu):
    """x' = mu (1 - 2 |x - 1/2|)."""
    (x,) = state.unbind(-1)
    return stack(mu * (1 - 2 * torch.abs(x - 0.5)), like=state)


@map_(
    parameters={"a": 4.9, "b": -0.5},
    initial_conditions=(0.5,),
    citation="No reference given in dysts; the Gaussian map of Hilborn, R. C. (2000). Chaos and Nonlinear Dynamics, 2nd ed. Oxford University Press.",
    description="Unimodal map with a Gaussian hump; shows period-doubling followed by period-halving as b grows.",
)
def Gauss(state, *, a, b):
    """x' = exp(-a x^2) + b."""
    (x,) = state.unbind(-1)
    return stack(torch.exp(-a * x**2) + b, like=state)


@map_(
    parameters={"omega": 0.333, "k": 5.7},
    initial_conditions=(0.0,),
    citation="Jensen, M. H., Bak, P. & Bohr, T. (1984). Transition to chaos by interaction of resonances in dissipative systems. I. Circle maps. Physical Review A 30(4), 1960-1969.",
    description="Sine circle map of a periodically kicked rotator; Arnold tongues of mode locking, chaotic above k = 1.",
    notes="dysts does not reduce theta modulo 1, so the phase is unbounded (kept here).",
)
def Circle(state, *, k, omega):
    """theta' = theta + omega + k / (2 pi) sin(2 pi theta), without reduction modulo 1."""
    (theta,) = state.unbind(-1)
    return stack(theta + omega + (k / _TWO_PI) * torch.sin(_TWO_PI * theta), like=state)


# ---------------------------------------------------------------------- two-dimensional maps
@map_(
    parameters={"eps": 0.0, "k": 1.2, "mu": 0.0},
    initial_conditions=(0.51, 0.2),
    citation="Bogdanov, R. I. (1981). Bifurcations of a limit cycle for a family of vector fields on the plane. Selecta Mathematica Sovietica 1, 373-388.",
    description="Euler-like discretisation of the Bogdanov-Takens normal form; area-preserving when eps = mu = 0.",
)
def Bogdanov(state, *, eps, k, mu):
    """y' = (1 + eps) y + k x (x - 1) + mu x y, x' = x + y'."""
    x, y = state.unbind(-1)
    yp = (1 + eps) * y + k * x * (x - 1) + mu * x * y
    return stack(x + yp, yp, like=state)


_BAKER_EPS2 = 2.0 - 1e-10  # dysts's stretch factor: just below 2, so that 2x mod 1 does not collapse to 0


def _baker_inverse(state, *, a):
    """x = (x' + n) / eps2, y = (2 y' - n) / a with n = floor(2 y') (the branch taken forward)."""
    xp, yp = state.unbind(-1)
    n = torch.floor(2 * yp)
    return stack((xp + n) / _BAKER_EPS2, (2 * yp - n) / a, like=state)


@map_(
    parameters={"a": 1.0},
    initial_conditions=(0.04995935, 0.363224),
    inverse=_baker_inverse,
    citation="Farmer, J. D., Ott, E. & Yorke, J. A. (1983). The dimension of chaotic attractors. Physica D 7(1-3), 153-180.",
    description="Baker's transformation: stretch the unit square twofold, cut and stack; area-preserving for a = 1.",
    notes=(
        "Stretch factor eps2 = 2 - 1e-10 as in dysts (not exactly 2). dysts's _rhs_inv is marked as buggy "
        "(it picks the branch from y' > 0.5 and mixes up the offsets), so the inverse differs from dysts: "
        "here the branch n = floor(2 y') is recovered exactly, valid for a y in [0, 1) (the unit square, "
        "0 < a <= 1). dysts's JSON lists no inverse."
    ),
)
def Baker(state, *, a):
    """n = floor(eps2 x), x' = eps2 x - n, y' = (a y + n) / 2 with eps2 = 2 - 1e-10."""
    x, y = state.unbind(-1)
    n = torch.floor(_BAKER_EPS2 * x)
    return stack(_BAKER_EPS2 * x - n, (a * y + n) / 2, like=state)


@map_(
    parameters={"a": 1.641, "b": 1.902, "c": 0.316, "d": 1.525},
    initial_conditions=(1.78166133, -1.15791549),
    citation="No reference given in dysts; attributed to Peter de Jong (popularised in computer-art attractor galleries).",
    description="Trigonometric planar map whose orbits trace filigree strange attractors.",
)
def DeJong(state, *, a, b, c, d):
    """x' = sin(a y) - cos(b x), y' = sin(c x) - cos(d y)."""
    x, y = state.unbind(-1)
    return stack(torch.sin(a * y) - torch.cos(b * x), torch.sin(c * x) - torch.cos(d * y), like=state)


@map_(
    parameters={"a": 1.5, "b": -1.8, "c": 1.6, "d": 0.9},
    initial_conditions=(0.5, 0.5),
    citation="Ivan Emrich (as credited by dysts; no published source given).",
    description="Trigonometric planar map (the Svensson attractor) mixing sines and cosines of both coordinates.",
)
def Svensson(state, *, a, b, c, d):
    """x' = d sin(a x) - sin(b y), y' = c cos(a x) + cos(b y)."""
    x, y = state.unbind(-1)
    return stack(
        d * torch.sin(a * x) - torch.sin(b * y), c * torch.cos(a * x) + torch.cos(b * y), like=state
    )


@map_(
    parameters={"a": -0.67, "b": 0.83},
    initial_conditions=(0.5, 0.5),
    citation="Ivan Emrich (as credited by dysts; no published source given).",
    description="Trigonometric planar map whose attractor resembles tousled hair (the Bedhead attractor).",
)
def Bedhead(state, *, a, b):
    """x' = sin(x y / b) y + cos(a x - y), y' = x + sin(y) / b."""
    x, y = state.unbind(-1)
    xp = torch.sin(x * y / b) * y + torch.cos(a * x - y)
    return stack(xp, x + torch.sin(y) / b, like=state)


def _gumowski_mira_f(x, a):
    return a * x + 2 * (1 - a) * x**2 / (1 + x**2)


@map_(
    parameters={"a": -1.1, "b": -0.2},
    initial_conditions=(0.1, 0.1),
    citation="Gumowski, I. & Mira, C. (2006). Recurrences and Discrete Dynamic Systems. Lecture Notes in Mathematics 809. Springer.",
    description="Recurrence from particle-accelerator studies; its orbits draw intricate organic-looking patterns.",
)
def GumowskiMira(state, *, a, b):
    """f(u) = a u + 2 (1 - a) u^2 / (1 + u^2); x' = b y + f(x), y' = f(x') - x."""
    x, y = state.unbind(-1)
    xp = b * y + _gumowski_mira_f(x, a)
    return stack(xp, _gumowski_mira_f(xp, a) - x, like=state)


@map_(
    parameters={"a": 3.1, "b": 2.5, "c": 4.2},
    initial_conditions=(0.1, 0.1),
    citation="Barry Martin (as credited by dysts); popularised in Dewdney, A. K. (1986). Computer Recreations. Scientific American, September 1986.",
    description="Martin's 'hopalong' map, built on a square root of an absolute value; orbits hop between lobes.",
)
def Hopalong(state, *, a, b, c):
    """x' = y - 1 - sqrt(|b x - 1 - c|) sign(x - 1), y' = a - x - 1."""
    x, y = state.unbind(-1)
    xp = y - 1 - torch.sqrt(torch.abs(b * x - 1 - c)) * torch.sign(x - 1)
    return stack(xp, a - x - 1, like=state)


@map_(
    parameters={"u": 0.9},
    initial_conditions=(0.9, 0.55524451),
    citation="Ikeda, K. (1979). Multiple-valued stationary state and its instability of the transmitted light by a ring cavity system. Optics Communications 30(2), 257-261.",
    description="Light circulating in a nonlinear optical ring cavity: an intensity-dependent rotation with loss.",
)
def Ikeda(state, *, u):
    """t = 0.4 - 6 / (1 + x^2 + y^2); x' = 1 + u (x cos t - y sin t), y' = u (x sin t + y cos t)."""
    x, y = state.unbind(-1)
    t = 0.4 - 6 / (1 + x**2 + y**2)
    cos_t, sin_t = torch.cos(t), torch.sin(t)
    return stack(1 + u * (x * cos_t - y * sin_t), u * (x * sin_t + y * cos_t), like=state)


@map_(
    parameters={"a": 0.9, "b": -0.6013, "c": 2.0, "d": 0.5},
    initial_conditions=(0.13738266, -0.0308518),
    citation="No reference given in dysts; see Nusse, H. E. & Yorke, J. A. (1994). Dynamics: Numerical Explorations. Springer.",
    description="Quadratic planar map (a complex squaring plus linear terms) with a bell-shaped attractor.",
)
def Tinkerbell(state, *, a, b, c, d):
    """x' = x^2 - y^2 + a x + b y, y' = 2 x y + c x + d y."""
    x, y = state.unbind(-1)
    return stack(x**2 - y**2 + a * x + b * y, 2 * x * y + c * x + d * y, like=state)


@map_(
    parameters={"a": -1.4, "b": 1.6, "c": 1.0, "d": 0.7},
    initial_conditions=(-0.97631884, -1.2040783),
    citation="No reference given in dysts; the Clifford attractor of Pickover, C. A. (1994). Chaos in Wonderland. St. Martin's Press.",
    description="Pickover's (Clifford) trigonometric map: sines and cosines of both coordinates, bounded attractor.",
)
def Pickover(state, *, a, b, c, d):
    """x' = sin(a y) + c cos(a x), y' = sin(b x) + d cos(b y)."""
    x, y = state.unbind(-1)
    return stack(
        torch.sin(a * y) + c * torch.cos(a * x), torch.sin(b * x) + d * torch.cos(b * y), like=state
    )


@map_(
    parameters={"a": 0.87, "b": 0.75},
    initial_conditions=(0.0, 0.1),
    citation="No reference given in dysts; see Maynard Smith, J. (1968). Mathematical Ideas in Biology. Cambridge University Press.",
    description="Second-order population recursion (today depends on the two previous generations) with quadratic loss.",
)
def MaynardSmith(state, *, a, b):
    """x' = y, y' = a y + b - x^2."""
    x, y = state.unbind(-1)
    return stack(y, a * y + b - x**2, like=state)


@map_(
    parameters={"alpha": 0.2},
    initial_conditions=(0.2, 0.2),
    citation="Kaplan, J. L. & Yorke, J. A. (1979). Chaotic behavior of multidimensional difference equations. Functional Differential Equations and Approximation of Fixed Points, Lecture Notes in Mathematics 730, 204-227.",
    description="Doubling map driving a contracting linear map through a cosine; used to test the Kaplan-Yorke dimension.",
    notes="dysts takes 2x modulo 0.99999995 rather than modulo 1 (kept here).",
)
def KaplanYorke(state, *, alpha):
    """x' = 2 x mod 0.99999995, y' = alpha y + cos(4 pi x)."""
    x, y = state.unbind(-1)
    return stack(torch.remainder(2 * x, 0.99999995), alpha * y + torch.cos(4 * math.pi * x), like=state)


@map_(
    parameters={},
    initial_conditions=(0.51, 0.1),
    citation="Devaney, R. L. (1984). A piecewise linear model for the zones of instability of an area-preserving map. Physica D 10(3), 387-393.",
    description="Piecewise-linear area-preserving map whose chaotic sea has the outline of a gingerbread man.",
)
def Gingerbreadman(state):
    """x' = 1 - y + |x|, y' = x."""
    x, y = state.unbind(-1)
    return stack(1 - y + torch.abs(x), x, like=state)


@map_(
    name="DuffingMap",
    dysts_name="Duffing",
    parameters={"a": 2.75, "b": 0.2},
    initial_conditions=(0.51, 0.1),
    citation="Holmes, P. (1979). A nonlinear oscillator with a strange attractor. Philosophical Transactions of the Royal Society of London A 292(1394), 419-448.",
    description="Holmes's discrete analogue of the forced Duffing oscillator: a cubic, dissipative planar map.",
    notes="Registered as DuffingMap: dysts calls this map Duffing, a name the Duffing flow already takes here.",
)
def duffing_map(state, *, a, b):
    """x' = y, y' = -b x + a y - y^3."""
    x, y = state.unbind(-1)
    return stack(y, -b * x + a * y - y**3, like=state)


def _chirikov_inverse(state, *, k):
    """x = x' - p', p = p' - k sin(x)."""
    pp, xp = state.unbind(-1)
    x = xp - pp
    return stack(pp - k * torch.sin(x), x, like=state)


@map_(
    parameters={"k": 0.971635},
    initial_conditions=(0.1, 0.1),
    inverse=_chirikov_inverse,
    citation="Chirikov, B. V. (1979). Research concerning the theory of nonlinear resonance and stochasticity.",
    description="Standard map of a periodically kicked rotor; k near 0.9716 is the breakup of the last KAM torus.",
    notes="State order is (p, x) as in dysts; neither coordinate is reduced modulo 2 pi.",
)
def Chirikov(state, *, k):
    """p' = p + k sin(x), x' = x + p'."""
    p, x = state.unbind(-1)
    pp = p + k * torch.sin(x)
    return stack(pp, x + pp, like=state)


def _henon_inverse(state, *, a, b):
    """x = y' / b, y = x' - 1 + a x^2."""
    xp, yp = state.unbind(-1)
    x = yp / b
    return stack(x, xp - 1 + a * x**2, like=state)


@map_(
    parameters={"a": 1.4, "b": 0.3},
    initial_conditions=(1.21674097, 0.03536533),
    inverse=_henon_inverse,
    citation="Henon, M. (1976). A two-dimensional mapping with a strange attractor. Communications in Mathematical Physics 50(1), 69-77.",
    description="Quadratic fold plus contraction in the plane; the canonical dissipative strange attractor of a map.",
    notes=(
        "The inverse differs from dysts: dysts's _rhs_inv returns y = -x' - 1 + a x^2, which does not "
        "invert the map; the true inverse is y = x' - 1 + a x^2."
    ),
)
def Henon(state, *, a, b):
    """x' = 1 - a x^2 + y, y' = b x."""
    x, y = state.unbind(-1)
    return stack(1 - a * x**2 + y, b * x, like=state)


# ---------------------------------------------------------------------- blinking vortex
def _solve_kepler(m, e, n_iter=60):
    """The root q of q - e sin(q) = m for 0 <= e <= 1 (unique): Newton safeguarded by bisection.

    The root lies in [m - e, m + e]; a fixed number of iterations keeps the solver free of
    data-dependent control flow.
    """
    lo, hi = m - e, m + e
    q = m + e * torch.sin(m)
    for _ in range(n_iter):
        f = q - e * torch.sin(q) - m
        lo = torch.where(f < 0, q, lo)
        hi = torch.where(f > 0, q, hi)
        newton = q - f / (1 - e * torch.cos(q))
        inside = (newton > lo) & (newton < hi)
        q = torch.where(f == 0, q, torch.where(inside, newton, (lo + hi) / 2))
    return q


def _blinking_vortex(state, a, b, gamma, t):
    r, theta = state.unbind(-1)
    a2b = a**2 / b  # image of the vortex at b in the circle of radius a
    cos_theta = torch.cos(theta)
    # the streamline through the point: an Apollonius circle of ratio lam about b and a^2 / b
    lam2 = b**2 + r**2 - 2 * b * r * cos_theta
    lam2 = lam2 / (a2b**2 + r**2 - 2 * a2b * r * cos_theta)
    lam = torch.sqrt(lam2)
    etac = (b - lam2 * a2b) / (1 - lam2)
    rho = torch.abs((lam / (1 - lam2)) * (a2b - b))
    # angle about the circle's centre, advanced for a time t (Kepler's equation in that angle)
    phase = torch.atan2(r * torch.sin(theta), -etac + r * cos_theta)
    fac = (2 * lam) / (1 + lam2)
    period = _TWO_PI**2 * ((rho**2) / gamma) * (1 + lam2) / (1 - lam2)
    advanced = _solve_kepler(phase - fac * torch.sin(phase) + _TWO_PI * t / period, fac)
    r_out = torch.sqrt(rho**2 + etac**2 + 2 * rho * etac * torch.cos(advanced))
    theta_out = torch.atan2(rho * torch.sin(advanced), etac + rho * torch.cos(advanced))
    return stack(r_out, theta_out, like=state)


def _blinking_vortex_inverse(state, *, a, b, gamma, t):
    """The forward map run for a time -t along the same streamline."""
    return _blinking_vortex(state, a, b, gamma, -t)


@map_(
    parameters={"a": 1.0, "gamma": 1.0, "b": 0.5, "t": 1.5},
    initial_conditions=(0.17, 0.33),
    hamiltonian=True,
    inverse=_blinking_vortex_inverse,
    citation="Aref, H. (1984). Stirring by chaotic advection. Journal of Fluid Mechanics 143, 1-21.",
    description="Aref's blinking vortex: a point vortex in a disc advects fluid for a time t; chaotic advection.",
    notes=(
        "Polar coordinates (r, theta); one step moves the point along its streamline (a circle of the "
        "vortex at b and its image at a^2/b) for a time t, solving Kepler's equation for the new angle "
        "(dysts uses scipy's fsolve from 0.01, here safeguarded Newton to machine precision). dysts "
        "defines a _param_update that flips b between steps, but its rhs uses the fixed parameter "
        "list, so b never blinks; that is kept. The inverse differs from dysts: dysts's _rhs_inv "
        "calls the map with b and gamma swapped and negated (b -> -gamma, gamma -> -b), which is not "
        "an inverse; the true inverse is the same map with t -> -t."
    ),
)
def BlinkingVortexMap(state, *, a, gamma, b, t):
    """In polar (r, theta): lam^2 = |z - b|^2 / |z - a^2/b|^2, centre etac = (b - lam^2 a^2/b) / (1 - lam^2),
    radius rho = |lam (a^2/b - b) / (1 - lam^2)|; with phi the angle of z - etac and e = 2 lam / (1 + lam^2),
    solve q - e sin q = phi - e sin phi + 2 pi t / T, T = (2 pi)^2 (rho^2 / gamma) (1 + lam^2) / (1 - lam^2);
    z' = etac + rho exp(i q) in polar coordinates.
    """
    return _blinking_vortex(state, a, b, gamma, t)
