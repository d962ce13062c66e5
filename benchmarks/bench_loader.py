"""Loader throughput: windows per second from a sharded store against the practical limit.

Builds (once, reused from `--store` while its config is the same) a Lorenz store of 32/8/8
trajectories of `--periods` periods at 100 points per period, and its Parquet export. Then
iterates a `DataLoader` (batch 256, context 512, horizon 64, stride 64, shuffled) over every
training window, three ways, each fetched a batch at a time (`__getitems__`):

- store: `chaosdata.load_dataset` (a fresh dataset per run: its first epoch reads the store
  cold, later ones hit the per-process block cache);
- memory (the practical limit): the same windows gathered with numpy fancy indexing from one
  in-memory array of the normalized split;
- datasets: the same windows read with `datasets` from the Parquet export (memory-mapped Arrow,
  the rows a batch touches read per batch, normalized like the store's).

Each way runs with 0 and 2 workers (persistent; the first epoch includes starting them), all
three interleaved `--repeats` times so that a busy machine slows them alike. Prints windows/s
per epoch (median over repeats) and the ratios store/memory and store/datasets (min-max over
repeats), the time to the first batch, and the peak Python-allocated memory while reading.
First, what a cold first epoch pays on top of a warm one, step by step (open, read and decode,
normalize; `cold steps`).

    python benchmarks/bench_loader.py [--store /tmp/chaosdata-bench-store] [--periods 100]
        [--chunk-time 16384] [--stride 64] [--repeats 3] [--hub]

`--hub` compares instead the store streamed from a loopback Hub (`chaosdata.publish.loopback` on
127.0.0.1, through the real huggingface_hub client; `source="owner/name"`) with the same store
read from local disk: first epoch with an empty range cache (cold), with the cache a previous
run filled (warm: a restart), and later epochs; ratios hub/local (min-max over repeats), and
the Hub requests and bytes of a cold run.
"""

from __future__ import annotations

import argparse
import shutil
import time
import tracemalloc
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from chaosdata import Source, load_dataset
from chaosdata.store import StoreError, build, load_preset, open_store
from chaosdata.store.config import parse_config

CONTEXT, HORIZON = 512, 64


def windows_view(data: np.ndarray, width: int) -> np.ndarray:
    """Every window of `data [N, T, dim]` as a strided view `[N, T - width + 1, width, dim]`."""
    n, t, d = data.shape
    s0, s1, s2 = data.strides
    return np.lib.stride_tricks.as_strided(data, (n, t - width + 1, width, d), (s0, s1, s1, s2), writeable=False)


def as_items(windows: np.ndarray) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """`(context, target)` items of a batch of windows `[B, width, dim]`, as `__getitems__` returns them."""
    w = torch.from_numpy(windows)
    return list(zip(w[:, :CONTEXT].unbind(0), w[:, CONTEXT:].unbind(0), strict=True))


class InMemory(Dataset):
    """The practical limit: the same windows gathered in batches from one numpy array `[N, T, dim]`."""

    def __init__(self, data: np.ndarray, stride: int):
        self.data, self.stride = data, stride
        self.view = windows_view(data, CONTEXT + HORIZON)
        self.per_row = (data.shape[1] - CONTEXT - HORIZON) // stride + 1

    def __len__(self) -> int:
        return self.data.shape[0] * self.per_row

    def __getitems__(self, indices: Sequence[int]) -> list:
        row, j = np.divmod(np.asarray(indices), self.per_row)
        return as_items(self.view[row, j * self.stride])


class FromParquet(Dataset):
    """The same windows read with `datasets` from the Parquet export: per batch, the rows it
    touches (`Array2D` series as numpy), windows cut and normalized like the store's."""

    def __init__(self, table, mean: np.ndarray, std: np.ndarray, n_time: int, stride: int):
        self.table, self.mean, self.std, self.stride = table.with_format("numpy"), mean, std, stride
        self.per_row = (n_time - CONTEXT - HORIZON) // stride + 1

    def __len__(self) -> int:
        return len(self.table) * self.per_row

    def __getitems__(self, indices: Sequence[int]) -> list:
        row, j = np.divmod(np.asarray(indices), self.per_row)
        rows, inverse = np.unique(row, return_inverse=True)
        series = np.asarray(self.table[rows.tolist()]["series"])  # [rows, T, dim] float32
        raw = windows_view(series, CONTEXT + HORIZON)[inverse, j * self.stride]
        return as_items(((raw.astype(np.float64) - self.mean) / self.std).astype(np.float32))


def rate(dataset: Dataset, workers: int, batch: int, epochs: int) -> tuple[list[float], float]:
    """(windows per second of each epoch, seconds to the first batch); workers persist across epochs."""
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers,
                        generator=torch.Generator().manual_seed(0), persistent_workers=workers > 0)
    rates, first = [], None
    for _ in range(epochs):
        start = time.perf_counter()
        n = 0
        for context, _ in loader:
            first = first or time.perf_counter() - start
            n += context.shape[0]
        rates.append(n / (time.perf_counter() - start))
    return rates, first


