"""A corpus of perturbed variants built through a 2-worker Dask LocalCluster: throughput, bytes, memory.

    python benchmarks/bench_corpus.py --out /tmp/corpus [--systems all] [--variants 12] [--length 10]

Builds the corpus config below (each flow of `--systems` with `--variants` parameter sets,
every one screened; `--skew` skew products) with `chaosdata.store.build(executor="dask")` on a
`LocalCluster(n_workers=2, threads_per_worker=1, processes=True)`, samples every worker's
resident memory once a second, then prints: variants screened and accepted (acceptance rate
and the rejection reasons), variants per second (screened and accepted), bytes on disk per
accepted variant, files, and the peak memory per worker. The store is verified and opened with
`load_dataset` at the end.
"""

from __future__ import annotations

import argparse
import collections
import json
import threading
import time

from dask.distributed import Client, LocalCluster

from chaosdata import load_dataset
from chaosdata.store import build, open_store
from chaosdata.store.config import parse_config
from chaosdata.systems import get_system, list_systems


def config(systems: list[str], variants: int, length: float, skew: int) -> dict:
    return {
        "name": "corpus-bench", "systems": systems, "seed": 0, "length": length, "transient": 10,
        "map_length": 2, "splits": {"train": 1, "val": 1, "test": 1},
        "granularities": {"fine": {"points": 100}},
        # the Panda corpus's tolerances (rtol 1e-8, atol 1e-10)
        "integrator": {"rtol": 1e-8, "atol": 1e-10},
        "corpus": {"variants": variants, "scale": 0.1, "skew_products": skew, "screen_ics": 4, "screen_periods": 20},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--systems", default="all", help="comma-separated flows, or all (autonomous flows)")
    parser.add_argument("--variants", type=int, default=12)
    parser.add_argument("--length", type=float, default=10, help="periods per trajectory")
    parser.add_argument("--skew", type=int, default=0, help="skew products")
    args = parser.parse_args()
    systems = ([n for n in list_systems("flow") if not get_system(n).nonautonomous] if args.systems == "all"
               else args.systems.split(","))
    cfg = parse_config(config(systems, args.variants, args.length, args.skew), "bench_corpus")
    peaks: dict[str, int] = collections.defaultdict(int)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cluster, \
            Client(cluster) as client:
        done = threading.Event()

        def sample() -> None:
            import psutil

            while not done.wait(1.0):
                try:
                    for worker, rss in client.run(lambda: psutil.Process().memory_info().rss).items():
                        peaks[worker] = max(peaks[worker], rss)
                except Exception:  # noqa: BLE001 - a worker restarting between samples
                    pass

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        started = time.perf_counter()
        report = build(cfg, args.out, executor="dask", scheduler=cluster.scheduler_address, progress=True)
        wall = time.perf_counter() - started
        done.set()
        sampler.join()
    store = open_store(args.out)
    screened = accepted = 0
    reasons: collections.Counter = collections.Counter()
    for name in store.systems:
        corpus = store.attrs(name)["corpus"]
        screened += corpus["n_variants"]
        accepted += corpus["n_accepted"]
        reasons.update(v["reason"].split(" (")[0] for v in corpus["variants"] if not v["accepted"])
    files = len(store.manifest["systems"])  # one file per group (chaosdata-store/3)
    size = sum(e["bytes"] for e in store.manifest["systems"].values())
    failed = [r.name for r in report.results if r.status == "failed"]
    print(json.dumps({
        "groups": len(store.systems), "failed_groups": failed, "variants_screened": screened,
        "variants_accepted": accepted, "acceptance": accepted / max(screened, 1), "rejections": dict(reasons),
        "wall_s": round(wall, 1), "screened_per_s": round(screened / wall, 3), "accepted_per_s": round(accepted / wall, 3),
        "bytes": size, "bytes_per_accepted_variant": round(size / max(accepted, 1)), "files": files,
        "files_per_group": round(files / max(len(store.systems), 1), 1),
        "peak_rss_per_worker_MiB": {w: round(v / 2**20) for w, v in peaks.items()},
        "verify_ok": store.verify().ok,
    }, indent=1))
    ds = load_dataset(store.systems[:3], source=args.out, context_length=64, horizon=16)
    print(f"load_dataset over {ds.systems}: {len(ds)} windows")


if __name__ == "__main__":
    main()
