"""Models from biology, ecology and physiology: biochemical oscillators, neurons, food webs, tumours."""

import math

import torch

from chaosdata.systems.base import also_register, flow, per_coordinate, stack


# ---------------------------------------------------------------------- shared pieces
def _sin_phase(state, **params):
    """Report the forcing phase (third variable) as its sine."""
    x, y, z = state.unbind(-1)
    return stack(x, y, torch.sin(z), like=state)


def _cos_last_phase(state, **params):
    """Report the forcing phase (last variable) as its cosine."""
    *rest, th = state.unbind(-1)
    return stack(*rest, torch.cos(th), like=state)


def _hill(u, big_k, power):
    """Sigmoidal saturation u^p / (K^p + u^p)."""
    up = u**power
    return up / (big_k**power + up)


def _michaelis(u, big_k):
    """Michaelis-Menten saturation u / (K + u)."""
    return u / (big_k + u)


# ---------------------------------------------------------------------- biochemical oscillators
@flow(
    parameters={
        "d": 0.0,
        "k": 4.422,
        "l1": 500000000.0,
        "l2": 100,
        "nu": 1.0,
        "q1": 50,
        "q2": 0.02,
        "s1": 22.2222,
        "s2": 22.2222,
    },
    initial_conditions=(29.453349256846987, 130.19350141357407, 0.18407087674169492),
    dt=0.010091998840098313,
    period=50.45999420049144,
    citation="Decroly, O. & Goldbeter, A. (1982). Birhythmicity, chaos, and other patterns of temporal self-organization in a multiply regulated biochemical system. Proceedings of the National Academy of Sciences USA 79(22), 6917-6921.",
    description="Two allosteric (Monod-Wyman-Changeux) enzymes in series, each activated by its product, as in glycolysis; chaos arises from the coupled autocatalytic feedbacks.",
)
def GlycolyticOscillation(state, t, *, d, k, l1, l2, nu, q1, q2, s1, s2):
    """phi = a (1 + a) (1 + b)^2 / (l1 + (1 + a)^2 (1 + b)^2),
    eta = b (1 + d b) (1 + c)^2 / (l2 + (1 + d b)^2 (1 + c)^2):
    a' = nu - s1 phi, b' = q1 s1 phi - s2 eta, c' = q2 s2 eta - k c."""
    a, b, c = state.unbind(-1)
    a1, b1, c1, db1 = 1 + a, (1 + b) ** 2, (1 + c) ** 2, 1 + d * b
    phi = a * a1 * b1 / (l1 + a1**2 * b1)
    eta = b * db1 * c1 / (l2 + db1**2 * c1)
    return stack(nu - s1 * phi, q1 * s1 * phi - s2 * eta, q2 * s2 * eta - k * c, like=state)


@flow(
    parameters={
        "K2": 0.1,
        "K5": 0.3194,
        "Ka": 0.1,
        "Kd": 1,
        "Ky": 0.3,
        "Kz": 0.6,
        "V0": 2,
        "V1": 2,
        "V4": 3,
        "Vm2": 6,
        "Vm3": 30,
        "Vm5": 50,
        "beta": 0.65,
        "eps": 13,
        "k": 10,
        "kf": 1,
        "m": 2,
        "n": 4,
        "p": 1,
    },
    initial_conditions=(0.26162904, 1.0055612, 0.14407867),
    dt=0.000268644774129001,
    period=1.343,
    citation="Houart, G., Dupont, G. & Goldbeter, A. (1999). Bursting, chaos and birhythmicity originating from self-modulation of the inositol 1,4,5-trisphosphate signal in a model for intracellular Ca2+ oscillations. Bulletin of Mathematical Biology 61(3), 507-530.",
    description="Cytosolic and stored calcium with an IP3 signal that its own calcium-activated degradation modulates; bursting and chaotic calcium spikes.",
)
def CaTwoPlus(state, t, *, K2, K5, Ka, Kd, Ky, Kz, V0, V1, V4, Vm2, Vm3, Vm5, beta, eps, k, kf, m, n, p):
    """V2 = Vm2 z^2/(K2^2 + z^2), V3 = Vm3 z^m/(Kz^m + z^m) y^2/(Ky^2 + y^2) a^4/(Ka^4 + a^4),
    V5 = Vm5 a^p/(K5^p + a^p) z^n/(Kd^n + z^n):
    z' = V0 + V1 beta - V2 + V3 + kf y - k z, y' = V2 - V3 - kf y, a' = beta V4 - V5 - eps a."""
    z, y, a = state.unbind(-1)
    v2 = Vm2 * _hill(z, K2, 2)
    v3 = Vm3 * _hill(z, Kz, m) * _hill(y, Ky, 2) * _hill(a, Ka, 4)
    v5 = Vm5 * _hill(a, K5, p) * _hill(z, Kd, n)
    dz = V0 + V1 * beta - v2 + v3 + kf * y - k * z
    return stack(dz, v2 - v3 - kf * y, beta * V4 - v5 - eps * a, like=state)