def ready_store(path: Path, periods: float, chunk_time: int) -> None:
    """Build the benchmark's store at `path`, or reuse the one there if its config is the same."""
    raw = load_preset("quick").to_dict()
    raw.update(name="bench-loader", systems=["Lorenz"], length=periods, splits={"train": 32, "val": 8, "test": 8},
               granularities={"fine": {"timescale": "period", "points": 100}},
               integrator={"rtol": 1e-9, "atol": 1e-9})
    raw["storage"] = {**raw.get("storage", {}), "chunk_time": chunk_time}
    config = parse_config(raw, "bench_loader")
    try:  # others change the code meanwhile; the stored bytes of this config would not
        store = open_store(path)
        if store.manifest["config_hash"] == config.config_hash and store.array("Lorenz", "fine", "train").shape:
            return
        stale = store.config.name == "bench-loader"
    except StoreError as error:  # e.g. an older layout: rebuilt if it is this benchmark's
        stale = "bench-loader" in (path / "manifest.json").read_text() if (path / "manifest.json").exists() else False
        if not stale and path.exists():
            raise StoreError(f"{path} holds something else than this benchmark's store; pass another --store") from error
    if stale:
        shutil.rmtree(path)
        shutil.rmtree(parquet_folder(path), ignore_errors=True)
    build(config, path, progress=False, log=lambda m: None)


def parquet_folder(store: Path) -> Path:
    return store.with_name(store.name + "-parquet")


