"""Reading a store (chaosdata.store.reader): as outside tools see it (xarray, zarr, fsspec; the
consolidated metadata in each system's zip), the stored normalization, and reads that stay
correct across processes."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr
from stores import quiet, raw_tiny, read_in_a_fork_while_held

from chaosdata import Observation, load_dataset
from chaosdata.errors import InvalidInputError
from chaosdata.store import build, load_preset, open_store
from chaosdata.store.config import parse_config
from chaosdata.store.layout import TRAJECTORY_VARIABLES
from chaosdata.windows import Series, fit_statistics

SMALL = {"name": "reader", "systems": ["Lorenz"], "length": 40, "transient": 2,
         "splits": {"train": 8, "val": 1, "test": 1},
         "granularities": {"fine": {"timescale": "period", "points": 100}},
         "integrator": {"rtol": 1e-8, "atol": 1e-8}, "storage": {"chunk_time": 128}}


@pytest.fixture(scope="module")
def lorenz_store(tmp_path_factory):
    raw = load_preset("quick").to_dict()
    raw.update(SMALL)
    out = tmp_path_factory.mktemp("reader") / "store"
    assert build(parse_config(raw, "reader-test"), out, progress=False, log=lambda m: None).ok
    return open_store(out)


def _read_windows(array, full: np.ndarray, seed: int, queue) -> None:
    """Read 300 random 64-point windows of `array` (opened by the parent) and report what went wrong."""
    rng = np.random.default_rng(seed)
    try:
        wrong = 0
        for _ in range(300):
            row, start = int(rng.integers(0, full.shape[0])), int(rng.integers(0, full.shape[1] - 64))
            wrong += not np.array_equal(np.asarray(array[row, start:start + 64]), full[row, start:start + 64])
        queue.put("ok" if wrong == 0 else f"{wrong} wrong windows")
    except Exception as err:  # noqa: BLE001 - reported to the parent, which fails the test with it
        queue.put(f"{type(err).__name__}: {err}")


def test_forked_processes_read_an_array_their_parent_opened(lorenz_store):
    # a forked child (a DataLoader worker) inherited the parent's open zip, whose file offset the
    # processes share: children reading at once interleaved their seeks and reads, a ChecksumError
    # on a sound zip; each process now reopens the file for itself
    array = lorenz_store.array("Lorenz", "fine", "train")
    full = np.asarray(array[...])
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    workers = [ctx.Process(target=_read_windows, args=(array, full, seed, queue)) for seed in range(3)]
    for w in workers:
        w.start()
    results = [queue.get(timeout=300) for _ in workers]
    for w in workers:
        w.join(timeout=30)
    assert results == ["ok"] * len(workers)
    assert np.array_equal(np.asarray(array[...]), full)  # and the parent's own handle still reads


def test_a_forked_child_reads_while_a_parent_thread_holds_the_zips_lock(lorenz_store):
    # a read through the parent's store waited forever on the zip's lock; the child takes its own
    array = lorenz_store.array("Lorenz", "fine", "train")
    want = np.asarray(array[...]).tobytes()
    assert read_in_a_fork_while_held(array.array.store_path.store._lock, array) == want


# ---------------------------------------------------------------------- xarray and zarr
@pytest.mark.parametrize("group, dims", [
    ("Lorenz/fine/train", {"trajectory": 2, "time": 200, "component": 3, "state": 3}),
    ("Lorenz/coarse/test", {"trajectory": 1, "time": 30, "component": 3, "state": 3}),
    ("MackeyGlass/fine/val", {"trajectory": 1, "time": 200, "component": 10, "state": 1}),
    ("Henon/iteration/train", {"trajectory": 2, "time": 50, "component": 2, "state": 2}),
])
def test_every_split_opens_with_xarray(tiny_store, group, dims):
    system, granularity, split = group.split("/")
    ds = open_split(tiny_store, group)
    assert dict(ds.sizes) == dims
    assert ds.series.dims == ("trajectory", "time", "component") and ds.series.dtype == np.float32
    assert set(TRAJECTORY_VARIABLES) <= set(ds.variables)
    s = open_store(tiny_store)
    np.testing.assert_array_equal(ds.series.values, s.array(system, granularity, split)[...])
    grid = s.time(system, granularity)
    np.testing.assert_allclose(ds.time.values, grid["t0"] + grid["dt"] * np.arange(grid["n"]), rtol=1e-15)
    assert ds.trajectory.values.tolist() == list(range(dims["trajectory"]))
    assert ds.valid.values.all() and (ds.failure.values == "").all()
    assert ds.attrs["system"] == system and ds.attrs["split"] == split and "long_name" in ds.series.attrs


def open_split(tiny_store: Path, group: str) -> xr.Dataset:
    """`<System>/<granularity>/<split>` as xarray opens it: the system's zip, the split's group."""
    system, split = group.split("/", 1)
    return xr.open_zarr(zarr.storage.ZipStore(tiny_store / f"{system}.zip", mode="r"), group=split)


def test_time_coordinate_is_in_the_systems_units(tiny_store):
    ds = open_split(tiny_store, "Lorenz/fine/train")
    assert ds.time.values[1] == pytest.approx(1.5008 / 100)  # Lorenz's period / 100 points
    assert np.issubdtype(ds.time.dtype, np.floating)  # not decoded as a timedelta
    assert open_split(tiny_store, "Henon/iteration/train").time.values[:3].tolist() == [0, 1, 2]


def test_initial_condition_is_the_draw_and_start_state_follows_the_transient(tiny_store):
    s = open_store(tiny_store)
    v = s.variables("Lorenz", "fine", "train")
    from chaosdata.integrate.ensemble import sample_initial_conditions
    from chaosdata.store import split_seed
    from chaosdata.systems import get_system

    draws = sample_initial_conditions(get_system("Lorenz"), 2, split_seed(7, "Lorenz", "train"))
    np.testing.assert_array_equal(v["initial_condition"], draws.numpy())
    assert not np.allclose(v["start_state"], v["initial_condition"])  # one period of transient apart
    np.testing.assert_allclose(s.array("Lorenz", "fine", "train")[:, 0], v["start_state"], rtol=1e-6, atol=1e-5)


def test_a_system_opens_as_one_datatree(tiny_store):
    tree_ = xr.open_datatree(zarr.storage.ZipStore(tiny_store / "Lorenz.zip", mode="r"), engine="zarr")
    assert sorted(tree_.children) == ["coarse", "fine", "lyapunov"]
    assert tree_["fine/train"].ds.series.shape == (2, 200, 3)
    assert tree_.attrs["system"]["name"] == "Lorenz"


def test_a_split_opens_through_fsspec_zip_urls(tiny_store):
    """`zip::<url>` is how a system opens over HTTP (`zip::hf://datasets/owner/name/Lorenz.zip`)."""
    ds = xr.open_zarr(f"zip::file://{tiny_store / 'Lorenz.zip'}", group="fine/train")
    expected = open_store(tiny_store).array("Lorenz", "fine", "train")[...]
    np.testing.assert_array_equal(ds.series.values, expected)


class CountingStore(zarr.storage.ZipStore):
    """A system's zip that records every key read, as an HTTP reader would fetch them."""

    reads: list[str]

    async def get(self, key, prototype, byte_range=None):
        self.reads.append(key)
        return await super().get(key, prototype, byte_range)


