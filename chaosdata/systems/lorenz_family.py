"""Lorenz's convection model, its variants, and the low-order flows descended from it (Chen, Lu, Qi, ...)."""

import torch

from chaosdata.systems.base import also_register, flow, per_coordinate, stack


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


def _lorenz_field(x, y, z, beta, rho, sigma):
    """The three Lorenz-63 components."""
    return sigma * (y - x), x * (rho - z) - y, x * y - beta * z


@flow(
    parameters={"beta": 2.667, "r": 64.0, "rho": 28.0, "sigma": 10.0},
    initial_conditions=(-13.284881, -12.444334, 34.188198),
    dt=0.00027436572762127296,
    period=1.3716,
    citation="Sprott, J. C. & Xiong, A. (2015). Classifying and quantifying basins of attraction. Chaos 25(8), 083101.",
    description="Lorenz flow multiplied by a factor that vanishes on a sphere of radius r, so no orbit can escape the ball.",
)
def LorenzBounded(state, t, *, beta, r, rho, sigma):
    """Lorenz's field times (1 - (x^2 + y^2 + z^2) / r^2):
    x' = sigma (y - x) g, y' = (x (rho - z) - y) g, z' = (x y - beta z) g, g = 1 - |state|^2 / r^2.
    (dysts writes the product out term by term; it is the same polynomial.)"""
    x, y, z = state.unbind(-1)
    g = 1 - (x**2 + y**2 + z**2) / r**2
    dx, dy, dz = _lorenz_field(x, y, z, beta, rho, sigma)
    return stack(dx * g, dy * g, dz * g, like=state)


@flow(
    parameters={"beta": 2.667, "eps": 2.85, "rho": 28.0, "rho1": 35.0, "rho2": 1.15, "sigma": 10.0},
    initial_conditions=(7.0921483, 10.117408, 25.708428, 2.1689893, 0.96121877, 0.89550187),
    dt=0.0003241940323387382,
    period=1.6207,
    citation="Lorenz, E. N. (1963). Deterministic nonperiodic flow. Journal of the Atmospheric Sciences 20(2), 130-141.",
    description="A chaotic Lorenz system driving a second, non-chaotic one through diffusive coupling of x.",
    notes="The parameter rho is unused: each copy has its own rho1, rho2 (as in dysts).",
)
def LorenzCoupled(state, t, *, beta, eps, rho, rho1, rho2, sigma):
    """Two Lorenz copies, the first driving the second:
    x1' = sigma (y1 - x1), y1' = x1 (rho1 - z1) - y1, z1' = x1 y1 - beta z1,
    x2' = sigma (y2 - x2) + eps (x1 - x2), y2' = x2 (rho2 - z2) - y2, z2' = x2 y2 - beta z2."""
    x1, y1, z1, x2, y2, z2 = state.unbind(-1)
    dx1, dy1, dz1 = _lorenz_field(x1, y1, z1, beta, rho1, sigma)
    dx2, dy2, dz2 = _lorenz_field(x2, y2, z2, beta, rho2, sigma)
    return stack(dx1, dy1, dz1, dx2 + eps * (x1 - x2), dy2, dz2, like=state)


@flow(
    parameters={"a": 1.32, "b": 7.91, "f": 4.83, "g": 4.194},
    initial_conditions=(1.926479236120359, -0.13402110197257552, -1.72146730664761),
    dt=0.0012519286547757248,
    period=6.2586,
    citation="Lorenz, E. N. (1984). Irregularity: a fundamental property of the atmosphere. Tellus A 36(2), 98-110.",
    description="Low-order general circulation: a zonal westerly jet x exchanging energy with a pair of travelling eddy modes y, z.",
)
def Lorenz84(state, t, *, a, b, f, g):
    """x' = -a x - y^2 - z^2 + a f, y' = x y - b x z - y + g, z' = b x y + x z - z."""
    x, y, z = state.unbind(-1)
    return stack(
        -a * x - y**2 - z**2 + a * f,
        x * y - b * x * z - y + g,
        b * x * y + x * z - z,
        like=state,
    )


