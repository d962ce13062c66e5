"""Parquet and HDF5 exports: equal to the store through `datasets`, pandas, pyarrow and h5py;
the declared features; deterministic bytes; the checksum check catches changes; layout limits."""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import tomllib
from pathlib import Path

import datasets
import h5py
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chaosdata.cli import main as cli
from chaosdata.errors import InvalidInputError
from chaosdata.export import (HF_SPLITS, check_hdf5, check_parquet, config_name, export_hdf5, export_parquet,
                              features_yaml, hdf5_path, row_features)
from chaosdata.export.layout import folder_entries, parquet_plan, shard_ranges
from chaosdata.store import build, load_preset, open_store
from chaosdata.store.config import parse_config
from chaosdata.store.errors import ChecksumError
from chaosdata.systems import get_system, list_systems

SMALL = """
name = "export-test"
systems = ["Lorenz", "Henon", "MackeyGlass"]
seed = 3
length = 2
transient = 1
map_length = 40
map_transient = 10
[splits]
train = 3
val = 1
test = 2
[granularities.coarse]
timescale = "period"
points = 15
[granularities.fine]
timescale = "period"
points = 50
[granularities.lyapunov]
timescale = "lyapunov"
points = 20
[integrator]
rtol = 1e-6
atol = 1e-6
dde_steps_per_period = 50
[storage]
chunk_time = 32
"""
CONFIG = parse_config(tomllib.loads(SMALL))
# every (system, granularity) the config asks for; maps have the one granularity `iteration`
CASES = [(s, g) for s in CONFIG.systems for g in
         (["iteration"] if get_system(s).kind == "map" else [g.name for g in CONFIG.granularities])]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("store") / "store"
    build(CONFIG, out, progress=False, log=lambda msg: None)
    return open_store(out)


@pytest.fixture(scope="module")
def staged(store, tmp_path_factory):
    """Both exports in one folder, with a minimal card whose YAML holds the exported configs."""
    import yaml

    out = tmp_path_factory.mktemp("staged")
    report = export_parquet(store, out)
    hreport = export_hdf5(store, out)
    header = {"configs": report.configs_yaml(default="Lorenz_fine"), "dataset_info": report.dataset_info_yaml()}
    (out / "README.md").write_text("---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n# test\n")
    return out, report, hreport


def _datasets_cache(tmp_path) -> str:
    return str(tmp_path / "hf-cache")


def _present(store, system, granularity) -> bool:
    return granularity in store.granularities(system)


# ------------------------------------------------------------------ Parquet through `datasets`
@pytest.mark.parametrize("system, granularity", CASES)
def test_datasets_loads_each_config_of_the_folder_equal_to_the_store(store, staged, system, granularity, tmp_path):
    folder, report, _ = staged
    name = config_name(system, granularity)
    if not _present(store, system, granularity):  # skipped by the build: no config, and the reason is recorded
        assert granularity in store.skipped(system)
        assert name not in {c.config_name for c in report.configs}
        assert not (folder / "data" / system / granularity).exists()
        return
    loaded = datasets.load_dataset(str(folder), name, cache_dir=_datasets_cache(tmp_path))
    assert sorted(loaded) == sorted(HF_SPLITS.values())
    mismatches = {}
    for split, hf in HF_SPLITS.items():
        rows = loaded[hf].with_format("numpy")[:]  # numpy format casts float64 columns to float32
        plain = loaded[hf][:]  # plain rows keep float64 exactly
        expected = store.array(system, granularity, split)[...]
        variables = store.variables(system, granularity, split)
        if not (np.array_equal(rows["series"], expected, equal_nan=True)
                and np.array_equal(rows["valid"], variables["valid"])
                and np.array_equal(np.array(plain["start_state"]), variables["start_state"])
                and set(plain["split"]) == {hf}):
            mismatches[hf] = rows["series"].shape
    assert not mismatches, f"{name}: splits differing from the store: {mismatches}"
    assert loaded["train"].features == row_features(get_system(system).dim)


