"""Loader throughput: windows per second from a sharded store against an in-memory array.

Builds (once, cached in `--store`) a Lorenz store of 32/8/8 trajectories of `--periods`
periods at 100 points per period, then iterates a `DataLoader` (batch 256, context 512,
horizon 64, shuffled) over every training window, from the store through `load_dataset` and
from the same data held in one numpy array (the practical limit), with 0 and 2 workers.
Prints windows/s per epoch (the first reads the store cold; later ones hit the per-worker
block cache), the ratio, time to first batch (also counted from calling `load_dataset`) and
the peak Python-allocated memory while reading (tracemalloc, main process, 0 workers).

    python benchmarks/bench_loader.py [--store /tmp/chaosdata-bench-store] [--periods 100]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from chaosdata import load_dataset
from chaosdata.store import build, load_preset
from chaosdata.store.config import parse_config


class InMemory(Dataset):
    """The same windows gathered from one numpy array `[N, T, dim]` (already normalized)."""

    def __init__(self, data: np.ndarray, context: int, horizon: int, stride: int):
        self.data, self.context, self.horizon = data, context, horizon
        self.per_row = (data.shape[1] - context - horizon) // stride + 1
        self.stride = stride

    def __len__(self) -> int:
        return self.data.shape[0] * self.per_row

    def __getitem__(self, i: int):
        row, j = divmod(i, self.per_row)
        w = torch.from_numpy(self.data[row, j * self.stride: j * self.stride + self.context + self.horizon])
        return w[: self.context], w[self.context:]


def rate(dataset, workers: int, batch: int, epochs: int = 2) -> tuple[list[float], float]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default="/tmp/chaosdata-bench-store")
    parser.add_argument("--periods", type=float, default=100)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    raw = load_preset("quick").to_dict()
    raw.update(name="bench-loader", systems=["Lorenz"], length=args.periods, splits={"train": 32, "val": 8, "test": 8},
               granularities={"fine": {"timescale": "period", "points": 100}},
               integrator={"rtol": 1e-9, "atol": 1e-9})
    config = parse_config(raw, "bench_loader")
    start = time.perf_counter()
    build(config, args.store, progress=False, log=lambda m: None)
    print(f"store ready in {time.perf_counter() - start:.1f} s at {args.store}")

    kw = dict(source=args.store, context_length=512, horizon=64)
    start = time.perf_counter()
    ds = load_dataset("Lorenz", **kw)
    next(iter(DataLoader(ds, batch_size=args.batch, shuffle=True)))
    first_total = time.perf_counter() - start
    memory = InMemory(ds.trajectories().numpy(), 512, 64, ds.stride)
    assert len(memory) == len(ds)
    print(f"{len(ds)} windows of 512 + 64 points, batch {args.batch}; first batch {first_total:.2f} s "
          "after calling load_dataset")
    print(f"{'workers':>7s} {'epoch':>5s} {'store win/s':>12s} {'memory win/s':>13s} {'ratio':>6s}")
    for workers in (0, 2):
        store_rates, store_first = rate(load_dataset("Lorenz", **kw), workers, args.batch)
        mem_rates, _ = rate(memory, workers, args.batch)
        for epoch, (a, b) in enumerate(zip(store_rates, mem_rates), 1):
            print(f"{workers:7d} {epoch:5d} {a:12.0f} {b:13.0f} {a / b:6.2f}"
                  + (f"   (first batch {store_first:.2f} s)" if epoch == 1 else ""))
    tracemalloc.start()
    rate(load_dataset("Lorenz", **kw), 0, args.batch, epochs=1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak traced memory reading the store (0 workers): {peak / 2**20:.1f} MiB; the split in memory: "
          f"{memory.data.nbytes / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
