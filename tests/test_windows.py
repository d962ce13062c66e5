"""Windowed datasets: addressing, caching, normalization, noise, padding, pickling."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest
import torch
import zarr
from stores import quiet, raw_tiny
from torch.utils.data import DataLoader

from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.loader import load_dataset
from chaosdata.windows import (
    FEW_CHANNELS,
    NORMALIZE_BLOCK,
    Normalizer,
    Observation,
    Series,
    WindowDataset,
    check_window,
    collate_padded,
    fit_statistics,
    temporal_cut,
)


def series(name: str, data: np.ndarray, **kw) -> Series:
    n, t, d = data.shape
    return Series(system=name, open=lambda: data, n_trajectories=n, n_time=t, dim=d, t0=0.0, dt=0.5, **kw)


def raw(**kw) -> Observation:
    """Raw values (no normalization), with `kw`'s channel, noise, seed and dtype."""
    return Observation(normalize=None, **kw)


def dataset(parts, **kw) -> WindowDataset:
    kw.setdefault("observation", raw())
    kw.setdefault("scale", {s.system: np.ones(s.dim) for s in parts})
    return WindowDataset(parts, **{"context_length": 5, "horizon": 3, "stride": 2, **kw})


def ramp(n=3, t=40, d=2, offset=0.0) -> np.ndarray:
    """x[i, j, k] = 1000 i + j + offset + 0.1 k: every value says where it came from."""
    return (1000.0 * np.arange(n)[:, None, None] + np.arange(t)[None, :, None] + offset
            + 0.1 * np.arange(d)[None, None, :]).astype(np.float32)