def test_parquet_builder_reads_the_embedded_features_as_array2d(store, staged, tmp_path):
    folder, _, _ = staged
    ds = datasets.load_dataset("parquet", data_files={"validation": str(folder / "data/Lorenz/fine/validation-*.parquet")},
                               split="validation", cache_dir=_datasets_cache(tmp_path))
    assert ds.features["series"] == datasets.Array2D(shape=(None, 3), dtype="float32")
    series = ds.with_format("numpy")[:]["series"]
    assert series.dtype == np.float32 and series.shape == store.array("Lorenz", "fine", "val").shape
    row = ds[0]
    inv = store.attrs("Lorenz")["invariants"]
    assert row["max_lyapunov"] == inv["max_lyapunov"] and row["lyapunov_time"] == inv["lyapunov_time"]
    assert row["dt"] == store.time("Lorenz", "fine")["dt"] and row["n_points"] == series.shape[1]


@pytest.mark.parametrize("system", CONFIG.systems)
def test_embedded_schema_is_the_declared_features(store, staged, system):
    folder, report, _ = staged
    first = next(f for f in report.files if f.system == system)
    features = datasets.Features.from_arrow_schema(pq.read_schema(folder / first.path))
    meta = get_system(system)
    assert features == row_features(meta.dim)
    assert datasets.Features._from_yaml_list(features_yaml(features)) == features  # the card's YAML round trip


def test_series_values_are_byte_stream_split_and_row_groups_bounded(staged):
    folder, report, _ = staged
    for f in report.files[:3]:
        meta = pq.ParquetFile(folder / f.path).metadata
        leaf = next(meta.row_group(0).column(i) for i in range(meta.num_columns)
                    if meta.row_group(0).column(i).path_in_schema.startswith("series"))
        assert "BYTE_STREAM_SPLIT" in leaf.encodings and "RLE_DICTIONARY" not in leaf.encodings, leaf.encodings
        assert all(meta.row_group(g).total_byte_size < 300 << 20 for g in range(meta.num_row_groups))


def test_pandas_reads_the_series_as_arrays(store, staged):
    import pandas as pd

    folder, _, _ = staged
    frame = pd.read_parquet(folder / "data/MackeyGlass/coarse/train-00000-of-00001.parquet")
    series = np.stack([np.stack(list(row)) for row in frame["series"]])
    assert np.array_equal(series, store.array("MackeyGlass", "coarse", "train")[...])
    assert list(frame["trajectory"]) == list(range(len(frame)))


def test_polars_and_duckdb_read_the_parquet(store, staged):
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    folder, _, _ = staged
    path = folder / "data/Lorenz/coarse/test-00000-of-00001.parquet"
    expected = store.array("Lorenz", "coarse", "test")[...]
    assert np.array_equal(np.array(pl.read_parquet(path)["series"].to_list(), dtype=np.float32), expected)
    first = duckdb.sql(f"select series[1] from '{path}' order by trajectory").fetchall()
    assert np.array_equal(np.array([r[0] for r in first], dtype=np.float32), expected[:, 0])


# ------------------------------------------------------------------ HDF5
@pytest.mark.parametrize("system", CONFIG.systems)
def test_h5py_reads_the_store_groups_and_attributes(store, staged, system):
    folder, _, _ = staged
    gran = store.granularities(system)[0]
    with h5py.File(folder / hdf5_path(system, gran, "train"), "r") as h5:
        assert np.array_equal(h5["series"][...], store.array(system, gran, "train")[...])
        assert np.array_equal(h5["initial_condition"][...], store.variables(system, gran, "train")["initial_condition"])
        assert h5["series"].chunks[0] == 1 and h5["series"].compression == "gzip"
        assert h5.attrs["split"] == "train" and h5.attrs["granularity"] == gran
        assert h5.attrs["config_hash"] == store.manifest["config_hash"]
        assert '"series"' in h5.attrs["sha256"] and store.checksum(system, gran, "train") in h5.attrs["sha256"]


@pytest.mark.parametrize("system", CONFIG.systems)
def test_hdf5_builder_loads_every_split_equal_to_the_store(store, staged, system, tmp_path):
    folder, _, _ = staged
    gran = store.granularities(system)[-1]
    files = {hf: str(folder / hdf5_path(system, gran, hf)) for hf in HF_SPLITS.values()}
    loaded = datasets.load_dataset("hdf5", data_files=files, cache_dir=_datasets_cache(tmp_path))
    different = [hf for split, hf in HF_SPLITS.items()
                 if not np.array_equal(loaded[hf].with_format("numpy")[:]["series"], store.array(system, gran, split)[...])]
    assert not different
    assert loaded["train"][0]["failure"] == "" and loaded["train"][0]["valid"] is True


