"""Electronic circuits and neural networks: Chua-type circuits, the Colpitts oscillator, small recurrent nets."""

import torch

from chaosdata.systems.base import flow, per_coordinate, stack


def _sat(u):
    """Unit piecewise-linear saturation 0.5 (|u + 1| - |u - 1|), i.e. u clipped to [-1, 1]."""
    return 0.5 * (torch.abs(u + 1) - torch.abs(u - 1))


@flow(
    parameters={"alpha": 15.6, "beta": 28.0, "m0": -1.142857, "m1": -0.71429},
    initial_conditions=(1.1262351, -0.11386474, -0.78324421),
    dt=0.0002847474579095888,
    period=1.4235,
    citation="Chua, L. O. (1969). Introduction to Nonlinear Network Theory. McGraw-Hill, New York.",
    description="Dimensionless Chua circuit: an RLC oscillator with a piecewise-linear negative resistor; the double scroll.",
)
def Chua(state, t, *, alpha, beta, m0, m1):
    """x' = alpha (y - x - g(x)), y' = x - y + z, z' = -beta y,
    g(x) = m1 x + (m0 - m1) (|x + 1| - |x - 1|) / 2."""
    x, y, z = state.unbind(-1)
    g = m1 * x + 0.5 * (m0 - m1) * (torch.abs(x + 1) - torch.abs(x - 1))
    return stack(alpha * (y - x - g), x - y + z, -beta * y, like=state)


@flow(
    parameters={
        "a": 9.0,
        "b": 14.286,
        "c": (0.0, 1.0, 2.15, 3.6, 8.2, 13.0),
        "m": (-0.14285714, 0.28571429, -0.57142857, 0.28571429, -0.57142857, 0.28571429),
    },
    initial_conditions=(-21.160123, 1.0322356, 27.405269),
    dt=0.00045179529921654196,
    period=2.2586,
    citation="Yalcin, M. E., Suykens, J. A. K. & Vandewalle, J. Cellular Neural Networks, Multi-Scroll Chaos and Synchronization.",
    description="Chua-type circuit whose nonlinear resistor has many breakpoints, giving an attractor of several scrolls.",
)
def MultiChua(state, t, *, a, b, c, m):
    """x' = a (y - h(x)), y' = x - y + z, z' = -b y, with the 6-slope characteristic
    h(x) = m5 x + sum_{i=1..5} (m_{i-1} - m_i) (|x + c_i| - |x - c_i|) / 2 (c_0 is unused)."""
    x, y, z = state.unbind(-1)
    h = m[..., 5] * x
    for i in range(1, 6):
        h = h + 0.5 * (m[..., i - 1] - m[..., i]) * (torch.abs(x + c[..., i]) - torch.abs(x - c[..., i]))
    return stack(a * (y - h), x - y + z, -b * y, like=state)


@flow(
    parameters={"a": 30.0, "b": 0.8, "c": 20.0, "d": 0.08, "e": 10.0},
    initial_conditions=(8.9389043, 0.64637337, 8.7869304),
    dt=0.0008536622770461122,
    period=4.2676,
    citation="Kennedy, M. P. (1994). Chaos in the Colpitts oscillator. IEEE Transactions on Circuits and Systems, 771-774; Li, Zhou & Yang (2007). Chaos, Solitons & Fractals.",
    description="Normalized Colpitts transistor oscillator, the transistor reduced to a one-sided linear (diode-like) characteristic.",
)
def Colpitts(state, t, *, a, b, c, d, e):
    """x' = y - a F(z), y' = c - x - b y - z, z' = y - d z, F(z) = max(0, (e - 1) - z)."""
    x, y, z = state.unbind(-1)
    u = z - (e - 1)
    fz = torch.where(u > 0, torch.zeros_like(u), -u)
    return stack(y - a * fz, c - x - b * y - z, y - d * z, like=state)


@flow(
    parameters={"a": 4.4, "b": 3.21, "c": 1.1, "d": 1.24},
    initial_conditions=(-0.26574016, -0.36754928, -0.073094132),
    dt=0.0006401066844473746,
    period=3.2,
    citation="Arena, P., Caponetto, R., Fortuna, L. & Porto, D. (1998). International Journal of Bifurcation and Chaos, 1527-1539.",
    description="Three coupled cells of a cellular neural network with saturating piecewise-linear outputs.",
)
def CellularNeuralNetwork(state, t, *, a, b, c, d):
    """With f(u) = (|u + 1| - |u - 1|) / 2: x' = -x + d f(x) - b f(y) - b f(z),
    y' = -y - b f(x) + c f(y) - a f(z), z' = -z - b f(x) + a f(y) + f(z)."""
    x, y, z = state.unbind(-1)
    fx, fy, fz = _sat(x), _sat(y), _sat(z)
    return stack(
        -x + d * fx - b * fy - b * fz,
        -y - b * fx + c * fy - a * fz,
        -z - b * fx + a * fy + fz,
        like=state,
    )


_HOPFIELD_K = (
    (0.0, -1.0, 0.0, 0.0, -1.0, -1.0),
    (0.0, 0.0, 0.0, -1.0, -1.0, -1.0),
    (-1.0, -1.0, 0.0, 0.0, -1.0, 0.0),
    (-1.0, -1.0, -1.0, 0.0, 0.0, 0.0),
    (-1.0, -1.0, 0.0, -1.0, 0.0, 0.0),
    (0.0, -1.0, -1.0, -1.0, 0.0, 0.0),
)


@flow(
    parameters={"beta": 0.5, "eps": 10.0, "k": _HOPFIELD_K, "tau": 2.5},
    initial_conditions=(-0.67127393, -0.2420173, -0.055676628, 0.34697948, 0.45273118, 0.78389688),
    dt=0.002173362227038069,
    period=10.865,
    citation="Lewis, J. E. & Glass, L. (1992). Neural Computation.",
    description="Six analog neurons with inhibitory, frustrated couplings and steep sigmoid responses (Hopfield-type network).",
)
def Hopfield(state, t, *, beta, eps, k, tau):
    """x_i' = -x_i / tau + (1 + tanh(eps sum_j k_ij x_j)) / 2 - beta, with `k` a 6x6 matrix."""
    drive = (k * state[..., None, :]).sum(-1)
    beta, eps, tau = per_coordinate(beta), per_coordinate(eps), per_coordinate(tau)
    return -state / tau + (1 + torch.tanh(eps * drive)) / 2 - beta


@flow(
    parameters={
        "tau": (1.0, 2.5, 1.0),
        "theta": (-4.108, -2.787, -1.114),
        "w": ((5.422, -0.018, 2.75), (-0.24, 4.59, 1.21), (0.535, -2.25, 3.885)),
    },
    initial_conditions=(1.5014532, 2.3742845, 0.65819415),
    dt=0.03632205367561255,
    period=181.58,
    citation="Beer, R. D. (1995). On the dynamics of small continuous-time recurrent neural networks. Adaptive Behavior 3(4), 469-509.",
    description="Continuous-time recurrent network of three logistic neurons with self-excitation and mixed cross-couplings.",
)
def BeerRNN(state, t, *, tau, theta, w):
    """x_i' = (-x_i + sum_j w_ij sigmoid(x_j + theta_j)) / tau_i, with `w` a 3x3 matrix."""
    rates = torch.sigmoid(state + theta)
    return (-state + (w * rates[..., None, :]).sum(-1)) / tau