def test_windows_are_addressed_exactly_across_blocks(monkeypatch):
    monkeypatch.setattr("chaosdata.windows.BLOCK_BYTES", 1)  # one 7-point chunk per cached block
    data = ramp()
    ds = dataset([series("A", data, block=7)])  # windows straddle cached blocks
    assert len(ds) == 3 * ((40 - 8) // 2 + 1)
    for i in range(len(ds)):
        info = ds.info(i)
        context, target = ds[i]
        window = torch.from_numpy(data[info.trajectory, info.start: info.start + 8])
        torch.testing.assert_close(torch.cat([context, target]), window)
        assert info.start_time == pytest.approx(0.5 * info.start)
    assert context.shape == (5, 2) and target.shape == (3, 2) and context.dtype == torch.float32


def test_several_systems_keep_their_dimension_and_pad_in_collate():
    ds = dataset([series("A", ramp(d=2)), series("B", ramp(n=1, d=4, offset=0.5))])
    assert ds.systems == ["A", "B"]
    first, last = ds[0], ds[len(ds) - 1]
    assert first[0].shape[-1] == 2 and last[0].shape[-1] == 4 and ds.info(len(ds) - 1).system == "B"
    context, target, mask = collate_padded([first, last])
    assert context.shape == (2, 5, 4) and target.shape == (2, 3, 4)
    assert mask.tolist() == [[True, True, False, False], [True] * 4]
    assert (context[0, :, 2:] == 0).all()


def test_time_slice_and_rows_restrict_windows():
    data = ramp(t=60)
    ds = dataset([series("A", data, rows=range(1, 3), time=slice(50, None))], stride=1)
    starts = {ds.info(i).start for i in range(len(ds))}
    assert min(starts) == 50 and max(starts) == 52 and {ds.info(i).trajectory for i in range(len(ds))} == {1, 2}


def test_normalization_uses_the_given_statistics_and_inverts():
    data = ramp()
    mean, std = fit_statistics(series("A", data))
    flat = data.reshape(-1, 2).astype(np.float64)
    np.testing.assert_allclose(mean, flat.mean(0), rtol=1e-12)
    np.testing.assert_allclose(std, flat.std(0), rtol=1e-9)
    ds = dataset([series("A", data)], normalizer=Normalizer({"A": mean}, {"A": std}),
                 observation=Observation(dtype=torch.float64))
    context, _ = ds[4]
    info = ds.info(4)
    raw = torch.from_numpy(data[info.trajectory, info.start: info.start + 5].astype(np.float64))
    torch.testing.assert_close(ds.denormalize(context, "A"), raw)


@pytest.mark.parametrize("offset", [0.0, 1e4, 1e8])
def test_statistics_of_a_coordinate_far_from_zero_match_two_passes(offset):
    """A sum of squares less the squared mean cancelled: at an offset of 1e8, the std of a unit
    normal came out wrong by half (or zero); the pooled per-trajectory deviations keep it."""
    rng = np.random.default_rng(1)
    data = offset + rng.normal(0.0, 1.0, (5, 400, 2)) * [1.0, 3.0] + rng.normal(0.0, 0.5, (5, 1, 2))
    mean, std = fit_statistics(series("A", data))
    flat = data.reshape(-1, 2)
    two_pass = np.sqrt(np.square(flat - flat.mean(0)).mean(0))
    # each deviation from the mean is exact to a rounding of the values themselves (eps |x|),
    # so the two ways may differ by a few of those; the cancellation was 1e9 times more
    tol = 64 * np.finfo(np.float64).eps * np.abs(flat).max()
    np.testing.assert_allclose(mean, flat.mean(0), rtol=0, atol=tol)
    np.testing.assert_allclose(std, two_pass, rtol=0, atol=tol)


@pytest.mark.parametrize("channels", [1, 3, FEW_CHANNELS, FEW_CHANNELS + 1], ids=lambda d: f"{d} channels")
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
@pytest.mark.parametrize("block", [NORMALIZE_BLOCK, 7], ids=["one block", "blocks across trajectories"])
def test_normalized_values_are_rounded_once_from_float64(channels, dtype, block, monkeypatch):
    """Both ways of normalizing (one channel at a time, broadcast), in one block or in blocks that
    cut across trajectories, give (x - mean) / std in float64 rounded once to the output dtype,
    bit for bit."""
    monkeypatch.setattr("chaosdata.windows.NORMALIZE_BLOCK", block)
    data = np.random.default_rng(channels).normal(3.0, 7.0, (2, 30, channels)).astype(np.float32)
    mean, std = fit_statistics(series("A", data))
    ds = dataset([series("A", data)], normalizer=Normalizer({"A": mean}, {"A": std}), stride=1,
                 observation=Observation(dtype=dtype))
    for i in (0, len(ds) - 1):
        info = ds.info(i)
        window = data[info.trajectory, info.start: info.start + 8].astype(np.float64)
        expected = torch.from_numpy(((window - mean) / std).astype(ds._np_dtype))
        assert torch.equal(torch.cat(ds[i]), expected)


class HeldReads:
    """A stored array whose every read hands out the one whole array it holds (owned, writeable)."""

    def __init__(self, data: np.ndarray):
        self.data = data

    def __getitem__(self, selection):
        return self.data


class FreshReads(HeldReads):
    """A stored array whose reads make new arrays, as a store's do: normalized in place."""

    fresh_reads = True

    def __getitem__(self, selection):
        return np.array(self.data[selection])


@pytest.mark.parametrize("channel", [None, 1])
def test_only_reads_that_make_new_arrays_are_normalized_in_place(channel):
    """A store's reads (`fresh_reads`) are normalized where they lie; an array an opener hands out
    (a view, or a whole array it holds) is copied: its values never change. Same items either way."""
    data = np.random.default_rng(0).normal(3.0, 7.0, (3, 40, 2)).astype(np.float32)
    kept = data.copy()
    mean, std = fit_statistics(series("A", data))
    pick = slice(None) if channel is None else slice(channel, channel + 1)
    expected = ((data[..., pick].astype(np.float64) - mean[pick]) / std[pick]).astype(np.float32)
    for opener in (lambda: data, lambda: HeldReads(data), lambda: FreshReads(data)):
        ds = dataset([Series("A", opener, 3, 40, 2, 0.0, 0.5)], normalizer=Normalizer({"A": mean}, {"A": std}),
                     observation=Observation(univariate=False if channel is None else channel))
        assert np.array_equal(ds.trajectories().numpy(), expected)
        assert np.array_equal(data, kept)


def test_noise_is_seeded_scaled_and_independent_of_read_order():
    data = ramp()
    scale = {"A": np.array([1.0, 10.0])}
    noisy = dataset([series("A", data)], scale=scale, observation=raw(observation_noise=0.1, dtype=torch.float64, seed=3))
    clean = dataset([series("A", data)], observation=raw(dtype=torch.float64))
    a = [noisy[i][0] for i in (5, 0, 9)]
    b = [noisy[i][0] for i in (9, 5, 0)]
    torch.testing.assert_close(a[0], b[1])
    diff = torch.cat([noisy[i][0] - clean[i][0] for i in range(len(noisy))])
    ratio = (diff[:, 1].std() / diff[:, 0].std()).item()
    assert 7 < ratio < 13  # noise follows each coordinate's scale
    other = dataset([series("A", data)], scale=scale, observation=raw(observation_noise=0.1, dtype=torch.float64, seed=4))
    assert not torch.equal(other[5][0], a[0])


def test_univariate_channel_and_whole_trajectories():
    data = ramp()
    ds = dataset([series("A", data)], observation=raw(univariate=1, dtype=torch.float64))
    context, target = ds[0]
    assert context.shape == (5, 1)
    torch.testing.assert_close(context[:, 0], torch.from_numpy(data[0, :5, 1].astype(np.float64)))
    traj = ds.trajectories()
    assert traj.shape == (3, 40, 1)


def test_dataset_pickles_without_open_handles_and_reads_after(tmp_path):
    data = ramp()
    np.save(tmp_path / "a.npy", data)
    opener = functools.partial(np.load, tmp_path / "a.npy", mmap_mode="r")
    ds = dataset([Series("A", opener, 3, 40, 2, 0.0, 0.5)])
    expected = ds[7]
    assert ds._cache is not None and ds._arrays  # opened and cached in this process
    clone = pickle.loads(pickle.dumps(ds))
    assert clone._cache is None and clone._arrays == {}
    torch.testing.assert_close(clone[7], expected)


def test_bad_windows_are_clear_errors():
    with pytest.raises(InvalidInputError, match="longer than its trajectories"):
        dataset([series("A", ramp(t=6))])
    with pytest.raises(InvalidInputError, match="context_length"):
        check_window(0, 3, None)
    with pytest.raises(InvalidInputError, match="stride"):
        check_window(4, 3, 0)
    assert check_window(4, 3, None) == 3
    with pytest.raises(IndexError):
        dataset([series("A", ramp())])[10_000]


# ---------------------------------------------------------------------- items that say where they come from
def test_info_items_batch_with_the_default_collate():
    data = ramp()
    ds = dataset([series("A", data)], return_info=True, split="test", granularity="fine",
                 observation=raw(dtype=torch.float64))
    context, target, info = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert context.shape == (4, 5, 2) and target.shape == (4, 3, 2)
    assert info["system"] == ["A"] * 4 and info["split"] == ["test"] * 4 and info["granularity"] == ["fine"] * 4
    assert info["trajectory"].dtype == torch.int64 and info["start_time"].dtype == torch.float64
    for b in range(4):
        where = ds.info(b)
        got = (info["trajectory"][b].item(), info["start"][b].item(), info["index"][b].item())
        assert got == (where.trajectory, where.start, b)
        assert info["start_time"][b].item() == where.start_time and info["dt"][b].item() == 0.5
        # the values say where they came from (ramp): row * 1000 + time index
        assert context[b, 0, 0].item() == 1000 * where.trajectory + where.start


def test_info_items_of_mixed_dimensions_pad_and_keep_their_info():
    ds = dataset([series("A", ramp(d=2)), series("B", ramp(n=1, d=4))], return_info=True)
    batch = [ds[0], ds[len(ds) - 1]]
    context, target, mask, info = collate_padded(batch)
    assert context.shape == (2, 5, 4) and mask.sum().item() == 6
    assert info["system"] == ["A", "B"] and info["index"].tolist() == [0, len(ds) - 1]
    assert len(collate_padded([ds[0][:2], ds[1][:2]])) == 3  # plain items: as before


def test_return_info_must_be_a_bool():
    with pytest.raises(InvalidTypeError, match="return_info must be True or False"):
        dataset([series("A", ramp())], return_info="yes")


@pytest.mark.parametrize("normalize, normalizer", [("standard", None), (None, Normalizer({"A": 0.0}, {"A": 1.0}))],
                         ids=["standard without a normalizer", "raw with a normalizer"])
def test_a_normalizer_is_given_exactly_when_the_observation_normalizes(normalize, normalizer):
    with pytest.raises(InvalidInputError, match="give a normalizer .* exactly when normalize is 'standard'"):
        dataset([series("A", ramp())], observation=Observation(normalize=normalize), normalizer=normalizer)


def test_the_observation_must_be_an_observation():
    with pytest.raises(InvalidTypeError, match="observation must be a Observation"):
        dataset([series("A", ramp())], observation={"normalize": None})


@pytest.mark.parametrize("noise, error", [(float("nan"), InvalidInputError), (float("inf"), InvalidInputError),
                                          (-0.1, InvalidInputError), (True, InvalidTypeError)])
def test_noise_must_be_a_finite_non_negative_number(noise, error):
    """noise=nan used to mean no noise, silently (nan > 0 is False)."""
    with pytest.raises(error, match="observation_noise must be a non-negative finite number"):
        raw(observation_noise=noise)


# ---------------------------------------------------------------------- noise per point, not per window
def _noise_of(noisy: WindowDataset, clean: WindowDataset, i: int) -> torch.Tensor:
    return torch.cat(noisy[i][:2]) - torch.cat(clean[i][:2])


@pytest.mark.parametrize("block", [7, 1024], ids=["windows straddle noise blocks", "one noise block"])
def test_overlapping_windows_see_the_same_noise_at_the_same_time_point(monkeypatch, block):
    monkeypatch.setattr("chaosdata.windows.NOISE_BLOCK", block)
    data = ramp()
    noise = {"observation_noise": 0.1, "dtype": torch.float64, "seed": 2}
    kw = {"observation": raw(**noise), "scale": {"A": np.array([1.0, 3.0])}, "stride": 1}
    noisy = dataset([series("A", data)], **kw)
    clean = dataset([series("A", data)], stride=1, observation=raw(dtype=torch.float64))
    for i in range(len(noisy) - 1):
        a, b = noisy.info(i), noisy.info(i + 1)
        if a.trajectory == b.trajectory:  # b starts one point later: 7 shared points
            torch.testing.assert_close(_noise_of(noisy, clean, i)[1:], _noise_of(noisy, clean, i + 1)[:-1], rtol=0, atol=0)
    # another window length and a single channel see the same noise at the same (trajectory, time)
    longer = dataset([series("A", data)], context_length=9, **kw)
    univariate = dataset([series("A", data)], **{**kw, "observation": raw(univariate=1, **noise)})
    clean_uni = dataset([series("A", data)], stride=1, observation=raw(univariate=1, dtype=torch.float64))
    j = 12  # trajectory 0, start 12 in every dataset with stride 1
    assert longer.info(j)[:3] == noisy.info(j)[:3] == univariate.info(j)[:3] == ("A", 0, 12)
    long_noise = torch.cat(longer[j][:2]) - torch.from_numpy(data[0, 12:24].astype(np.float64))
    torch.testing.assert_close(long_noise[:8], _noise_of(noisy, clean, j), rtol=0, atol=1e-12)
    torch.testing.assert_close(_noise_of(univariate, clean_uni, j)[:, 0], _noise_of(noisy, clean, j)[:, 1], rtol=0, atol=0)
    # and the noise is not the same at different points or on different trajectories
    assert not torch.equal(_noise_of(noisy, clean, 0)[1], _noise_of(noisy, clean, 0)[2])
    assert not torch.equal(_noise_of(noisy, clean, 0), _noise_of(noisy, clean, noisy._per_row[0]))


def test_repr_says_what_the_dataset_holds():
    ds = dataset([series("A", ramp()), series("B", ramp(n=1))], split="val", granularity="coarse")
    text = repr(ds)
    assert text == ("WindowDataset(systems=['A', 'B'], split='val', granularity='coarse', "
                    f"windows={len(ds)}, context_length=5, horizon=3, stride=2)")
    many = dataset([series(f"S{i}", ramp(n=1)) for i in range(6)], observation=raw(observation_noise=0.1))
    assert "['S0', 'S1', 'S2', ... 6 in all]" in repr(many) and "observation_noise=0.1" in repr(many)


# ---------------------------------------------------------------------- windows in batches (__getitems__)
def sharded(data: np.ndarray, chunk: int, shard: tuple[int, int]) -> zarr.Array:
    """`data` as a sharded zarr array in memory (`shard` rows x time points per shard)."""
    d = data.shape[2]
    array = zarr.create_array(zarr.storage.MemoryStore(), shape=data.shape, chunks=(1, chunk, d),
                              shards=(shard[0], shard[1], d), dtype=data.dtype)
    array[...] = data
    return array


class CountedReads:
    """A stored array that counts the reads made of it (what `WindowDataset` asks the store for)."""

    def __init__(self, array):
        self.array, self.shards, self.reads = array, getattr(array, "shards", None), 0

    def __getitem__(self, selection):
        self.reads += 1
        return self.array[selection]


def two_systems(storage: str, temporal: bool = False) -> list[Series]:
    """System A (2 coordinates, 3 trajectories) and B (4 coordinates, rows 0, 2 and 3 valid); with
    "one system" in `storage`, A alone (then one cached block holds all its windows)."""
    a, b = ramp(), ramp(n=4, t=50, d=4, offset=0.5)
    if storage.startswith("zarr shards") and "one system" not in storage:
        a, b = sharded(a, 7, (2, 14)), sharded(b, 5, (4, 50))
    if storage == "zarr shards, one system":
        a = sharded(a, 8, (3, 40))  # one shard: every window of A in one cached block
    time = {"time": slice(20, None), "array_split": "train"} if temporal else {}
    both = [series("A", a, block=7, **time), series("B", b, block=5, rows=[0, 2, 3], **time)]
    return both[:1] if "one system" in storage else both


BATCH_OPTIONS = {
    "defaults": {},
    "stride 3": {"stride": 3},
    "univariate": {"univariate": 1},
    "return_info": {"return_info": True, "split": "val", "granularity": "fine"},
    "noise": {"observation_noise": 0.2, "seed": 4, "dtype": torch.float64},
    "normalized": {"normalized": True},
    "temporal split": {"temporal": True},
    "float64": {"dtype": torch.float64},
    "float16": {"dtype": torch.float16},
    "bfloat16": {"dtype": torch.bfloat16},
    "all at once": {"observation_noise": 0.1, "univariate": 0, "normalized": True, "temporal": True, "dtype": torch.bfloat16,
                    "return_info": True, "stride": 3},
}


def batch_dataset(storage: str, options: dict) -> tuple[WindowDataset, dict[str, np.ndarray]]:
    options = dict(options)
    parts = two_systems(storage, options.pop("temporal", False))
    data = {s.system: np.asarray(s.open()[...]) for s in parts}
    observed = {k: options.pop(k) for k in ("univariate", "observation_noise", "seed", "dtype") if k in options}
    options["observation"] = raw(**observed)
    if options.pop("normalized", False):
        options["observation"] = Observation(**observed)
        options["normalizer"] = Normalizer({k: v.reshape(-1, v.shape[-1]).mean(0) for k, v in data.items()},
                                           {k: v.reshape(-1, v.shape[-1]).std(0) + 0.5 for k, v in data.items()})
    scale = {k: np.arange(1.0, v.shape[-1] + 1) for k, v in data.items()}
    return dataset(parts, scale=scale, **options), data


def expected_window(ds: WindowDataset, data: dict[str, np.ndarray], index: int) -> torch.Tensor:
    """Window `index` computed from the stored values directly (noise aside): what an item must hold."""
    where = ds.info(index)
    x = data[where.system][where.trajectory, where.start: where.start + ds.context_length + ds.horizon].astype(np.float64)
    if ds.normalizer is not None:
        x = (x - ds.normalizer.mean[where.system]) / ds.normalizer.std[where.system]
    c, dtype = ds.observation.channels, ds.observation.dtype
    if c is not None:
        x = x[:, c: c + 1]
    return torch.from_numpy(x.astype(np.float32 if dtype == torch.bfloat16 else ds._np_dtype)).to(dtype)


@pytest.mark.parametrize("storage", ["numpy", "numpy, windows straddle blocks", "zarr shards", "zarr shards, one system",
                                     "zarr shards, a cache smaller than the data"])
@pytest.mark.parametrize("option", BATCH_OPTIONS)
def test_a_batch_holds_byte_identical_items_to_one_at_a_time(option, storage, monkeypatch):
    if "straddle" in storage:
        monkeypatch.setattr("chaosdata.windows.BLOCK_BYTES", 1)  # blocks of one 5- or 7-point chunk
    options = {**BATCH_OPTIONS[option], **({"cache_bytes": 256} if "smaller" in storage else {})}
    ds, data = batch_dataset(storage, options)
    indices = [int(i) for i in np.random.default_rng(0).permutation(len(ds))] + [0, 0, -1, len(ds) - 1]
    batch = ds.__getitems__(indices)
    assert len(batch) == len(indices)
    for i, got in zip(indices, batch, strict=True):
        one = ds[i]
        assert len(got) == len(one) == (3 if ds.return_info else 2)
        for a, b in zip(got[:2], one[:2], strict=True):
            assert a.dtype == b.dtype == ds.observation.dtype and a.shape == b.shape and a.is_contiguous()
            assert a.view(torch.uint8).numpy().tobytes() == b.view(torch.uint8).numpy().tobytes()
        if ds.return_info:
            assert got[2] == one[2] == ds.item_info(i)
        if ds.observation.observation_noise == 0:  # (noise per point: see the tests above)
            assert torch.equal(torch.cat(got[:2]), expected_window(ds, data, i))


def test_the_dataloader_fetches_batches_that_collate_like_single_items():
    ds, _ = batch_dataset("zarr shards", {"observation_noise": 0.1, "return_info": True})
    order = torch.randperm(len(ds), generator=torch.Generator().manual_seed(1)).tolist()
    loader = DataLoader(ds, batch_size=16, sampler=order, collate_fn=collate_padded)
    for b, got in enumerate(loader):
        want = collate_padded([ds[i] for i in order[16 * b: 16 * (b + 1)]])
        for x, y in zip(got[:3], want[:3], strict=True):
            assert torch.equal(x, y)
        assert got[3] == want[3] if not isinstance(got[3], dict) else all(
            (torch.equal(v, want[3][k]) if isinstance(v, torch.Tensor) else v == want[3][k]) for k, v in got[3].items())


def test_a_batch_reads_each_stored_shard_once():
    """Per-window reads asked the store once per (trajectory, block): 3 here, one shard's rows."""
    counted = CountedReads(sharded(ramp(n=4, t=60), 10, (4, 60)))
    ds = dataset([Series("A", lambda: counted, 4, 60, 2, 0.0, 0.5, block=10)], stride=1)
    batch = ds.__getitems__(list(range(len(ds))))
    assert counted.reads == 1 and len(batch) == len(ds)
    ds.__getitems__(list(range(len(ds))))
    assert counted.reads == 1  # the next epoch reads from the block cache


def test_a_dataset_larger_than_its_cache_reads_trajectories_not_shards():
    """Evicted blocks are read again: a whole shard per missed window would cost 4 trajectories."""
    counted = CountedReads(sharded(ramp(n=4, t=60), 10, (4, 60)))
    ds = dataset([Series("A", lambda: counted, 4, 60, 2, 0.0, 0.5, block=10)], stride=1, cache_bytes=2000)
    ds.__getitems__(list(range(len(ds))))
    assert counted.reads == 4  # 1,920 bytes of data: one block per trajectory, all kept


def test_workers_read_batches_from_a_sharded_store_on_disk(tmp_path):
    data = ramp(n=4, t=60)
    array = zarr.create_array(str(tmp_path / "a"), shape=data.shape, chunks=(1, 10, 2), shards=(4, 60, 2),
                              dtype=data.dtype)
    array[...] = data
    opener = functools.partial(zarr.open_array, str(tmp_path / "a"), mode="r")
    ds = dataset([Series("A", opener, 4, 60, 2, 0.0, 0.5, block=10)], observation=raw(observation_noise=0.1))
    expected = [ds[i] for i in range(len(ds))]  # the parent reads first, as a script peeking at ds[0] does
    loader = DataLoader(ds, batch_size=8, num_workers=2, timeout=60)
    got = [x for context, target in loader for x in zip(context, target, strict=True)]
    assert len(got) == len(expected)
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, expected, strict=True))