# ------------------------------------------------------------------ the check and determinism
def test_exports_pass_their_check_and_cover_every_split(store, staged):
    folder, report, hreport = staged
    assert check_parquet(store, folder) == [] and check_hdf5(store, folder) == []
    n_splits = sum(len(store.arrays(s)) for s in store.systems)
    assert len(hreport.files) == n_splits and len({(f.system, f.granularity, f.split) for f in report.files}) == n_splits
    assert report.rows == hreport.rows == sum(store.array(s, *a.split("/")).shape[0]
                                              for s in store.systems for a in store.arrays(s))
    assert report.check_seconds > 0 and hreport.check_seconds > 0


def test_the_same_store_gives_the_same_bytes(store, staged, tmp_path):
    folder, report, hreport = staged
    again = tmp_path / "again"
    for export, first in ((export_parquet, report), (export_hdf5, hreport)):
        second = export(store, again)
        assert [(f.path, f.sha256) for f in second.files] == [(f.path, f.sha256) for f in first.files]
        assert all((again / f.path).read_bytes() == (folder / f.path).read_bytes() for f in first.files)


def _rewrite_one_value(path: Path) -> None:
    table = pq.read_table(path)
    series = table.column("series").combine_chunks()
    storage = series.storage
    values = storage.flatten().flatten().to_numpy().copy()
    values[5] += 1.0
    inner = pa.ListArray.from_arrays(storage.flatten().offsets, pa.array(values))
    outer = pa.ListArray.from_arrays(storage.offsets, inner)
    changed = table.set_column(table.schema.get_field_index("series"), table.schema.field("series"),
                               pa.ExtensionArray.from_storage(series.type, outer))
    pq.write_table(changed, path)


