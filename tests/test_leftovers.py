"""Two results that used to be wrong without an error (left from issue 11).

1. `simulate` called directly in float32 asked the solver for the 1e-13 default, which float32
   cannot reach (every trajectory flagged), while `make_trajectories` raised its defaults to
   the dtype's floor: both now follow one rule, `chaosdata.integrate.tolerances`.
2. `load_dataset(..., temporal=True, return_info=True)`: "val" items named `split="val"` while
   their `row` indexed the stored *train* array; the info now names the array the row is in.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from test_store import quiet, raw_tiny

from chaosdata import get_system, make_trajectories
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.simulate import SolverSettings, simulate
from chaosdata.integrate.tableaux import TABLEAUX
from chaosdata.integrate.tolerances import DEFAULT_TOL, tolerance_floor
from chaosdata.loader import load_dataset
from chaosdata.windows import temporal_cut

ADAPTIVE = sorted(name for name, tab in TABLEAUX.items() if tab.adaptive)


def _lorenz_starts(n: int = 4) -> tuple:
    """Float64 states on the Lorenz attractor and a 3-period grid of 60 points."""
    tr = make_trajectories("Lorenz", 60, n_ics=n, pts_per_period=20, transient=5, seed=7)
    return get_system("Lorenz"), tr.start_states, tr.t


# ---------------------------------------------------------------------- 1. simulate's tolerances
@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_in_float32_with_default_settings_keeps_every_trajectory(method):
    """On the old code the 1e-13 default flagged every float32 trajectory 'step size underflowed'."""
    system, x0, t = _lorenz_starts()
    settings = SolverSettings(method=method)
    sol = simulate(system, x0.float(), t.float(), settings)
    assert sol.y.dtype == torch.float32
    assert bool(sol.valid.all()), sol.status.tolist()
    used = settings.resolve(system, torch.float32)
    assert (used.rtol, used.atol) == (tolerance_floor(torch.float32),) * 2


def test_simulate_without_settings_in_float32_follows_the_dtype():
    system, x0, t = _lorenz_starts()
    sol = simulate(system, x0.float(), t.float())
    assert bool(sol.valid.all()), sol.status.tolist()


@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_and_make_trajectories_share_one_rule_in_float32(method):
    """Same start states, default tolerances, float32: the same bytes from both entry points."""
    system, x0, t = _lorenz_starts(3)
    tr = make_trajectories(system, t.numel(), pts_per_period=20, initial_conditions=x0, method=method,
                           dtype=torch.float32, postprocess=False)
    sol = simulate(system, x0.float(), t.float(), SolverSettings(method=method))
    assert torch.equal(sol.y, tr.x)
    assert tr.stats["rtol"] == SolverSettings(method=method).resolve(system, torch.float32).rtol


@pytest.mark.parametrize("method", ADAPTIVE)
def test_simulate_refuses_an_explicit_tolerance_below_the_float32_rounding_unit(method):
    system, x0, t = _lorenz_starts(2)
    with pytest.raises(InvalidInputError, match=r"rtol=1e-13 .*float32.*leave rtol out.*float64 x0"):
        simulate(system, x0.float(), t.float(), SolverSettings(method=method, rtol=1e-13, atol=1e-13))


@pytest.mark.parametrize("method", ADAPTIVE)
def test_an_explicit_float32_tolerance_above_the_rounding_unit_is_kept(method):
    eps = torch.finfo(torch.float32).eps
    used = SolverSettings(method=method, rtol=2 * eps, atol=1e-9).resolve(get_system("Lorenz"), torch.float32)
    assert (used.rtol, used.atol) == (2 * eps, 1e-9)  # honoured, not raised to the floor


@pytest.mark.parametrize("method", ADAPTIVE)
def test_float64_default_is_still_1e_13_to_the_byte(method):
    """The None default resolves to 1e-13 in float64, and solves exactly as explicit 1e-13 does
    (the bytes equal those of the code before this change: checked once against HEAD, see the report)."""
    system, x0, t = _lorenz_starts(3)
    default = SolverSettings(method=method)
    assert default.resolve(system, torch.float64).rtol == DEFAULT_TOL == 1e-13
    a = simulate(system, x0, t, default)
    b = simulate(system, x0, t, SolverSettings(method=method, rtol=1e-13, atol=1e-13))
    assert torch.equal(a.y, b.y)


@pytest.mark.parametrize("name", ["StickSlipOscillator", "Henon", "MackeyGlass"])
def test_float32_without_adaptive_steps_takes_no_floor(name):
    """Fixed-step methods, maps and delay equations have no error estimate: no floor, no error."""
    system = get_system(name)
    settings = SolverSettings.for_system(system, rtol=1e-13, atol=1e-13)
    assert settings.resolve(system, torch.float32).rtol == 1e-13


def test_solver_settings_tolerances_must_be_positive_or_none():
    with pytest.raises(InvalidInputError, match="tolerances must be positive"):
        SolverSettings(rtol=-1.0)
    assert SolverSettings.for_system(get_system("Lorenz")).rtol is None  # follows the dtype at solve time


# ---------------------------------------------------------------------- 2. where a temporal val window lies
# the tiny store of tests/test_store.py with its own name and one granularity: 3 periods of 60
# points (a temporal cut at 150 of 180; maps 100 of 120), 2 train trajectories, 1 val, 1 test
STORE_CONFIG = raw_tiny(name="leftovers-test", length=3, map_length=120,
                        granularities={"fine": {"timescale": "period", "points": 60}})
SYSTEMS = tuple(STORE_CONFIG["systems"])  # a flow, a map, a delay equation
WINDOW = {"context_length": 8, "horizon": 4, "stride": 3}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    from chaosdata.store import build, open_store
    from chaosdata.store.config import parse_config

    out = tmp_path_factory.mktemp("leftovers") / "store"
    assert build(parse_config(STORE_CONFIG, "leftovers-test"), out, progress=False, log=quiet).ok
    return out, open_store(out)


def _stored_context(store, info: dict, length: int) -> torch.Tensor:
    """The context an info dict points at, read from the array it names."""
    arr = store.array(info["system"], info["granularity"], info["array_split"])
    start = int(info["start"])
    return torch.from_numpy(np.asarray(arr[int(info["trajectory"]), start:start + length], dtype=np.float64))


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("split", ["train", "val"])
def test_temporal_info_points_at_the_stored_window(tiny_store, system, split):
    """Temporal "val" windows used to say split="val" with a row of the *train* array."""
    path, store = tiny_store
    ds = load_dataset(system, split=split, temporal=True, source=path, normalize=None, dtype=torch.float64,
                      return_info=True, **WINDOW)
    n_time = store.array(system, "fine", "train").shape[1]
    assert len(ds) > 0
    for i in range(len(ds)):
        context, _, info = ds[i]
        assert (info["split"], info["array_split"]) == (split, "train")
        assert (info["start"] >= temporal_cut(n_time)) == (split == "val")  # counted from the stored start
        assert torch.equal(context, _stored_context(store, info, WINDOW["context_length"]))
        assert ds.info(i).array_split == "train"


@pytest.mark.parametrize("system", SYSTEMS)
def test_temporal_val_info_agrees_after_the_datasets_normalizer(tiny_store, system):
    path, store = tiny_store
    ds = load_dataset(system, split="val", temporal=True, source=path, dtype=torch.float64, return_info=True, **WINDOW)
    for i in range(len(ds)):
        context, _, info = ds[i]
        raw = _stored_context(store, info, WINDOW["context_length"])
        torch.testing.assert_close(context, ds.normalizer.normalize(raw, system), rtol=0, atol=1e-12)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_plain_splits_name_their_own_array(tiny_store, split):
    path, store = tiny_store
    ds = load_dataset("Lorenz", split=split, source=path, normalize=None, dtype=torch.float64, return_info=True, **WINDOW)
    context, _, info = ds[len(ds) - 1]
    assert info["array_split"] == split == ds.info(len(ds) - 1).array_split
    assert torch.equal(context, _stored_context(store, info, WINDOW["context_length"]))


def test_batched_info_carries_the_array_split(tiny_store):
    from torch.utils.data import DataLoader

    path, _ = tiny_store
    ds = load_dataset("Lorenz", split="val", temporal=True, source=path, return_info=True, **WINDOW)
    _, _, info = next(iter(DataLoader(ds, batch_size=4)))
    assert info["array_split"] == ["train"] * 4 and info["split"] == ["val"] * 4