def test_window_indices_must_be_integers():
    ds = dataset([series("A", ramp())])
    with pytest.raises(InvalidTypeError, match="integers"):
        ds.__getitems__([0.5])
    with pytest.raises(IndexError, match="out of range"):
        ds.__getitems__([0, len(ds)])
    assert ds.__getitems__([]) == []


class ZipOpener:
    """Opens an array in a zip and keeps the zip open for later calls, as `Store` keeps its
    systems' zips; pickled, it drops the open handle (each process opens its own)."""

    def __init__(self, path: str):
        self.path, self.group = path, None

    def __getstate__(self) -> dict:
        return {"path": self.path, "group": None}

    def __call__(self):
        if self.group is None:
            self.group = zarr.open_group(zarr.storage.ZipStore(self.path, mode="r", read_only=True), mode="r")
        return self.group["a"]


def test_forked_workers_do_not_share_the_parents_open_zip(tmp_path, monkeypatch):
    """Forked workers inherited the opener's open zip: its file offset, shared by the processes,
    made them read each other's bytes (checksum errors on a sound file) once the parent had read."""
    monkeypatch.setattr("chaosdata.windows.BLOCK_BYTES", 1)  # many small reads: the processes interleave
    monkeypatch.setattr("chaosdata.windows.SHARD_BLOCK_BYTES", 1)
    data = ramp(n=8, t=400, d=3)
    with zarr.storage.ZipStore(tmp_path / "a.zip", mode="w") as zipped:
        array = zarr.create_array(zipped, name="a", shape=data.shape, chunks=(1, 8, 3), shards=(8, 400, 3),
                                  dtype=data.dtype, compressors=zarr.codecs.BloscCodec(cname="zstd"))
        array[...] = data
    ds = dataset([Series("A", ZipOpener(str(tmp_path / "a.zip")), 8, 400, 3, 0.0, 0.5, block=8)], stride=1)
    expected = ds.__getitems__(list(range(len(ds))))  # the parent reads first, as a script peeking at ds[0] does
    ds._cache = None  # ...and the workers read again
    got = [x for context, target in DataLoader(ds, batch_size=64, num_workers=2, timeout=120)
           for x in zip(context, target, strict=True)]
    assert all(torch.equal(a, c) and torch.equal(b, d) for (a, b), (c, d) in zip(got, expected, strict=True))


