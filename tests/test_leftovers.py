"""`load_dataset(..., temporal=True, return_info=True)`: "val" items named `split="val"` while
their `row` indexed the stored *train* array; the info now names the array the row is in."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from stores import quiet, raw_tiny

from chaosdata.loader import load_dataset
from chaosdata.windows import temporal_cut

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