also_register(
    Lorenz84,
    name="Hadley",
    kind="flow",
    parameters={"a": 0.2, "b": 4.0, "f": 9.0, "g": 1.0},
    initial_conditions=(1.3664423, 0.9309146, 0.64283417),
    dt=0.00029086847807974437,
    period=1.4541,
    citation="Hadley, G. (1735). On the cause of the general trade winds. Philosophical Transactions of the Royal Society 34, 58-62.",
    description="Lorenz's 1984 circulation model at another parameter set, read as an idealised Hadley cell.",
    notes="Same equations as Lorenz84 (dysts writes them out again in a separate class); only the parameters differ. "
    "The cited paper is Hadley's qualitative 1735 account of the trade winds, which contains no equations.",
)


@flow(
    parameters={"f": 20.0},
    initial_conditions=(-2.46820633, 0.09570264, 1.59270902, 10.21372147),
    dt=0.00043945324220700854,
    period=2.1969,
    citation="Lorenz, E. N. (1996). Predictability: a problem partly solved. Proceedings of the Seminar on Predictability, Vol. I, ECMWF.",
    description="A ring of sites with advection-like quadratic coupling, damping and constant forcing; a standard testbed for data assimilation.",
    notes="Generic in the number of sites (the last dimension of the state, at least 4); the default initial condition has 4.",
)
def Lorenz96(state, t, *, f):
    """x_i' = (x_{i+1} - x_{i-2}) x_{i-1} - x_i + f, indices taken cyclically over the last axis."""
    ahead = torch.roll(state, shifts=-1, dims=-1)  # x_{i+1}
    behind = torch.roll(state, shifts=1, dims=-1)  # x_{i-1}
    behind2 = torch.roll(state, shifts=2, dims=-1)  # x_{i-2}
    return (ahead - behind2) * behind - state + per_coordinate(f)


@flow(
    parameters={"a": 2.0, "b": 0.7, "c": 26.0, "d": 1.5},
    initial_conditions=(4.233438598886809, 9.08970605484108, 21.86662535600487, -1.4080695182833802),
    dt=0.0007776724692212156,
    period=3.8877142857142855,
    citation="Letellier, C. & Rossler, O. E. (2007). Hyperchaos. Scholarpedia 2(8), 1936.",
    description="Lorenz equations extended by a fourth, rotation-like mode; Stenflo's model of acoustic-gravity waves in the atmosphere.",
)
def LorenzStenflo(state, t, *, a, b, c, d):
    """x' = a (y - x) + d w, y' = x (c - z) - y, z' = x y - b z, w' = -x - a w."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + d * w, x * (c - z) - y, x * y - b * z, -x - a * w, like=state)


@flow(
    parameters={"a": 35.0, "b": 3.0, "c": 28.0},
    initial_conditions=(3.2689697, 5.2990458, 19.435349),
    dt=0.00011739756626106157,
    period=0.58689,
    citation="Chen, G. (1997). Proceedings of the First International Conference on Control of Oscillations and Chaos.",
    description="Lorenz-like double scroll found by anticontrol (deliberately chaotifying a system); not topologically equivalent to Lorenz.",
)
def Chen(state, t, *, a, b, c):
    """x' = a (y - x), y' = (c - a) x - x z + c y, z' = x y - b z."""
    x, y, z = state.unbind(-1)
    return stack(a * (y - x), (c - a) * x - x * z + c * y, x * y - b * z, like=state)


@flow(
    parameters={"a": 5.0, "b": -10.0, "c": -0.38},
    initial_conditions=(0.17177112, 0.10360479, 6.2553878),
    dt=0.0005609534922487569,
    period=2.8043,
    citation="Chen, H. K. & Lee, C. I. (2004). Anti-control of chaos in rigid body motion. Chaos, Solitons & Fractals.",
    description="Euler's rigid-body (gyroscope) equations with linear feedback added to make the rotation chaotic.",
)
def ChenLee(state, t, *, a, b, c):
    """x' = a x - y z, y' = b y + x z, z' = c z + x y / 3."""
    x, y, z = state.unbind(-1)
    return stack(a * x - y * z, b * y + x * z, c * z + (1 / 3) * x * y, like=state)


@flow(
    parameters={"a": 36.0, "b": 3.0, "c": 18.0},
    initial_conditions=(10.956479, 9.8813092, 22.676714),
    dt=0.00046777796299380726,
    period=2.3385,
    citation="Lu, J. & Chen, G. (2002). A new chaotic attractor coined. International Journal of Bifurcation and Chaos 12(3), 659-661.",
    description="The Lu system: it sits between Lorenz and Chen, its attractor changing from one shape to the other as c grows.",
)
def LuChen(state, t, *, a, b, c):
    """x' = a (y - x), y' = -x z + c y, z' = x y - b z."""
    x, y, z = state.unbind(-1)
    return stack(a * (y - x), c * y - x * z, x * y - b * z, like=state)


