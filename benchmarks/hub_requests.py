"""Requests per endpoint that each read of a staged release makes through the real Hugging Face
clients, served by the loopback Hub (chaosdata/publish/loopback.py). Each read runs in its own
process with an empty HF_HOME (nothing cached), HF_ENDPOINT set before huggingface_hub is imported.

    chaosdata publish STORE --repo-id o/n --dry-run staged/x       # stage a store first
    python benchmarks/hub_requests.py staged/x --system Lorenz --granularity fine
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

READS = ("datasets.load_dataset", "xarray.open_zarr(zip::hf://)", "HfFileSystem.find", "chaosdata.load_dataset")


def read(name: str, repo: str, system: str, granularity: str, cache: str) -> None:
    """One read, as a user writes it."""
    if name == "datasets.load_dataset":
        import datasets

        datasets.load_dataset(repo, f"{system}_{granularity}", cache_dir=cache)
    elif name == "xarray.open_zarr(zip::hf://)":
        import xarray as xr

        xr.open_zarr(f"zip::hf://datasets/{repo}/{system}.zip", group=f"{granularity}/train")["series"].values
    elif name == "HfFileSystem.find":
        from huggingface_hub import HfFileSystem

        HfFileSystem().find(f"datasets/{repo}")
    else:
        import chaosdata

        chaosdata.load_dataset(system, source=chaosdata.Source(repo, cache_dir=cache), granularity=granularity,
                               context_length=16, horizon=4)


def measure(staged: str, name: str, repo: str, system: str, granularity: str) -> dict:
    """Serve `staged`, run `read` in this process (HF_ENDPOINT is set first), return the counts."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{sock.getsockname()[1]}"
    home = tempfile.mkdtemp(prefix="hub-requests-")
    os.environ["HF_HOME"] = home
    from chaosdata.publish.loopback import LoopbackHub

    with LoopbackHub(home, sock=sock) as hub:
        hub.serve(repo, staged)
        t0 = time.perf_counter()
        read(name, repo, system, granularity, os.path.join(home, "cache"))
        seconds = time.perf_counter() - t0
        counts = {k: v for k, v in hub.counts.items() if k != "unknown"}  # /api/agent-harnesses: the client's own
    return {"read": name, "requests": sum(counts.values()), "per_endpoint": counts, "seconds": round(seconds, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("staged", help="a staged repo folder")
    parser.add_argument("--repo-id", default="owner/name")
    parser.add_argument("--system", default="Lorenz")
    parser.add_argument("--granularity", default="fine")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one read in this process
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.staged, args.one, args.repo_id, args.system, args.granularity)))
        return
    files = sum(len(f) for _, _, f in os.walk(args.staged))
    print(f"{args.staged}: {files} files; {args.system} {args.granularity}")
    for name in READS:
        out = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--one", name], capture_output=True,
                             text=True, check=True).stdout.strip().splitlines()[-1]
        row = json.loads(out)
        per = ", ".join(f"{k} {v}" for k, v in sorted(row["per_endpoint"].items()))
        print(f"| {name} | {row['requests']} | {per} | {row['seconds']} s |")


if __name__ == "__main__":
    main()
