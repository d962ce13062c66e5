"""Fluid flows, chaotic advection and geophysical models: tracer kinematics, jets, convection, climate."""

import math

import torch
from torch import Tensor

from chaosdata.systems.base import also_register, flow, stack


# ---------------------------------------------------------------------- shared pieces
def _blink(tt, tau, stiffness=20.0):
    """Smoothed square wave in [0, 1] of period tau that switches between two stirring protocols."""
    return 0.5 + 0.5 * torch.tanh(tau * stiffness * torch.sin(2 * math.pi * tt / tau))


def _sin_phase(state, **params):
    """Report the phase (third variable) as its sine."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.sin(z), like=state)


def _cos_phase(state, **params):
    """Report the phase (third variable) as its cosine."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.cos(z), like=state)


def _polar_to_cartesian_with_clock(state, *, tau, **params):
    """(r, theta, tt) -> (r cos theta, r sin theta, sin(2 pi tt / tau))."""
    r, th, tt = state.unbind(-1)
    return stack(r * torch.cos(th), r * torch.sin(th), torch.sin(2 * math.pi * tt / tau), like=state)


def _clock_phase(state, *, tau, **params):
    """(x, y, tt) -> (x, y, sin(2 pi tt / tau))."""
    x, y, tt = state.unbind(-1)
    return stack(x, y, torch.sin(2 * math.pi * tt / tau), like=state)


# ---------------------------------------------------------------------- chaotic advection
@flow(
    parameters={"alpha": 0.1, "eps": 0.1, "omega": 0.62832},
    initial_conditions=(1.5327241, 0.99802126, 3879.3323),
    dt=0.002791065177530072,
    period=13.953,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Shadden, S. C., Lekien, F. & Marsden, J. E. (2005). Definition and properties of Lagrangian coherent structures from finite-time Lyapunov exponents in two-dimensional aperiodic flows. Physica D 212(3-4), 271-304.",
    description="Two counter-rotating cells whose dividing line sways periodically; the standard test bed for Lagrangian coherent structures.",
    postprocess=_sin_phase,
)
def DoubleGyre(state, t, *, alpha, eps, omega):
    """With a = eps sin(z), b = 1 - 2 eps sin(z), f = a x^2 + b x:
    x' = -pi alpha sin(pi f) cos(pi y), y' = pi alpha cos(pi f) sin(pi y) (2 a x + b), z' = omega.
    """
    x, y, z = state.unbind(-1)
    a = eps * torch.sin(z)
    b = 1 - 2 * eps * torch.sin(z)
    f = a * x**2 + b * x
    dx = -alpha * math.pi * torch.sin(math.pi * f) * torch.cos(math.pi * y)
    dy = alpha * math.pi * torch.cos(math.pi * f) * torch.sin(math.pi * y) * (2 * a * x + b)
    return stack(dx, dy, omega, like=state)


def _rotlet(r, th, a, b, bc):
    """Polar velocity (v_r, v_theta-like) of a rotlet at distance b from the centre of a disc of radius a."""
    cos_th = torch.cos(th)
    kappa = a**2 + (b**2 * r**2) / a**2 - 2 * b * r * cos_th
    gam = (1 - r**2 / a**2) * (a**2 - (b**2 * r**2) / a**2)
    iota = (b**2 * r) / a**2 - b * cos_th
    zeta = b**2 + r**2 - 2 * b * r * cos_th
    nu = a**2 + b**2 - (2 * b**2 * r**2) / a**2
    vr = b * torch.sin(th) * (-bc * (gam / kappa**2) - 1 / kappa + 1 / zeta)
    vth = bc * (gam * iota) / kappa**2 + bc * r * nu / (a**2 * kappa) + iota / kappa - (r - b * cos_th) / zeta
    return vr, vth


