"""Butcher tableaux as data: a method is a frozen `Tableau` that checks itself on construction.

Every tableau carries its main stages (`c`, `a`, `b`), an implicit first-same-as-last stage
`f(t + h, y_new)` (stage index `len(b)`), optional extra stages for dense output, error weights
over the first `len(b) + 1` stages, and a dense-output matrix `dense` in the power basis:

    y(t + theta h) = y + h * sum_k theta**(k + 1) * sum_j dense[j][k] * K_j

over all stages (main, FSAL, extra). Coefficients are kept in float64 and cast once per solve.
Published coefficients: Dormand & Prince (1980) with Shampine's (1986) continuous extension;
DOP853 of Hairer, Norsett & Wanner, Solving ODEs I (2nd ed.), with its 7th-order interpolant.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor

from chaosdata.registry import Registry

Row = tuple[float, ...]
Terms = tuple[tuple[int, float], ...]  # (stage, weight) pairs, nonzero weights only

# ----------------------------------------------------------------------------- coefficients
DOPRI5_C = (0.0, 0.2, 0.3, 0.8, 0.8888888888888888, 1.0)
DOPRI5_A = (
    (),
    (0.2,),
    (0.075, 0.225),
    (0.9777777777777777, -3.7333333333333334, 3.5555555555555554),
    (2.9525986892242035, -11.595793324188385, 9.822892851699436, -0.2908093278463649),
    (2.8462752525252526, -10.757575757575758, 8.906422717743473, 0.2784090909090909, -0.2735313036020583),
)
DOPRI5_B = (0.09114583333333333, 0.0, 0.44923629829290207, 0.6510416666666666, -0.322376179245283, 0.13095238095238096)
DOPRI5_E = (-0.0012326388888888888, 0.0, 0.0042527702905061394, -0.03697916666666667, 0.05086379716981132, -0.0419047619047619, 0.025)
DOPRI5_P = (
    (1.0, -2.8535800653862835, 3.0717434641059005, -1.1270175653862835),
    (0.0, 0.0, 0.0, 0.0),
    (0.0, 4.023133379230305, -6.249321565289, 2.675424484351598),
    (0.0, -3.7324019615885042, 10.068970589843675, -5.685526961588504),
    (0.0, 2.5548038301849423, -6.399112377351017, 3.5219323679207912),
    (0.0, -1.3744241142186024, 3.272657752246729, -1.7672812570757455),
    (0.0, 1.3824689317781436, -3.764937863556287, 2.382468931778144),
)
DOP853_C = (0.0, 0.05260015195876773, 0.0789002279381516, 0.1183503419072274, 0.2816496580927726, 0.3333333333333333, 0.25, 0.3076923076923077, 0.6512820512820513, 0.6, 0.8571428571428571, 1.0)
DOP853_A = (
    (),
    (0.05260015195876773,),
    (0.0197250569845379, 0.0591751709536137),
    (0.02958758547680685, 0.0, 0.08876275643042054),
    (0.2413651341592667, 0.0, -0.8845494793282861, 0.924834003261792),
    (0.037037037037037035, 0.0, 0.0, 0.17082860872947386, 0.12546768756682242),
    (0.037109375, 0.0, 0.0, 0.17025221101954405, 0.06021653898045596, -0.017578125),
    (0.03709200011850479, 0.0, 0.0, 0.17038392571223998, 0.10726203044637328, -0.015319437748624402, 0.008273789163814023),
    (0.6241109587160757, 0.0, 0.0, -3.3608926294469414, -0.868219346841726, 27.59209969944671, 20.154067550477894, -43.48988418106996),
    (0.47766253643826434, 0.0, 0.0, -2.4881146199716677, -0.590290826836843, 21.230051448181193, 15.279233632882423, -33.28821096898486, -0.020331201708508627),
    (-0.9371424300859873, 0.0, 0.0, 5.186372428844064, 1.0914373489967295, -8.149787010746927, -18.52006565999696, 22.739487099350505, 2.4936055526796523, -3.0467644718982196),
    (2.273310147516538, 0.0, 0.0, -10.53449546673725, -2.0008720582248625, -17.9589318631188, 27.94888452941996, -2.8589982771350235, -8.87285693353063, 12.360567175794303, 0.6433927460157636),
)
DOP853_B = (0.054293734116568765, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003, -5.801203960010585, 0.3111643669578199, -0.1521609496625161, 0.20136540080403034, 0.04471061572777259)
DOP853_E5 = (0.01312004499419488, 0.0, 0.0, 0.0, 0.0, -1.2251564463762044, -0.4957589496572502, 1.6643771824549864, -0.35032884874997366, 0.3341791187130175, 0.08192320648511571, -0.022355307863886294, 0.0)
DOP853_E3 = (-0.18980075407240762, 0.0, 0.0, 0.0, 0.0, 4.450312892752409, 1.8915178993145003, -5.801203960010585, -0.4226823213237919, -0.1521609496625161, 0.20136540080403034, 0.02265179219836082, 0.0)
DOP853_C_EXTRA = (0.1, 0.2, 0.7777777777777778)
DOP853_A_EXTRA = (
    (0.056167502283047954, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25350021021662483, -0.2462390374708025, -0.12419142326381637, 0.15329179827876568, 0.00820105229563469, 0.007567897660545699, -0.008298),
    (0.03183464816350214, 0.0, 0.0, 0.0, 0.0, 0.028300909672366776, 0.053541988307438566, -0.05492374857139099, 0.0, 0.0, -0.00010834732869724932, 0.0003825710908356584, -0.00034046500868740456, 0.1413124436746325),
    (-0.42889630158379194, 0.0, 0.0, 0.0, 0.0, -4.697621415361164, 7.683421196062599, 4.06898981839711, 0.3567271874552811, 0.0, 0.0, 0.0, -0.0013990241651590145, 2.9475147891527724, -9.15095847217987),
)
DOP853_D = (
    (-8.428938276109013, 0.0, 0.0, 0.0, 0.0, 0.5667149535193777, -3.0689499459498917, 2.38466765651207, 2.117034582445028, -0.871391583777973, 2.2404374302607883, 0.6315787787694688, -0.08899033645133331, 18.148505520854727, -9.194632392478356, -4.436036387594894),
    (10.427508642579134, 0.0, 0.0, 0.0, 0.0, 242.28349177525817, 165.20045171727028, -374.5467547226902, -22.113666853125306, 7.733432668472264, -30.674084731089398, -9.332130526430229, 15.697238121770845, -31.139403219565178, -9.35292435884448, 35.81684148639408),
    (19.985053242002433, 0.0, 0.0, 0.0, 0.0, -387.0373087493518, -189.17813819516758, 527.8081592054236, -11.57390253995963, 6.8812326946963, -1.0006050966910838, 0.7777137798053443, -2.778205752353508, -60.19669523126412, 84.32040550667716, 11.99229113618279),
    (-25.69393346270375, 0.0, 0.0, 0.0, 0.0, -154.18974869023643, -231.5293791760455, 357.6391179106141, 93.40532418362432, -37.45832313645163, 104.0996495089623, 29.8402934266605, -43.53345659001114, 96.32455395918828, -39.17726167561544, -149.72683625798564),
)


@dataclass(frozen=True)
class Tableau:
    """An explicit Runge-Kutta method; `e` is None for fixed-step methods."""

    name: str
    order: int
    c: Row
    a: tuple[Row, ...]
    b: Row
    dense: tuple[Row, ...]
    e: Row | None = None
    e_low: Row | None = None  # DOP853: a lower-order estimate that guards the error norm
    error_order: int | None = None
    c_extra: Row = ()
    a_extra: tuple[Row, ...] = field(default=())

    def __post_init__(self) -> None:
        s = len(self.b)
        if len(self.c) != s or len(self.a) != s:
            raise ValueError(f"{self.name}: c, a and b must have one entry per stage")
        rows = list(zip(self.c, self.a, strict=False)) + [(1.0, self.b)] + list(zip(self.c_extra, self.a_extra, strict=False))
        for i, (ci, ai) in enumerate(rows):
            if len(ai) != i:
                raise ValueError(f"{self.name}: row {i} of a must have {i} entries")
            if abs(sum(ai) - ci) > 1e-12:
                raise ValueError(f"{self.name}: row {i} of a sums to {sum(ai)!r}, not c = {ci!r}")
        if abs(sum(self.b) - 1.0) > 1e-12:
            raise ValueError(f"{self.name}: the weights b sum to {sum(self.b)!r}, not 1")
        for weights in (self.e, self.e_low):
            if weights is not None and (len(weights) != s + 1 or abs(sum(weights)) > 1e-12):
                raise ValueError(f"{self.name}: error weights must have {s + 1} entries summing to 0")
        if (self.e is None) != (self.error_order is None):
            raise ValueError(f"{self.name}: an adaptive method needs both e and error_order")
        dense = np.asarray(self.dense)
        if dense.shape[0] != self.n_stages:
            raise ValueError(f"{self.name}: dense output needs one row per stage ({self.n_stages})")
        # theta = 1 must reproduce the step itself
        at_one = dense.sum(axis=1)
        if not np.allclose(at_one, list(self.b) + [0.0] * (self.n_stages - s), atol=1e-12):
            raise ValueError(f"{self.name}: dense output at theta = 1 does not equal the step")

    @property
    def adaptive(self) -> bool:
        return self.e is not None

    @property
    def n_stages(self) -> int:
        """All stages evaluated per step: main, first-same-as-last and dense-output extras."""
        return len(self.b) + 1 + len(self.c_extra)


def hermite_form_to_power(g: np.ndarray) -> tuple[Row, ...]:
    """Convert an interpolant y0 + sum_i w_i(theta) h (g_i . K) to the power basis.

    The weights are the nested Hermite-like products used by DOP853's dense output:
    w = theta, theta(1-theta), theta^2(1-theta), theta^2(1-theta)^2, ... (one per row of g).
    """
    n_rows = g.shape[0]
    powers = np.zeros((n_rows, n_rows + 1))
    for i in range(n_rows):
        poly = np.polynomial.polynomial.polypow([0.0, 1.0], (i + 2) // 2)
        poly = np.polynomial.polynomial.polymul(poly, np.polynomial.polynomial.polypow([1.0, -1.0], (i + 1) // 2))
        powers[i, : len(poly)] = poly
    # drop theta^0 (all weights vanish at 0); column k multiplies theta^(k+1)
    p = g.T @ powers[:, 1:]
    return tuple(tuple(float(v) for v in row) for row in p)


def _hermite_rows(b: Row, n_stages: int, extra: np.ndarray | None = None) -> np.ndarray:
    """Rows g of the cubic Hermite part: dy, h f0 - dy, 2 dy - h (f0 + f1) (+ extra rows)."""
    s = len(b)
    dy = np.zeros(n_stages)
    dy[:s] = b
    f0 = np.eye(n_stages)[0]
    f1 = np.eye(n_stages)[s]
    rows = [dy, f0 - dy, 2 * dy - f0 - f1]
    if extra is not None:
        rows.extend(extra)
    return np.array(rows)


RK4 = Tableau(
    name="rk4",
    order=4,
    c=(0.0, 0.5, 0.5, 1.0),
    a=((), (0.5,), (0.0, 0.5), (0.0, 0.0, 1.0)),
    b=(1 / 6, 1 / 3, 1 / 3, 1 / 6),
    dense=hermite_form_to_power(_hermite_rows((1 / 6, 1 / 3, 1 / 3, 1 / 6), 5)),
)

# the adaptive methods: one line of coefficients each (their numbers are above)
DOPRI5 = Tableau("dopri5", order=5, error_order=4, c=DOPRI5_C, a=DOPRI5_A, b=DOPRI5_B, e=DOPRI5_E, dense=DOPRI5_P)
DOP853 = Tableau("dop853", order=8, error_order=7, c=DOP853_C, a=DOP853_A, b=DOP853_B, e=DOP853_E5, e_low=DOP853_E3,
                 c_extra=DOP853_C_EXTRA, a_extra=DOP853_A_EXTRA,
                 dense=hermite_form_to_power(_hermite_rows(DOP853_B, 16, np.asarray(DOP853_D))))

TABLEAUX: Registry[Tableau] = Registry("method")  # the ODE methods by name (`method="dop853"`)
for _tab in (RK4, DOPRI5, DOP853):
    TABLEAUX.add(_tab.name, _tab)


def get_tableau(method: str | Tableau) -> Tableau:
    """The tableau named `method` (see `TABLEAUX`, any case); a `Tableau` is returned as is."""
    return method if isinstance(method, Tableau) else TABLEAUX.get(method)


# ----------------------------------------------------------------------------- applying a row
def nonzero_terms(weights: Row, scale: float = 1.0) -> Terms:
    """The `(stage, weight * scale)` pairs of a row of weights whose weight is not zero, as
    Python floats: a compiled graph holds them as constants, and zero stages drop out."""
    return tuple((j, float(w) * scale) for j, w in enumerate(weights) if w != 0.0)


def combine(base: Tensor | None, terms: Terms, stages: Sequence[Tensor]) -> Tensor:
    """`base + sum_j w_j stages[j]` over `terms` (`base` None: the sum alone), one fused
    multiply-add per term into a new tensor (`base` itself when there are no terms); `base`
    and `stages` are left untouched."""
    if not terms:
        return base if base is not None else torch.zeros_like(stages[0])
    (j0, w0), *rest = terms
    out = torch.mul(stages[j0], w0) if base is None else torch.add(base, stages[j0], alpha=w0)
    for j, w in rest:
        out.add_(stages[j], alpha=w)
    return out
