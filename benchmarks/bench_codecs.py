"""The series' Blosc codec: stored size and decode time of each candidate over a store's series chunks.

Reads every inner chunk of every `*/series` shard in the store's system zips (decoded with the
codec they were written with), re-encodes each with Blosc zstd and LZ4HC (byte shuffle, the
array's item size) and reports the total stored MiB, encode and decode seconds, and the systems
where the two differ most in size. Also times, on one shard, what a whole-shard read pays besides
decoding: zipfile's read (with its CRC-32 pass), the CRC-32 alone, the CRC32C of the chunks.

    python benchmarks/bench_codecs.py --store /tmp/mrun2/staged/quick [--shard Lorenz.zip:fine/train/series/c/0/0/0]
"""

from __future__ import annotations

import argparse
import json
import time
import zipfile
import zlib
from pathlib import Path

import google_crc32c
import numpy as np
from numcodecs import blosc

CANDIDATES = {"zstd 5": ("zstd", 5), "lz4hc 5": ("lz4hc", 5)}
EMPTY = 2**64 - 1


def inner_chunks(zf: zipfile.ZipFile, member: str, meta: dict) -> list[np.ndarray]:
    """The compressed inner chunks (CRC32C removed) of shard `member`, from its index."""
    data = np.frombuffer(zf.read(member), np.uint8)
    codec = meta["codecs"][0]["configuration"]
    n = int(np.prod([s // c for s, c in zip(meta["chunk_grid"]["configuration"]["chunk_shape"],
                                            codec["chunk_shape"], strict=True)]))
    spans = np.frombuffer(data[len(data) - 16 * n - 4: -4].tobytes(), "<u8").reshape(n, 2).tolist()
    return [data[o: o + length - 4] for o, length in spans if o != EMPTY]


def sweep(store: Path) -> None:
    size = dict.fromkeys(CANDIDATES, 0)
    enc, dec = dict.fromkeys(CANDIDATES, 0.0), dict.fromkeys(CANDIDATES, 0.0)
    raw_bytes, per_system = 0, {}
    for path in sorted(store.glob("*.zip")):
        with zipfile.ZipFile(path) as zf:
            meta = json.loads(zf.read("zarr.json"))["consolidated_metadata"]["metadata"]
            mine = dict.fromkeys(CANDIDATES, 0)
            for member in (m for m in zf.namelist() if "/series/c/" in m):
                array = meta[member.split("/c/")[0]]
                dtype = np.dtype(array["data_type"])
                for chunk in inner_chunks(zf, member, array):
                    values = np.frombuffer(blosc.decompress(chunk), dtype)
                    raw_bytes += values.nbytes
                    for name, (cname, level) in CANDIDATES.items():
                        t0 = time.perf_counter()
                        encoded = blosc.compress(values, cname.encode(), level, blosc.SHUFFLE)
                        t1 = time.perf_counter()
                        blosc.decompress(encoded)
                        dec[name] += time.perf_counter() - t1
                        enc[name] += t1 - t0
                        size[name] += len(encoded)
                        mine[name] += len(encoded)
        if mine["zstd 5"]:
            per_system[path.stem] = mine["lz4hc 5"] / mine["zstd 5"]
    print(f"series of {len(per_system)} systems, {raw_bytes / 2**20:.2f} MiB raw")
    for name in CANDIDATES:
        print(f"  {name}: {size[name] / 2**20:.2f} MiB stored, encode {enc[name]:.2f} s, decode {dec[name] * 1e3:.1f} ms")
    ranked = sorted(per_system.items(), key=lambda kv: kv[1])
    print("  lz4hc / zstd size, smallest:", [(k, round(v, 3)) for k, v in ranked[:3]],
          "largest:", [(k, round(v, 3)) for k, v in ranked[-3:]])


def best_ms(fn, repeats: int = 20) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times) * 1e3


def read_costs(store: Path, shard: str) -> None:
    file, member = shard.split(":", 1)
    with zipfile.ZipFile(store / file) as zf:
        data = zf.read(member)
        meta = json.loads(zf.read("zarr.json"))["consolidated_metadata"]["metadata"][member.split("/c/")[0]]
        chunks = inner_chunks(zf, member, meta)
        print(f"{shard}: {len(data) / 2**20:.2f} MiB, {len(chunks)} inner chunks; best of 20, ms: "
              f"zipfile read {best_ms(lambda: zf.read(member)):.2f}, its CRC-32 {best_ms(lambda: zlib.crc32(data)):.2f}, "
              f"CRC32C of the chunks {best_ms(lambda: [google_crc32c.value(c) for c in chunks]):.2f}, "
              f"Blosc decode {best_ms(lambda: [blosc.decompress(c) for c in chunks]):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--store", type=Path, required=True, help="a store folder of system zips")
    parser.add_argument("--shard", default="Lorenz.zip:fine/train/series/c/0/0/0", help="zip:member timed alone")
    args = parser.parse_args()
    sweep(args.store)
    read_costs(args.store, args.shard)


if __name__ == "__main__":
    main()
