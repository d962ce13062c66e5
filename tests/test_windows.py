"""Windowed datasets: addressing, caching, normalization, noise, padding, pickling."""

from __future__ import annotations

import functools
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from chaosdata.errors import InvalidInputError
from chaosdata.windows import Normalizer, Series, WindowDataset, check_window, collate_padded, fit_statistics


def series(name: str, data: np.ndarray, **kw) -> Series:
    n, t, d = data.shape
    return Series(system=name, open=lambda: data, n_trajectories=n, n_time=t, dim=d, t0=0.0, dt=0.5, **kw)


def dataset(parts, **kw) -> WindowDataset:
    kw.setdefault("normalizer", None)
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
    ds = dataset([series("A", data)], normalizer=Normalizer({"A": mean}, {"A": std}), dtype=torch.float64)
    context, _ = ds[4]
    info = ds.info(4)
    raw = torch.from_numpy(data[info.trajectory, info.start: info.start + 5].astype(np.float64))
    torch.testing.assert_close(ds.denormalize(context, "A"), raw)


def test_noise_is_seeded_scaled_and_independent_of_read_order():
    data = ramp()
    scale = {"A": np.array([1.0, 10.0])}
    noisy = dataset([series("A", data)], noise=0.1, scale=scale, dtype=torch.float64, seed=3)
    clean = dataset([series("A", data)], dtype=torch.float64)
    a = [noisy[i][0] for i in (5, 0, 9)]
    b = [noisy[i][0] for i in (9, 5, 0)]
    torch.testing.assert_close(a[0], b[1])
    diff = torch.cat([noisy[i][0] - clean[i][0] for i in range(len(noisy))])
    ratio = (diff[:, 1].std() / diff[:, 0].std()).item()
    assert 7 < ratio < 13  # noise follows each coordinate's scale
    other = dataset([series("A", data)], noise=0.1, scale=scale, dtype=torch.float64, seed=4)
    assert not torch.equal(other[5][0], a[0])


def test_univariate_channel_and_whole_trajectories():
    data = ramp()
    ds = dataset([series("A", data)], channels=1, dtype=torch.float64)
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
    ds = dataset([series("A", data)], return_info=True, split="test", granularity="fine", dtype=torch.float64)
    context, target, info = next(iter(DataLoader(ds, batch_size=4, shuffle=False)))
    assert context.shape == (4, 5, 2) and target.shape == (4, 3, 2)
    assert info["system"] == ["A"] * 4 and info["split"] == ["test"] * 4 and info["granularity"] == ["fine"] * 4
    assert info["trajectory"].dtype == torch.int64 and info["start_time"].dtype == torch.float64
    for b in range(4):
        where = ds.info(b)
        assert (info["trajectory"][b].item(), info["start"][b].item(), info["index"][b].item()) == (where.trajectory, where.start, b)
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
    with pytest.raises(InvalidInputError, match="return_info"):
        dataset([series("A", ramp())], return_info="yes")


@pytest.mark.parametrize("noise", [float("nan"), float("inf"), -0.1, True])
def test_noise_must_be_a_finite_non_negative_number(noise):
    """noise=nan used to mean no noise, silently (nan > 0 is False)."""
    with pytest.raises(InvalidInputError, match="noise"):
        dataset([series("A", ramp())], noise=noise)


# ---------------------------------------------------------------------- noise per point, not per window
def _noise_of(noisy: WindowDataset, clean: WindowDataset, i: int) -> torch.Tensor:
    return torch.cat(noisy[i][:2]) - torch.cat(clean[i][:2])


@pytest.mark.parametrize("block", [7, 1024], ids=["windows straddle noise blocks", "one noise block"])
def test_overlapping_windows_see_the_same_noise_at_the_same_time_point(monkeypatch, block):
    monkeypatch.setattr("chaosdata.windows.NOISE_BLOCK", block)
    data = ramp()
    kw = {"noise": 0.1, "scale": {"A": np.array([1.0, 3.0])}, "dtype": torch.float64, "seed": 2, "stride": 1}
    noisy, clean = dataset([series("A", data)], **kw), dataset([series("A", data)], stride=1, dtype=torch.float64)
    for i in range(len(noisy) - 1):
        a, b = noisy.info(i), noisy.info(i + 1)
        if a.trajectory == b.trajectory:  # b starts one point later: 7 shared points
            torch.testing.assert_close(_noise_of(noisy, clean, i)[1:], _noise_of(noisy, clean, i + 1)[:-1], rtol=0, atol=0)
    # another window length and a single channel see the same noise at the same (trajectory, time)
    longer = dataset([series("A", data)], context_length=9, **kw)
    univariate = dataset([series("A", data)], channels=1, **kw)
    clean_uni = dataset([series("A", data)], channels=1, stride=1, dtype=torch.float64)
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
    many = dataset([series(f"S{i}", ramp(n=1)) for i in range(6)], noise=0.1)
    assert "['S0', 'S1', 'S2', ... 6 in all]" in repr(many) and "noise=0.1" in repr(many)
