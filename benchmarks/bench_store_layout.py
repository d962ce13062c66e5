"""The store's layout (chaosdata-store/3: one zip per system) measured: files, metadata bytes,
opening time at corpus scale, and the data checksums against a store of the earlier layout.

    python benchmarks/bench_store_layout.py count STORE            # files, bytes, metadata share
    python benchmarks/bench_store_layout.py compare OLD_V2 NEW_V3  # decoded-data SHA-256, array by array
    python benchmarks/bench_store_layout.py scale STORE --groups 200 2000 20000

`scale` lays out a corpus-sized store from one system of STORE: its zip hard-linked under N
group names (`<Driver>__<Response>`, no bytes copied, so 20,000 groups cost nothing on disk),
each recorded in the manifest as a build records it (`manifest.record_system`, `write_manifest`),
so the files and metadata are those of N real groups. It then times opening one split and
reading 512 points of it, in a fresh process each time (imports excluded, best of 3): locally
(`open_store`), and over a loopback Hub (`chaosdata.publish.loopback`) serving the folder, as a
user reads it: `manifest.json`, then `zip::hf://.../<group>.zip` through zarr, counting requests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from chaosdata.store import open_store
from chaosdata.store.layout import MANIFEST, system_file
from chaosdata.store.manifest import read_manifest, record_system, write_manifest

REPO = "owner/corpus"


def count(root: Path) -> dict:
    """Files and bytes of a store; metadata = JSON documents (root files and every zarr.json member)."""
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]
    total = sum(p.stat().st_size for p in files)
    meta = 0
    for p in files:
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as zf:
                meta += sum(i.compress_size + 30 + len(i.filename) for i in zf.infolist()
                            if i.filename.endswith("zarr.json"))
                meta += p.stat().st_size - sum(i.compress_size + 30 + len(i.filename) for i in zf.infolist())
        elif p.suffix == ".json" or p.name == "zarr.json":
            meta += p.stat().st_size
    largest = max(files, key=lambda p: p.stat().st_size if p.suffix == ".json" or p.name == "zarr.json" else -1)
    return {"files": len(files), "bytes": total, "metadata_bytes": meta, "metadata_share": round(meta / total, 4),
            "largest_json": str(largest.relative_to(root)), "largest_json_bytes": largest.stat().st_size}


def compare(old: Path, new: Path) -> dict:
    """Per array: the SHA-256 of its decoded values in the old manifest against the new zip's."""
    old_manifest = json.loads((old / MANIFEST).read_text())
    store = open_store(new)
    same, differ, arrays = 0, [], 0
    common = sorted(set(old_manifest["systems"]) & set(store.systems))
    for name in common:
        new_entries = store.array_entries(name)
        for path, entry in old_manifest["systems"][name]["arrays"].items():
            arrays += 1
            if new_entries.get(path, {}).get("sha256") == entry["sha256"]:
                same += 1
            else:
                differ.append(f"{name}/{path}")
    return {"systems": len(common), "arrays": arrays, "same_sha256": same, "different": differ[:10]}


def scale(source: Path, groups: int, work: Path, system: str) -> Path:
    """A store of `groups` hard links to `system`'s file, each recorded in the manifest."""
    out = work / f"corpus{groups}"
    out.mkdir(parents=True)
    manifest = read_manifest(source)
    entry = manifest["systems"][system]
    manifest["systems"] = {}
    for i in range(groups):
        name = group_name(i)
        os.link(source / system_file(system), out / system_file(name))
        record_system(manifest, name, dict(entry))
    write_manifest(out, manifest)
    return out


def group_name(i: int) -> str:
    return f"Driver{i // 100:03d}__Response{i:05d}"


OPEN_LOCAL = """
t = time.perf_counter()
from chaosdata.store import open_store
s = open_store(sys.argv[1])
w = s.array(sys.argv[2], "fine", "train")[0, :512]
print(time.perf_counter() - t)
"""
OPEN_HUB = """
t = time.perf_counter()
fs = HfFileSystem()
manifest = json.loads(fs.cat_file(f"datasets/{sys.argv[1]}/manifest.json"))
assert sys.argv[2] in manifest["systems"]
g = zarr.open_group(f"zip::hf://datasets/{sys.argv[1]}/{sys.argv[2]}.zip", mode="r")
w = g["fine/train/series"][0, :512]
print(time.perf_counter() - t)
"""
IMPORTS = "import json, sys, time\nimport zarr\nimport chaosdata.store\nfrom huggingface_hub import HfFileSystem\n"


def time_open(script: str, args: list[str], env: dict[str, str] | None = None, repeats: int = 3) -> float:
    """Best of `repeats` fresh processes running `script` (imports excluded); a failed one raises
    with its stderr."""
    best = float("inf")
    for _ in range(repeats):
        run = subprocess.run([sys.executable, "-c", IMPORTS + script, *args], capture_output=True, text=True,
                             env=env)
        if run.returncode != 0:
            raise RuntimeError(f"the timed process failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
        best = min(best, float(run.stdout.split()[-1]))
    return best


def time_hub(out: Path, name: str, hub) -> tuple[float, dict[str, int]]:
    """Open one split of `out` served by the loopback `hub`: best time, and one read's requests."""
    repo = hub.serve(REPO, out)
    hub.entries(repo, "", True)  # the server's git blob ids, computed once (the Hub has them stored)
    times = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as home:  # an empty cache: every read goes to the server
            env = {**os.environ, "HF_ENDPOINT": hub.url, "HF_HOME": home}
            env.pop("HF_TOKEN", None)
            hub.counts.clear()
            times.append(time_open(OPEN_HUB, [REPO, name], env, repeats=1))
    return min(times), dict(hub.counts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("count").add_argument("store", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    s = sub.add_parser("scale")
    s.add_argument("store", type=Path)
    s.add_argument("--groups", type=int, nargs="+", default=[200, 2000])
    s.add_argument("--system", default="Lorenz")
    s.add_argument("--no-hub", action="store_true", help="time local opens only")
    a = ap.parse_args()
    if a.cmd == "count":
        print(json.dumps(count(a.store)))
    elif a.cmd == "compare":
        print(json.dumps(compare(a.old, a.new)))
    else:
        run_scale(a.store, a.groups, a.system, hub=not a.no_hub)


def run_scale(store: Path, groups: list[int], system: str, hub: bool) -> None:
    from chaosdata.publish.loopback import LoopbackHub

    with tempfile.TemporaryDirectory() as tmp, LoopbackHub(Path(tmp) / "hub") as server:
        for n in groups:
            t = time.perf_counter()
            out = scale(store, n, Path(tmp), system)
            laid = time.perf_counter() - t
            name = group_name(n - 1)
            row = {"groups": n, **count(out), "manifest_bytes": (out / MANIFEST).stat().st_size,
                   "open_split_s": round(time_open(OPEN_LOCAL, [str(out), name]), 3), "layout_s": round(laid, 1)}
            if hub:
                seconds, requests = time_hub(out, name, server)
                row.update(hub_open_split_s=round(seconds, 3), hub_requests=requests)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