# ---------------------------------------------------------------------- where a temporal val window lies
# `load_dataset(..., temporal=True, return_info=True)`: "val" items named `split="val"` while
# their `row` indexed the stored *train* array; the info now names the array the row is in
# the tiny store of tests/test_store.py with its own name and one granularity: 3 periods of 60
# points (a temporal cut at 150 of 180; maps 100 of 120), 2 train trajectories, 1 val, 1 test
TEMPORAL_CONFIG = raw_tiny(name="leftovers-test", length=3, map_length=120,
                        granularities={"fine": {"timescale": "period", "points": 60}})
TEMPORAL_SYSTEMS = tuple(TEMPORAL_CONFIG["systems"])  # a flow, a map, a delay equation
TEMPORAL_WINDOW = {"context_length": 8, "horizon": 4, "stride": 3}


@pytest.fixture(scope="module")
def temporal_store(tmp_path_factory):
    from chaosdata.store import build, open_store
    from chaosdata.store.config import parse_config

    out = tmp_path_factory.mktemp("leftovers") / "store"
    assert build(parse_config(TEMPORAL_CONFIG, "leftovers-test"), out, progress=False, log=quiet).ok
    return out, open_store(out)


def _stored_context(store, info: dict, length: int) -> torch.Tensor:
    """The context an info dict points at, read from the array it names."""
    arr = store.array(info["system"], info["granularity"], info["array_split"])
    start = int(info["start"])
    return torch.from_numpy(np.asarray(arr[int(info["trajectory"]), start:start + length], dtype=np.float64))