also_register(
    CaTwoPlus,
    name="CaTwoPlusQuasiperiodic",
    kind="flow",
    parameters={
        "K2": 0.1,
        "K5": 0.3,
        "Ka": 0.2,
        "Kd": 0.5,
        "Ky": 0.2,
        "Kz": 0.5,
        "V0": 2,
        "V1": 2,
        "V4": 5,
        "Vm2": 6,
        "Vm3": 20,
        "Vm5": 30,
        "beta": 0.51,
        "eps": 0.1,
        "k": 10,
        "kf": 1,
        "m": 2,
        "n": 4,
        "p": 2,
    },
    initial_conditions=(0.26321067, 0.87886607, 0.3148781),
    dt=0.00013124987497917573,
    period=0.65614,
    citation="Houart, G., Dupont, G. & Goldbeter, A. (1999). Bursting, chaos and birhythmicity originating from self-modulation of the inositol 1,4,5-trisphosphate signal in a model for intracellular Ca2+ oscillations. Bulletin of Mathematical Biology 61(3), 507-530.",
    description="The calcium/IP3 oscillator of CaTwoPlus at another parameter set, where its oscillations are quasiperiodic.",
)


@flow(
    parameters={
        "K": 0.01,
        "Kc": 0.5,
        "Kd1": 0.02,
        "Kim": 0.65,
        "V2": 0.15,
        "V4": 0.05,
        "Vm1": 0.3,
        "Vm3": 0.1,
        "kd1": 0.001,
        "vd": 0.025,
        "vi": 0.05,
    },
    initial_conditions=(0.71565329, 0.9489355, 0.98910371, 0.72138631, 0.94987035, 0.98912572),
    dt=0.04094882480413617,
    period=204.71,
    citation="Romond, P.-C., Rustici, M., Gonze, D. & Goldbeter, A. (1999). Alternating oscillations and chaos in a model of two coupled biochemical oscillators driving successive phases of the cell cycle. Annals of the New York Academy of Sciences 879, 180-193.",
    description="Two cyclin/cdc2-kinase/protease cascades, each inhibiting the other's cyclin synthesis, that drive successive phases of the cell cycle; Kim tunes them into chaos.",
    # m and x are active fractions: the switch G has a pole at u = 1 + K (K = 0.01), within a
    # 1% kick of the default (0.989), so sampled starts must stay in [0, 1]
    domain=((0.0, None), (0.0, 1.0), (0.0, 1.0), (0.0, None), (0.0, 1.0), (0.0, 1.0)),
)
def CellCycle(state, t, *, K, Kc, Kd1, Kim, V2, V4, Vm1, Vm3, kd1, vd, vi):
    """For each module i (j the other one), with G(u, V, W) = V (1 - u)/(K + 1 - u) - W u/(K + u):
    c_i' = vi Kim/(Kim + m_j) - vd x_i c_i/(Kd1 + c_i) - kd1 c_i,
    m_i' = G(m_i, Vm1 c_i/(Kc + c_i), V2), x_i' = G(x_i, Vm3 m_i, V4); state (c1, m1, x1, c2, m2, x2)."""
    c1, m1, x1, c2, m2, x2 = state.unbind(-1)

    def switch(u, up, down):
        return up * (1 - u) / (K + (1 - u)) - down * u / (K + u)

    def cyclin(c, x, m_other):
        return vi * Kim / (Kim + m_other) - vd * x * c / (Kd1 + c) - kd1 * c

    dm1 = switch(m1, Vm1 * _michaelis(c1, Kc), V2)
    dm2 = switch(m2, Vm1 * _michaelis(c2, Kc), V2)
    dx1 = switch(x1, m1 * Vm3, V4)
    dx2 = switch(x2, m2 * Vm3, V4)
    return stack(cyclin(c1, x1, m2), dm1, dx1, cyclin(c2, x2, m1), dm2, dx2, like=state)