@flow(
    parameters={"a": -10.0, "b": -4.0, "c": 18.1},
    initial_conditions=(-5.5177615, 2.4990595, 10.461798),
    dt=0.00018469678279714685,
    period=0.92333,
    citation="Lu, J., Chen, G. & Cheng, D. (2004). A new chaotic system and beyond: the generalized Lorenz-like system. International Journal of Bifurcation and Chaos 14(5), 1507-1537.",
    description="A quadratic flow whose attractor has four scrolls and collapses to two-scroll, Lorenz-like shapes at bifurcations.",
)
def LuChenCheng(state, t, *, a, b, c):
    """x' = -(a b / (a + b)) x - y z + c, y' = a y + x z, z' = b z + x y."""
    x, y, z = state.unbind(-1)
    k = a * b / (a + b)
    return stack(-k * x - y * z + c, a * y + x * z, b * z + x * y, like=state)


@flow(
    parameters={"a": -1.0, "b": 1.0, "c": 1.0, "h": 1.0, "p": 1.0, "q": 0.4, "r": 0.3, "s": 1.0},
    initial_conditions=(-2.8976045, 3.8877978, 3.07465),
    dt=0.0009970461743625946,
    period=4.9844,
    citation="Li, C., Pehlivan, I., Sprott, J. C. & Akgul, A. (2015). A novel four-wing strange attractor born in bistability. IEICE Electronics Express 12(4).",
    description="Quadratic three-dimensional flow whose four-wing attractor forms when two coexisting attractors merge.",
    notes="dysts's equations, x' = a x + h y + s y z, y' = -b y - p x + q x z, z' = c z - r x y, at the default "
    "parameters read x' = -x + y + y z, y' = -x - y + 0.4 x z, z' = z - 0.3 x y (the 'Sakarya' attractor of "
    "Pehlivan, Akgul et al.). The cited paper's system is a different one: its y' equation has a y z term and its "
    "z' equation reads -z - m x y + b with a constant b (dysts issue #10); dysts's form is kept.",
)
def Sakarya(state, t, *, a, b, c, h, p, q, r, s):
    """x' = a x + h y + s y z, y' = -b y - p x + q x z, z' = c z - r x y."""
    x, y, z = state.unbind(-1)
    return stack(a * x + h * y + s * y * z, q * x * z - b * y - p * x, c * z - r * x * y, like=state)


also_register(
    Sakarya,
    name="LiuChen",
    kind="flow",
    parameters={"a": 0.4, "b": 12.0, "c": -5.0, "h": 0.0, "p": 0.0, "q": -1.0, "r": 1.0, "s": 1.0},
    initial_conditions=(4.6722764, 5.2437205e-10, -6.4444208e-10),
    dt=0.0016035472578764143,
    period=8.0164,
    citation="Liu, W. & Chen, G. (2004). Can a three-dimensional smooth autonomous quadratic chaotic system generate a single four-scroll attractor? International Journal of Bifurcation and Chaos 14(4), 1395-1403.",
    description="Quadratic flow with a single attractor of four scrolls; dysts obtains it from the Sakarya equations with other coefficients.",
    notes="dysts reuses the Sakarya equations; at these parameters they read x' = 0.4 x + y z, y' = -12 y - x z, "
    "z' = -5 z - x y. The paper's system is x' = a x - y z, y' = b y + x z, z' = c z + x y / 3 "
    "(a = 0.4, b = -12, c = -5): not the same equations, but the two are related by the linear change "
    "(x, y, z)_paper = (sqrt(3) x, sqrt(3) y, -z), so the attractor is the paper's one, rescaled and mirrored. "
    "dysts's form is kept.",
)