@pytest.mark.parametrize("system", TEMPORAL_SYSTEMS)
@pytest.mark.parametrize("split", ["train", "val"])
def test_temporal_info_points_at_the_stored_window(temporal_store, system, split):
    """Temporal "val" windows used to say split="val" with a row of the *train* array."""
    path, store = temporal_store
    ds = load_dataset(system, split=split, temporal=True, source=path, return_info=True,
                      observation=Observation(normalize=None, dtype=torch.float64), **TEMPORAL_WINDOW)
    n_time = store.array(system, "fine", "train").shape[1]
    assert len(ds) > 0
    for i in range(len(ds)):
        context, _, info = ds[i]
        assert (info["split"], info["array_split"]) == (split, "train")
        assert (info["start"] >= temporal_cut(n_time)) == (split == "val")  # counted from the stored start
        assert torch.equal(context, _stored_context(store, info, TEMPORAL_WINDOW["context_length"]))
        assert ds.info(i).array_split == "train"


@pytest.mark.parametrize("system", TEMPORAL_SYSTEMS)
def test_temporal_val_info_agrees_after_the_datasets_normalizer(temporal_store, system):
    path, store = temporal_store
    ds = load_dataset(system, split="val", temporal=True, source=path, return_info=True,
                      observation=Observation(dtype=torch.float64), **TEMPORAL_WINDOW)
    for i in range(len(ds)):
        context, _, info = ds[i]
        raw = _stored_context(store, info, TEMPORAL_WINDOW["context_length"])
        torch.testing.assert_close(context, ds.normalizer.normalize(raw, system), rtol=0, atol=1e-12)


@pytest.mark.parametrize("split", ["train", "val", "test"])
def test_plain_splits_name_their_own_array(temporal_store, split):
    path, store = temporal_store
    ds = load_dataset("Lorenz", split=split, source=path, return_info=True,
                      observation=Observation(normalize=None, dtype=torch.float64), **TEMPORAL_WINDOW)
    context, _, info = ds[len(ds) - 1]
    assert info["array_split"] == split == ds.info(len(ds) - 1).array_split
    assert torch.equal(context, _stored_context(store, info, TEMPORAL_WINDOW["context_length"]))


def test_batched_info_carries_the_array_split(temporal_store):
    from torch.utils.data import DataLoader

    path, _ = temporal_store
    ds = load_dataset("Lorenz", split="val", temporal=True, source=path, return_info=True, **TEMPORAL_WINDOW)
    _, _, info = next(iter(DataLoader(ds, batch_size=4)))
    assert info["array_split"] == ["train"] * 4 and info["split"] == ["val"] * 4