def ready_parquet(store: Path, out: Path):
    """The store's Parquet export (written once) opened with `datasets`."""
    import datasets

    from chaosdata.export import export_parquet

    files = sorted((out / "data/Lorenz/fine").glob("train-*.parquet"))
    if not files:
        export_parquet(store, out, ["Lorenz"])
        files = sorted((out / "data/Lorenz/fine").glob("train-*.parquet"))
    return datasets.load_dataset("parquet", data_files={"train": [str(f) for f in files]}, split="train",
                                 cache_dir=str(out / "hf-cache"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", type=Path, default=Path("/tmp/chaosdata-bench-store"))
    parser.add_argument("--periods", type=float, default=100)
    parser.add_argument("--chunk-time", type=int, default=16384,
                        help="time points per stored chunk (the presets': 16384, a whole trajectory here)")
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--stride", type=int, default=None,
                        help="time steps between windows (default: load_dataset's, 64); it sets how many windows "
                             "hold each stored point, so the share of a first epoch spent decoding")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--hub", action="store_true", help="streamed from a loopback Hub against local disk")
    args = parser.parse_args()
    start = time.perf_counter()
    ready_store(args.store, args.periods, args.chunk_time)
    if args.hub:
        return hub_mode(args)
    hf = ready_parquet(args.store, parquet_folder(args.store))
    print(f"store and Parquet ready in {time.perf_counter() - start:.1f} s at {args.store}")

    def store() -> Dataset:
        stride = {} if args.stride is None else {"stride": args.stride}
        return load_dataset("Lorenz", source=args.store, context_length=CONTEXT, horizon=HORIZON, **stride)

    start = time.perf_counter()
    ds = store()
    next(iter(DataLoader(ds, batch_size=args.batch, shuffle=True)))
    first_total = time.perf_counter() - start
    chunks = open_store(args.store).array("Lorenz", "fine", "train").chunks
    memory = InMemory(ds.trajectories().numpy(), ds.stride)
    parquet = FromParquet(hf, ds.normalizer.mean["Lorenz"], ds.normalizer.std["Lorenz"], memory.data.shape[1], ds.stride)
    probe = list(np.random.default_rng(0).permutation(len(ds))[: args.batch])
    for other in (memory, parquet):  # the three ways give the same windows
        pairs = zip(ds.__getitems__(probe), other.__getitems__(probe), strict=True)
        assert len(other) == len(ds) and all(torch.equal(a, b) for x, y in pairs for a, b in zip(x, y, strict=True))
    print(f"{len(ds)} windows of {CONTEXT} + {HORIZON} points, stored chunks {chunks}, batch {args.batch}; "
          f"first batch {first_total:.2f} s after calling load_dataset")

    cold_steps(store, args.batch, args.repeats)

    ways: dict[str, Callable[[], Dataset]] = {"store": store, "memory": lambda: memory, "datasets": lambda: parquet}
    for workers in (0, 2):
        runs = {name: [] for name in ways}  # per repeat: (rates per epoch, first batch)
        for _ in range(args.repeats):
            for name, make in ways.items():
                runs[name].append(rate(make(), workers, args.batch, args.epochs))
        report(workers, runs)
    tracemalloc.start()
    rate(store(), 0, args.batch, epochs=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory reading the store (0 workers): {peak / 2**20:.1f} MiB; the split in memory: "
          f"{memory.data.nbytes / 2**20:.1f} MiB")


def cold_steps(store: Callable[[], Dataset], batch: int, repeats: int) -> None:
    """What the first epoch pays on top of a warm one, step by step, in a fresh dataset each time:
    opening the array, reading and decoding the split, normalizing it (min-max over `repeats`)."""
    steps: dict[str, list[float]] = {"open": [], "read and decode": [], "normalize": [], "warm epoch": []}
    for _ in range(repeats):
        ds = store()
        t0 = time.perf_counter()
        array = ds._array(0)
        t1 = time.perf_counter()
        raw = array[:, :]
        t2 = time.perf_counter()
        ds._transform(0, raw, fresh=True)  # a store read, as `_load_block` makes it
        t3 = time.perf_counter()
        rate(ds, 0, batch, 1)  # fills the cache; the next epoch is warm
        t4 = time.perf_counter()
        rate(ds, 0, batch, 1)
        for name, seconds in zip(steps, (t1 - t0, t2 - t1, t3 - t2, time.perf_counter() - t4), strict=True):
            steps[name].append(seconds * 1e3)
    print("cold steps, ms (min-max of %d): " % repeats
          + ", ".join(f"{name} {min(v):.1f}-{max(v):.1f}" for name, v in steps.items()))


def hub_mode(args: argparse.Namespace) -> None:
    """The store streamed from a loopback Hub against the same store on local disk (see --hub)."""
    import os
    import socket
    import tempfile

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{sock.getsockname()[1]}"  # before huggingface_hub is imported
    os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="bench-loader-hf-home-")
    from chaosdata.publish.loopback import LoopbackHub

    scratch = Path(tempfile.mkdtemp(prefix="bench-loader-hub-"))
    size = sum(f.stat().st_size for f in args.store.glob("*.zip"))
    with LoopbackHub(scratch / "repos", sock=sock) as hub:
        hub.serve("bench/loader", args.store)

        def dataset(source: Path | str, cache: Path | None = None) -> Dataset:
            return load_dataset("Lorenz", source=Source(source, cache_dir=cache), context_length=CONTEXT,
                                horizon=HORIZON)

        for workers in (0, 2):
            runs: dict[str, list[list[float]]] = {"local": [], "cold": [], "warm": []}
            for r in range(args.repeats):
                cache = scratch / f"cache-{workers}-{r}"
                runs["local"].append(rate(dataset(args.store), workers, args.batch, args.epochs)[0])
                hub.counts.clear()
                runs["cold"].append(rate(dataset("bench/loader", cache), workers, args.batch, args.epochs)[0])
                counts = {k: v for k, v in sorted(hub.counts.items()) if k != "unknown"}
                fetched = sum(p.stat().st_size for p in cache.rglob("ranges/*/*"))
                runs["warm"].append(rate(dataset("bench/loader", cache), workers, args.batch, 1)[0])
            first = {name: np.array([rates[0] for rates in runs[name]]) for name in runs}
            later = np.array([np.mean(r[1:]) for r in runs["cold"]]) / np.array([np.mean(r[1:]) for r in runs["local"]])
            print(f"\n{workers} workers (windows/s, median of {args.repeats}): first epoch local "
                  f"{np.median(first['local']):.0f}, hub cold {np.median(first['cold']):.0f}, hub warm "
                  f"{np.median(first['warm']):.0f}")
            for name in ("cold", "warm"):
                ratio = first[name] / first["local"]
                print(f"  hub {name}/local first epoch {ratio.min():.2f}-{ratio.max():.2f}")
            print(f"  hub/local later epochs {later.min():.2f}-{later.max():.2f}")
            print(f"  requests of the last cold run: {counts}; {fetched / 2**20:.1f} MiB fetched of "
                  f"{size / 2**20:.1f} MiB in the store's zips")


def report(workers: int, runs: dict[str, list[tuple[list[float], float]]]) -> None:
    """Median windows/s per way for the first and the later epochs; ratios of the store's (min-max over repeats)."""
    def per_epoch(name: str, later: bool) -> np.ndarray:  # one rate per repeat (later epochs: the best)
        return np.array([max(r[1:]) if later else r[0] for r, _ in runs[name]])

    print(f"\n{workers} workers: {'epoch':>6s} {'store':>9s} {'memory':>9s} {'datasets':>9s}  "
          f"{'store/memory':>20s} {'store/datasets':>20s}   (windows/s and ratios: median of {len(runs['store'])} "
          "repeats, (min-max))")
    for later, label in ((False, "1"), (True, "later")):
        s, m, d = (per_epoch(name, later) for name in ("store", "memory", "datasets"))
        rm, rd = s / m, s / d
        print(f"{'':>11s}{label:>6s} {np.median(s):9.0f} {np.median(m):9.0f} {np.median(d):9.0f}  "
              f"{np.median(rm):6.3f} ({rm.min():.2f}-{rm.max():.2f})  {np.median(rd):6.2f} ({rd.min():.2f}-{rd.max():.2f})")
    firsts = [first for _, first in runs["store"]]
    print(f"{'':>11s}store's first batch {min(firsts):.2f}-{max(firsts):.2f} s from iterating the DataLoader")


if __name__ == "__main__":
    main()
