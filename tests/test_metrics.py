"""chaosdata.metrics: equality with dysts.metrics, invariances over the registry, VPT on
constructed forecasts, D_stsp / D_H against independent references, Rosenstein's lambda_max."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.integrate import solve_ivp
from scipy.ndimage import gaussian_filter1d
from scipy.stats import pearsonr

import chaosdata
import chaosdata.metrics as M
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.invariants.series import max_lyapunov_rosenstein
from chaosdata.metrics.attractor import _log_mixture_density
from chaosdata.metrics.spectral import gaussian_smooth

dm = pytest.importorskip("dysts.metrics")

# Same formula in float64, only the summation order differs: relative differences are a few
# units of n * 2.2e-16 (n <= 600 values summed); 1e-9 leaves room and still catches any
# difference of definition (a missing eps, a different axis or ddof changes the 4th digit or more).
RTOL = 1e-9
DYSTS_FUNCTIONS = {"r2_score": dm.r2_score, "kl_divergence": dm.estimate_kl_divergence,
                   "hellinger_distance": dm.average_hellinger_distance}
DETERMINISTIC_DYSTS = [m for m in M.list_metrics() if M.get_metric(m).dysts and m not in ("kl_divergence", "mutual_information")]


def _series(seed: int, n: int = 200, dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """A (pred, true) pair [n, dim]: a positive-offset random walk and a noisy copy of it."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(n, dim)).cumsum(0) + 3.0
    pred = true + rng.normal(scale=0.7, size=(n, dim))
    return pred, true


@pytest.fixture(scope="module")
def batch() -> tuple[np.ndarray, np.ndarray]:
    pairs = [_series(s) for s in range(3)]
    return np.stack([p for p, _ in pairs]), np.stack([t for _, t in pairs])


def _dysts(name: str, pred: np.ndarray, true: np.ndarray) -> float:
    spec = M.get_metric(name)
    fn = DYSTS_FUNCTIONS.get(spec.dysts) or getattr(dm, spec.dysts)
    return float(fn(true, pred))


