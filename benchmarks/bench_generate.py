"""Store build: time, size, files per system and throughput of a preset, and a release estimate.

    python benchmarks/bench_generate.py                       # the quick preset, 2 workers
    python benchmarks/bench_generate.py --preset release --sample 8 --shorten 10
    python benchmarks/bench_generate.py --staging 20 --repeats 3  # store work per system: before/after

`--sample N` builds only N systems, spread evenly over each kind of the sorted catalogue (no
random draw), and scales per kind to the whole catalogue: per-system worker seconds and bytes
times the number of systems of that kind. Wall time is then estimated as worker seconds over
workers. `--shorten F` builds spans F times shorter (`length`, `map_length`) and scales each
system's recorded part (time and bytes) back up by F, keeping its transient as measured: steps,
and so time, grow in proportion to the span. Points are time samples of one trajectory
(each `dim` values). CPU seconds are
reported beside wall seconds: on a shared machine they are what an idle one would need.

`--staging N` generates N systems once, then times what the build does with each after the
integration, interleaved over `--repeats` so that both see the same machine load: the path of
store layout 3 as first landed (68f2f47, frozen here: Zarr writes a directory in `.staging`,
its files are packed into the zip, the directory removed) against the current one
(`writer.write_system` into memory, `archive.pack` from memory); both
then fsync and read the zip back (`describe_system`), as the build does. Reported as sums over
the systems, best of the repeats; the same zip bytes either way.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import statistics
import tempfile
import time
import zipfile
from dataclasses import replace
from pathlib import Path

import torch

from chaosdata import list_systems
from chaosdata.store import build, load_preset, open_store
from chaosdata.store.archive import EPOCH, pack
from chaosdata.store.generate import generate_system
from chaosdata.store.layout import BUILD_LOG
from chaosdata.store.report import size
from chaosdata.store.writer import describe_system, write_system


def spread(names: list[str], n: int) -> list[str]:
    """`n` names evenly spaced through `names` (deterministic)."""
    if n >= len(names):
        return names
    step = len(names) / n
    return [names[math.floor(i * step)] for i in range(n)]


def sample_systems(n: int) -> list[str]:
    """About `n` systems, split over the kinds in proportion (at least one of each)."""
    kinds = {k: list_systems(k) for k in ("flow", "delay", "map")}
    total = sum(len(v) for v in kinds.values())
    return sorted(s for k, v in kinds.items() for s in spread(v, max(1, round(n * len(v) / total))))


def measure(preset: str, out: Path, workers: int, systems: list[str] | None, shorten: float = 1.0) -> dict:
    config = load_preset(preset)
    if systems is not None:
        config = replace(config, systems=tuple(systems))
    if shorten != 1:
        config = replace(config, length=config.length / shorten, map_length=max(2, round(config.map_length / shorten)))
    started = time.perf_counter()
    report = build(config, out, workers=workers, progress=False, log=lambda m: None)
    wall = time.perf_counter() - started
    store = open_store(out)
    builds = json.loads((out / BUILD_LOG).read_text())
    rows = store.summary()
    points = sum(shape[0] * shape[1] for r in rows for shape in r["arrays"].values())
    values = sum(shape[0] * shape[1] * shape[2] for r in rows for shape in r["arrays"].values())
    on_disk = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    per_kind: dict[str, dict[str, float]] = {}
    for r in rows:
        b = builds[r["system"]]
        # the transient does not grow with the span; everything else does
        fixed = b["timings_s"].get("transient_s", 0.0) / b["timings_s"]["total_s"]
        grow = fixed + (1 - fixed) * shorten
        k = per_kind.setdefault(r["kind"], {"systems": 0, "seconds": 0.0, "cpu_seconds": 0.0, "bytes": 0})
        k["systems"] += 1
        k["seconds"] += b["seconds"] * grow
        k["cpu_seconds"] += b["cpu_seconds"] * grow
        k["bytes"] += r["bytes"] * shorten
    slowest = sorted(((builds[r["system"]]["cpu_seconds"], r["system"]) for r in rows), reverse=True)[:5]
    files = [r["files"] for r in rows]
    return {
        "preset": preset, "workers": workers, "systems": len(rows), "failed": [r.name for r in report.results
                                                                               if r.status == "failed"],
        "wall_s": wall, "worker_s": sum(b["seconds"] for b in builds.values()),
        "cpu_s": sum(b["cpu_seconds"] for b in builds.values()), "bytes": on_disk,
        "files_per_system": {"min": min(files), "median": statistics.median(files), "max": max(files)},
        "points": points, "values": values, "points_per_s": points / wall,
        "flagged": sum(r["n_invalid"] for r in rows), "per_kind": per_kind,
        "slowest": [(name, round(s, 1)) for s, name in slowest],
    }


def estimate(result: dict, workers: int) -> dict:
    """Scale a sampled build to the whole catalogue, kind by kind."""
    seconds = cpu = bytes_ = 0.0
    for kind, k in result["per_kind"].items():
        n = len(list_systems(kind))
        seconds += k["seconds"] / k["systems"] * n
        cpu += k["cpu_seconds"] / k["systems"] * n
        bytes_ += k["bytes"] / k["systems"] * n
    return {"worker_s": seconds, "wall_s": seconds / workers, "cpu_s": cpu, "idle_wall_s": cpu / workers,
            "bytes": bytes_}


def write_directory_68f2f47(data, config, directory: Path) -> None:
    """The writer of 68f2f47, frozen here as the baseline: Zarr writes the group into a
    directory (the library now writes it into memory)."""
    import warnings

    import numpy as np
    import zarr

    from chaosdata.store.layout import SERIES_DIMS, chunk_shape, compressors, shard_shape, small_compressors
    from chaosdata.store.manifest import data_sha256

    group = zarr.open_group(str(directory), mode="w-", attributes=data.attrs)
    for path in sorted(data.groups, key=lambda p: p.count("/")):
        group.create_group(path, attributes=data.groups[path])
    for path, arr in data.arrays.items():
        values = arr.values
        if arr.dims == SERIES_DIMS:
            chunks = chunk_shape(values.shape, config.storage.chunk_time)
            layout = dict(chunks=chunks, shards=shard_shape(values.shape, chunks, values.dtype.itemsize,
                                                            config.storage.shard_mib << 20),
                          compressors=compressors(config.storage.dtype, config.storage.compression_level),
                          fill_value=np.nan)
        else:
            fill = {"f": np.nan, "b": False, "T": "", "U": ""}.get(values.dtype.kind, 0)
            layout = dict(chunks=values.shape, compressors=small_compressors(), fill_value=fill)
        z = group.create_array(path, shape=values.shape, dtype=values.dtype, dimension_names=arr.dims,
                               attributes={**arr.attrs, "sha256": data_sha256(values)}, **layout)
        z[...] = values
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Consolidated metadata", UserWarning)
        zarr.consolidate_metadata(str(directory))


def stage_in_directory(data, config, staging: Path) -> Path:
    """The staging of 68f2f47: the directory above, its files packed (sorted, stored, fixed
    times), fsynced, the directory removed."""
    directory, packed = staging / f"{data.name}.dir", staging / f"{data.name}.dir.zip"
    write_directory_68f2f47(data, config, directory)
    files = sorted(Path(d, f).relative_to(directory).as_posix() for d, _, fns in os.walk(directory) for f in fns)
    with zipfile.ZipFile(packed, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for rel in files:
            info = zipfile.ZipInfo(rel, date_time=EPOCH)
            info.external_attr = 0o100644 << 16
            with open(directory / rel, "rb") as src, zf.open(info, "w") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    fd = os.open(packed, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    shutil.rmtree(directory)
    return packed


def stage_in_memory(data, config, staging: Path) -> Path:
    from zarr.storage import MemoryStore

    packed, members = staging / f"{data.name}.mem.zip", {}
    write_system(data, config, MemoryStore(store_dict=members))
    pack(members, packed)
    return packed


def compare_staging(n: int, repeats: int) -> dict:
    """Seconds per way of staging (sum over `n` quick systems, best of `repeats`), with the read-back."""
    config = load_preset("quick")
    torch.set_num_threads(1)
    t = time.perf_counter()
    datas = [generate_system(name, config) for name in config.resolved_systems()[:n]]
    generate_s = time.perf_counter() - t
    best = {"directory": math.inf, "memory": math.inf}
    check = {"directory": math.inf, "memory": math.inf}
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(repeats):
            for way, stage in (("directory", stage_in_directory), ("memory", stage_in_memory)):
                staged = read = 0.0
                for data in datas:
                    t0 = time.perf_counter()
                    packed = stage(data, config, Path(tmp))
                    t1 = time.perf_counter()
                    describe_system(packed)
                    staged, read = staged + t1 - t0, read + time.perf_counter() - t1
                    packed.unlink()
                best[way], check[way] = min(best[way], staged), min(check[way], read)
    return {"systems": n, "generate_s": generate_s, "stage_s": best, "read_back_s": check,
            "ratio": best["directory"] / best["memory"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=("quick", "release"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=None, help="build about N systems and extrapolate")
    parser.add_argument("--shorten", type=float, default=1.0, help="build F times shorter spans and scale up")
    parser.add_argument("--out", default=None, help="store directory (default: a temporary one)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--staging", type=int, default=None, help="compare staging ways on N quick systems")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.staging:
        r = compare_staging(args.staging, args.repeats)
        print(json.dumps(r))
        print(f"staging {r['systems']} quick systems (generated in {r['generate_s']:.1f} s): directory "
              f"{r['stage_s']['directory']:.2f} s, memory {r['stage_s']['memory']:.2f} s ({r['ratio']:.1f}x); "
              f"read-back {r['read_back_s']['memory']:.2f} s")
        return

    systems = sample_systems(args.sample) if args.sample else None
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "store"
        r = measure(args.preset, out, args.workers, systems, args.shorten)
    print(f"{args.preset}: {r['systems']} systems with {r['workers']} workers in {r['wall_s']:.0f} s "
          f"({r['worker_s']:.0f} worker-s, {r['cpu_s']:.0f} CPU-s); {size(r['bytes'])} on disk; files per system "
          f"{r['files_per_system']['min']}-{r['files_per_system']['max']} (median {r['files_per_system']['median']})")
    print(f"  {r['points']:,} points ({r['values']:,} values) written, {r['points_per_s']:,.0f} points/s; "
          f"{r['flagged']} flagged trajectories; failed: {r['failed'] or 'none'}")
    if args.shorten != 1:
        print(f"  built {args.shorten:g}x shorter; per-kind figures below are scaled to the full span")
    for kind, k in sorted(r["per_kind"].items()):
        print(f"  {kind:5s}: {k['systems']:3d} systems, {k['seconds'] / k['systems']:.1f} worker-s, "
              f"{k['cpu_seconds'] / k['systems']:.1f} CPU-s and "
              f"{size(k['bytes'] / k['systems'])} per system")
    print(f"  slowest (CPU-s): {', '.join(f'{n} {s}' for n, s in r['slowest'])}")
    if systems is not None:
        est = estimate(r, args.workers)
        r["estimate"] = est
        print(f"  sample: {', '.join(systems)}")
        print(f"  whole catalogue ({len(list_systems())} systems), estimated: {est['wall_s'] / 3600:.1f} h with "
              f"{args.workers} workers as measured ({est['cpu_s'] / 3600:.1f} CPU-h: "
              f"{est['idle_wall_s'] / 3600:.1f} h on {args.workers} idle cores), {size(est['bytes'])}")
    if args.json:
        Path(args.json).write_text(json.dumps(r, indent=1))


if __name__ == "__main__":
    main()