@flow(
    parameters={"a": 38.0, "b": 2.666, "c": 80.0},
    initial_conditions=(17.420882, 5.5459627, 78.89139),
    dt=7.837106184364728e-05,
    period=0.39179,
    citation="Qi, G. et al. (2008). Chaos, Solitons & Fractals.",
    description="Lorenz-type flow with a cross-product term in every equation, giving a double-wing attractor built from two bistable pieces.",
)
def QiChen(state, t, *, a, b, c):
    """x' = a (y - x) + y z, y' = c x + y - x z, z' = x y - b z."""
    x, y, z = state.unbind(-1)
    return stack(a * (y - x) + y * z, c * x + y - x * z, x * y - b * z, like=state)


@flow(
    parameters={"a": 45.0, "b": 10.0, "c": 1.0, "d": 10.0},
    initial_conditions=(0.2562042648386667, 0.1956116640569919, 7.259823760387948, 1.3162558970131963),
    dt=8.165560926819638e-05,
    period=0.40820999999999996,
    citation="Qi, G., van Wyk, M. A., van Wyk, B. J. & Chen, G. (2008). On a new hyperchaotic system. Physics Letters A.",
    description="Four-dimensional flow with cubic cross-product terms; hyperchaotic, with a very broad frequency spectrum.",
)
def Qi(state, t, *, a, b, c, d):
    """x' = a (y - x) + y z w, y' = b (x + y) - x z w, z' = -c z + x y w, w' = -d w + x y z."""
    x, y, z, w = state.unbind(-1)
    return stack(
        a * (y - x) + y * z * w,
        b * (x + y) - x * z * w,
        x * y * w - c * z,
        x * y * z - d * w,
        like=state,
    )


@flow(
    parameters={"a": 0.85, "b": 0.5},
    initial_conditions=(0.016838697, 0.03489384, 0.35346848),
    dt=0.002408001333556058,
    period=12.038,
    citation="Shimizu, T. & Morioka, N. (1980). On the bifurcation of a symmetric limit cycle to an asymmetric one in a simple model. Physics Letters A 76(3-4), 201-204.",
    description="A damped oscillator driven by a slow variable fed by x^2; its symmetric cycle turns asymmetric, then a Lorenz-like attractor appears.",
)
def ShimizuMorioka(state, t, *, a, b):
    """x' = y, y' = x - a y - x z, z' = -b z + x^2."""
    x, y, z = state.unbind(-1)
    return stack(y, x - a * y - x * z, x**2 - b * z, like=state)


@flow(
    parameters={"a": 2.0, "b": 6.7},
    initial_conditions=(1.9257158, 3.1923835, 5.7829655),
    dt=0.0012146224370729896,
    period=6.0721,
    citation="Rucklidge, A. M. (1992). Chaos in models of double convection. Journal of Fluid Mechanics 237, 209-229.",
    description="Mode truncation of two-dimensional convection constrained at the side walls (or in a magnetic field).",
)
def Rucklidge(state, t, *, a, b):
    """x' = -a x + b y - y z, y' = x, z' = -z + y^2."""
    x, y, z = state.unbind(-1)
    return stack(b * y - a * x - y * z, x, y**2 - z, like=state)


@flow(
    parameters={"a": 1.1, "g": 0.87},
    initial_conditions=(-1.8207276, 0.83440917, 0.2078248),
    dt=0.0004671978663111531,
    period=2.3356,
    citation="Rabinovich, M. I. & Fabrikant, A. L. (1979). Stochastic self-modulation of waves in nonequilibrium media. Soviet Physics JETP 50, 311.",
    description="Amplitude equations for a wave packet interacting with its medium (self-modulation instability); cubic and notoriously multistable.",
)
def RabinovichFabrikant(state, t, *, a, g):
    """x' = y (z - 1 + x^2) + g x, y' = x (3 z + 1 - x^2) + g y, z' = -2 z (a + x y)."""
    x, y, z = state.unbind(-1)
    return stack(
        y * (z - 1 + x**2) + g * x,
        x * (3 * z + 1 - x**2) + g * y,
        -2 * z * (a + x * y),
        like=state,
    )


@flow(
    parameters={"a": 1.0, "mu": 1.0},
    initial_conditions=(-0.7791562791136255, -0.6302244598741468, 2.671200187214492),
    dt=0.0011796966161026034,
    period=5.8975,
    citation="Rikitake, T. (1958). Oscillations of a system of disk dynamos. Mathematical Proceedings of the Cambridge Philosophical Society 54(1), 89-105.",
    description="Two cross-coupled Faraday disk dynamos; the currents reverse irregularly, a toy model of geomagnetic reversals.",
)
def RikitakeDynamo(state, t, *, a, mu):
    """x' = -mu x + y z, y' = -mu y + x (z - a), z' = 1 - x y."""
    x, y, z = state.unbind(-1)
    return stack(y * z - mu * x, x * (z - a) - mu * y, 1 - x * y, like=state)