@flow(
    parameters={
        "Ki": 1,
        "k": 0.5,
        "k1": 0.3,
        "k2": 0.15,
        "kd": 1.4,
        "kdn": 0.4,
        "km": 0.4,
        "ks": 1,
        "n": 4,
        "ps": 24,
        "vc": 2.5,
        "vd": 6,
        "vdn": 1.5,
        "vm": 0.7,
        "vmax": 4.7,
        "vmin": 1.0,
    },
    initial_conditions=(1.5401187, 5.3707921, 41.054266, 11.619073, 2004.0233),
    dt=0.005400900150025336,
    period=27.0,
    nonautonomous=True,
    unbounded_indices=(4,),
    citation="Leloup, J.-C., Gonze, D. & Goldbeter, A. (1999). Limit cycle models for circadian rhythms based on transcriptional regulation in Drosophila and Neurospora. Journal of Biological Rhythms 14(6), 433-448.",
    description="Clock-gene transcription repressed by its own nuclear protein, with the transcription rate driven by a 24 h light/dark cycle; the forced clock turns chaotic.",
    notes=(
        "As in dysts, the forced transcription rate is vs = vc ((1 + cos th)/2 + vmin) (vmax - vmin), "
        "not the interpolation vmin + (vmax - vmin)(1 + cos th)/2 between the two rates; the forcing "
        "phase th is carried as a fifth variable and reported as cos(th) by the postprocessing."
    ),
    postprocess=_cos_last_phase,
)
def CircadianRhythm(state, t, *, Ki, k, k1, k2, kd, kdn, km, ks, n, ps, vc, vd, vdn, vm, vmax, vmin):
    """vs = vc ((1 + cos th)/2 + vmin)(vmax - vmin):
    m' = vs Ki^n/(Ki^n + fn^n) - vm m/(km + m), fc' = ks m - k1 fc + k2 fn - k fc,
    fs' = k fc - vd fs/(kd + fs), fn' = k1 fc - k2 fn - vdn fn/(kdn + fn), th' = 2 pi/ps."""
    m, fc, fs, fn, th = state.unbind(-1)
    vs = vc * ((0.5 + 0.5 * torch.cos(th)) + vmin) * (vmax - vmin)
    kin = Ki**n
    dm = vs * kin / (kin + fn**n) - vm * _michaelis(m, km)
    dfc = ks * m - k1 * fc + k2 * fn - k * fc
    dfs = k * fc - vd * _michaelis(fs, kd)
    dfn = k1 * fc - k2 * fn - vdn * _michaelis(fn, kdn)
    return stack(dm, dfc, dfs, dfn, 2 * math.pi / ps, like=state)


