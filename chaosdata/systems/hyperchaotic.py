"""Four-dimensional hyperchaotic flows: Rossler's hyperchaos and the Lorenz/Lu-type 4-D extensions."""

from chaosdata.systems.base import flow, stack


@flow(
    parameters={"a": 36.0, "b": 3.0, "c": 20.0, "d": 0.1, "e": 21.0},
    initial_conditions=(9.271308063781017, 9.752247178805291, 23.919154915696105, -16.69675939965203),
    dt=0.00011664956154566752,
    period=0.5831505997603473,
    citation="Bao, B. & Liu, Z. (2008). A hyperchaotic attractor coined from the chaotic Lu system. Chinese Physics Letters 25, 2396-2399.",
    description="Lu system with a fourth state fed back into x, driven by x and the product y z; two positive Lyapunov exponents.",
)
def HyperBao(state, t, *, a, b, c, d, e):
    """x' = a (y - x) + w, y' = c y - x z, z' = x y - b z, w' = e x + d y z."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + w, c * y - x * z, x * y - b * z, e * x + d * y * z, like=state)


@flow(
    parameters={"a": 27.5, "b": 3.0, "c": 19.3, "d": 2.9, "e": 3.3},
    initial_conditions=(-10.691273602120157, -15.541159376570342, 18.388272900250726, -14.904493939514888),
    dt=0.0001222991069250412,
    period=0.6113936187028436,
    citation="Cai, G. & Huang, J. (2007). A new finance chaotic attractor. International Journal of Nonlinear Science.",
    description="Quadratic 3-D flow with a y^2 source for z, made hyperchaotic by a linear fourth state w' = -e x feeding y.",
)
def HyperCai(state, t, *, a, b, c, d, e):
    """x' = a (y - x), y' = b x + c y - x z + w, z' = -d z + y^2, w' = -e x."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x), b * x + c * y - x * z + w, -d * z + y**2, -e * x, like=state)


@flow(
    parameters={"a": 10.0, "b": 28.0, "c": 2.667, "d": 1.3},
    initial_conditions=(13.76544888070825, 20.203791990082554, 32.08179795423583, -51.189321449994914),
    dt=0.00017131789889951677,
    period=0.8564467295817622,
    citation="Meier, J. (2003). Presentation of Attractors with Cinema.",
    description="Lorenz equations with an extra self-exciting state w' = d w - x z fed back into x.",
)
def HyperJha(state, t, *, a, b, c, d):
    """x' = a (y - x) + w, y' = b x - x z - y, z' = x y - c z, w' = d w - x z."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + w, -x * z + b * x - y, x * y - c * z, -x * z + d * w, like=state)


@flow(
    parameters={"a": 10.0, "b": 2.667, "c": 28.0, "d": 1.1},
    initial_conditions=(-9.186073735061425, -0.6744570634419695, 16.440536886214517, -145.0243848950473),
    dt=0.00025555193801167774,
    period=1.277546730110058,
    citation="Meier, J. (2003). Presentation of Attractors with Cinema.",
    description="Lorenz convection model extended by a fourth variable that grows with w and is driven by -x z.",
)
def HyperLorenz(state, t, *, a, b, c, d):
    """x' = a (y - x) + w, y' = c x - x z - y, z' = x y - b z, w' = d w - x z."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + w, -x * z + c * x - y, -b * z + x * y, d * w - x * z, like=state)


@flow(
    parameters={"a": 36.0, "b": 3.0, "c": 20.0, "d": 1.3},
    initial_conditions=(8.11348619, 10.55664382, 18.44590719, -28.38151717),
    dt=0.00014328101980993325,
    period=0.7162856981996777,
    citation="Chen, A., Lu, J., Lu, J. & Yu, S. (2006). Generating hyperchaotic Lu attractor via state feedback control. Physica A: Statistical Mechanics and its Applications 364, 103-110.",
    description="Lu attractor turned hyperchaotic by a state-feedback controller w' = d w + x z acting on x.",
)
def HyperLu(state, t, *, a, b, c, d):
    """x' = a (y - x) + w, y' = c y - x z, z' = x y - b z, w' = d w + x z."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + w, -x * z + c * y, x * y - b * z, d * w + x * z, like=state)


@flow(
    parameters={"a": 36.0, "b": 3.0, "c": 20.0, "d": 2.0},
    initial_conditions=(8.40863585, 4.67210241, 27.91032548, -1.26300886),
    dt=0.0001688156231375615,
    period=0.8439374360017028,
    citation="Pang, S. & Liu, Y. (2011). A new hyperchaotic system from the Lu system and its control. Journal of Computational and Applied Mathematics 235(8), 2775-2789.",
    description="Lu system with a fourth state integrating -d (x + y) and fed into y; hyperchaotic for the default values.",
)
def HyperPang(state, t, *, a, b, c, d):
    """x' = a (y - x), y' = c y - x z + w, z' = x y - b z, w' = -d (x + y)."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x), -x * z + c * y + w, x * y - b * z, -d * x - d * y, like=state)


