"""Store build: time, size, files per system and throughput of a preset, and a release estimate.

    python benchmarks/bench_generate.py                       # the quick preset, 2 workers
    python benchmarks/bench_generate.py --preset release --sample 8 --shorten 10

`--sample N` builds only N systems, spread evenly over each kind of the sorted catalogue (no
random draw), and scales per kind to the whole catalogue: per-system worker seconds and bytes
times the number of systems of that kind. Wall time is then estimated as worker seconds over
workers. `--shorten F` builds spans F times shorter (`length`, `map_length`) and scales each
system's recorded part (time and bytes) back up by F, keeping its transient as measured: steps,
and so time, grow in proportion to the span. Points are time samples of one trajectory
(each `dim` values). CPU seconds are
reported beside wall seconds: on a shared machine they are what an idle one would need.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from chaosdata import list_systems
from chaosdata.store import build, load_preset, open_store
from chaosdata.store.layout import BUILD_LOG
from chaosdata.store.report import size


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--preset", default="quick", choices=("quick", "release"))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=None, help="build about N systems and extrapolate")
    parser.add_argument("--shorten", type=float, default=1.0, help="build F times shorter spans and scale up")
    parser.add_argument("--out", default=None, help="store directory (default: a temporary one)")
    parser.add_argument("--json", default=None, help="also write the figures here")
    args = parser.parse_args()

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