def _yu_wang(state, a, b, c, d, source):
    x, y, z = state.unbind(-1)
    return stack(a * (y - x), b * x - c * x * z, source(x * y) - d * z, like=state)


@flow(
    parameters={"a": 10.0, "b": 40.0, "c": 2.0, "d": 2.5},
    initial_conditions=(-0.21422356, -0.17935495, 14.105516),
    dt=0.00026736456076008607,
    period=1.3366,
    citation="Yu, F. & Wang, C. (2012). A novel three dimension autonomous chaotic system with a quadratic exponential nonlinear term. Engineering, Technology & Applied Science Research.",
    description="Lorenz-like flow whose z equation is driven by exp(x y); built as an operational-amplifier circuit.",
)
def YuWang(state, t, *, a, b, c, d):
    """x' = a (y - x), y' = b x - c x z, z' = exp(x y) - d z."""
    return _yu_wang(state, a, b, c, d, torch.exp)


@flow(
    parameters={"a": 10.0, "b": 30.0, "c": 2.0, "d": 2.5},
    initial_conditions=(0.12581483, 1.2467348, 18.358568),
    dt=7.854309051509745e-05,
    period=0.39265,
    citation="Yu, F. & Wang, C. (2012). A novel three dimension autonomous chaotic system with a quadratic exponential nonlinear term. Engineering, Technology & Applied Science Research.",
    description="Variant of the Yu-Wang flow with cosh(x y) in place of exp(x y) in the z equation.",
)
def YuWang2(state, t, *, a, b, c, d):
    """x' = a (y - x), y' = b x - c x z, z' = cosh(x y) - d z."""
    return _yu_wang(state, a, b, c, d, torch.cosh)


@flow(
    parameters={"a": 2.97, "b": 0.15, "c": -3.0, "d": 1.0, "e": -8.78},
    initial_conditions=(-0.60390203, 0.012111953, 0.00083277923),
    dt=0.00017506517752959638,
    period=0.87518,
    citation="Zhou, T. & Chen, G. (2004). A simple smooth chaotic system with a 3-layer attractor. International Journal of Bifurcation and Chaos.",
    description="Smooth quadratic flow whose attractor is stacked in three layers; proposed with a feedback-circuit realisation.",
)
def ZhouChen(state, t, *, a, b, c, d, e):
    """x' = a x + b y + y z, y' = c y - x z + d y z, z' = e z - x y."""
    x, y, z = state.unbind(-1)
    return stack(a * x + b * y + y * z, c * y - x * z + d * y * z, e * z - x * y, like=state)


@flow(
    parameters={"a": 0.2, "b": -0.01, "d": -0.4, "e": -1.0, "f": -1.0, "q": 1.0},
    initial_conditions=(-0.54770787, 0.73876479, -0.0049284531),
    dt=0.005392498749791912,
    period=26.958,
    citation="Wang, Z., Sun, Y., van Wyk, B. J., Qi, G. & van Wyk, M. A. (2009). A 3-D four-wing attractor and its analysis. Brazilian Journal of Physics 39.",
    description="A quadratic flow with few terms whose attractor has four wings, one around each of four unstable equilibria.",
)
def WangSun(state, t, *, a, b, d, e, f, q):
    """x' = a x + q y z, y' = b x + d y - x z, z' = e z + f x y."""
    x, y, z = state.unbind(-1)
    return stack(a * x + q * y * z, b * x + d * y - x * z, e * z + f * x * y, like=state)


@flow(
    parameters={"c": 2.0, "e": 9.0, "o": 2.7, "p": 3.0, "r": 1.7},
    initial_conditions=(1.0284085, -3.5348655, -0.72081646),
    dt=0.0006578296382730287,
    period=3.2886,
    citation="Dadras, S. & Momeni, H. R. (2009). A novel three-dimensional autonomous chaotic system generating two, three and four-scroll attractors. Physics Letters A.",
    description="Quadratic flow realised as an electronic circuit; depending on parameters its attractor has two, three or four scrolls.",
)
def Dadras(state, t, *, c, e, o, p, r):
    """x' = y - p x + o y z, y' = r y - x z + z, z' = c x y - e z."""
    x, y, z = state.unbind(-1)
    return stack(y - p * x + o * y * z, r * y - x * z + z, c * x * y - e * z, like=state)


