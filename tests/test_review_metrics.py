"""chaosdata.metrics on the inputs a forecast evaluation meets in practice: numpy views and byte
orders, empty batches, corrupt or constant truths, include strings, invariant references; and
sMAPE / valid prediction times against independent numpy loops."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import chaosdata.metrics as M
from chaosdata.errors import InvalidInputError, InvalidTypeError

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
    with pytest.raises(InvalidInputError, match="margin must be a finite fraction"):
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


@pytest.mark.parametrize("horizon", [0, -5, 5.5])
def test_forecast_max_lyapunov_explains_a_bad_horizon(horizon):
    # 0 and -5 raised a tensor size mismatch from the neighbour indexing, 5.5 a slice TypeError
    _, true = _pair()
    with pytest.raises(InvalidInputError, match="horizon must be an integer >= 1"):
        M.forecast_max_lyapunov(true, dt=0.1, horizon=horizon)


def test_vpt_for_a_system_without_a_stored_lyapunov_time_says_so():
    """Torus has no stored Lyapunov time (lambda_max = 0): the error names the system and the fix."""
    from chaosdata.metrics import compute_all

    x = torch.randn(2, 50, 2, generator=torch.Generator().manual_seed(0))
    with pytest.raises(InvalidInputError, match="Torus has no stored Lyapunov time: pass lyapunov_time="):
        compute_all(x, x, dt=0.1, system="Torus", include=["vpt_smape"])