# ---------------------------------------------------------------------- excitable cells and neurons
@flow(
    parameters={
        "aho": 2.5,
        "ahr": 0.05,
        "ahs": 0.07,
        "ams": 0.1,
        "amvb": 25,
        "amvo": 2.5,
        "ans": 0.01,
        "anvb": 20,
        "anvo": 2,
        "ar": 0.1,
        "bho": 2.0,
        "bhr": 0.1,
        "bmo": 2.7777777777777777,
        "bmr": 0.05555555555555555,
        "bms": 4.0,
        "bno": 0.375,
        "bnr": 0.0125,
        "bns": 0.125,
        "gi": 1800,
        "gkc": 11,
        "gkv": 1700,
        "gl": 7,
        "kc": 0.183333,
        "rho": 0.27,
        "tscl": 230,
        "vc": 100,
        "vi": 100,
        "vk": -75,
        "vl": -40,
        "vm": -50,
        "vn": -30,
    },
    initial_conditions=(-44.57779976420271, 0.13121643614884418, 0.4658533583951385),
    dt=0.00011057842973826836,
    period=1.0,
    citation="Chay, T. R. (1985). Chaos in a three-variable model of an excitable cell. Physica D 16(2), 233-242.",
    description="Chay's reduction of Hodgkin-Huxley kinetics for a pancreatic beta-cell: membrane potential, K+ gating and a Ca2+-activated K+ current; bursts and chaos as gkc varies.",
    notes="The offsets vm and vn are unused: they enter only through the rate constants bmo = -vm bmr and bno = -vn bnr. Both activation rates share the slope ar, as in dysts.",
)
def ExcitableCell(
    state, t, *, aho, ahr, ahs, ams, amvb, amvo, ans, anvb, anvo, ar, bho, bhr, bmo, bmr, bms,
    bno, bnr, bns, gi, gkc, gkv, gl, kc, rho, tscl, vc, vi, vk, vl, vm, vn,
):
    """am = ams (amvb + v)/(1 - e^(-ar v - amvo)), bm = bms e^(-bmr v - bmo), ah = ahs e^(-ahr v - aho),
    bh = 1/(1 + e^(-bhr v - bho)), an = ans (anvb + v)/(1 - e^(-ar v - anvo)), bn = bns e^(-bnr v - bno),
    m = am/(am + bm), h = ah/(ah + bh), ninf = an/(an + bn):
    v' = gi m^3 h (vi - v) + gkv n^4 (vk - v) + gkc c/(1 + c) (vk - v) + gl (vl - v),
    n' = (ninf - n) tscl (an + bn), c' = rho (m^3 h (vc - v) - kc c)."""
    v, n, c = state.unbind(-1)
    am = ams * (amvb + v) / (1 - torch.exp(-ar * v - amvo))
    bm = bms * torch.exp(-bmr * v - bmo)
    ah = ahs * torch.exp(-ahr * v - aho)
    bh = 1 / (1 + torch.exp(-bhr * v - bho))
    an = ans * (anvb + v) / (1 - torch.exp(-ar * v - anvo))
    bn = bns * torch.exp(-bnr * v - bno)
    m_inf, h_inf, n_inf = am / (am + bm), ah / (ah + bh), an / (an + bn)
    tau_n = 1 / (tscl * (an + bn))
    open_na = m_inf**3 * h_inf
    dv = (
        gi * open_na * (vi - v)
        + gkv * n**4 * (vk - v)
        + gkc * (c / (1 + c)) * (vk - v)
        + gl * (vl - v)
    )
    return stack(dv, (n_inf - n) / tau_n, rho * (open_na * (vc - v) - kc * c), like=state)


