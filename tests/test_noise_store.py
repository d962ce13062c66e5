"""Noisy variants in release configs: stored beside the clean data, seeded per split, recorded."""

from __future__ import annotations

import numpy as np
import pytest

from chaosdata import load_dataset
from chaosdata.errors import InvalidInputError
from chaosdata.store import build, open_store
from chaosdata.store.config import parse_config
from stores import quiet, raw_tiny

NOISE = {"levels": [0.01]}


def noisy_config(**changes):
    raw = dict(systems=["Lorenz", "Henon"], length=2, granularities={"coarse": {"points": 15}}, noise=NOISE)
    raw.update(changes)
    return parse_config(raw_tiny(**raw))


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("noisy") / "store"
    assert build(noisy_config(), out, progress=False, log=quiet).ok
    return out


@pytest.mark.parametrize("noise, message", [
    ({}, "noise.levels must be a non-empty list"),
    ({"levels": [-0.1]}, r"noise.levels\[\] must be a positive finite number, got -0.1"),
    ({"levels": [0.01], "kind": "pink"}, r"\[noise\]: noise kind must be one of"),
    ({"levels": [0.01], "colour": 1}, "unknown key noise.colour"),
])
def test_noise_config_errors_name_the_key(noise, message):
    with pytest.raises(InvalidInputError, match=message):
        noisy_config(noise=noise)


def test_configs_without_noise_keep_their_hash():
    assert "noise" not in parse_config(raw_tiny()).to_dict()
    assert noisy_config().config_hash != noisy_config(noise={"levels": [0.02]}).config_hash


def test_noisy_variants_sit_beside_the_clean_ones_from_the_same_start(store):
    s = open_store(store)
    assert s.granularities("Lorenz") == ["coarse", "coarse_noise0.01"]
    clean, noisy = s.array("Lorenz", "coarse", "train")[...], s.array("Lorenz", "coarse_noise0.01", "train")[...]
    np.testing.assert_array_equal(noisy[:, 0], clean[:, 0])  # the same start states
    assert 0 < np.abs(noisy[:, 1] - clean[:, 1]).max() < 1.0 < np.abs(noisy - clean).max()  # noise grows
    record = s.group("Lorenz")["coarse_noise0.01"].attrs["noise"]
    assert record["level"] == 0.01 and record["kind"] == "additive" and len(set(record["seeds"].values())) == 3
    assert s.attrs("Henon")["generation"]["noise"]["reason"] == "noisy variants are made for flows only"
    assert s.verify().ok


def test_a_splits_noise_does_not_depend_on_the_other_splits(store, tmp_path):
    bigger = tmp_path / "bigger"
    build(noisy_config(systems=["Lorenz"], splits={"train": 2, "val": 2, "test": 1}), bigger, progress=False, log=quiet)
    np.testing.assert_array_equal(open_store(bigger).array("Lorenz", "coarse_noise0.01", "train")[...],
                                  open_store(store).array("Lorenz", "coarse_noise0.01", "train")[...])


def test_noisy_granularities_load_like_any_other(store):
    ds = load_dataset("Lorenz", source=store, granularity="coarse_noise0.01", context_length=8, horizon=4)
    assert len(ds) > 0 and ds[0][0].shape == (8, 3)
