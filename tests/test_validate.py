"""chaosdata.validate: the input checks every public entry point uses."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from chaosdata import validate
from chaosdata.errors import InvalidInputError, InvalidTypeError


@pytest.mark.parametrize("value", [3, np.int64(3), np.uint8(3), torch.tensor(3)])
def test_count_accepts_python_numpy_and_tensor_integers(value):
    out = validate.count(value, "n")
    assert out == 3 and type(out) is int


@pytest.mark.parametrize("value", [True, np.bool_(True), 3.0, np.float64(3), "3", None, torch.tensor(3.0),
                                   torch.tensor(3, device="meta"), torch.tensor([3, 4])])
def test_count_refuses_what_is_not_an_integer(value):
    with pytest.raises(InvalidTypeError, match="^n must be a positive integer"):
        validate.count(value, "n")


@pytest.mark.parametrize("value", [0, -1, np.int64(-5)])
def test_count_refuses_out_of_range(value):
    with pytest.raises(InvalidInputError, match=r"^n must be a positive integer, got "):
        validate.count(value, "n")


def test_count_minimum_and_maximum():
    assert validate.count(0, "workers", minimum=0) == 0
    with pytest.raises(InvalidInputError, match=r"lags must be an integer in \[2, 5\], got 6"):
        validate.count(6, "lags", minimum=2, maximum=5)


@pytest.mark.parametrize("value", [2, 2.5, np.float32(2.5), np.int16(2), torch.tensor(2.5, dtype=torch.float64)])
def test_positive_accepts_numbers_numpy_scalars_and_0d_tensors(value):
    out = validate.positive(value, "dt")
    assert out == float(value) and type(out) is float


@pytest.mark.parametrize("value", [0, -1.0, math.nan, math.inf, -math.inf, np.float64("nan"), 10**400])
def test_positive_refuses_values_out_of_range(value):
    with pytest.raises(InvalidInputError, match="^dt must be a positive finite number"):
        validate.positive(value, "dt")


@pytest.mark.parametrize("value", [True, np.bool_(False), "1", None, 1j, torch.tensor(1.0, device="meta"),
                                   torch.ones(2), [1.0]])
def test_real_refuses_what_is_not_a_number(value):
    with pytest.raises(InvalidTypeError, match="^dt must be a positive finite number"):
        validate.positive(value, "dt")


def test_non_negative_and_real():
    assert validate.non_negative(0, "noise") == 0.0
    assert validate.real(-3, "t0") == -3.0
    with pytest.raises(InvalidInputError, match="noise must be a non-negative finite number, got -0.1"):
        validate.non_negative(-0.1, "noise")
    with pytest.raises(InvalidInputError, match="t0 must be a finite number, got nan"):
        validate.real(math.nan, "t0")


@pytest.mark.parametrize("value", [0, 2**64 - 1, np.uint64(2**64 - 1), np.int32(7)])
def test_seed_accepts_integers_torch_and_numpy_take(value):
    assert validate.seed(value) == int(value)


@pytest.mark.parametrize("value, error", [(-1, InvalidInputError), (2**64, InvalidInputError),
                                          (True, InvalidTypeError), (1.0, InvalidTypeError),
                                          ("1", InvalidTypeError), (torch.tensor(1), InvalidTypeError)])
def test_seed_refuses(value, error):
    with pytest.raises(error, match=r"^seed must be an integer in \[0, 2\*\*64\)"):
        validate.seed(value)


def test_seed_narrower_limit_says_so():
    assert validate.seed(2**63 - 1, limit=2**63) == 2**63 - 1
    with pytest.raises(InvalidInputError, match=r"seed must be an integer in \[0, 2\*\*63\), got 9223372036854775808 \(redraws add"):
        validate.seed(2**63, limit=2**63, hint="redraws add to it")


def test_flag():
    assert validate.flag(np.bool_(True), "verify") is True
    for bad in (1, 0, "yes", None):
        with pytest.raises(InvalidTypeError, match="verify must be True or False"):
            validate.flag(bad, "verify")


def test_choice_suggests_and_folds_case():
    assert validate.choice("RK4", "method", ["rk4", "dop853"], ignore_case=True) == "rk4"
    with pytest.raises(InvalidInputError, match="method must be one of .* got 'dop835'. Did you mean 'dop853'"):
        validate.choice("dop835", "method", ["rk4", "dop853"])
    with pytest.raises(InvalidTypeError, match="method must be one of"):
        validate.choice(4, "method", ["rk4"])


def test_dtype_by_object_or_name():
    assert validate.dtype("float32") is torch.float32
    assert validate.dtype(torch.float64) is torch.float64
    assert validate.dtype("torch.float64") is torch.float64
    with pytest.raises(InvalidInputError, match=r"dtype must be one of \['float32', 'float64'\], got torch.int64"):
        validate.dtype(torch.int64)
    with pytest.raises(InvalidTypeError, match="dtype must be one of"):
        validate.dtype(np.float32)


def test_device_names_the_argument():
    assert validate.device(None) == torch.device("cpu")
    assert validate.device("cpu") == torch.device("cpu")
    with pytest.raises(InvalidInputError, match="^device: device 'cpux' is not usable here"):
        validate.device("cpux")
    with pytest.raises(InvalidTypeError, match="device must be a device name"):
        validate.device(0.5)


def test_path_and_folder(tmp_path):
    assert validate.path(str(tmp_path), "out") == tmp_path
    (tmp_path / "f").write_text("x")
    assert validate.folder(tmp_path, "root") == tmp_path
    with pytest.raises(InvalidInputError, match="root .* is a file, not a folder"):
        validate.folder(tmp_path / "f", "root")
    with pytest.raises(InvalidInputError, match="root .* does not exist"):
        validate.folder(tmp_path / "missing", "root")
    assert validate.folder(tmp_path / "missing", "root", must_exist=False) == tmp_path / "missing"
    with pytest.raises(InvalidTypeError, match="out must be a path"):
        validate.path(3, "out")
    with pytest.raises(InvalidInputError, match="empty string"):
        validate.path("", "out")
    assert isinstance(validate.path(Path("a"), "out"), Path)


def test_count_too_large_for_an_int64_names_the_range():
    with pytest.raises(InvalidInputError, match=r"n must be an integer in \[1, 9223372036854775807\], got 9223372036854775808"):
        validate.count(2**63, "n")


def test_dtype_by_object_only_where_names_are_not_taken():
    with pytest.raises(InvalidTypeError, match=r"dtype must be one of \['float32', 'float64'\] \(a torch.dtype\)"):
        validate.dtype("float32", by_name=False)
