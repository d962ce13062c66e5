"""`load_dataset` edge cases a training script hits: bad arguments that used to be accepted
silently (or fail with a bare TypeError/KeyError), and window addressing at its limits."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.loader import load_dataset
from chaosdata.store.reader import open_array
from chaosdata.store import build, load_preset
from chaosdata.store.config import parse_config

SMALL = {"name": "small", "systems": ["Lorenz", "Henon"], "length": 12, "transient": 2,
         "map_length": 400, "map_transient": 20, "splits": {"train": 2, "val": 1, "test": 1},
         "granularities": {"coarse": {"timescale": "period", "points": 15},
                           "fine": {"timescale": "period", "points": 50}},
         "integrator": {"rtol": 1e-8, "atol": 1e-8}, "storage": {"chunk_time": 128}}


@pytest.fixture(scope="module")
def store(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("store") / "data"
    raw = load_preset("quick").to_dict()
    raw.update(SMALL)
    build(parse_config(raw, "test"), out, progress=False, log=lambda m: None)
    return out


def stored(store: Path, split: str = "train") -> np.ndarray:
    return open_array(store / "Lorenz.zip", f"fine/{split}/series")[...].astype(np.float64)


def small(store: Path, systems="Lorenz", **kw):
    return load_dataset(systems, source=store, **{"context_length": 32, "horizon": 8, **kw})


# ---------------------------------------------------------------------- windows at their limits
def test_a_window_as_long_as_the_series_is_the_whole_trajectory(store):
    arr = stored(store)
    n, t, _ = arr.shape
    ds = small(store, context_length=t - 8, normalize=None, dtype=torch.float64)
    assert len(ds) == n
    for i in range(n):
        context, target = ds[i]
        np.testing.assert_array_equal(torch.cat([context, target]).numpy(), arr[i])
    with pytest.raises(InvalidInputError, match="longer than its trajectories"):
        small(store, context_length=t - 7)


def test_the_last_window_ends_inside_the_series_whatever_the_stride(store):
    t = stored(store).shape[1]
    for stride in (1, 7, t - 40, t):
        ds = small(store, stride=stride)
        last = ds.info(len(ds) - 1)
        assert last.start + 40 <= t and last.start + stride + 40 > t, stride


# ---------------------------------------------------------------------- dtype
@pytest.mark.parametrize("dtype, error", [(torch.int32, InvalidInputError), (torch.int64, InvalidInputError),
                                          (torch.bool, InvalidInputError), (torch.complex64, InvalidInputError),
                                          ("float32", InvalidTypeError), (np.float32, InvalidTypeError)])
def test_a_dtype_that_is_not_a_torch_float_is_refused(store, dtype, error):
    """dtype=torch.int32 used to truncate the standardized values to integers, silently."""
    with pytest.raises(error, match="dtype must be one of"):
        small(store, dtype=dtype)


def test_bfloat16_items(store):
    """dtype=torch.bfloat16 used to fail with numpy's 'Got unsupported ScalarType BFloat16'."""
    ref = small(store, dtype=torch.float64, noise=0.1, seed=2)
    ds = small(store, dtype=torch.bfloat16, noise=0.1, seed=2)
    context, target = ds[5]
    assert context.dtype == target.dtype == torch.bfloat16 and ds.trajectories().dtype == torch.bfloat16
    torch.testing.assert_close(context, ref[5][0].to(torch.bfloat16), rtol=1e-2, atol=1e-2)
    torch.testing.assert_close(ds.trajectories(), ref.trajectories().to(torch.bfloat16), rtol=0, atol=0)


# ---------------------------------------------------------------------- arguments accepted silently
def test_noise_true_is_refused_not_read_as_one_std(store):
    """noise=True became float(True) = 1.0 (noise of a whole std) before WindowDataset saw it."""
    with pytest.raises(InvalidTypeError, match="noise must be a non-negative finite number"):
        small(store, noise=True)


@pytest.mark.parametrize("noise, error", [(float("nan"), InvalidInputError), (float("inf"), InvalidInputError),
                                          (-1, InvalidInputError), ("0.1", InvalidTypeError)])
def test_noise_must_be_a_finite_non_negative_number(store, noise, error):
    with pytest.raises(error, match="noise must be a non-negative finite number"):
        small(store, noise=noise)


@pytest.mark.parametrize("systems", [["Lorenz", "Lorenz"], ["Lorenz", "lorenz"], ("Henon", "Lorenz", "henon")])
def test_a_system_named_twice_is_refused(store, systems):
    """Each spelling used to add the system's windows again, weighting it twice, silently."""
    with pytest.raises(InvalidInputError, match="more than once"):
        small(store, systems)


def test_config_without_regenerate_is_refused(store):
    """config=... shapes a regenerated store; with a local store it was ignored, silently."""
    with pytest.raises(InvalidInputError, match="source='regenerate'"):
        small(store, config={"length": 500})


def test_revision_without_a_hub_source_is_refused(store):
    with pytest.raises(InvalidInputError, match="revision"):
        small(store, revision="v1")