@flow(
    parameters={"a": 1.0, "b": 0.5298833894399929, "bc": 1.0, "sigma": -1.0, "tau": 3.0},
    initial_conditions=(-0.08541919, -0.05204435, 0.0),
    dt=0.0005905109184863022,
    period=2.9520625,
    nonautonomous=True,
    hamiltonian=True,
    unbounded_indices=(1, 2),
    citation="Meleshko, V. V. & Aref, H. (1996). A blinking rotlet model for chaotic advection. Physics of Fluids 8(12), 3215-3217; see also Tallapragada, P. & Sudarsanam, S. (2019). Physical Review E.",
    description="Stokes flow in a disc stirred by a point rotlet that blinks between two mirror positions; tracer in polar coordinates (r, theta).",
    postprocess=_polar_to_cartesian_with_clock,
)
def BlinkingRotlet(state, t, *, a, b, bc, sigma, tau):
    """w = 1/2 + tanh(20 tau sin(2 pi tt / tau)) / 2; (vr_k, vth_k) the rotlet field at +b (k=1), -b (k=2):
    r' = sigma (w vr_1 + (1 - w) vr_2), theta' = sigma (w vth_1 + (1 - w) vth_2) / r, tt' = 1.
    """
    r, th, tt = state.unbind(-1)
    w = _blink(tt, tau)
    dr1, dth1 = _rotlet(r, th, a, b, bc)
    dr2, dth2 = _rotlet(r, th, a, -b, bc)
    dr = w * dr1 + (1 - w) * dr2
    dth = (w * dth1 + (1 - w) * dth2) / r
    return stack(sigma * dr, sigma * dth, 1.0, like=state)


also_register(
    BlinkingRotlet,
    name="BlinkingVortex",
    kind="flow",
    parameters={"a": 1.0, "b": 0.5, "bc": 0.0, "sigma": -1.0, "tau": 3.0},
    initial_conditions=(-0.08541919, -0.05204435, 0.0),
    dt=0.0005524254042340715,
    period=2.7616666666666667,
    nonautonomous=True,
    hamiltonian=True,
    unbounded_indices=(1, 2),
    citation="Aref, H. (1984). Stirring by chaotic advection. Journal of Fluid Mechanics 143, 1-21.",
    description="Aref's blinking point vortex: two vortices in a disc switched on and off in turn; tracer in polar coordinates (r, theta).",
    notes="Shares BlinkingRotlet's equations with bc = 0 (no boundary-correction term), as in dysts.",
    postprocess=_polar_to_cartesian_with_clock,
)


def _sinh(v):
    """sinh of a float parameter or of a parameter tensor."""
    return torch.sinh(v) if isinstance(v, Tensor) else math.sinh(v)


def _cosh(v):
    """cosh of a float parameter or of a parameter tensor."""
    return torch.cosh(v) if isinstance(v, Tensor) else math.cosh(v)


def _lid(x, y, a, b, u1, u2):
    """Cavity velocity of the first two Stokes modes, with wall speeds u1 and u2."""
    pi = math.pi
    sinh1, cosh1 = _sinh(pi * b / a), _cosh(pi * b / a)
    sinh2, cosh2 = _sinh(2 * pi * b / a), _cosh(2 * pi * b / a)
    den1 = 2 * b * pi + a * _sinh(2 * pi * b / a)
    den2 = 4 * b * pi + a * _sinh(4 * pi * b / a)

    pre1 = 2 * u1 * torch.sin(pi * x / a) / den1
    pre2 = 2 * u2 * torch.sin(2 * pi * x / a) / den2
    vx1 = -b * pi * sinh1 * torch.sinh(pi * y / a) + cosh1 * (
        pi * y * torch.cosh(pi * y / a) + a * torch.sinh(pi * y / a)
    )
    vx2 = -2 * b * pi * sinh2 * torch.sinh(2 * pi * y / a) + cosh2 * (
        2 * pi * y * torch.cosh(2 * pi * y / a) + a * torch.sinh(2 * pi * y / a)
    )
    vx = pre1 * vx1 + pre2 * vx2

    pre1 = 2 * pi * u1 * torch.cos(pi * x / a) / den1
    pre2 = 4 * pi * u2 * torch.cos(2 * pi * x / a) / den2
    vy1 = b * sinh1 * torch.cosh(pi * y / a) - cosh1 * y * torch.sinh(pi * y / a)
    vy2 = b * sinh2 * torch.cosh(2 * pi * y / a) - cosh2 * y * torch.sinh(2 * pi * y / a)
    vy = pre1 * vy1 + pre2 * vy2
    return vx, vy