def _lorenz(n: int, dt: float, x0: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> np.ndarray:
    """Lorenz (sigma 10, rho 28, beta 8/3) sampled every dt after a transient, scipy DOP853."""
    def f(_, u):
        x, y, z = u
        return [10 * (y - x), x * (28 - z) - y, x * y - 8 / 3 * z]
    t = np.arange(n) * dt + 20.0
    sol = solve_ivp(f, (0.0, t[-1]), list(x0), method="DOP853", t_eval=t, rtol=1e-10, atol=1e-12)
    return sol.y.T


@pytest.fixture(scope="module")
def lorenz_series() -> torch.Tensor:
    return torch.from_numpy(_lorenz(3000, 0.03))


# ------------------------------------------------------------------ equality with dysts
@pytest.mark.parametrize("name", DETERMINISTIC_DYSTS)
def test_equals_dysts_on_each_series_of_a_batch(name, batch):
    pred, true = batch
    ours = M.get_metric(name)(torch.from_numpy(pred), torch.from_numpy(true))
    assert ours.shape == (pred.shape[0],)
    ref = [_dysts(name, pred[b], true[b]) for b in range(pred.shape[0])]
    np.testing.assert_allclose(ours.numpy(), ref, rtol=RTOL, atol=0)


def test_batch_means_equal_dysts_compute_metrics(batch):
    pred, true = batch
    ours = M.compute_all(torch.from_numpy(pred), torch.from_numpy(true), include=DETERMINISTIC_DYSTS)
    theirs = dm.compute_metrics(true, pred, include=[M.get_metric(n).dysts for n in DETERMINISTIC_DYSTS], batch_axis=0)
    for name in DETERMINISTIC_DYSTS:
        assert float(ours[name].mean()) == pytest.approx(theirs[M.get_metric(name).dysts], rel=RTOL), name


def test_smape_scales_match_dysts_scaled_and_unscaled(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    np.testing.assert_allclose(M.smape(p, t).numpy(), [dm.smape(true[b], pred[b], scaled=False) for b in range(3)], rtol=RTOL)
    np.testing.assert_allclose(M.smape(p, t, scale=100).numpy(), [dm.smape(true[b], pred[b]) for b in range(3)], rtol=RTOL)
    with pytest.raises(InvalidInputError, match="scale"):
        M.smape(p, t, scale=1)


def test_pearson_univariate_is_pearson_not_dysts_spearman_fallback():
    pred, true = _series(7, dim=1)
    ours = float(M.pearson(torch.from_numpy(pred), torch.from_numpy(true)))
    assert ours == pytest.approx(pearsonr(true[:, 0], pred[:, 0])[0], rel=RTOL)
    assert ours != pytest.approx(float(dm.spearman(true, pred)), rel=1e-6)


def _sklearn_mutual_information(pred: np.ndarray, true: np.ndarray) -> float:
    """What dysts.metrics.mutual_information computes: per-dimension sklearn KSG MI, averaged.
    dysts 0.96's own wrapper assigns a length-1 array into a float slot, which numpy >= 2.4
    rejects (ValueError), so the reference calls sklearn the way it does."""
    from sklearn.feature_selection import mutual_info_regression

    try:
        return float(dm.mutual_information(true, pred))
    except ValueError:
        return float(np.mean([mutual_info_regression(true[:, i:i + 1], pred[:, i], random_state=0)[0]
                              for i in range(true.shape[1])]))


def test_mutual_information_equals_dysts_sklearn(batch):
    pytest.importorskip("sklearn")
    pred, true = batch
    ours = M.mutual_information(torch.from_numpy(pred), torch.from_numpy(true))
    # sklearn adds noise of relative size 1e-10 before counting neighbours; with continuous
    # data no count changes, so the estimates agree to rounding
    np.testing.assert_allclose(ours.numpy(), [_sklearn_mutual_information(pred[b], true[b]) for b in range(3)], rtol=RTOL)


def test_mutual_information_on_a_chaotic_forecast_equals_sklearn(lorenz_series):
    pytest.importorskip("sklearn")
    true = lorenz_series[:1000].numpy()
    pred = lorenz_series[7:1007].numpy()  # a lagged copy: strongly but not perfectly dependent
    ours = float(M.mutual_information(torch.from_numpy(pred), torch.from_numpy(true)))
    assert ours == pytest.approx(_sklearn_mutual_information(pred, true), rel=RTOL)


@pytest.mark.parametrize("name,scipy_name", [("kendall", "kendalltau"), ("spearman", "spearmanr")])
@pytest.mark.parametrize("n", [3, 8, 100, 1025])
@pytest.mark.parametrize("ties", [False, True])
def test_rank_correlations_equal_scipy_with_and_without_ties(name, scipy_name, n, ties):
    import scipy.stats

    rng = np.random.default_rng(n)
    true = rng.normal(size=(2, n, 2))
    pred = true + rng.normal(size=true.shape)
    if ties:  # coarse values: many pairs tied in one series, some in both
        true, pred = np.round(true), np.round(2 * pred) / 2
    ours = getattr(M, name)(torch.from_numpy(pred), torch.from_numpy(true)).numpy()
    fn = getattr(scipy.stats, scipy_name)
    ref = [np.mean([fn(true[b, :, d], pred[b, :, d])[0] for d in range(2)]) for b in range(2)]
    np.testing.assert_allclose(ours, ref, rtol=RTOL, atol=1e-15)


def test_mixture_density_equals_dysts_gaussian_mixture():
    pred, true = _series(3, n=60)
    points = true[:25] + 0.3
    ours = _log_mixture_density(torch.from_numpy(points), torch.from_numpy(true), 1.0).exp().numpy()
    ref = dm.GaussianMixture(true, 1.0)(points)
    np.testing.assert_allclose(ours, ref, rtol=RTOL)


def test_kl_divergence_matches_dysts_within_monte_carlo_error():
    pred, true = _series(5, n=150)
    n = 4000
    ours = float(M.gmm_kl_divergence(torch.from_numpy(pred), torch.from_numpy(true), n_samples=n, seed=1))
    # the spread of the log ratio under p_true, from a large independent draw, sets the error
    t = torch.from_numpy(true)
    gen = torch.Generator().manual_seed(99)
    x = t[torch.randint(t.shape[0], (20000,), generator=gen)] + torch.randn(20000, 3, generator=gen, dtype=torch.float64)
    ratio = _log_mixture_density(x, t, 1.0) - _log_mixture_density(x, torch.from_numpy(pred), 1.0)
    se = float(ratio.std()) / math.sqrt(n)
    np.random.seed(0)
    ref = float(dm.estimate_kl_divergence(true, pred, n_samples=n))
    assert abs(ours - ref) < 5 * math.sqrt(2) * se, (ours, ref, se)


def test_kl_divergence_is_seeded_and_batch_independent():
    pred, true = _series(5, n=80)
    p, t = torch.from_numpy(pred)[None], torch.from_numpy(true)[None]
    one = M.gmm_kl_divergence(p, t, seed=3)
    assert torch.equal(one, M.gmm_kl_divergence(p, t, seed=3))
    assert not torch.equal(one, M.gmm_kl_divergence(p, t, seed=4))


# ------------------------------------------------------------------ registry-wide properties
def _context_for(t: torch.Tensor) -> dict:
    return {"dt": 0.05, "lyapunov_time": 1.0}


IDEAL_FINITE = [m for m in M.list_metrics() if math.isfinite(M.get_metric(m).ideal) and m not in
                ("max_lyapunov_error", "correlation_dimension_error")]


@pytest.mark.parametrize("name", IDEAL_FINITE)
def test_perfect_forecast_scores_the_ideal_value(name, batch):
    _, true = batch
    t = torch.from_numpy(true)
    value = M.compute_all(t.clone(), t, include=[name], **_context_for(t))[name]
    assert torch.allclose(value, torch.full_like(value, M.get_metric(name).ideal), rtol=0, atol=1e-12), value


@pytest.mark.parametrize("definition", ["vpt_smape", "vpt_nrmse"])
def test_perfect_forecast_is_valid_over_the_whole_horizon(definition, batch):
    _, true = batch
    t = torch.from_numpy(true)
    value = M.compute_all(t.clone(), t, include=[definition], dt=0.05, lyapunov_time=1.0)[definition]
    assert torch.equal(value, torch.full_like(value, t.shape[1] * 0.05))


FAST = [m for m in M.list_metrics() if m not in ("max_lyapunov_error", "correlation_dimension_error")]


@pytest.mark.parametrize("name", FAST)
def test_value_of_a_series_does_not_depend_on_its_batch(name, batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    ctx = M.Context(dt=0.05, lyapunov_time=1.0)
    whole = M.get_metric(name)(p, t, ctx)
    alone = torch.cat([M.get_metric(name)(p[b:b + 1], t[b:b + 1], ctx) for b in range(p.shape[0])])
    torch.testing.assert_close(whole, alone, rtol=1e-12, atol=0)


@pytest.mark.parametrize("name", FAST)
def test_float32_and_2d_inputs_are_accepted(name, batch):
    pred, true = batch
    p, t = torch.from_numpy(pred[0]).float(), torch.from_numpy(true[0]).float()
    value = M.get_metric(name)(p, t, M.Context(dt=0.05, lyapunov_time=1.0))
    assert value.shape == (1,) and value.dtype == torch.float64


NAN_TOLERANT = {"vpt_smape", "vpt_nrmse", "d_stsp"}  # a diverged forecast scores, by definition


@pytest.mark.parametrize("name", FAST)
def test_a_diverged_forecast_is_nan_or_scored_as_documented(name, batch):
    pred, true = batch
    p, t = torch.from_numpy(pred).clone(), torch.from_numpy(true)
    p[1, 150:] = math.nan  # only the second forecast diverges
    value = M.get_metric(name)(p, t, M.Context(dt=0.05, lyapunov_time=1.0))
    clean = M.get_metric(name)(torch.from_numpy(pred), t, M.Context(dt=0.05, lyapunov_time=1.0))
    assert torch.equal(value[[0, 2]], clean[[0, 2]])
    if name in NAN_TOLERANT:
        assert math.isfinite(float(value[1]))
    elif name == "pe20":  # the 20th step is before the divergence
        assert float(value[1]) == float(clean[1])
    else:
        assert math.isnan(float(value[1]))


def test_smape_is_symmetric_and_scale_free(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    torch.testing.assert_close(M.smape(p, t), M.smape(t, p), rtol=1e-14, atol=0)
    torch.testing.assert_close(M.smape(37.5 * p, 37.5 * t), M.smape(p, t), rtol=1e-9, atol=0)
    assert bool((M.smape(p, t) > 0).all() and (M.smape(p, t) <= 200).all())


def test_shape_mismatch_and_bad_names_are_explained():
    a, b = torch.zeros(2, 10, 3), torch.zeros(2, 11, 3)
    with pytest.raises(InvalidInputError, match="same shape"):
        M.mse(a, b)
    with pytest.raises(InvalidInputError, match=r"\[batch, time, dim\]"):
        M.mse(torch.zeros(10), torch.zeros(10))
    with pytest.raises(InvalidInputError, match="(?i)did you mean 'smape'"):
        M.get_metric("smpae")


# ------------------------------------------------------------------ valid prediction time
def _truth(n: int = 120, dim: int = 3) -> torch.Tensor:
    """A smooth positive series [1, n, dim] (sMAPE is defined away from zero)."""
    s = torch.arange(n, dtype=torch.float64)[:, None] * 0.1 + torch.arange(dim, dtype=torch.float64)
    return (5 + torch.sin(s)).unsqueeze(0)


@pytest.mark.parametrize("k", [0, 1, 5, 17, 64, 119])
@pytest.mark.parametrize("definition,cumulative", [("nrmse", True), ("smape", False)])
def test_forecast_equal_for_k_steps_then_far_off_has_k_valid_steps(k, definition, cumulative):
    true = _truth()
    pred = true.clone()
    pred[:, k:] += 100.0
    steps = M.valid_prediction_steps(pred, true, definition=definition, cumulative=cumulative, scale=1.0)
    assert steps.tolist() == [k]
    vpt = M.valid_prediction_time(pred, true, dt=0.05, lyapunov_time=1.1, definition=definition,
                                  cumulative=cumulative, scale=1.0)
    assert vpt.tolist() == [pytest.approx(k * 0.05 / 1.1, rel=1e-15)]


@pytest.mark.parametrize("k", [0, 3, 17, 64])
@pytest.mark.parametrize("definition", ["smape", "nrmse"])
def test_forecast_that_diverges_to_nan_after_k_steps_has_k_valid_steps(k, definition):
    true = _truth()
    pred = true.clone()
    pred[:, k:] = math.nan
    assert M.valid_prediction_steps(pred, true, definition=definition).tolist() == [k]


@pytest.mark.parametrize("k", [1, 6, 17, 40])
def test_cumulative_smape_crosses_30_where_the_running_mean_says(k):
    # equal for k steps, then pred = -true: each later step has sMAPE 200 (to 1e-10), so the
    # running mean at step i >= k is 200 (i - k + 1) / (i + 1); it must exceed 30 strictly
    true = _truth()
    pred = true.clone()
    pred[:, k:] = -true[:, k:]
    expected = next(i for i in range(k, true.shape[1]) if 200 * (i - k + 1) > 30 * (i + 1))
    assert M.valid_prediction_steps(pred, true).tolist() == [expected]
    if k == 17:
        assert expected == 20  # at i = 19 the mean is exactly 30: not exceeded, still valid


def test_error_equal_to_the_threshold_is_still_valid():
    true = _truth(dim=1)
    pred = true + 0.5  # NRMSE with scale 1 is exactly 0.5 at every step
    assert M.valid_prediction_steps(pred, true, definition="nrmse", scale=1.0).tolist() == [true.shape[1]]
    assert M.valid_prediction_steps(pred, true, definition="nrmse", scale=1.0, threshold=0.49).tolist() == [0]


def test_valid_prediction_time_checks_its_arguments():
    true = _truth()
    with pytest.raises(InvalidInputError, match="definition"):
        M.valid_prediction_steps(true, true, definition="mse")
    with pytest.raises(InvalidInputError, match="lyapunov_time"):
        M.valid_prediction_time(true, true, dt=0.1, lyapunov_time=0.0)
    with pytest.raises(InvalidInputError, match="scale"):
        M.valid_prediction_steps(true, true, definition="nrmse", scale=torch.ones(2))


# ------------------------------------------------------------------ D_stsp
def _dense_histogram_kl(pred: np.ndarray, true: np.ndarray, n_bins: int, a: float, margin: float) -> float:
    """Independent reference: dense n_bins^D histograms with numpy."""
    lo, hi = true.min(0), true.max(0)
    span = hi - lo
    edges = [np.linspace(lo[d] - margin * span[d], hi[d] + margin * span[d], n_bins + 1) for d in range(true.shape[1])]

    def hist(x):
        inside = np.all([(x[:, d] >= edges[d][0]) & (x[:, d] < edges[d][-1]) for d in range(x.shape[1])], axis=0)
        h, _ = np.histogramdd(x[inside], bins=edges)
        return (h + a) / (len(x) + a * h.size)  # points outside the grid count in the total

    p, q = hist(true), hist(pred)
    return float(np.sum(p * np.log(p / q)))


@pytest.mark.parametrize("dim,n_bins", [(1, 30), (2, 7), (3, 5)])
def test_histogram_divergence_equals_a_dense_reference(dim, n_bins):
    pred, true = _series(11, n=300, dim=dim)
    ours = float(M.state_space_divergence(torch.from_numpy(pred), torch.from_numpy(true), n_bins=n_bins))
    assert ours == pytest.approx(_dense_histogram_kl(pred, true, n_bins, 1e-5, 0.1), rel=1e-9)


@pytest.mark.parametrize("dim", [3, 6])  # histogram below 6 dimensions, Gaussian mixture from 6
def test_d_stsp_is_zero_for_identical_sets_and_grows_with_a_shift(dim, lorenz_series):
    x = lorenz_series[:2000]
    true = x if dim == 3 else torch.cat([x, lorenz_series[5:2005]], dim=1)  # Lorenz and a delayed copy
    assert float(M.state_space_divergence(true, true.clone())) == 0.0
    span = true.amax(0) - true.amin(0)
    values = [float(M.state_space_divergence(true + f * span, true)) for f in (0.02, 0.1, 0.3, 0.6)]
    assert all(b > a for a, b in zip(values, values[1:])), values
    assert values[0] > 0


# ------------------------------------------------------------------ D_H and smoothing
@pytest.mark.parametrize("n", [5, 60, 400])
def test_gaussian_smooth_equals_scipy_reflect(n):
    x = torch.from_numpy(np.random.default_rng(n).normal(size=(2, n)))
    torch.testing.assert_close(gaussian_smooth(x, 20.0), torch.from_numpy(gaussian_filter1d(x.numpy(), 20.0, axis=-1)),
                               rtol=1e-12, atol=1e-14)


def test_power_spectrum_distance_equals_a_scipy_reference(batch):
    pred, true = batch

    def spectrum(x):
        s = np.abs(np.fft.rfft(x - x.mean(0), axis=0)) ** 2
        s = gaussian_filter1d(s, 20.0, axis=0)
        return s / s.sum(0)

    ref = [np.mean(np.sqrt(1 - np.sum(np.sqrt(spectrum(pred[b]) * spectrum(true[b])), axis=0))) for b in range(3)]
    ours = M.power_spectrum_distance(torch.from_numpy(pred), torch.from_numpy(true))
    np.testing.assert_allclose(ours.numpy(), ref, rtol=1e-9)


def test_power_spectrum_distance_sees_a_frequency_change_not_a_phase_or_scale_change():
    s = torch.arange(2048, dtype=torch.float64)[None, :, None] * (2 * math.pi * 16 / 2048)  # 16 whole cycles
    true = torch.sin(s)
    assert float(M.power_spectrum_distance(3 * torch.sin(s + 1.0) + 2, true)) < 1e-6
    # 16 and 128 cycles lie 112 bins apart, 5.6 smoothing widths: nearly disjoint spectra;
    # 16 and 48 cycles are 1.6 widths apart and the smoothed spectra overlap
    far, near = (float(M.power_spectrum_distance(torch.sin(m * s), true)) for m in (8, 3))
    assert far > 0.95 and 0.2 < near < far


# ------------------------------------------------------------------ PE(n)
def test_prediction_error_is_the_squared_error_at_the_nth_step(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    torch.testing.assert_close(M.prediction_error(p, t, n=20), ((p[:, 19] - t[:, 19]) ** 2).mean(-1))
    with pytest.raises(InvalidInputError, match="horizon"):
        M.prediction_error(p[:, :10], t[:, :10])


# ------------------------------------------------------------------ compute_all
def test_compute_all_returns_the_standard_set_given_the_context(batch):
    pred, true = batch
    out = M.compute_all(torch.from_numpy(pred), torch.from_numpy(true), dt=0.05, lyapunov_time=1.0)
    assert list(out) == M.list_metrics(standard=True)
    assert all(v.shape == (3,) for v in out.values())


def test_compute_all_leaves_out_what_lacks_context_and_raises_when_asked(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    out = M.compute_all(p[:, :15], t[:, :15])
    assert "vpt_smape" not in out and "pe20" not in out and "mse" in out
    with pytest.raises(InvalidInputError, match="needs dt, lyapunov_time"):
        M.compute_all(p, t, include=["vpt_smape"])


def test_lyapunov_time_in_steps_or_from_the_catalogue(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    steps = M.valid_prediction_steps(p, t).double()
    out = M.compute_all(p, t, include=["vpt_smape"], lyapunov_time_steps=30)
    torch.testing.assert_close(out["vpt_smape"], steps / 30)
    lorenz_lt = chaosdata.get_system("Lorenz").invariants["lyapunov_time"]
    out = M.compute_all(p, t, include=["vpt_smape"], dt=0.01, system="Lorenz")
    torch.testing.assert_close(out["vpt_smape"], steps * 0.01 / lorenz_lt)


def test_compute_all_by_kind(batch, lorenz_series):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    assert list(M.compute_all(p, t, dt=0.05, lyapunov_time=1.0, kind="forecast")) == \
        M.list_metrics(standard=True, kind="forecast")
    short = M.compute_all(p, t, kind="attractor")
    assert list(short) == ["kl_divergence", "hellinger_distance", "d_stsp", "d_h"]  # 200 points: no invariants
    long_true = lorenz_series[None, :1000]
    long = M.compute_all(lorenz_series[None, 3:1003], long_true, dt=0.03, kind="attractor")
    assert list(long) == M.list_metrics(kind="attractor")
    with pytest.raises(InvalidInputError, match="kind"):
        M.compute_all(p, t, kind="short")


# ------------------------------------------------------------------ invariants of free runs
def test_rosenstein_recovers_lorenz_lambda_max(lorenz_series):
    # literature 0.906; Rosenstein's method on 3,000 points is biased by a few per cent
    fit = max_lyapunov_rosenstein(lorenz_series, 0.03)
    assert fit.value == pytest.approx(0.906, rel=0.12), fit.fit


def test_rosenstein_recovers_henon_lambda_max():
    x = chaosdata.make_trajectories("Henon", 3000).x[0]
    stored = chaosdata.get_system("Henon").invariants["max_lyapunov"]
    assert max_lyapunov_rosenstein(x, 1.0).value == pytest.approx(stored, rel=0.1)


def test_invariant_errors_of_a_perfect_free_run_are_zero_against_true(lorenz_series):
    t = lorenz_series[None, :2000]
    assert M.max_lyapunov_error(t.clone(), t, dt=0.03).tolist() == [0.0]
    assert M.correlation_dimension_error(t.clone(), t).tolist() == [0.0]


def test_invariant_errors_take_precomputed_references(lorenz_series):
    t = torch.stack([lorenz_series[:1500], lorenz_series[1500:3000]])
    p = torch.stack([lorenz_series[5:1505], lorenz_series[1400:2900]])
    lam, d2 = M.forecast_max_lyapunov(t, dt=0.03), M.forecast_correlation_dimension(t)
    torch.testing.assert_close(M.max_lyapunov_error(p, t, dt=0.03, reference=lam), M.max_lyapunov_error(p, t, dt=0.03))
    torch.testing.assert_close(M.correlation_dimension_error(p, t, reference=d2), M.correlation_dimension_error(p, t))
    with pytest.raises(InvalidInputError, match=r"shape \[batch\]"):
        M.max_lyapunov_error(p, t, dt=0.03, reference=lam[:1])


def test_invariant_errors_against_the_catalogue(lorenz_series):
    # Rosenstein's estimate from one 90-time-unit series spreads about +-15% around the
    # catalogue's 0.90 (0.82-1.01 over these four starts; 0.78-1.14 from 60 time units, which made
    # a one-series bound of 0.12 pass or fail with scipy's version), so the median of four is checked
    starts = [(1.0, 1.0, 1.0), (1.0, 2.0, 3.0), (-5.0, 3.0, 20.0), (0.5, 0.5, 10.0)]
    four = torch.stack([torch.from_numpy(_lorenz(3000, 0.03, x0)) for x0 in starts])
    assert float(M.max_lyapunov_error(four, four, dt=0.03, reference="Lorenz").median()) < 0.15
    t = lorenz_series[None, :2000]
    assert float(M.correlation_dimension_error(t, t, reference="Lorenz")) < 0.1
    # a forecast collapsed onto a limit cycle has no positive exponent and dimension ~1
    s = torch.arange(2000, dtype=torch.float64)[:, None] * 0.03
    cycle = torch.cat([10 * torch.sin(s), 10 * torch.cos(s), 25 + 0 * s], dim=1)[None]
    assert float(M.correlation_dimension_error(cycle, t, reference="Lorenz")) > 0.3


# ------------------------------------------------------------------ devices
@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_every_metric_on_cuda_equals_cpu(batch):
    pred, true = batch
    p, t = torch.from_numpy(pred), torch.from_numpy(true)
    kw = dict(dt=0.05, lyapunov_time=1.0, include=FAST)
    cpu = M.compute_all(p, t, **kw)
    gpu = M.compute_all(p.cuda(), t.cuda(), **kw)
    for name in FAST:
        assert gpu[name].device.type == "cuda", name
        torch.testing.assert_close(gpu[name].cpu(), cpu[name], rtol=1e-9, atol=1e-12, msg=name)


# ================================================================== inputs met in practice
# numpy views and byte orders, empty batches, corrupt or constant truths, include strings,
# invariant references; sMAPE / valid prediction times against independent numpy loops
CHEAP = [m for m in M.list_metrics() if m not in ("max_lyapunov_error", "correlation_dimension_error")]
CTX = M.Context(dt=0.05, lyapunov_time=1.0)


def _pair(seed: int = 0, n: int = 120, dim: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """(pred, true) [n, dim]: a positive-offset random walk and a copy whose error grows with time."""
    rng = np.random.default_rng(seed)
    true = rng.normal(size=(n, dim)).cumsum(0) + 4.0
    pred = true + rng.normal(size=(n, dim)) * np.linspace(0.01, 12.0, n)[:, None]
    return pred, true


# ------------------------------------------------------------------ numpy inputs
@pytest.mark.parametrize("name", ["smape", "d_stsp", "vpt_smape"])
def test_reversed_and_big_endian_numpy_arrays_are_read_like_their_copies(name):
    # torch.from_numpy refused both (ValueError on negative strides and on byte order '>')
    pred, true = _pair()
    metric = M.get_metric(name)
    expected = metric(pred[::-1].copy(), true[::-1].copy(), CTX)
    torch.testing.assert_close(metric(pred[::-1], true[::-1], CTX), expected, rtol=0, atol=0)
    torch.testing.assert_close(metric(pred.astype(">f8"), true.astype(">f8"), CTX), metric(pred, true, CTX), rtol=0, atol=0)


def test_a_numpy_array_of_objects_is_a_type_error_naming_the_dtype():
    pred, true = _pair()
    with pytest.raises(InvalidTypeError, match="pred must hold real numbers.*object"):
        M.mse(pred.astype(object), true)


@pytest.mark.parametrize("name", CHEAP)
def test_an_empty_batch_is_refused_with_its_shape(name):
    # a [0, time, dim] batch gave raw RuntimeErrors (reshape, FFT, stack) in 8 metrics
    empty = torch.zeros(0, 50, 3, dtype=torch.float64)
    with pytest.raises(InvalidInputError, match=r"at least one series.*\(0, 50, 3\)"):
        M.get_metric(name)(empty, empty, CTX)


# ------------------------------------------------------------------ valid prediction time
@pytest.mark.parametrize("level", [3.0, 0.3, 123.456])
def test_vpt_nrmse_without_scale_refuses_a_constant_truth(level):
    # the default sigma_d (std of true over the window) was 0, or for most levels rounding noise
    # of ~1e-33: a perfect forecast scored 0 steps, or every forecast failed at step 0
    true = torch.full((1, 300, 1), level, dtype=torch.float64)
    with pytest.raises(InvalidInputError, match=r"constant over the window at \(batch, dim\) \[\[0, 0\]\].*scale="):
        M.valid_prediction_steps(true + 0.01, true, definition="nrmse")
    both = torch.cat([torch.linspace(0, 1, 300).view(1, 300, 1).double(), true], dim=2)
    with pytest.raises(InvalidInputError, match=r"\(batch, dim\) \[\[0, 1\]\]"):
        M.valid_prediction_steps(both.clone(), both, definition="nrmse")


def test_vpt_nrmse_of_a_constant_truth_with_a_scale_is_the_whole_horizon():
    true = torch.full((1, 40, 2), 3.0, dtype=torch.float64)
    assert M.valid_prediction_steps(true.clone(), true, definition="nrmse", scale=1.0).tolist() == [40]


def test_vpt_of_a_one_step_window_needs_a_scale():
    pred, true = _pair(n=1)
    with pytest.raises(InvalidInputError, match="constant over the window"):
        M.compute_all(pred, true, include=["vpt_nrmse"], dt=0.1, lyapunov_time=1.0)
    assert M.compute_all(true, true, include=["vpt_nrmse"], dt=0.1, lyapunov_time=1.0, scale=1.0)["vpt_nrmse"].tolist() == [0.1]


@pytest.mark.parametrize("definition", ["smape", "nrmse"])
def test_vpt_refuses_a_truth_that_is_not_finite(definition):
    # a NaN in the truth ended the valid stretch there (and with the default NRMSE sigma, at
    # step 0): a corrupt reference was scored as a forecast failure
    pred, true = _pair()
    true = np.stack([true, true])
    pred = np.stack([pred, pred])
    true[1, 60:] = np.nan
    with pytest.raises(InvalidInputError, match=r"true has non-finite values in batch element\(s\) \[1\]"):
        M.valid_prediction_steps(pred, true, definition=definition)


def test_vpt_of_a_diverged_forecast_still_counts_the_steps_before_it():
    pred, true = _pair()
    pred[30:] = np.inf
    assert M.valid_prediction_steps(pred, true, definition="nrmse", scale=1e6).tolist() == [30]


def _numpy_valid_steps(pred: np.ndarray, true: np.ndarray, definition: str, scale: np.ndarray | None) -> int:
    """Independent loop: the first step whose error exceeds the published threshold."""
    for i in range(len(true)):
        if definition == "smape":
            p, t = pred[:i + 1], true[:i + 1]
            err = 200 * np.mean(np.abs(p - t) / (np.abs(p) + np.abs(t) + 1e-10))
            if not err <= 30:
                return i
        else:
            sigma = true.std(axis=0) if scale is None else scale
            err = np.sqrt(np.mean(((pred[i] - true[i]) / sigma) ** 2))
            if not err <= 0.5:
                return i
    return len(true)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("definition,scale", [("smape", None), ("nrmse", None), ("nrmse", np.array([8.0, 9.0, 8.5]))])
def test_valid_steps_equal_an_independent_numpy_loop(seed, definition, scale):
    pred, true = _pair(seed)
    expected = _numpy_valid_steps(pred, true, definition, scale)
    assert 0 < expected < len(true)  # the forecast fails inside the horizon: the check has teeth
    got = M.valid_prediction_steps(pred, true, definition=definition, scale=None if scale is None else torch.from_numpy(scale))
    assert got.tolist() == [expected]


def test_smape_equals_numpy_on_the_0_to_200_scale():
    pred, true = _pair(5)
    expected = 200 * np.mean(np.abs(pred - true) / (np.abs(pred) + np.abs(true) + 1e-10))  # eps as documented
    assert float(M.smape(pred, true)) == pytest.approx(expected, rel=1e-12)
    assert float(M.smape(-true, true)) == pytest.approx(200, rel=1e-9)


# ------------------------------------------------------------------ D_stsp
def test_d_stsp_of_a_truth_that_is_not_finite_is_nan():
    # its box and counts skipped the NaN rows of the truth and returned a finite divergence
    pred, true = _pair(n=300)
    pair_p, pair_t = np.stack([pred, pred]), np.stack([true, true])
    pair_t[1, 100:] = np.nan
    value = M.state_space_divergence(pair_p, pair_t)
    assert math.isfinite(float(value[0])) and math.isnan(float(value[1]))
    assert float(value[0]) == float(M.state_space_divergence(pred, true)[0])


@pytest.mark.parametrize("margin", ["0.1", None])
def test_d_stsp_margin_of_the_wrong_type_is_explained(margin):
    pred, true = _pair()
    with pytest.raises(InvalidTypeError, match="margin must be a non-negative finite number.*a fraction of the range"):
        M.state_space_divergence(pred, true, margin=margin)


# ------------------------------------------------------------------ registry
def test_compute_all_takes_a_comma_string_of_names():
    # include="smape" was read letter by letter: "unknown metric 's'"
    pred, true = _pair()
    out = M.compute_all(pred, true, include="smape, mse")
    assert list(out) == ["smape", "mse"]
    assert torch.equal(out["smape"], M.smape(pred, true))


def test_compute_all_refuses_an_empty_include():
    pred, true = _pair()
    with pytest.raises(InvalidInputError, match="include names no metric"):
        M.compute_all(pred, true, include=[])


def test_a_metric_family_name_suggests_its_members():
    with pytest.raises(InvalidInputError, match="Did you mean 'vpt_smape', 'vpt_nrmse'"):
        M.get_metric("vpt")


# ------------------------------------------------------------------ invariant errors
@pytest.mark.parametrize("reference", [0.0, math.nan, math.inf])
def test_invariant_errors_refuse_a_reference_they_cannot_divide_by(reference):
    # 0 gave inf (lambda_max) or NaN (dimension), NaN gave NaN, both silently
    pred, true = _pair()
    with pytest.raises(InvalidInputError, match="finite nonzero"):
        M.max_lyapunov_error(pred, true, dt=0.1, reference=reference)
    with pytest.raises(InvalidInputError, match="finite nonzero"):
        M.correlation_dimension_error(pred, true, reference=reference)


def test_invariant_error_refuses_a_system_whose_stored_exponent_is_zero():
    pred, true = _pair()
    with pytest.raises(InvalidInputError, match="'Torus' has a stored max_lyapunov of 0"):
        M.max_lyapunov_error(pred, true, dt=0.1, reference="Torus")


def test_invariant_error_takes_a_numpy_reference_per_batch_element():
    # a numpy [batch] reference raised a bare TypeError from float()
    pred, true = _pair(n=300)
    from_array = M.max_lyapunov_error(pred, true, dt=0.1, reference=np.array([0.9]))
    from_tensor = M.max_lyapunov_error(pred, true, dt=0.1, reference=torch.tensor([0.9], dtype=torch.float64))
    assert math.isfinite(float(from_tensor[0]))
    torch.testing.assert_close(from_array, from_tensor, rtol=0, atol=0)
    with pytest.raises(InvalidInputError, match=r"nonzero, got 0 at batch element\(s\) \[0\]"):
        M.max_lyapunov_error(pred, true, dt=0.1, reference=np.array([0.0]))


def test_compute_all_leaves_out_an_invariant_error_the_catalogue_cannot_reference():
    # Torus stores lambda_max = 0: the default attractor set returned inf for max_lyapunov_error
    angle = np.arange(1000) * 0.37
    true = torch.from_numpy(np.stack([np.cos(angle), np.sin(angle), np.cos(0.61 * angle)], axis=1))
    out = M.compute_all(true + 0.01, true, kind="attractor", system="Torus", dt=0.1)
    assert "max_lyapunov_error" not in out
    assert math.isfinite(float(out["correlation_dimension_error"][0]))
    with pytest.raises(InvalidInputError, match="stored max_lyapunov of 0"):
        M.compute_all(true + 0.01, true, include=["max_lyapunov_error"], system="Torus", dt=0.1)


def _view(values: list[float], view: str) -> np.ndarray:
    """`values` as a reversed view of a numpy array, or as a big-endian array."""
    return np.array(values[::-1])[::-1] if view == "reversed" else np.array(values, dtype=">f8")


@pytest.mark.parametrize("view", ["reversed", "big-endian"])
def test_a_numpy_scale_or_reference_is_read_like_its_copy(view):
    # per-dimension scales and [batch] references went through torch.as_tensor, which refuses both
    pred, true = _pair(n=300)
    expected = M.nrmse(pred, true, scale=torch.tensor([9.0, 8.0, 7.0], dtype=torch.float64))
    torch.testing.assert_close(M.nrmse(pred, true, scale=_view([9.0, 8.0, 7.0], view)), expected, rtol=0, atol=0)
    expected = M.max_lyapunov_error(pred, true, dt=0.1, reference=torch.tensor([0.9], dtype=torch.float64))
    torch.testing.assert_close(M.max_lyapunov_error(pred, true, dt=0.1, reference=_view([0.9], view)), expected, rtol=0, atol=0)


@pytest.mark.parametrize("name", ["pearson", "spearman", "kendall", "d_h"])
def test_a_forecast_of_the_mean_scores_nan_as_documented(name):
    # a constant coordinate has no ranks, no correlation and no spectrum: NaN, not a number
    pred, true = _pair()
    mean = np.broadcast_to(true.mean(axis=0), true.shape)
    assert math.isnan(float(M.get_metric(name)(mean, true, CTX)[0]))


@pytest.mark.parametrize("level", [0.1, 0.3, 2.7, 123.456])
@pytest.mark.parametrize("name", ["pearson", "d_h"])
def test_a_constant_forecast_is_nan_whatever_its_level(name, level):
    # centring a constant by its computed mean leaves ~1e-17 of rounding noise: Pearson returned
    # +-6e-18 and D_H 0.059 (a near-perfect spectrum score) for some levels, NaN for others
    _, true = _pair(1, n=300)
    assert math.isnan(float(M.get_metric(name)(np.full_like(true, level), true, CTX)[0]))
    assert math.isnan(float(M.get_metric(name)(true, np.full_like(true, level), CTX)[0]))


def test_d_stsp_refuses_a_histogram_whose_cell_ids_overflow():
    # 30^14 cells overflow the int64 cell index: distinct cells shared ids silently
    true = torch.randn(1, 50, 14, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InvalidInputError, match=r"30\^14 cells overflows.*gmm_min_dim to at most 14"):
        M.state_space_divergence(true + 0.1, true, gmm_min_dim=20)
    assert math.isfinite(float(M.state_space_divergence(true + 0.1, true, gmm_min_dim=20, n_bins=4)[0]))  # 4^14 fits


@pytest.mark.parametrize("steps, error", [(0, InvalidInputError), (-5, InvalidInputError), (5.5, InvalidTypeError)])
def test_forecast_max_lyapunov_explains_bad_divergence_steps(steps, error):
    # 0 and -5 raised a tensor size mismatch from the neighbour indexing, 5.5 a slice TypeError
    _, true = _pair()
    with pytest.raises(error, match="divergence_steps must be a positive integer"):
        M.forecast_max_lyapunov(true, dt=0.1, divergence_steps=steps)


def test_vpt_for_a_system_without_a_stored_lyapunov_time_says_so():
    """Torus has no stored Lyapunov time (lambda_max = 0): the error names the system and the fix."""
    from chaosdata.metrics import compute_all

    x = torch.randn(2, 50, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InvalidInputError, match="Torus has no stored Lyapunov time: pass lyapunov_time="):
        compute_all(x, x, dt=0.1, system="Torus", include=["vpt_smape"])