@pytest.mark.parametrize("seed", ["1", 1.5, True, None])
def test_seed_must_be_an_integer(store, seed):
    """seed='1' and seed=1 drew the same noise; seed=True, 1.5 or None were accepted."""
    with pytest.raises(InvalidTypeError, match=r"seed must be an integer in \[0, 2\*\*64\)"):
        small(store, seed=seed, noise=0.1)


def test_a_numpy_integer_seed_draws_the_noise_of_the_same_python_int(store):
    a, b = small(store, seed=np.int64(4), noise=0.1), small(store, seed=4, noise=0.1)
    torch.testing.assert_close(a[3], b[3], rtol=0, atol=0)


@pytest.mark.parametrize("cache_bytes, error", [(-1, InvalidInputError), (1.5, InvalidTypeError),
                                                ("64MB", InvalidTypeError), (True, InvalidTypeError)])
def test_cache_bytes_must_be_a_non_negative_integer(store, cache_bytes, error):
    with pytest.raises(error, match="cache_bytes must be a non-negative integer"):
        small(store, cache_bytes=cache_bytes)


@pytest.mark.parametrize("temporal", ["yes", 1, None])
def test_temporal_must_be_a_bool(store, temporal):
    with pytest.raises(InvalidTypeError, match="temporal must be True or False"):
        small(store, temporal=temporal)


# ---------------------------------------------------------------------- denormalize
def test_denormalize_names_the_systems_it_knows(store):
    """An unknown name used to be a bare KeyError: 'lorenz'."""
    ds = small(store, dtype=torch.float64)
    context, _ = ds[0]
    with pytest.raises(InvalidInputError, match=r"'Henon' is not in this dataset; it holds \['Lorenz'\]"):
        ds.denormalize(context, "Henon")
    torch.testing.assert_close(ds.denormalize(context, "lorenz"), ds.denormalize(context, "Lorenz"))
    info = ds.info(0)
    raw = stored(store)[info.trajectory, info.start:info.start + 32]
    torch.testing.assert_close(ds.denormalize(context, "lorenz").numpy(), raw)


def test_denormalize_works_on_the_device_of_its_input(store):
    """Model outputs on a GPU failed: the statistics were CPU tensors ('Tensor on device cpu is
    not on the expected device'). The meta device stands in for a GPU here."""
    for univariate in (False, 1):
        ds = small(store, univariate=univariate)
        context, _ = ds[0]
        on_meta = ds.denormalize(context.to("meta"), "Lorenz")
        assert on_meta.device.type == "meta" and on_meta.shape == context.shape
        normalized = ds.normalizer.normalize(context.to("meta"), "Lorenz") if not univariate else on_meta
        assert normalized.device.type == "meta"


def test_repr_shows_the_first_coordinate_too(store):
    """univariate=True (coordinate 0) left `channels` out of the repr (0 is falsy), so the
    dataset read as multivariate; coordinate 1 was shown."""
    assert "channels=0" in repr(small(store, univariate=True))
    assert "channels=1" in repr(small(store, univariate=1))
    assert "channels" not in repr(small(store)) and "noise" not in repr(small(store))


def test_systems_as_a_numpy_array_or_a_set(store):
    """A numpy array of names (e.g. `df.system.unique()`) failed with numpy's 'truth value of an
    array is ambiguous'; a set gave an order that changes with PYTHONHASHSEED, so window i was
    another window in another run."""
    assert small(store, np.array(["Lorenz", "Henon"])).systems == ["Lorenz", "Henon"]
    assert small(store, {"Lorenz", "Henon"}).systems == ["Henon", "Lorenz"]


@pytest.mark.parametrize("systems", [None, 5, ["Lorenz", 3]])
def test_systems_that_are_not_names_are_refused(store, systems):
    """None said 'systems is empty'; 5 or a list holding 3 raised a bare TypeError."""
    with pytest.raises(InvalidTypeError, match="systems must be"):
        small(store, systems)


@pytest.mark.parametrize("granularity", [None, 1])
def test_granularity_must_be_a_name(store, granularity):
    """granularity=None raised AttributeError: 'NoneType' object has no attribute 'lower'."""
    with pytest.raises(InvalidTypeError, match="granularity must be"):
        small(store, granularity=granularity)


def test_verify_must_be_a_bool(store):
    """verify='no' was truthy: the store was verified (decoding every array) when asked not to."""
    with pytest.raises(InvalidTypeError, match="verify must be True or False"):
        small(store, verify="no")


def test_a_relative_source_still_reads_after_a_chdir(store, tmp_path, monkeypatch):
    """Windows are read lazily; the store's path was kept relative, so after a chdir (Hydra
    runs jobs in their own directory) reads failed, or read another store at that path."""
    monkeypatch.chdir(store.parent)
    ds = load_dataset("Lorenz", source=store.name, context_length=32, horizon=8, normalize=None, dtype=torch.float64)
    monkeypatch.chdir(tmp_path)
    context, _ = ds[0]
    np.testing.assert_array_equal(context.numpy(), stored(store)[0, :32])