@flow(
    parameters={"a": 6.0, "b": 1.0, "tau": 1.1, "u1": 9.92786, "u2": 8.34932},
    initial_conditions=(3.966790341130254, 0.18425981346720144, 0.0),
    dt=0.000546753824549171,
    period=2.7333134945588955,
    nonautonomous=True,
    hamiltonian=True,
    unbounded_indices=(2,),
    citation="Grover, P., Ross, S. D., Stremler, M. A. & Kumar, P. (2012). Topological chaos, braiding and bifurcation of almost-cyclic sets. Chaos 22(4), 043135.",
    description="Stokes flow in a rectangular cavity stirred by moving walls, switching periodically between two wall-motion protocols; tracer position (x, y).",
    notes="As in dysts, the second protocol is the first with the sign of u1 reversed, blended by a smoothed square wave of period tau.",
    postprocess=_clock_phase,
)
def LidDrivenCavityFlow(state, t, *, a, b, tau, u1, u2):
    """w = 1/2 + tanh(20 tau sin(2 pi tt / tau)) / 2; (vx, vy)(u1, u2) the two-mode Stokes cavity field:
    x' = w vx(u1, u2) + (1 - w) vx(-u1, u2), y' = w vy(u1, u2) + (1 - w) vy(-u1, u2), tt' = 1.
    """
    x, y, tt = state.unbind(-1)
    w = _blink(tt, tau)
    dx1, dy1 = _lid(x, y, a, b, u1, u2)
    dx2, dy2 = _lid(x, y, a, b, -u1, u2)
    dx = w * dx1 + (1 - w) * dx2
    dy = w * dy1 + (1 - w) * dy2
    return stack(dx, dy, 1.0, like=state)


def _oscillating_flow_view(state, *, k, **params):
    """(x, y, z) -> (cos(k x), y, sin(z))."""
    x, y, z = state.unbind(-1)
    return stack(torch.cos(k * x), y, torch.sin(z), like=state)


@flow(
    parameters={"b": 0.48, "k": 1.0, "omega": 0.49, "u": 0.72},
    initial_conditions=(3.14159265, 1.04719755, 0.4),
    dt=0.004772195365894731,
    period=23.857,
    nonautonomous=True,
    unbounded_indices=(0, 2),
    citation="Solomon, T. H. & Gollub, J. P. (1988). Chaotic particle transport in time-dependent Rayleigh-Benard convection. Physical Review A 38(12), 6280-6286.",
    description="Tracer in a row of convection rolls whose boundaries oscillate laterally; parameters rescaled by the wavenumber k.",
    postprocess=_oscillating_flow_view,
)
def OscillatingFlow(state, t, *, b, k, omega, u):
    """f = x + b sin(z): x' = u cos(k y) sin(k f), y' = -u sin(k y) cos(k f), z' = omega."""
    x, y, z = state.unbind(-1)
    kf = k * (x + b * torch.sin(z))
    ky = k * y
    return stack(u * torch.cos(ky) * torch.sin(kf), -u * torch.sin(ky) * torch.cos(kf), omega, like=state)


def _bickley_view(state, *, k, omega, sigma, **params):
    """(y, x, z) -> (y, sin(k_min x), sin(omega z k_min sigma_min))."""
    first, second, z = state.unbind(-1)
    k_min = torch.amin(k, dim=-1)
    s_min = torch.amin(sigma, dim=-1)
    return stack(first, torch.sin(k_min * second), torch.sin(omega * z * k_min * s_min), like=state)


