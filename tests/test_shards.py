"""Whole shards decoded in one call (chaosdata/store/shards.py): the same values as zarr's own
read for every selection, fill values where nothing was written, and a damaged chunk or shard
index refused by its CRC32C with the file named."""

from __future__ import annotations

import numpy as np
import pytest
import zarr
from zarr.storage import MemoryStore

from chaosdata.store import shards
from chaosdata.store.archive import pack
from chaosdata.store.errors import ChecksumError
from chaosdata.store.layout import chunk_shape, compressors, shard_shape
from chaosdata.store.reader import open_array

SHAPE = (6, 100, 3)  # inner chunks (1, 32, 3); shards of 3 whole trajectories (time padded to 128)


def layout_array(members: dict, values: np.ndarray | None = None) -> zarr.Array:
    """A series array encoded as the writer encodes one (`layout`), in a `MemoryStore` over `members`."""
    chunks = chunk_shape(SHAPE, 32)
    z = zarr.create_array(MemoryStore(store_dict=members), name="series", shape=SHAPE, dtype="float32",
                          chunks=chunks, shards=shard_shape(SHAPE, chunks, 4, 3 * 128 * 3 * 4),
                          compressors=compressors("float32", 5), fill_value=np.nan)
    if values is not None:
        z[...] = values
    return z


@pytest.fixture(scope="module")
def values() -> np.ndarray:
    return np.random.default_rng(0).standard_normal(SHAPE).astype(np.float32)


def test_the_test_array_has_two_shards_of_several_inner_chunks(values):
    z = layout_array({}, values)
    assert z.shards == (3, 128, 3) and z.chunks == (1, 32, 3)


@pytest.mark.parametrize("selection", [
    Ellipsis, slice(None), (slice(0, 3),), (slice(3, 6), slice(None)), (slice(3, None), slice(0, 100)),
    (slice(0, 6), slice(None), slice(None)),  # whole shards: decoded here
    (slice(1, 4),), (slice(0, 3), slice(0, 50)), (2,), (2, slice(5, 70)), (slice(None), slice(None, None, 2)),
])
def test_every_selection_reads_what_zarr_reads(values, selection):
    z = layout_array({}, values)
    np.testing.assert_array_equal(shards.read(z, selection), z[selection])


def test_whole_shard_selections_are_the_ones_decoded_in_one_call(values):
    z = layout_array({}, values)
    assert shards._whole_shards(z.shape, z.shards, (slice(3, None),)) == [(3, 6), (0, 100), (0, 3)]
    assert shards._whole_shards(z.shape, z.shards, (slice(1, 4),)) is None
    assert shards._whole_shards(z.shape, z.shards, (slice(0, 3), slice(0, 64))) is None


def test_chunks_never_written_read_as_the_fill_value(values):
    members: dict = {}
    z = layout_array(members)
    z[0:2, 0:40] = values[0:2, 0:40]  # one shard, some of its inner chunks; the other shard never written
    assert not any(key.startswith("series/c/1") for key in members)
    got = shards.read(z, ...)
    np.testing.assert_array_equal(got, z[...])
    assert np.isnan(got[2:]).all() and np.isnan(got[:2, 64:]).all()


def damaged_zip(tmp_path, values, where: int) -> str:
    """A zip of the test array whose shard has byte `where` flipped (the zip's own CRC-32 is of
    the damaged bytes: only the chunk's CRC32C can tell)."""
    members: dict = {}
    layout_array(members, values)
    key = "series/c/0/0/0"
    data = bytearray(members[key].to_bytes())
    data[where] ^= 0xFF
    members[key] = members[key].from_bytes(bytes(data))
    pack(members, tmp_path / "A.zip")
    return str(tmp_path / "A.zip")


@pytest.mark.parametrize(("where", "what"), [(40, r"inner chunk \(0, 0, 0\)"), (-10, "shard index")])
def test_a_damaged_chunk_or_index_raises_checksum_error_naming_the_file(tmp_path, values, where, what):
    series = open_array(damaged_zip(tmp_path, values, where), "series")
    with pytest.raises(ChecksumError, match=rf"A\.zip \(series\): .*series/c/0/0/0 \({what}\): stored and computed "
                                            "CRC32C checksum do not match.*Rebuild it"):
        series[0:3]
    np.testing.assert_array_equal(series[3:], values[3:])  # the sound shard reads