def files_read_to_open(path: Path, group: str, consolidated: bool) -> list[str]:
    counting = CountingStore(path, mode="r")
    counting.reads = []
    xr.open_zarr(counting, consolidated=consolidated, zarr_format=3, group=group)
    return counting.reads


def test_consolidated_metadata_opens_a_split_in_one_metadata_read(tiny_store):
    cold = files_read_to_open(tiny_store / "Lorenz.zip", "fine/train", consolidated=False)
    warm = files_read_to_open(tiny_store / "Lorenz.zip", "fine/train", consolidated=True)
    assert [k for k in warm if k.endswith("zarr.json")] == ["zarr.json"], warm  # the system's consolidated document
    assert len([k for k in cold if k.endswith("zarr.json")]) > 5


# ---------------------------------------------------------------------- normalization
def test_normalization_is_stored_and_equals_a_scan_of_the_train_split(tiny_store):
    s = open_store(tiny_store)
    mean, std = s.normalization("Lorenz", "fine")
    z = s.array("Lorenz", "fine", "train")
    scanned = fit_statistics(Series("Lorenz", lambda: z, *z.shape, t0=0.0, dt=1.0))
    np.testing.assert_allclose(mean, scanned[0], rtol=1e-12)
    np.testing.assert_allclose(std, scanned[1], rtol=1e-9)
    assert mean.dtype == np.float64


def test_load_dataset_uses_the_stored_statistics_without_scanning(tiny_store, monkeypatch):
    import chaosdata.loader as loader

    def no_scan(series):
        raise AssertionError("the train split was scanned")

    monkeypatch.setattr(loader, "fit_statistics", no_scan)
    ds = load_dataset("Lorenz", source=tiny_store, context_length=16, horizon=4)
    np.testing.assert_array_equal(ds.normalizer.mean["Lorenz"], open_store(tiny_store).normalization("Lorenz", "fine")[0])


def test_a_train_split_with_no_valid_trajectory_is_a_clear_error(tmp_path):
    config = parse_config(raw_tiny(systems=["Lorenz"], integrator={"method": "rk4", "dt": 0.5}))
    build(config, tmp_path / "bad", progress=False, log=quiet)
    s = open_store(tmp_path / "bad")
    with pytest.raises(InvalidInputError, match="Lorenz .*no valid trajectory in its train split"):
        s.normalization("Lorenz", "fine")
    for normalize in ("standard", None):
        with pytest.raises(InvalidInputError, match="Lorenz has no valid trajectory in its train split"):
            load_dataset("Lorenz", source=tmp_path / "bad", context_length=16, horizon=4,
                         observation=Observation(normalize=normalize))