@flow(
    parameters={"a": 0.7, "b": 0.8, "curr": 0.965, "f": 0.4008225, "gamma": 0.08, "omega": 0.043650793650793655},
    initial_conditions=(-1.2155252, -0.046470891, 0.0),
    dt=0.008425874900717644,
    period=42.12235294117647,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="FitzHugh, R. (1961). Impulses and physiological states in theoretical models of nerve membrane. Biophysical Journal 1(6), 445-466.",
    description="The FitzHugh-Nagumo excitable neuron under a constant current plus a slow sinusoidal drive, chaotic between resting and spiking.",
    postprocess=_sin_phase,
)
def ForcedFitzHughNagumo(state, t, *, a, b, curr, f, gamma, omega):
    """v' = v - v^3/3 - w + curr + f sin(z), w' = gamma (v + a - b w), z' = omega."""
    v, w, z = state.unbind(-1)
    dv = v - v**3 / 3 - w + curr + f * torch.sin(z)
    return stack(dv, gamma * (v + a - b * w), omega, like=state)


@flow(
    parameters={"a": 0.49, "b": 1.0, "c": 0.0322, "d": 1.0, "s": 1.0, "tx": 0.03, "tz": 0.8},
    initial_conditions=(0.031111835, -0.021557059, 0.041475046),
    dt=0.000350458409734955,
    period=1.752,
    citation="Marhl, M. & Perc, M. (2005). Determining the flexibility of regular and chaotic attractors. Chaos, Solitons & Fractals 28(3), 822-833.",
    description="A Hindmarsh-Rose-type neuron with separate time scales tx and tz for the fast voltage and slow adaptation; spiking and chaotic bursting.",
)
def HindmarshRose(state, t, *, a, b, c, d, s, tx, tz):
    """x' = -x + (y - a x^3 + b x^2 + z)/tx, y' = -a x^3 - (d - b) x^2 + z, z' = (-s x - z + c)/tz."""
    x, y, z = state.unbind(-1)
    x2 = x**2
    x3 = x**3
    dx = -x + y / tx - a / tx * x3 + b / tx * x2 + z / tx
    dy = -a * x3 - (d - b) * x2 + z
    dz = -s / tz * x - z / tz + c / tz
    return stack(dx, dy, dz, like=state)


# ---------------------------------------------------------------------- ecology
def _holling(prey, attack, handling):
    """Holling type-II functional response attack * prey / (1 + handling * prey)."""
    return attack * prey / (1 + handling * prey)


@flow(
    parameters={
        "a1": 2.5,
        "a2": 0.05,
        "a3": 0.4,
        "b1": 6.0,
        "b2": 1.333,
        "d1": 0.16,
        "d2": 0.004,
        "delta": 1,
        "k1": 6.0,
        "k2": 9.0,
        "k4": 9.0,
        "vv": 0.33333,
    },
    initial_conditions=(0.10946017, 0.46664421, 0.66580212),
    dt=0.02455809301550289,
    period=122.77,
    citation="Gilpin, W. & Feldman, M. W. (2017). A phase transition induces chaos in a predator-prey ecosystem with a dynamic fitness landscape. PLOS Computational Biology 13(7), e1005644.",
    description="Predator and prey populations plus an evolving prey trait that trades resource intake against mortality; the eco-evolutionary feedback makes the dynamics chaotic.",
)
def CoevolvingPredatorPrey(state, t, *, a1, a2, a3, b1, b2, d1, d2, delta, k1, k2, k4, vv):
    """x' = x [a1 alpha (1 - k1 x alpha (delta - 1))/(1 + b1 alpha) - a3 y/(1 + b2 x)
              - d1 (1 - k2 alpha^2 (delta^2 - 1) + k4 alpha^4 (delta^4 - 1))],
    y' = y (a2 x/(1 + b2 x) - d2),
    alpha' = vv [-a1 k1 x alpha delta/(1 + b1 alpha) - d1 (4 k4 alpha^3 delta^4 - 2 k2 alpha delta^2)]."""
    x, y, alpha = state.unbind(-1)
    ad = alpha * delta
    intake = a1 * alpha * (1 - k1 * x * (ad - alpha)) / (1 + b1 * alpha)
    mortality = d1 * (1 - k2 * (ad**2 - alpha**2) + k4 * (ad**4 - alpha**4))
    dx = x * (intake - a3 * y / (1 + b2 * x) - mortality)
    dy = y * (_holling(x, a2, b2) - d2)
    dalpha = vv * (
        -(a1 * k1 * x * ad) / (1 + b1 * alpha)
        - d1 * (4 * k4 * alpha**3 * delta**4 - 2 * k2 * alpha * delta**2)
    )
    return stack(dx, dy, dalpha, like=state)