@flow(
    parameters={
        "ell": 1.77,
        "eps": (0.0075, 0.15, 0.3),
        "k": (0.313922, 0.627845, 0.941767),
        "omega": 1.0,
        "sigma": (9.05854e-06, 1.28453e-05, 2.88863e-05),
        "u": 6.266e-05,
    },
    initial_conditions=(-0.4, 0.3, 0.0),
    dt=17.56824204034172,
    period=97826.57,
    hamiltonian=True,
    unbounded_indices=(1, 2),
    citation="Hadjighasem, A., Karrasch, D., Teramoto, H. & Haller, G. (2016). Spectral-clustering approach to Lagrangian vortex detection. Physical Review E 93(6), 063107.",
    description="Zonal jet between two rows of counter-rotating vortices, perturbed by three travelling waves; state is (cross-stream y, along-stream x, clock z).",
    notes=(
        "As in dysts, the state is ordered (y, x, z): the first coordinate is the cross-stream position, "
        "the second the periodic along-stream position. Both velocity components carry the opposite "
        "sign to the usual stream function psi = -U L tanh(y/L) + U L sech^2(y/L) sum eps_n cos(k_n (x - c_n t)) "
        "with u = -psi_y, v = psi_x. dysts marks the flow autonomous although z' = omega is a clock."
    ),
    postprocess=_bickley_view,
)
def BickleyJet(state, t, *, ell, eps, k, omega, sigma, u):
    """State (y, x, z); phases_n = k_n (x - sigma_n z):
    y' = ell u sech^2(y/ell) sum_n eps_n k_n sin(phases_n),
    x' = u sech^2(y/ell) (-1 - 2 tanh(y/ell) sum_n eps_n cos(phases_n)), z' = omega.
    """
    y, x, z = state.unbind(-1)
    sech2 = (1 / torch.cosh(y / ell)) ** 2
    phases = k * (x[..., None] - z[..., None] * sigma)
    dx = u * sech2 * (-1 - 2 * (torch.cos(phases) * eps).sum(-1) * torch.tanh(y / ell))
    dy = ell * u * sech2 * ((eps * k) * torch.sin(phases)).sum(-1)
    return stack(dy, dx, omega, like=state)


@flow(
    parameters={"a": (0.5, 0.5, 0.5, 0.5, 0.5), "g": (0.5, 0.5, 0.5, 0.5, 0.5), "tau": 3.0},
    initial_conditions=(0.1, 0.1, 0.1),
    dt=0.005765475552614134,
    period=28.822573200111794,
    nonautonomous=True,
    hamiltonian=True,
    unbounded_indices=(1, 2),
    citation="Blake, J. R. (1971). Self propulsion due to oscillations on the surface of a cylinder at low Reynolds number. Bulletin of the Australian Mathematical Society 5, 255-264.",
    description="Stokes flow inside a disc driven by a tangential boundary slip whose sine and cosine Fourier modes are switched on in turn; tracer in polar coordinates.",
    postprocess=_polar_to_cartesian_with_clock,
)
def InteriorSquirmer(state, t, *, a, g, tau):
    """w = 1/2 + tanh(20 tau sin(2 pi tt / tau)) / 2, A_n = w a_n, G_n = (1 - w) g_n, n = 1..N:
    r' = sum_n (G_n cos(n th) + A_n sin(n th)) n r^n (r^2 - 1) / r,
    th' = sum_n (2 r + (r^2 - 1) n / r) (A_n cos(n th) - G_n sin(n th)) r^n / r, tt' = 1.
    """
    r, th, tt = state.unbind(-1)
    w = _blink(tt, tau)[..., None]
    amp_a = a * w
    amp_g = g * (1 - w)
    n = torch.arange(1, a.shape[-1] + 1, dtype=state.dtype, device=state.device)
    rr = r[..., None]
    sin_n = torch.sin(th[..., None] * n)
    cos_n = torch.cos(th[..., None] * n)
    r_n = rr**n
    vr = (amp_g * cos_n + amp_a * sin_n) * ((n * r_n * (rr**2 - 1)) / rr)
    vth = (2 * rr + (rr**2 - 1) * n / rr) * (amp_a * cos_n - amp_g * sin_n) * r_n
    return stack(vr.sum(-1), vth.sum(-1) / r, 1.0, like=state)