def test_check_names_a_changed_value_and_a_missing_file(store, staged, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(staged[0], copy)
    _rewrite_one_value(copy / "data/Lorenz/fine/train-00000-of-00001.parquet")
    (copy / "data/Henon/iteration/test-00000-of-00001.parquet").unlink()
    problems = check_parquet(store, copy)
    assert [(p.system, p.what) for p in problems] == [
        ("Henon", "data/Henon/iteration/test-*.parquet"),
        ("Lorenz", "data/Lorenz/fine/train-*.parquet [series]"),
    ]
    with pytest.raises(ChecksumError, match="Henon"):
        check_parquet(store, copy, strict=True)


def test_check_names_an_exported_system_the_store_lacks(store, staged, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(staged[0] / "data", copy / "data")
    shutil.copytree(copy / "data/Henon", copy / "data/Stranger")
    assert [(p.system, p.got) for p in check_parquet(store, copy)] == [
        ("Stranger", "an exported system the store does not hold")]
    assert check_parquet(store, copy, ["henon"]) == []  # names as the catalogue spells them, any case


def test_check_finds_a_changed_hdf5_variable(store, staged, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(staged[0], copy)
    with h5py.File(copy / hdf5_path("MackeyGlass", "fine", "validation"), "r+") as h5:
        h5["valid"][0] = False
    problems = check_hdf5(store, copy)
    assert [(p.system, p.what) for p in problems] == [("MackeyGlass", "hdf5/MackeyGlass/fine/validation.h5 [valid]")]


def test_small_shards_and_row_groups_read_back_in_order_and_stale_shards_go(store, tmp_path):
    shape = store.array("Lorenz", "fine", "train").shape
    row_bytes = shape[1] * shape[2] * 4
    report = export_parquet(store, tmp_path, ["Lorenz"], shard_bytes=2 * row_bytes, row_group_bytes=row_bytes)
    train = sorted(f.path for f in report.files if f.granularity == "fine" and f.split == "train")
    assert [p.rsplit("/", 1)[1] for p in train] == ["train-00000-of-00002.parquet", "train-00001-of-00002.parquet"]
    assert [pq.ParquetFile(tmp_path / p).num_row_groups for p in train] == [2, 1]
    config = next(c for c in report.configs if c.config_name == "Lorenz_fine")
    assert config.data_files["train"] == tuple(train) and config.num_examples["train"] == shape[0]
    assert config.to_yaml()["data_files"][0] == {"split": "train", "path": train}
    again = export_parquet(store, tmp_path, "lorenz")  # default sizes: one shard per split
    assert sorted(again.removed) == train and check_parquet(store, tmp_path, ["Lorenz"]) == []


def test_export_refuses_unknown_systems_and_bad_sizes(store, tmp_path):
    with pytest.raises(InvalidInputError, match="Did you mean 'Lorenz'"):
        export_parquet(store, tmp_path, ["Lorenzz"])
    with pytest.raises(InvalidInputError, match="shard_bytes"):
        export_parquet(store, tmp_path, shard_bytes=0)
    with pytest.raises(InvalidInputError, match="chunk_time"):
        export_hdf5(store, tmp_path, chunk_time=0)


# ------------------------------------------------------------------ layout at the full release
def test_the_plan_names_exactly_the_exported_files(store, staged):
    shapes = [(s, a.split("/")[0], a.split("/")[1], store.array(s, *a.split("/")).shape)
              for s in store.systems for a in store.arrays(s)]
    assert sorted(parquet_plan(shapes).paths) == sorted(f.path for f in staged[1].files)


def test_folders_stay_under_the_hub_limit_at_the_full_release():
    """Every system x granularity x split of the release preset, with its shapes (lyapunov
    granularity counted for every flow, an upper bound), holds under 10k entries per folder."""
    release = load_preset("release")
    shapes = []
    for name in list_systems():
        meta = get_system(name)
        for split, n in release.splits.items():
            if meta.kind == "map":
                shapes.append((name, "iteration", split, (n, release.map_length, meta.dim)))
                continue
            for g in release.granularities:
                shapes.append((name, g.name, split, (n, int(release.length * g.points), meta.dim)))
    paths = parquet_plan(shapes).paths
    entries = folder_entries(paths)
    assert len(list_systems()) == 158 and entries["data"] == 158
    assert max(entries.values()) < 10_000, max(entries.items(), key=lambda kv: kv[1])
    assert len(paths) == 135 * 3 * 3 + 23 * 3  # one shard per split at this size
    assert shard_ranges(32, 10_000, 10) == [(0, 32)]


# ------------------------------------------------------------------ command line
def test_cli_exports_and_prints_a_summary(store, tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli(["export", str(store.path), "--format", "hdf5", "--out", str(tmp_path), "--systems", "Henon"]) == 0
    assert "hdf5: 3 files" in buf.getvalue() and "equal to the store's checksums" in buf.getvalue()
    assert sorted(p.name for p in (tmp_path / "hdf5/Henon/iteration").iterdir()) == ["test.h5", "train.h5", "validation.h5"]
    assert cli(["export", str(store.path), "--format", "parquet", "--out", str(tmp_path), "--systems", "Nope"]) == 2
    with pytest.raises(SystemExit):
        cli(["export", str(store.path), "--format", "csv", "--out", str(tmp_path)])


# ------------------------------------------------------------------ configs holding every system
@pytest.fixture(scope="module")
def combined(store, staged):
    from chaosdata.export import export_combined

    return export_combined(store, staged[0])


@pytest.mark.parametrize("granularity", sorted({g for _, g in CASES}))
def test_combined_config_holds_every_system_equal_to_the_store(store, staged, combined, granularity, tmp_path):
    import yaml

    from chaosdata.export import combined_config_name, combined_features

    report, skipped = combined
    systems = [s for s in store.systems if granularity in store.granularities(s)]
    assert granularity not in skipped  # in this store each granularity has one length
    folder = tmp_path / "repo"  # a card naming the combined configs (and their features)
    shutil.copytree(staged[0] / "combined", folder / "combined")
    header = {"configs": report.configs_yaml(), "dataset_info": report.dataset_info_yaml()}
    (folder / "README.md").write_text("---\n" + yaml.safe_dump(header, sort_keys=False) + "---\n")
    loaded = datasets.load_dataset(str(folder), combined_config_name(granularity), split="validation",
                                   cache_dir=_datasets_cache(tmp_path))
    n_time = store.array(systems[0], granularity, "val").shape[1]
    assert loaded.features == combined_features(n_time)
    rows = loaded.with_format("numpy")[:]
    by_system = {}
    for name, series in zip(loaded["system"][:], rows["series_by_component"]):
        by_system.setdefault(name, []).append(np.asarray(series).T)
    assert list(by_system) == systems
    different = [s for s in systems if not np.array_equal(np.stack(by_system[s]), store.array(s, granularity, "val")[...])]
    assert not different


def test_combined_check_finds_reordered_rows(store, staged, combined, tmp_path):
    from chaosdata.export import check_combined

    copy = tmp_path / "copy"
    shutil.copytree(staged[0] / "combined", copy / "combined")
    path = copy / "combined/coarse/train-00000-of-00001.parquet"
    table = pq.read_table(path)
    pq.write_table(table.take([1, 0] + list(range(2, table.num_rows))), path)
    problems = check_combined(store, copy)
    assert {(p.system, p.what) for p in problems} == {("Lorenz", "combined/coarse/train-*.parquet [series]"),
                                                      ("Lorenz", "combined/coarse/train-*.parquet [trajectory]"),
                                                      ("Lorenz", "combined/coarse/train-*.parquet [initial_condition]"),
                                                      ("Lorenz", "combined/coarse/train-*.parquet [start_state]"),
                                                      ("Lorenz", "combined/coarse/train-*.parquet [n_accepted]"),
                                                      ("Lorenz", "combined/coarse/train-*.parquet [n_rejected]")}


@pytest.mark.parametrize("pieces, limit, expected", [
    ([(3, 10), (2, 20)], 1000, [[(0, 0, 3), (1, 0, 2)]]),
    ([(3, 10), (2, 20)], 30, [[(0, 0, 3)], [(1, 0, 1)], [(1, 1, 2)]]),
    ([(3, 10), (2, 20)], 45, [[(0, 0, 3)], [(1, 0, 2)]]),
    ([(1, 100)], 10, [[(0, 0, 1)]]),  # a row larger than the limit still gets a shard
])
def test_combined_shards_pack_rows_in_order_under_the_limit(pieces, limit, expected):
    from chaosdata.export.layout import pack

    assert pack(pieces, limit) == expected


def test_a_granularity_of_many_lengths_is_left_out_with_the_reason():
    from chaosdata.export.layout import why_not_combined

    assert why_not_combined({"Lorenz": 500, "Rossler": 500}) is None
    assert "differ in length (300..500 points over 2 systems)" in why_not_combined({"Lorenz": 500, "Rossler": 300})


def test_a_user_file_at_a_combined_path_is_refused_before_anything_is_written(store, tmp_path, tree):
    # every format claims its whole plan first (export.base.run); the combined export used to
    # claim file by file, so the configs planned before the user's file were written, then it stopped
    from chaosdata.export import export_combined

    mine = tmp_path / "combined/lyapunov/test-00000-of-00001.parquet"  # the last file of the plan
    mine.parent.mkdir(parents=True)
    mine.write_bytes(b"mine")
    before = tree(tmp_path)
    with pytest.raises(InvalidInputError, match="would be overwritten"):
        export_combined(store, tmp_path)
    assert tree(tmp_path) == before


# ------------------------------------------------------------------ flagged trajectories
def test_failed_trajectories_export_as_nan_rows_with_their_reason(tmp_path):
    """RK4 with a step of half a time unit throws Lorenz off: every trajectory is flagged,
    stored as NaN, and exported as such (the checks compare NaN payloads bit for bit)."""
    raw = {"name": "flagged", "systems": ["Lorenz"], "seed": 1, "length": 1, "transient": 0, "map_length": 10,
           "map_transient": 1, "splits": {"train": 1, "val": 1, "test": 1},
           "granularities": {"coarse": {"timescale": "period", "points": 15}},
           "integrator": {"method": "rk4", "dt": 0.5}}
    store = open_store(build(parse_config(raw), tmp_path / "store", progress=False, log=lambda msg: None).out)
    assert not store.variables("Lorenz", "coarse", "train")["valid"].any()
    export_parquet(store, tmp_path / "out")  # raises ChecksumError if the read-back differs
    export_hdf5(store, tmp_path / "out")
    row = datasets.load_dataset("parquet", data_files=str(tmp_path / "out/data/Lorenz/coarse/train-*.parquet"),
                                split="train", cache_dir=_datasets_cache(tmp_path))[0]
    reason = str(store.variables("Lorenz", "coarse", "train")["failure"][0])
    assert row["valid"] is False and row["failure"] == reason and reason
    assert np.isnan(np.asarray(row["series"], dtype=np.float32)).all()


# ------------------------------------------------------------------ corpus stores in HDF5
# a corpus of two flows, 3 variants each (some rejected by the screen): the tiny config of tests/test_corpus.py
CORPUS_SYSTEMS = ("Lorenz", "Rossler")
# what a file of a store without a corpus holds: the layout before corpus stores existed
PLAIN_DATASETS = ["series", "trajectory", "valid", "failure", "resampled", "initial_condition", "start_state",
                  "n_accepted", "n_rejected"]
PLAIN_ATTRS = ["system", "invariants", "generation", "provenance", "time", "normalization", "recipe", "granularity",
               "split", "store_split", "config_hash", "code_hash", "sha256"]


@pytest.fixture(scope="module")
def corpus_export(tmp_path_factory):
    """A tiny corpus store with both of its exports: (store, folder)."""
    from stores import raw_tiny

    raw = raw_tiny(name="corpus-export", systems=list(CORPUS_SYSTEMS), granularities={"fine": {"points": 30}},
                   length=2, corpus={"variants": 3, "scale": 0.1, "skew_products": 0, "screen_ics": 3,
                                     "screen_periods": 5})
    root = tmp_path_factory.mktemp("corpus-export")
    report = build(parse_config(raw), root / "store", progress=False, log=lambda msg: None)
    assert report.ok
    store = open_store(root / "store")
    export_parquet(store, root / "out")  # both read back and checked
    export_hdf5(store, root / "out")
    return store, root / "out"


@pytest.mark.parametrize("system", CORPUS_SYSTEMS)
@pytest.mark.parametrize("split", HF_SPLITS)
def test_hdf5_of_a_corpus_gives_each_row_its_variants_parameters(corpus_export, system, split):
    import json

    store, folder = corpus_export
    group = store.group(system)[f"fine/{split}"]
    corpus = store.attrs(system)["corpus"]
    with h5py.File(folder / hdf5_path(system, "fine", HF_SPLITS[split]), "r") as h5:
        values, variant = h5["parameters"][...], h5["variant"][...]
        names = [str(n.decode() if isinstance(n, bytes) else n) for n in h5["parameters"].attrs["parameter"]]
        assert json.loads(h5.attrs["corpus"]) == corpus
    assert values.dtype == np.float64 and values.shape == group["parameters"].shape
    np.testing.assert_array_equal(values, group["parameters"][...])
    np.testing.assert_array_equal(variant, group["variant"][...])
    assert names == [str(n) for n in group["parameter"][...]] and names
    table = pq.read_table(next((folder / "data" / system / "fine").glob(f"{HF_SPLITS[split]}-*.parquet")))
    from_parquet = [json.loads(p) for p in table.column("parameters").to_pylist()]
    assert len(from_parquet) == len(values)
    assert [dict(zip(names, row.tolist())) for row in values] == from_parquet
    assert [corpus["variants"][int(v)]["parameters"] for v in variant] == from_parquet


def test_hdf5_builder_loads_a_corpus_file(corpus_export, tmp_path):
    store, folder = corpus_export
    files = {hf: str(folder / hdf5_path("Lorenz", "fine", hf)) for hf in HF_SPLITS.values()}
    loaded = datasets.load_dataset("hdf5", data_files=files, cache_dir=_datasets_cache(tmp_path))
    assert loaded["train"].features["parameters"] == datasets.List(datasets.Value("float64"), length=3)
    for split, hf in HF_SPLITS.items():
        rows = loaded[hf][:]  # python values: the numpy format would give float32 for float64 lists
        np.testing.assert_array_equal(np.array(rows["parameters"]), store.group("Lorenz")[f"fine/{split}/parameters"][...])
        np.testing.assert_array_equal(rows["variant"], store.group("Lorenz")[f"fine/{split}/variant"][...])
        np.testing.assert_array_equal(loaded[hf].with_format("numpy")[:]["series"], store.array("Lorenz", "fine", split)[...])


def _drop_corpus_attr(h5):
    del h5.attrs["corpus"]


def _change_a_parameter(h5):
    h5["parameters"][0, 0] += 1.0


def _change_a_variant(h5):
    h5["variant"][0] = h5["variant"][0] + 1


def _rename_a_parameter(h5):
    h5["parameters"].attrs["parameter"] = np.array(["x"] * h5["parameters"].shape[1], dtype=h5py.string_dtype())


def _drop_the_parameters(h5):
    del h5["parameters"]


@pytest.mark.parametrize("tamper, column", [(_drop_corpus_attr, "corpus"), (_change_a_parameter, "parameter_values"),
                                            (_change_a_variant, "variant"), (_rename_a_parameter, "parameter"),
                                            (_drop_the_parameters, None)])
def test_the_hdf5_check_compares_a_corpus_files_parameters(corpus_export, tmp_path, tamper, column):
    store, folder = corpus_export
    copy = tmp_path / "copy"
    shutil.copytree(folder / "hdf5", copy / "hdf5")
    assert check_hdf5(store, copy) == []
    rel = hdf5_path("Lorenz", "fine", "train")
    with h5py.File(copy / rel, "r+") as h5:
        tamper(h5)
    problems = check_hdf5(store, copy)
    assert problems and {p.system for p in problems} == {"Lorenz"}
    if column is not None:
        assert f"{rel} [{column}]" in {p.what for p in problems}
    else:
        assert any(p.expected == "a column 'parameter_values'" for p in problems)


@pytest.mark.parametrize("system", CONFIG.systems)
def test_hdf5_files_of_a_store_without_a_corpus_keep_their_layout(staged, system):
    folder, _, hreport = staged
    for f in (f for f in hreport.files if f.system == system):
        with h5py.File(folder / f.path, "r") as h5:
            assert list(h5) == PLAIN_DATASETS
            assert list(h5.attrs) == PLAIN_ATTRS


def test_a_corpus_of_a_flow_without_parameters_writes_zero_width_parameters_datasets_loads(tmp_path):
    """A flow without parameters is one variant with no parameter columns: `parameters` is
    `[trajectory, 0]`, which the `hdf5` builder reads as empty lists."""
    from chaosdata.export.hdf5 import write_split
    from chaosdata.export.source import SplitSource
    from chaosdata.owned import Ledger

    n = 2
    variables = {"trajectory": np.arange(n), "valid": np.ones(n, bool), "failure": np.array(["", ""], dtype=object),
                 "resampled": np.zeros(n, np.int64), "initial_condition": np.zeros((n, 3)),
                 "start_state": np.zeros((n, 3)), "n_accepted": np.ones(n, np.int64), "n_rejected": np.zeros(n, np.int64),
                 "variant": np.zeros(n, np.int64), "parameters": np.zeros((n, 0))}
    corpus = {"n_variants": 1, "n_accepted": 1, "variants": [{"id": 0, "parameters": {}, "accepted": True}]}
    source = SplitSource("SprottB", "fine", "train", np.zeros((n, 5, 3), np.float32), variables,
                         {"system": {"parameters": {}}, "corpus": corpus}, {"time": {"t0": 0.0, "dt": 0.1, "n": 5}},
                         {"series": {"sha256": "x"}}, ())
    path = tmp_path / "train.h5"
    assert write_split(source, Ledger(tmp_path), "train.h5", 5, {"config_hash": "c", "code_hash": "d"}) == n
    with h5py.File(path, "r") as h5:
        assert h5["parameters"].shape == (n, 0) and list(h5["parameters"].attrs["parameter"]) == []
    loaded = datasets.load_dataset("hdf5", data_files={"train": str(path)}, split="train",
                                   cache_dir=_datasets_cache(tmp_path))
    assert loaded["parameters"] == [[], []] and loaded["variant"] == [0, 0]


def test_a_store_selects_systems_by_any_spelling_once_each_and_refuses_an_empty_or_unknown_one(store):
    """`Store.select`, which every export, the staging and the cards use to read `systems`."""
    names = store.systems
    assert store.select(None) == names
    assert store.select(",".join(reversed(names)) + ",") == names  # a comma list, order and blanks ignored
    assert store.select([names[0].lower(), names[0]]) == [names[0]]  # the catalogue's spelling, once
    with pytest.raises(InvalidInputError, match="systems is empty"):
        store.select([])
    with pytest.raises(InvalidInputError, match=rf"'{names[0]}x' is not in the store.*{names[0]}"):
        store.select([names[0] + "x"])


# ------------------------------------------------------------------ write paths: only what chaosdata wrote (issue 20)
def _cli(argv, capsys) -> tuple[int, str, str]:
    rc = cli(argv)
    out, err = capsys.readouterr()
    return rc, out, err


def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("chaosdata: "), err
    return err


@pytest.mark.parametrize("out", [".", "data", "data/Lorenz"])
def test_export_into_or_around_the_store_is_refused_and_the_store_unchanged(store, tmp_path, monkeypatch, capsys,
                                                                           tree, out):
    """`export data --out .` (the README's default store) used to write into the store and then
    delete its files as stale."""
    shutil.copytree(store.path, tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    rc, _, err = _cli(["export", "data", "--format", "parquet", "--out", out], capsys)
    assert rc == 2 and "the store" in _one_line(err) and "outside the store" in err
    assert tree(tmp_path) == before


def test_export_keeps_a_users_file_in_a_system_folder(store, tmp_path, capsys, tree):
    assert _cli(["export", str(store.path), "--format", "parquet", "--out", str(tmp_path), "--systems", "Henon"],
                capsys)[0] == 0
    notes = tmp_path / "data" / "Henon" / "notes.txt"
    notes.write_text("mine")
    rc, out, _ = _cli(["export", str(store.path), "--format", "parquet", "--out", str(tmp_path), "--systems",
                       "Henon"], capsys)
    assert rc == 0 and notes.read_text() == "mine"
    seconds = float(re.search(r" in ([0-9.]+) s \(", out).group(1))
    assert seconds < 600, out  # the report's fields in their places (`left` once shifted `seconds`)
    assert "left 1 file(s) that chaosdata did not write" in out and "data/Henon/notes.txt" in out


@pytest.mark.parametrize("fmt, rel", [("parquet", "data/Henon/iteration/train-00000-of-00001.parquet"),
                                      ("hdf5", "hdf5/Henon/iteration/train.h5")])
def test_export_refuses_to_overwrite_a_file_it_did_not_write(store, tmp_path, capsys, tree, fmt, rel):
    (tmp_path / rel).parent.mkdir(parents=True)
    (tmp_path / rel).write_text("the user's own file")
    before = tree(tmp_path)
    rc, _, err = _cli(["export", str(store.path), "--format", fmt, "--out", str(tmp_path)], capsys)
    assert rc == 2 and rel in _one_line(err) and "did not write" in err and "another output folder" in err
    assert tree(tmp_path) == before


def test_export_replaces_a_file_changed_since_only_never(store, tmp_path, capsys, tree):
    """A file the export wrote and the user then changed is the user's: refused, kept."""
    export_hdf5(store, tmp_path, ["Henon"])
    changed = tmp_path / "hdf5/Henon/iteration/test.h5"
    changed.write_bytes(b"edited")
    before = tree(tmp_path)
    with pytest.raises(InvalidInputError, match="changed since"):
        export_hdf5(store, tmp_path, ["Henon"])
    assert tree(tmp_path) == before


def test_ctrl_c_during_export_is_one_line_130_and_a_rerun_completes(store, tmp_path, monkeypatch, capsys):
    from chaosdata.export import parquet

    real, calls = parquet.split_table, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(parquet, "split_table", interrupted)
    rc, _, err = _cli(["export", str(store.path), "--format", "parquet", "--out", str(tmp_path)], capsys)
    assert rc == 130 and "interrupted" in _one_line(err)
    assert not (tmp_path / ".chaosdata-written.json").exists()  # the record is written last
    assert not [p for p in tmp_path.rglob("*.tmp-*")]
    monkeypatch.setattr(parquet, "split_table", real)
    assert _cli(["export", str(store.path), "--format", "parquet", "--out", str(tmp_path)], capsys)[0] == 0
    assert check_parquet(store, tmp_path) == []


@pytest.mark.parametrize("fmt", ["parquet", "hdf5"])
def test_a_full_disk_during_export_is_one_line_naming_the_output_and_a_rerun_resumes(store, full_disk, capsys, fmt):
    out = full_disk.path
    rc, _, err = _cli(["export", str(store.path), "--format", fmt, "--out", str(out)], capsys)
    assert rc == 1 and "No space left on device" in _one_line(err) and repr(str(out)) in err
    assert str(store.path) not in err
    full_disk.free()
    assert _cli(["export", str(store.path), "--format", fmt, "--out", str(out)], capsys)[0] == 0
    check = check_parquet if fmt == "parquet" else check_hdf5
    assert check(store, out) == []