@flow(
    parameters={"a": 50.0, "b": 24.0, "c": 13.0, "d": 8.0, "e": 33.0, "f": 30.0},
    initial_conditions=(11.250900857894639, -3.647077762541555, 50.16987924937642, -168.2485185683687),
    dt=1.2374139476927226e-05,
    period=0.06186038560173437,
    citation="Qi, G., van Wyk, M. A., van Wyk, B. J. & Chen, G. (2008). On a new hyperchaotic system. Physics Letters A.",
    description="Four-wing-type quadratic 4-D flow in which z and w are coupled linearly and both driven by x y; very fast oscillations.",
)
def HyperQi(state, t, *, a, b, c, d, e, f):
    """x' = a (y - x) + y z, y' = b (x + y) - x z, z' = -c z - e w + x y, w' = -d w + f z + x y."""
    x, y, z, w = state.unbind(-1)
    return stack(
        a * (y - x) + y * z,
        b * x + b * y - x * z,
        -c * z - e * w + x * y,
        -d * w + f * z + x * y,
        like=state,
    )


@flow(
    parameters={"a": 0.25, "b": 3.0, "c": 0.5, "d": 0.05},
    initial_conditions=(-93.667697, 15.5078, 0.032086964, 43.792796),
    dt=0.00022318673168449264,
    period=1.1157476694793766,
    citation="Rossler, O. E. (1979). An equation for hyperchaos.",
    description="The first flow shown to have two positive Lyapunov exponents: a Rossler spiral with an added slow linear mode.",
)
def HyperRossler(state, t, *, a, b, c, d):
    """x' = -y - z, y' = x + a y + w, z' = b + x z, w' = -c z + d w."""
    x, y, z, w = state.unbind(-1)
    return stack(-y - z, x + a * y + w, b + x * z, -c * z + d * w, like=state)


@flow(
    parameters={"a": 10.0, "b": 40.0, "c": 2.5, "d": 10.6, "e": 4.0},
    initial_conditions=(0.16824907, 0.16854103, 37.04033781, -15.29027381),
    dt=0.0001296520200215312,
    period=0.6481520567576332,
    citation="Wang, Z., Sun, Y., van Wyk, B. J., Qi, G. & van Wyk, M. A. (2009). A 3-D four-wing attractor and its analysis. Brazilian Journal of Physics 39.",
    description="Lorenz-like flow with an x^2 source for z and a fourth state w' = -d x feeding y.",
)
def HyperWang(state, t, *, a, b, c, d, e):
    """x' = a (y - x), y' = b x - x z + w, z' = -c z + e x^2, w' = -d x."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x), -x * z + b * x + w, -c * z + e * x**2, -d * x, like=state)


@flow(
    parameters={"a": 10.0, "b": 40.0, "c": 2.5, "d": 2.0, "e": 16.0},
    initial_conditions=(0.68944486, -0.60254126, -0.5814657, 0.26629277),
    dt=0.00022660079191240358,
    period=1.1328151255687646,
    citation="Letellier, C. & Rossler, O. E. (2007). Hyperchaos. Scholarpedia 2(8), 1936.",
    description="Xu's quadratic 3-D flow extended by a fourth state w' = x z - d y that feeds back into x.",
)
def HyperXu(state, t, *, a, b, c, d, e):
    """x' = a (y - x) + w, y' = b x + e x z, z' = -c z - x y, w' = x z - d y."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x) + w, b * x + e * x * z, -c * z - x * y, x * z - d * y, like=state)


@flow(
    parameters={"a": 37.0, "b": 3.0, "c": 26.0, "d": 38.0},
    initial_conditions=(-6.576620730899293, -4.617145437320736, 17.796515255115004, 0.8072357311545831),
    dt=0.00018257100103951984,
    period=0.9127028626966961,
    citation="Meier, J. (2003). Presentation of Attractors with Cinema.",
    description="Chen-like 4-D flow in which z and w exchange the quadratic terms y z and x z.",
)
def HyperYan(state, t, *, a, b, c, d):
    """x' = a (y - x), y' = (c - a) x - x z + c y, z' = -b z + x y - y z + x z - w, w' = -d w + y z - x z."""
    x, y, z, w = state.unbind(-1)
    return stack(
        a * (y - x),
        (c - a) * x - x * z + c * y,
        -b * z + x * y - y * z + x * z - w,
        -d * w + y * z - x * z,
        like=state,
    )


@flow(
    parameters={"a": 30.0, "b": 3.0, "c": 35.0, "d": 8.0},
    initial_conditions=(3.534464234888686, 4.82852516302869, 25.04917588890622, 17.118520274514353),
    dt=0.00018257100103951984,
    period=0.9127028626966961,
    citation="Meier, J. (2003). Presentation of Attractors with Cinema.",
    description="Yang-Chen 3-D flow (no linear damping of y) with a fourth state w' = -d x feeding y.",
)
def HyperYangChen(state, t, *, a, b, c, d):
    """x' = a (y - x), y' = c x - x z + w, z' = -b z + x y, w' = -d x."""
    x, y, z, w = state.unbind(-1)
    return stack(a * (y - x), c * x - x * z + w, -b * z + x * y, -d * x, like=state)
