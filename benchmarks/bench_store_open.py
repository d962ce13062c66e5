"""Opening a store as outside tools and training code do: metadata files read, first-batch time.

1. Files (keys) read by `xarray.open_zarr(store, group="Lorenz/fine/train")` from a cold
   store, with the root's consolidated metadata and without it (what the store had before v2
   offered: one `zarr.json` per node; the v1 layout could not be opened per split at all).
2. `load_dataset(...)` up to its first batch: with the normalization stored at build time
   (v2) against scanning the train split first (what `load_dataset` did before v2), same
   process, same store.

    python benchmarks/bench_store_open.py [--store DIR] [--train 32] [--length 100]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr
import zarr
from torch.utils.data import DataLoader

import chaosdata.loader as loader
from chaosdata import load_dataset
from chaosdata.store import build, load_preset
from chaosdata.store.config import parse_config
from chaosdata.windows import fit_statistics


class CountingStore(zarr.storage.LocalStore):
    """A local store that records every key read, as an HTTP store would fetch them."""

    async def get(self, key, prototype, byte_range=None):
        self.reads.append(key)
        return await super().get(key, prototype, byte_range)


def keys_read(root: Path, group: str | None, consolidated: bool) -> list[str]:
    store = CountingStore(root, read_only=True)
    store.reads = []
    ds = xr.open_zarr(store, consolidated=consolidated, zarr_format=3, **({"group": group} if group else {}))
    ds.close()
    return store.reads


def first_batch(store: Path, system: str, scan: bool) -> float:
    """Seconds from `load_dataset` to the first batch of 256 windows."""
    real = loader._stored_statistics
    if scan:  # the pre-v2 path: statistics from a pass over the train split
        loader._stored_statistics = lambda s, name, g: fit_statistics(
            loader._series(s, name, g, "train", False))
    try:
        t0 = time.perf_counter()
        ds = load_dataset(system, source=store, context_length=512, horizon=64, stride=64)
        next(iter(DataLoader(ds, batch_size=256, shuffle=True)))
        return time.perf_counter() - t0
    finally:
        loader._stored_statistics = real


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=None, help="an existing store (default: build Lorenz in a temp dir)")
    parser.add_argument("--train", type=int, default=32, help="train trajectories of the built store")
    parser.add_argument("--length", type=float, default=100, help="periods per trajectory of the built store")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    store = Path(args.store) if args.store else Path(tmp.name) / "store"
    if args.store is None:
        raw = load_preset("release").to_dict()
        raw.update(name="bench", systems=["Lorenz"], length=args.length,
                   splits={"train": args.train, "val": 8, "test": 8})
        t0 = time.perf_counter()
        build(parse_config(raw), store, progress=False, log=lambda m: None)
        print(f"built Lorenz ({args.train} train trajectories, {args.length:g} periods) in "
              f"{time.perf_counter() - t0:.1f} s")
    for root, group, consolidated in ((store, "Lorenz/fine/train", False), (store, "Lorenz/fine/train", True),
                                      (store / "Lorenz" / "fine" / "train", None, True)):
        keys = keys_read(root, group, consolidated)
        meta = [k for k in keys if k.endswith("zarr.json")]
        size = sum((root / k).stat().st_size for k in keys)
        how = f"open_zarr(store, group={group!r})" if group else "open_zarr(store/Lorenz/fine/train)"
        print(f"{how}, consolidated={consolidated}: {len(keys)} keys read, {size / 1024:.1f} KiB "
              f"({len(meta)} metadata documents, {len(keys) - len(meta)} chunks of coordinates)")
    stored = [first_batch(store, "Lorenz", scan=False) for _ in range(args.repeats)]
    scanned = [first_batch(store, "Lorenz", scan=True) for _ in range(args.repeats)]
    print(f"load_dataset -> first batch of 256 windows (best of {args.repeats}): stored statistics "
          f"{min(stored):.3f} s, scan of the train split {min(scanned):.3f} s, "
          f"ratio {min(scanned) / min(stored):.1f}x (medians {np.median(stored):.3f} / {np.median(scanned):.3f} s)")


if __name__ == "__main__":
    main()