@flow(
    parameters={"gamma": 1.82, "psi": 0.01019, "w": 1.21},
    initial_conditions=(-0.65820064, -2.8807787, 0.1),
    dt=0.0015472778796464582,
    period=7.7351,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Gilet, T. & Bush, J. W. M. (2009). The fluid trampoline: droplets bouncing on a soap film. Journal of Fluid Mechanics 625, 167-203.",
    description="Droplet bouncing on a vibrated soap film: free flight above it, a nonlinear spring with quadratic drag while in contact.",
    postprocess=_cos_phase,
)
def FluidTrampoline(state, t, *, gamma, psi, w):
    """x' = y, y' = -1 - H(-x) (x + psi y |y|) + gamma cos(th), th' = w, with H(0) = 0."""
    x, y, th = state.unbind(-1)
    contact = torch.where(x < 0, x + psi * y * torch.abs(y), 0.0)
    return stack(y, -1 - contact + gamma * torch.cos(th), w, like=state)


def _abc_view(state, **params):
    """(x, y, z) -> (sin x, cos y, sin z)."""
    x, y, z = state.unbind(-1)
    return stack(torch.sin(x), torch.cos(y), torch.sin(z), like=state)


@flow(
    parameters={"a": 1.73205, "b": 1.41421, "c": 1.0},
    initial_conditions=(147.91266, -1762.805, -647.37622),
    dt=0.0005702550425070285,
    period=2.8508,
    unbounded_indices=(0, 1, 2),
    citation="Arnold, V. I. (1966). Journal of Applied Mathematics and Mechanics 30, 223.",
    description="Steady Beltrami solution of the 3-D Euler equations on the triply periodic torus (ABC flow); chaotic streamlines.",
    postprocess=_abc_view,
)
def ArnoldBeltramiChildress(state, t, *, a, b, c):
    """x' = a sin(z) + c cos(y), y' = b sin(x) + a cos(z), z' = c sin(y) + b cos(x)."""
    x, y, z = state.unbind(-1)
    return stack(
        a * torch.sin(z) + c * torch.cos(y),
        b * torch.sin(x) + a * torch.cos(z),
        c * torch.sin(y) + b * torch.cos(x),
        like=state,
    )


def _arnold_web_view(state, **params):
    """(p1, p2, x1, x2, z) -> (p1, p2, sin x1, sin x2, cos z)."""
    p1, p2, x1, x2, z = state.unbind(-1)
    return stack(p1, p2, torch.sin(x1), torch.sin(x2), torch.cos(z), like=state)


@flow(
    parameters={"mu": 0.01, "w": 1.0},
    initial_conditions=(0.10469507, 0.0892929984, 11025.3686, 6055.32273, 0.1),
    dt=0.013452242040339115,
    period=67.25,
    nonautonomous=True,
    hamiltonian=True,
    unbounded_indices=(2, 3, 4),
    citation="Froeschle, C., Guzzo, M. & Lega, E. (2000). Graphical evolution of the Arnold web: from order to chaos. Science 289(5487), 2108-2110.",
    description="Quasi-integrable Hamiltonian with a weak perturbation whose resonance network (the Arnold web) carries slow diffusion.",
    postprocess=_arnold_web_view,
)
def ArnoldWeb(state, t, *, mu, w):
    """D = 4 + cos(z) + cos(x1) + cos(x2):
    p1' = -mu sin(x1) / D^2, p2' = -mu sin(x2) / D^2, x1' = p1, x2' = p2, z' = w.
    """
    p1, p2, x1, x2, z = state.unbind(-1)
    d2 = (4 + torch.cos(z) + torch.cos(x1) + torch.cos(x2)) ** 2
    return stack(-mu * torch.sin(x1) / d2, -mu * torch.sin(x2) / d2, p1, p2, w, like=state)