@flow(
    parameters={"a1": 5.0, "a2": 0.1, "b1": 3.0, "b2": 2.0, "d1": 0.4, "d2": 0.01},
    initial_conditions=(0.73207001, 0.17549271, 9.9014657),
    dt=0.02704250708451582,
    period=135.19,
    citation="Hastings, A. & Powell, T. (1991). Chaos in a three-species food chain. Ecology 72(3), 896-903.",
    description="A logistic prey, its predator and a top predator with saturating (Holling II) feeding; the 'teacup' attractor of food-chain ecology.",
)
def HastingsPowell(state, t, *, a1, a2, b1, b2, d1, d2):
    """f1 = a1 x/(1 + b1 x), f2 = a2 y/(1 + b2 y):
    x' = x (1 - x) - f1 y, y' = f1 y - f2 z - d1 y, z' = f2 z - d2 z."""
    x, y, z = state.unbind(-1)
    eat_x = y * _holling(x, a1, b1)
    eat_y = z * _holling(y, a2, b2)
    return stack(x * (1 - x) - eat_x, eat_x - eat_y - d1 * y, eat_y - d2 * z, like=state)


@flow(
    parameters={"a12": 1, "a13": 2.5, "a21": 1.5, "a31": 0.2, "d3": 0.5, "k3": 1, "r2": 0.6, "r3": 4.5},
    initial_conditions=(0.051730215, 0.87071642, 0.015926427),
    dt=0.009949658276379978,
    period=49.74,
    citation="Itik, M. & Banks, S. P. (2010). Chaos in a three-dimensional cancer model. International Journal of Bifurcation and Chaos 20(1), 71-79.",
    description="Tumour cells competing with healthy host cells and attacked by effector immune cells whose growth the tumour stimulates.",
)
def ItikBanksTumor(state, t, *, a12, a13, a21, a31, d3, k3, r2, r3):
    """x' = x (1 - x) - a12 x y - a13 x z, y' = r2 y (1 - y) - a21 x y,
    z' = r3 x z/(x + k3) - a31 x z - d3 z."""
    x, y, z = state.unbind(-1)
    dx = x * (1 - x) - a12 * x * y - a13 * x * z
    dy = r2 * y * (1 - y) - a21 * x * y
    dz = r3 * x * z / (x + k3) - a31 * x * z - d3 * z
    return stack(dx, dy, dz, like=state)