@flow(
    parameters={"a": 40.0, "c": 1.833, "d": 0.16, "eps": 0.65, "f": 20.0, "k": 55.0},
    initial_conditions=(-11.395722, -104.12614, 202.46173),
    dt=1.6763993998996084e-05,
    period=0.083806,
    citation="Li, D. (2008). A three-scroll chaotic attractor. Physics Letters A 372(4), 387-393.",
    description="A smooth quadratic flow with a three-scroll attractor (the third scroll lies between the two Lorenz-like wings).",
)
def DequanLi(state, t, *, a, c, d, eps, f, k):
    """x' = a (y - x) + d x z, y' = k x + f y - x z, z' = c z + x y - eps x^2."""
    x, y, z = state.unbind(-1)
    return stack(a * (y - x) + d * x * z, k * x + f * y - x * z, c * z + x * y - eps * x**2, like=state)


also_register(
    DequanLi,
    name="PanXuZhou",
    kind="flow",
    parameters={"a": 10.0, "c": -2.6667, "d": 0.0, "eps": 0.0, "f": 0.0, "k": 16.0},
    initial_conditions=(-3.03805747, -1.98052429, 14.65665869),
    dt=0.00035663943990670076,
    period=1.7829,
    citation="Zhou, W. et al. (2008). On dynamics analysis of a new chaotic attractor. Physics Letters A 372(36), 5773-5777.",
    description="The DequanLi equations with the extra terms switched off: a Lorenz-like flow without damping in y.",
)


@flow(
    parameters={},
    initial_conditions=(0.21665608, 0.86710502, 0.50627859),
    dt=0.0007498715849322934,
    period=3.7487330316742087,
    citation="Pehlivan, I. & Wei, Z. (2012). Analysis, nonlinear control, and chaos generator circuit of another strange chaotic system.",
    description="Parameter-free quadratic flow, studied for its codimension-one and -two Hopf bifurcations and built as a circuit.",
)
def PehlivanWei(state, t):
    """x' = y - y z, y' = y + y z - 2 x, z' = 2 - x y - y^2."""
    x, y, z = state.unbind(-1)
    return stack(y - y * z, y + y * z - 2 * x, 2 - x * y - y**2, like=state)


@flow(
    parameters={"a": 0.4, "b": 0.175},
    initial_conditions=(0.29430753, 0.10649486, 0.29081125),
    dt=0.0017021836972827486,
    period=8.5095,
    citation="Leipnik, R. B. & Newton, T. A. (1981). Double strange attractors in rigid body motion with linear feedback control. Physics Letters A 86(2), 63-67.",
    description="Rigid-body rotation under linear feedback control; two coexisting strange attractors.",
)
def NewtonLiepnik(state, t, *, a, b):
    """x' = -a x + y + 10 y z, y' = -x - 0.4 y + 5 x z, z' = b z - 5 x y."""
    x, y, z = state.unbind(-1)
    return stack(y + 10 * y * z - a * x, 5 * x * z - x - 0.4 * y, b * z - 5 * x * y, like=state)


@flow(
    parameters={"a": 0.001, "b": 0.2, "c": 1.1},
    initial_conditions=(-0.51664739, -3.9568707, 0.0012893581),
    dt=0.001978969828304571,
    period=9.8932,
    citation="Cai, G. & Huang, J. (2007). International Journal of Nonlinear Science 3.",
    description="Macroeconomic model of interest rate x, investment demand y and price index z, chaotic for low saving and high investment cost.",
    notes="dysts's y is the usual investment demand shifted by -1/b: the usual form x' = z + (y - a) x, "
    "y' = 1 - b y - x^2 becomes the one here after y -> y + 1/b.",
)
def Finance(state, t, *, a, b, c):
    """x' = (1/b - a) x + z + x y, y' = -b y - x^2, z' = -x - c z."""
    x, y, z = state.unbind(-1)
    return stack((1 / b - a) * x + z + x * y, -b * y - x**2, -x - c * z, like=state)