# ---------------------------------------------------------------------- geophysical and convection models
@flow(
    parameters={"a": 1.0, "alpha1": 0.2, "alpha2": 1.0, "b": 1.0, "c": 10.0, "k1": 0.05, "k2": 0.0, "zs": 0.006},
    initial_conditions=(4.031713, 5.1113788, 0.016508812),
    dt=0.0013209801633604456,
    period=6.6038,
    citation="Blasius, B., Huppert, A. & Stone, L. (1999). Complex dynamics and phase synchronization in spatially extended ecological systems. Nature 399, 354-359.",
    description="Vegetation-herbivore-predator food chain with saturating (Holling type II) uptake; uniform-phase chaotic oscillations.",
)
def Blasius(state, t, *, a, alpha1, alpha2, b, c, k1, k2, zs):
    """f1 = alpha1 x y / (1 + k1 x), f2 = alpha2 y z / (1 + k2 y):
    x' = a x - f1, y' = -b y + f1 - f2, z' = -c (z - zs) + f2.
    """
    x, y, z = state.unbind(-1)
    f1 = alpha1 * x * y / (1 + k1 * x)
    f2 = alpha2 * y * z / (1 + k2 * y)
    return stack(a * x - f1, -b * y + f1 - f2, -c * (z - zs) + f2, like=state)


@flow(
    parameters={"alpha": -2.0, "beta": -5.0, "mu1": 0.05, "mu2": -0.01, "omega": 3.0, "sigma": 1.1},
    initial_conditions=(0.026544189906947246, 0.20580772677536016, 0.43758119702219506),
    dt=0.01792198051014566,
    period=89.59496756697331,
    citation="Tuwankotta, J. M. (2006). Chaos in a coupled oscillators system with widely spaced frequencies and energy-preserving non-linearity. International Journal of Non-Linear Mechanics 41(2), 180-191.",
    description="Low-order model of atmospheric regime changes: a slow mode coupled to a fast oscillator through energy-conserving quadratic terms.",
)
def AtmosphericRegime(state, t, *, alpha, beta, mu1, mu2, omega, sigma):
    """x' = mu1 x + sigma x y, y' = mu2 y + omega z + alpha y z + beta z^2 - sigma x^2,
    z' = mu2 z - omega y - alpha y^2 - beta y z.
    """
    x, y, z = state.unbind(-1)
    dx = mu1 * x + sigma * x * y
    dy = mu2 * y + omega * z + alpha * y * z + beta * z**2 - sigma * x**2
    dz = mu2 * z - omega * y - alpha * y**2 - beta * y * z
    return stack(dx, dy, dz, like=state)


@flow(
    parameters={"b": 102.0, "c": 3.0, "p": 0.0},
    initial_conditions=(-6.99286331487343, 0.023254276622294345, -0.1658177563067799),
    dt=0.00044181363560596765,
    period=2.2087,
    citation="Vallis, G. K. (1988). Conceptual models of El Nino and the Southern Oscillation. Journal of Geophysical Research 93(C11), 13979-13991.",
    description="Lorenz-like three-box model of equatorial ocean currents and east-west temperature contrast behind El Nino.",
)
def VallisElNino(state, t, *, b, c, p):
    """x' = b y - c x - c p, y' = -y + x z, z' = -z - x y + 1."""
    x, y, z = state.unbind(-1)
    return stack(b * y - c * x - c * p, -y + x * z, -z - x * y + 1, like=state)


@flow(
    parameters={"a": 30.0, "b": 5.0, "r": 18.0},
    initial_conditions=(-15.660582, -13.32018, 26.879362),
    dt=0.00018396466077678754,
    period=0.91967,
    citation="Yanagita, T. & Kaneko, K. (1995). Rayleigh-Benard convection patterns, chaos, spatiotemporal chaos and turbulence. Physica D 82(3), 288-313.",
    description="Three-mode reduction of a convection cell, Lorenz-like but with growth r y in place of the rho x forcing.",
)
def RayleighBenard(state, t, *, a, b, r):
    """x' = a (y - x), y' = r y - x z, z' = x y - b z."""
    x, y, z = state.unbind(-1)
    return stack(a * y - a * x, r * y - x * z, x * y - b * z, like=state)
