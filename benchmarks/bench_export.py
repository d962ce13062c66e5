"""Export throughput, staged sizes, and reading the Parquet with `datasets` against the Zarr store.

1. Exports `--store` (default: the quick release store, built by `make run` into ./data) to
   Parquet and HDF5 under `--out`, each read back and checked against the manifest; prints
   files, rows, bytes, seconds, MiB/s of float32 series and rows/s, and the check's time.
2. Sizes: the store on disk and both exports; the release preset estimated from its planned
   shapes (catalogue dimensions, `lyapunov` granularity from each system's stored Lyapunov time)
   times the bytes per series byte measured here.
3. Reading the same windows: a Lorenz store of `--trajectories` training trajectories of 100
   periods at 100 points per period (built once under `--read-store`), all windows of context
   512 and horizon 64 at stride 64, gathered (a) through `chaosdata.load_dataset` from the Zarr
   store (a `DataLoader`, batch 256, 0 workers) and (b) through `datasets.load_dataset` on the
   Parquet export (`with_format("numpy")`, windows cut from the series); the two are asserted
   equal. `datasets` converts Parquet into its Arrow cache on the first call: timed apart.

    python benchmarks/bench_export.py [--store data] [--out /tmp/chaosdata-bench-export]
        [--read-store /tmp/chaosdata-bench-export-read] [--trajectories 64]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

import numpy as np


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def mib(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def export_section(store_path: Path, out: Path) -> dict[str, float]:
    from chaosdata.export import export_hdf5, export_parquet
    from chaosdata.store import open_store

    store = open_store(store_path)
    shutil.rmtree(out, ignore_errors=True)
    ratios = {"store": du(store_path)}
    print(f"store {store_path}: {len(store.systems)} systems, {mib(ratios['store'])} on disk")
    for export in (export_parquet, export_hdf5):
        r = export(store, out)
        ratios[r.format] = r.bytes
        ratios["series"] = r.store_bytes
        print(f"{r.format:8s} {len(r.files):5d} files {r.rows:6d} rows  series {mib(r.store_bytes)} -> {mib(r.bytes)} "
              f"in {r.seconds:6.1f} s: {r.store_bytes / 2**20 / r.seconds:6.2f} MiB/s, {r.rows / r.seconds:7.1f} rows/s; "
              f"read back and checked in {r.check_seconds:.1f} s")
    return ratios


def combined_section(store_path: Path, out: Path) -> None:
    """The configs holding every system of a granularity: export, size, and a full read through
    `datasets` against reading every per-system config of that granularity."""
    import datasets

    from chaosdata.export import export_combined
    from chaosdata.store import open_store

    store = open_store(store_path)
    report, skipped = export_combined(store, out)
    print(f"combined {len(report.files):5d} files {report.rows:6d} rows  series {mib(report.store_bytes)} -> "
          f"{mib(report.bytes)} in {report.seconds:6.1f} s; checked in {report.check_seconds:.1f} s; "
          f"configs {[c.config_name for c in report.configs]}; left out: {sorted(skipped)}")
    cache = out / "hf-cache-combined"
    for split in ("train",):
        for attempt in ("first call", "cached"):
            start = time.perf_counter()
            hf = datasets.load_dataset("parquet", data_files={split: str(out / f"combined/fine/{split}-*.parquet")},
                                       split=split, cache_dir=str(cache))
            rows = hf.with_format("numpy")[:]["series_by_component"]
            t_all = time.perf_counter() - start
            start = time.perf_counter()
            n_configs = 0
            for name in store.systems:
                if "fine" not in store.granularities(name):
                    continue
                one = datasets.load_dataset("parquet", data_files={split: str(out / f"data/{name}/fine/{split}-*.parquet")},
                                            split=split, cache_dir=str(cache))
                one.with_format("numpy")[:]["series"]
                n_configs += 1
            t_each = time.perf_counter() - start
            print(f"  all_fine {split} ({len(rows)} rows), {attempt}: {t_all:6.2f} s as one config; "
                  f"{t_each:6.2f} s as {n_configs} per-system configs")


def release_series_bytes() -> tuple[int, int]:
    """(float32 series bytes, files) of the release preset, from its planned shapes."""
    from chaosdata.export.layout import parquet_plan
    from chaosdata.store import load_preset
    from chaosdata.systems import get_system, list_systems

    release = load_preset("release")
    total, shapes = 0, []
    for name in list_systems():
        meta = get_system(name)
        inv = meta.invariants or {}
        for split, n in release.splits.items():
            grans = []
            if meta.kind == "map":
                grans.append(("iteration", release.map_length))
            else:
                for g in release.granularities:
                    if g.timescale == "period":
                        grans.append((g.name, int(round(release.length * g.points))))
                    elif inv.get("chaotic") and inv.get("lyapunov_time"):
                        span = release.length * float(meta.period)
                        grans.append((g.name, int(round(span / inv["lyapunov_time"] * g.points))))
            for gran, n_time in grans:
                total += n * n_time * meta.dim * 4
                shapes.append((name, gran, split, (n, n_time, meta.dim)))
    return total, len(parquet_plan(shapes).paths)


def read_section(read_store: Path, out: Path, trajectories: int) -> dict[str, float]:
    import datasets
    import torch
    from torch.utils.data import DataLoader

    from chaosdata import Observation, load_dataset
    from chaosdata.export import export_hdf5, export_parquet
    from chaosdata.store import StoreError, build, open_store
    from chaosdata.store.config import parse_config

    config = parse_config({"name": "bench-export-read", "systems": ["Lorenz"], "seed": 0, "length": 100,
                           "transient": 10, "map_length": 100, "map_transient": 10,
                           "splits": {"train": trajectories, "val": 1, "test": 1},
                           "granularities": {"fine": {"timescale": "period", "points": 100}},
                           "integrator": {"rtol": 1e-9, "atol": 1e-9}})
    try:  # reuse a store of this config (others change the code meanwhile; its bytes would not)
        reuse = open_store(read_store).manifest["config_hash"] == config.config_hash
    except StoreError:
        reuse = False
    if not reuse:
        build(config, read_store, progress=False, log=lambda msg: None, overwrite=True)
    parquet = out / "read-parquet"
    shutil.rmtree(parquet, ignore_errors=True)
    r = export_parquet(read_store, parquet)
    h = export_hdf5(read_store, parquet)
    ratios = {"store": du(read_store) / r.store_bytes, "parquet": r.bytes / r.store_bytes, "hdf5": h.bytes / h.store_bytes}
    print(f"100-period Lorenz store: series {mib(r.store_bytes)}; bytes per series byte: store {ratios['store']:.3f}, "
          f"parquet {ratios['parquet']:.3f} ({r.store_bytes / 2**20 / r.seconds:.1f} MiB/s, {r.rows / r.seconds:.0f} rows/s), "
          f"hdf5 {ratios['hdf5']:.3f} ({h.store_bytes / 2**20 / h.seconds:.1f} MiB/s)")
    context, horizon, stride = 512, 64, 64

    start = time.perf_counter()
    ds = load_dataset("Lorenz", source=read_store, split="train", granularity="fine", context_length=context,
                      horizon=horizon, stride=stride, observation=Observation(normalize=None))
    ours = torch.cat([torch.cat([c, t], 1) for c, t in DataLoader(ds, batch_size=256)])
    t_ours = time.perf_counter() - start

    def cut(series: np.ndarray) -> torch.Tensor:  # every window of [trajectory, time, 3], trajectory-major
        view = np.lib.stride_tricks.sliding_window_view(series, context + horizon, axis=1)[:, ::stride]
        return torch.from_numpy(np.ascontiguousarray(view.transpose(0, 1, 3, 2)).reshape(-1, context + horizon, 3))

    start = time.perf_counter()  # the same store read whole (`trajectories()`), windows cut in numpy
    bulk = cut(load_dataset("Lorenz", source=read_store, split="train", granularity="fine", context_length=context,
                            horizon=horizon, stride=stride, observation=Observation(normalize=None)).trajectories().numpy())
    t_bulk = time.perf_counter() - start
    assert torch.equal(bulk, ours), "whole-trajectory windows differ from the dataset's"

    cache = out / "hf-cache"
    shutil.rmtree(cache, ignore_errors=True)
    files = {"train": str(parquet / "data/Lorenz/fine/train-*.parquet")}
    timings = []
    for _ in range(2):  # the first call converts the Parquet into the Arrow cache
        start = time.perf_counter()
        hf = datasets.load_dataset("parquet", data_files=files, split="train", cache_dir=str(cache))
        series = hf.with_format("numpy")[:]["series"]  # [trajectory, time, dim] float32
        theirs = cut(series)
        timings.append(time.perf_counter() - start)
    assert theirs.shape == ours.shape and torch.equal(theirs, ours), "the two paths gave different windows"
    n = ours.shape[0]
    print(f"reading {n} windows ({context}+{horizon}, stride {stride}) of {trajectories} Lorenz trajectories "
          f"x {series.shape[1]} points:")
    print(f"  chaosdata.load_dataset (Zarr, DataLoader batch 256, 0 workers): {t_ours:6.2f} s  ({n / t_ours:9.0f} windows/s)")
    print(f"  chaosdata.load_dataset (Zarr, .trajectories(), numpy windows): {t_bulk:6.2f} s  ({n / t_bulk:9.0f} windows/s)")
    print(f"  datasets.load_dataset (Parquet, first call, Arrow conversion):  {timings[0]:6.2f} s  ({n / timings[0]:9.0f} windows/s)")
    print(f"  datasets.load_dataset (Parquet, cached, with_format numpy):     {timings[1]:6.2f} s  ({n / timings[1]:9.0f} windows/s)")
    print(f"  time ratios to datasets-cached: chaosdata DataLoader {t_ours / timings[1]:.1f}x, "
          f"chaosdata whole trajectories {t_bulk / timings[1]:.1f}x; windows equal: yes")
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", default="data")
    parser.add_argument("--out", default="/tmp/chaosdata-bench-export")
    parser.add_argument("--read-store", default="/tmp/chaosdata-bench-export-read")
    parser.add_argument("--trajectories", type=int, default=64)
    args = parser.parse_args()
    out = Path(args.out)
    sizes = export_section(Path(args.store), out)
    here = {k: sizes[k] / sizes["series"] for k in ("store", "parquet", "hdf5")}
    print(f"bytes per series byte here: store {here['store']:.3f}, parquet {here['parquet']:.3f}, hdf5 {here['hdf5']:.3f}"
          f"; staged (store + parquet) {mib(sizes['store'] + sizes['parquet'])}")
    combined_section(Path(args.store), out)
    per = read_section(Path(args.read_store), out, args.trajectories)
    series, files = release_series_bytes()
    print(f"release preset (estimated with the 100-period Lorenz ratios, not built): series {mib(series)}, {files} Parquet "
          f"files; store ~{mib(series * per['store'])}, parquet ~{mib(series * per['parquet'])}, hdf5 ~{mib(series * per['hdf5'])}; "
          f"staged (store + parquet) ~{mib(series * (per['store'] + per['parquet']))}")


if __name__ == "__main__":
    main()