@flow(
    parameters={
        "c": (
            (0.04, 0.04, 0.07, 0.04, 0.04),
            (0.08, 0.08, 0.08, 0.1, 0.08),
            (0.1, 0.1, 0.1, 0.1, 0.14),
            (0.05, 0.03, 0.03, 0.03, 0.03),
            (0.07, 0.09, 0.07, 0.07, 0.07),
        ),
        "d": 0.25,
        "k": (
            (0.39, 0.34, 0.3, 0.24, 0.23),
            (0.22, 0.39, 0.34, 0.3, 0.27),
            (0.27, 0.22, 0.39, 0.34, 0.3),
            (0.3, 0.24, 0.22, 0.39, 0.34),
            (0.34, 0.3, 0.22, 0.2, 0.39),
        ),
        "m": 0.25,
        "r": 1,
        "s": (6, 10, 14, 4, 9),
    },
    initial_conditions=(
        9.4323333, 18.838654, 34.37572, 15.08545, 42.228427,
        0.17030505, 0.10144427, 0.3148045, 0.21253581, 0.22598604,
    ),
    dt=0.008682647107852971,
    period=43.406,
    citation="Huisman, J. & Weissing, F. J. (1999). Biodiversity of plankton by species oscillations and chaos. Nature 402, 407-410; after MacArthur, R. (1969). Species packing, and what competition minimizes. Proceedings of the National Academy of Sciences USA 64(4), 1369-1371.",
    description="Five phytoplankton species competing for five resources in a chemostat, each limited by its scarcest resource (Liebig's law); competition alone sustains chaos.",
)
def MacArthur(state, t, *, c, d, k, m, r, s):
    """State (N_1..N_5, R_1..R_5); k[j, i] is species i's half-saturation for resource j and
    c[j, i] its content of resource j: mu_i = min_j r R_j/(k[j, i] + R_j),
    N_i' = N_i (mu_i - m), R_j' = d (s_j - R_j) - sum_i c[j, i] mu_i N_i."""
    species, resources = state[..., :5], state[..., 5:]
    r = per_coordinate(per_coordinate(r))
    growth = r * (resources.unsqueeze(-1) / (k + resources.unsqueeze(-1)))  # [..., resource j, species i]
    mu = torch.amin(growth, dim=-2)
    d_species = species * (mu - per_coordinate(m))
    d_resources = per_coordinate(d) * (s - resources) - (c * (mu * species).unsqueeze(-2)).sum(-1)
    d_species, d_resources = torch.broadcast_tensors(d_species, d_resources)
    return torch.cat([d_species, d_resources], dim=-1)


@flow(
    parameters={"a": 15, "d": 8.3, "k": 400, "lam": 0.06, "m": 15.5, "mu": 3.4, "r": 22, "th": 10.0},
    initial_conditions=(231.92548, 89.511944, 56.753804),
    dt=0.00019350825137522067,
    period=0.96738,
    citation="Upadhyay, R. K., Bairagi, N., Kundu, K. & Chattopadhyay, J. (2008). Chaos in eco-epidemiological problem of the Salton Sea and its possible control. Applied Mathematics and Computation 196(1), 392-401.",
    description="Healthy fish, infected fish and the pelicans that prey on the infected ones in California's Salton Sea: an eco-epidemiological food chain.",
)
def SaltonSea(state, t, *, a, d, k, lam, m, mu, r, th):
    """x' = r x (1 - (x + y)/k) - lam x y, y' = lam x y - m y z/(y + a) - mu y, z' = th y z/(y + a) - d z."""
    x, y, z = state.unbind(-1)
    infection = lam * x * y
    predation = y * z / (y + a)
    dx = r * x * (1 - (x + y) / k) - infection
    return stack(dx, infection - m * predation - mu * y, th * predation - d * z, like=state)


@flow(
    parameters={"a": 8, "d": 0.04, "e": 0.5, "g": 0.1, "h": 0.8, "lamb": 1.0, "r": 8.12, "s": 1.25},
    initial_conditions=(0.018027788, 0.013649976, 30363.85),
    dt=0.0008812056911446575,
    period=4.40529411764706,
    nonautonomous=True,
    unbounded_indices=(2,),
    citation="Turchin, P. & Hanski, I. (1997). An empirically based model for latitudinal gradient in vole population dynamics. The American Naturalist 149(5), 842-874.",
    description="Voles preyed on by specialist weasels and generalist predators, with seasonally forced growth; the vole growth rate is raised to make the cycles chaotic.",
    postprocess=_sin_phase,
)
def TurchinHanski(state, t, *, a, d, e, g, h, lamb, r, s):
    """season = 1 - e sin(z): n' = r season n - r n^2 - g n^2/(n^2 + h^2) - a n p/(n + d),
    p' = s season p - s p^2/n, z' = 2 pi lamb."""
    n, p, z = state.unbind(-1)
    season = 1 - e * torch.sin(z)
    n2 = n**2
    dn = r * season * n - r * n2 - g * n2 / (n2 + h**2) - a * n * p / (n + d)
    dp = s * season * p - s * p**2 / n
    return stack(dn, dp, 2 * math.pi * lamb, like=state)
