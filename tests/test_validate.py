"""chaosdata.validate: the input checks every public entry point uses."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import chaosdata.metrics as M
from chaosdata import validate
from chaosdata.benchmark import Dispatch, run_benchmark
from chaosdata.cli import main as cli
from chaosdata.demo import run_demo
from chaosdata.errors import ChaosdataError, InvalidInputError, InvalidTypeError
from chaosdata.integrate.controller import Controller
from chaosdata.integrate.delay import integrate_delay
from chaosdata.integrate.fixed import integrate_fixed_grid
from chaosdata.integrate.maps import iterate
from chaosdata.integrate.ode import integrate
from chaosdata.integrate.sde import SDESettings, integrate_sde
from chaosdata.integrate.settings import Bound, Execution, SolverSettings
from chaosdata.integrate.tableaux import get_tableau
from chaosdata.invariants.series import max_lyapunov_rosenstein
from chaosdata.loader import Source, load_dataset
from chaosdata.windows import Observation, check_window


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
    with pytest.raises(InvalidInputError,
                       match=r"seed must be an integer in \[0, 2\*\*63\), got 9223372036854775808 \(redraws add"):
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


def test_tensor_of_the_wrong_number_of_dimensions_names_the_argument_and_the_layout():
    assert validate.tensor(torch.zeros(2, 3), "series", ndims=(1, 2)).shape == (2, 3)
    with pytest.raises(InvalidInputError, match=r"series must be a tensor \[time, dim\], got shape \(1, 2, 3, 4\)"):
        validate.tensor(torch.zeros(1, 2, 3, 4), "series", shape="[time, dim]", ndims=(1, 2))


# ---------------------------------------------------------------------- every entry point, the same bad values
# One table: (entry point, argument, kind, call taking the argument's value). Each call is cheap; the
# same bad values go to every row of a kind, and numpy scalars where a number is valid must pass.

META = torch.tensor(1.0, device="meta")
BAD = {
    "count": [True, np.bool_(True), 2.5, np.float64(3.0), "3", -1, 2**70, math.nan, META, torch.ones(2)],
    "positive": [True, "1", math.nan, math.inf, -1.0, 0, 10**400, 1j, META, torch.ones(2), None],
    "non_negative": [True, "1", math.nan, math.inf, -1.0, 10**400, META, None],
    "real": [True, "1", math.nan, math.inf, 10**400, META],
    "bound": [True, "1", math.nan, -math.inf, -1.0, 0, 10**400, META],  # inf and None: no bound
    "seed": [True, -1, 2**64, 1.5, "1", math.nan, torch.tensor(1), None],
    "flag": [1, 0, "yes", None, np.int64(1)],
}
GOOD = {"count": np.int64, "positive": np.float64, "non_negative": np.float32, "real": np.float64,
        "bound": np.float64, "seed": np.uint64, "flag": np.bool_}
#: (entry point, argument) whose None means a default, not a bad value
OPTIONAL = {("valid_prediction_steps", "threshold"), ("check_window", "stride"), ("forecast_max_lyapunov", "divergence_steps"),
            ("power_spectrum_distance", "max_frequency_bins"), ("integrate_delay", "t_start"),
            ("max_lyapunov_rosenstein", "divergence_steps"), ("SDESettings", "max_step"), ("SDESettings", "steps_per_output"),
            ("SolverSettings", "rtol"), ("SolverSettings", "fixed_step"),
            ("load_dataset", "stride"), ("Dispatch", "workers"), ("Dispatch", "time_limit")}

_X = np.random.default_rng(0).standard_normal((2, 64, 3))
_Y = _X + 0.01
_T = torch.linspace(0.0, 1.0, 5, dtype=torch.float64)
_Y0 = torch.ones(2, 3, dtype=torch.float64)
_SERIES = torch.randn(300, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64).cumsum(0)


def _decay(t, y):
    return -y


def _lagged(t, y, yd):
    return -yd


def _noise(t, x):
    return torch.full_like(x, 0.3)


def _load(**kw):
    """load_dataset on a source that does not exist: every argument check comes before the source opens.
    Settings of a `Source` or an `Observation` go into one."""
    source = {k: kw.pop(k) for k in ("verify", "revision", "cache_dir", "device") if k in kw}
    observation = {k: kw.pop(k) for k in ("univariate", "normalize", "observation_noise", "seed", "dtype") if k in kw}
    return load_dataset("Lorenz", source=Source("/nonexistent/chaosdata-store", **source),
                        observation=Observation(**observation), **{"context_length": 8, "horizon": 4, **kw})


ENTRY_POINTS = [
    # metrics
    ("state_space_divergence", "n_bins", "count", 5, lambda v: M.state_space_divergence(_X, _Y, n_bins=v)),
    ("state_space_divergence", "smoothing", "positive", 1e-5, lambda v: M.state_space_divergence(_X, _Y, smoothing=v)),
    ("state_space_divergence", "margin", "non_negative", 0.1, lambda v: M.state_space_divergence(_X, _Y, margin=v)),
    ("state_space_divergence", "gmm_min_dim", "count", 6, lambda v: M.state_space_divergence(_X, _Y, gmm_min_dim=v)),
    ("state_space_divergence", "seed", "seed", 0, lambda v: M.state_space_divergence(_X, _Y, gmm_min_dim=2, seed=v,
                                                                                       n_samples=50)),
    ("gmm_kl_divergence", "n_samples", "count", 50, lambda v: M.gmm_kl_divergence(_X, _Y, n_samples=v)),
    ("gmm_kl_divergence", "variance", "positive", 1.0, lambda v: M.gmm_kl_divergence(_X, _Y, variance=v, n_samples=50)),
    ("gmm_kl_divergence", "standardize", "flag", True, lambda v: M.gmm_kl_divergence(_X, _Y, standardize=v,
                                                                                     n_samples=50)),
    ("gmm_kl_divergence", "seed", "seed", 3, lambda v: M.gmm_kl_divergence(_X, _Y, seed=v, n_samples=50)),
    ("hellinger_distance", "n_bins", "count", 20, lambda v: M.hellinger_distance(_X, _Y, n_bins=v)),
    ("power_spectrum_distance", "sigma", "positive", 2.0, lambda v: M.power_spectrum_distance(_X, _Y, sigma=v)),
    ("power_spectrum_distance", "max_frequency_bins", "count", 8,
     lambda v: M.power_spectrum_distance(_X, _Y, max_frequency_bins=v)),
    ("forecast_max_lyapunov", "dt", "positive", 0.1, lambda v: M.forecast_max_lyapunov(_X, dt=v)),
    ("forecast_max_lyapunov", "divergence_steps", "count", 8, lambda v: M.forecast_max_lyapunov(_X, dt=0.1, divergence_steps=v)),
    ("valid_prediction_time", "dt", "positive", 0.1, lambda v: M.valid_prediction_time(_X, _Y, dt=v, lyapunov_time=1)),
    ("valid_prediction_time", "lyapunov_time", "positive", 1.0,
     lambda v: M.valid_prediction_time(_X, _Y, dt=0.1, lyapunov_time=v)),
    ("valid_prediction_steps", "threshold", "positive", 30.0, lambda v: M.valid_prediction_steps(_X, _Y, threshold=v)),
    ("valid_prediction_steps", "cumulative", "flag", False, lambda v: M.valid_prediction_steps(_X, _Y, cumulative=v)),
    ("prediction_error", "n", "count", 5, lambda v: M.prediction_error(_X, _Y, n=v)),
    ("mutual_information", "k", "count", 3, lambda v: M.mutual_information(_X, _Y, k=v)),
    # integrators
    ("SolverSettings", "rtol", "positive", 1e-6, lambda v: integrate(_decay, _Y0, _T, SolverSettings(rtol=v))),
    ("integrate", "max_steps", "count", 1000, lambda v: integrate(_decay, _Y0, _T, max_steps=v)),
    ("Execution", "check_every", "count", 4, lambda v: integrate(_decay, _Y0, _T, execution=Execution(check_every=v))),
    ("SolverSettings", "max_outputs_per_step", "count", 4,
     lambda v: integrate(_decay, _Y0, _T, SolverSettings(max_outputs_per_step=v))),
    ("Execution", "steps_per_graph", "count", 2,
     lambda v: integrate(_decay, _Y0, _T, execution=Execution(steps_per_graph=v))),
    ("Bound", "bound", "bound", 100.0, lambda v: integrate(_decay, _Y0, _T, bound=Bound(v))),
    ("Bound", "bound", "bound", 100.0, lambda v: iterate(lambda x: 0.5 * x, _Y0, 4, bound=Bound(v))),
    ("SolverSettings", "fixed_step", "positive", 0.05,
     lambda v: integrate(_decay, _Y0, _T, SolverSettings(method="rk4", fixed_step=v))),
    ("integrate_fixed_grid", "fixed_step", "positive", 0.05,
     lambda v: integrate_fixed_grid(_decay, _Y0, _T, get_tableau("rk4"), v)),
    ("integrate_fixed_grid", "steps_per_graph", "count", 2,
     lambda v: integrate_fixed_grid(_decay, _Y0, _T, get_tableau("rk4"), 0.05, steps_per_graph=v)),
    ("integrate_delay", "tau", "positive", 1.0, lambda v: integrate_delay(_lagged, _Y0, v, _T)),
    ("integrate_delay", "steps_per_tau", "count", 8, lambda v: integrate_delay(_lagged, _Y0, 1.0, _T, steps_per_tau=v)),
    ("integrate_delay", "t_start", "real", -1.0, lambda v: integrate_delay(_lagged, _Y0, 1.0, _T, t_start=v)),
    ("iterate", "n_points", "count", 4, lambda v: iterate(lambda x: 0.5 * x, _Y0, v)),
    ("SDESettings", "max_step", "positive", 0.1, lambda v: integrate_sde(_decay, _noise, _Y0, _T, SDESettings(max_step=v))),
    ("SDESettings", "steps_per_output", "count", 2,
     lambda v: integrate_sde(_decay, _noise, _Y0, _T, SDESettings(steps_per_output=v))),
    ("SDESettings", "refine", "count", 2,
     lambda v: integrate_sde(_decay, _noise, _Y0, _T, SDESettings(max_step=0.1, refine=v))),
    ("integrate_sde", "seed", "seed", 7, lambda v: integrate_sde(_decay, _noise, _Y0, _T, SDESettings(max_step=0.1), seed=v)),
    ("Controller", "Controller safety", "positive", 0.9, lambda v: Controller(safety=v)),
    ("Controller", "Controller pcoeff", "non_negative", 0.4, lambda v: Controller(pcoeff=v)),
    # invariants
    ("max_lyapunov_rosenstein", "dt", "positive", 0.1, lambda v: max_lyapunov_rosenstein(_SERIES, v)),
    ("max_lyapunov_rosenstein", "divergence_steps", "count", 20,
     lambda v: max_lyapunov_rosenstein(_SERIES, 0.1, divergence_steps=v)),
    # windows and the loader
    ("check_window", "context_length", "count", 8, lambda v: check_window(v, 4, None)),
    ("check_window", "horizon", "count", 4, lambda v: check_window(8, v, None)),
    ("check_window", "stride", "count", 2, lambda v: check_window(8, 4, v)),
    ("run_demo", "n_points", "count", 20, lambda v: run_demo(n_points=v, n_ics=1, systems="Henon")),
    ("run_demo", "n_ics", "count", 1, lambda v: run_demo(n_points=20, n_ics=v, systems="Henon")),
    # the benchmark's dispatch
    ("Dispatch", "workers", "count", 2, lambda v: Dispatch(executor="dask", workers=v)),
    ("Dispatch", "time_limit", "positive", 60.0, lambda v: Dispatch(time_limit=v)),
]
#: entry points whose numpy-scalar run is too long for this table: bad values only
BAD_ONLY = [
    ("run_benchmark", "seed", "seed", lambda v: run_benchmark("zero-shot", ["Lorenz"], ["naive"], "/nonexistent/b",
                                                              seed=v, progress=False)),
]
LOADER_ARGS = [("seed", "seed", 3), ("cache_bytes", "count", 1024), ("observation_noise", "non_negative", 0.1),
               ("verify", "flag", False), ("temporal", "flag", False), ("context_length", "count", 8),
               ("stride", "count", 2)]


def _bad_cases():
    for entry, arg, kind, _, call in ENTRY_POINTS:
        for i, value in enumerate(BAD[kind]):
            if value is None and (entry, arg) in OPTIONAL:
                continue
            yield pytest.param(call, arg, value, id=f"{entry}-{arg}-{i}")
    for entry, arg, kind, call in BAD_ONLY:
        for i, value in enumerate(BAD[kind]):
            yield pytest.param(call, arg, value, id=f"{entry}-{arg}-{i}")
    for arg, kind, _ in LOADER_ARGS:
        for i, value in enumerate(BAD[kind]):
            if value is None and ("load_dataset", arg) in OPTIONAL:
                continue
            yield pytest.param(lambda v, a=arg: _load(**{a: v}), arg, value, id=f"load_dataset-{arg}-{i}")


@pytest.mark.parametrize("call, arg, value", list(_bad_cases()))
def test_every_entry_point_refuses_a_bad_value_naming_the_argument(call, arg, value):
    with pytest.raises((InvalidInputError, InvalidTypeError), match=re.escape(arg)):
        call(value)


def _good_cases():
    for entry, arg, kind, good, call in ENTRY_POINTS:
        yield pytest.param(call, GOOD[kind](good), id=f"{entry}-{arg}")


@pytest.mark.parametrize("call, value", list(_good_cases()))
def test_every_entry_point_takes_a_numpy_scalar_where_a_number_is_valid(call, value, capsys):
    call(value)


@pytest.mark.parametrize("arg, kind, good", LOADER_ARGS)
def test_load_dataset_takes_numpy_scalars_up_to_opening_the_source(arg, kind, good):
    with pytest.raises(ChaosdataError) as caught:  # the missing source, named after every check passed
        _load(**{arg: GOOD[kind](good)})
    assert "/nonexistent/chaosdata-store" in str(caught.value) and f"{arg} must" not in str(caught.value)


CLI_CASES = [
    (["demo", "--systems", "Henon", "--n-points"], "n_points", ["1", "0", "-1", "2.5", "nan", "1e400"]),
    (["demo", "--systems", "Henon", "--n-ics"], "n_ics", ["0", "-1", "2.5", "nan"]),
    (["benchmark", "--systems", "Lorenz", "--models", "naive", "--threads"], "--threads", ["0", "-1", "2.5"]),
    (["benchmark", "--systems", "Lorenz", "--models", "naive", "--seed"], "--seed",
     ["-1", str(2**64), "1.5", "nan"]),
]


def _cli_cases():
    for prefix, arg, values in CLI_CASES:
        for value in values:
            yield pytest.param(prefix, arg, value, id=f"{prefix[0]}-{arg}-{value}")


@pytest.mark.parametrize("prefix, arg, value", list(_cli_cases()))
def test_every_cli_command_refuses_a_bad_number_in_one_line_naming_the_option(prefix, arg, value, tmp_path, capsys):
    argv = [*prefix, value] + (["--out", str(tmp_path / "b")] if prefix[0] == "benchmark" else [])
    try:
        rc = cli(argv)
    except SystemExit as exit_:  # argparse: a value that is not an integer at all
        rc = exit_.code
    err = capsys.readouterr().err
    option = "--" + arg.lstrip("-").replace("_", "-")
    assert rc == 2 and (arg in err or option in err), err
    assert not (tmp_path / "b").exists()
