"""The store's layout (chaosdata-store/3: one zip per system) measured: files, metadata bytes,
opening time at corpus scale, and the data checksums against a store of the earlier layout.

    python benchmarks/bench_store_layout.py count STORE            # files, bytes, metadata share
    python benchmarks/bench_store_layout.py compare OLD_V2 NEW_V3  # decoded-data SHA-256, array by array
    python benchmarks/bench_store_layout.py scale STORE --groups 200 2000 [--hub URL]

`scale` lays out a corpus-sized store from one system of STORE: its zip copied under N group
names (`<Driver>__<Response>`), each recorded in the manifest as a build would, so the files and
metadata are those of N real groups (the data chunks are the same bytes); it then times opening
the store and reading one window of one split, in a fresh process each time.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from chaosdata.store import open_store
from chaosdata.store.layout import MANIFEST, system_file


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
    """A store of `groups` copies of `system`'s file, each recorded in the manifest."""
    out = work / f"corpus{groups}"
    out.mkdir(parents=True)
    manifest = json.loads((source / MANIFEST).read_text())
    entry = manifest["systems"][system]
    manifest["systems"] = {}
    for i in range(groups):
        name = f"Driver{i // 100:03d}__Response{i:05d}"
        shutil.copyfile(source / system_file(system), out / system_file(name))
        manifest["systems"][name] = entry
    (out / MANIFEST).write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return out


OPEN_ONE = """
import sys, time
t = time.perf_counter()
from chaosdata.store import open_store
s = open_store(sys.argv[1])
w = s.array(sys.argv[2], "fine", "train")[0, :512]
print(time.perf_counter() - t)
"""


def time_open(store: Path, name: str, repeats: int = 3) -> float:
    """Best of `repeats` fresh processes: open the store, read 512 points of one split (imports excluded)."""
    best = float("inf")
    for _ in range(repeats):
        run = subprocess.run([sys.executable, "-c", "import chaosdata.store, zarr\n" + OPEN_ONE, str(store), name],
                             capture_output=True, text=True, check=True)
        best = min(best, float(run.stdout.split()[-1]))
    return best


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
    a = ap.parse_args()
    if a.cmd == "count":
        print(json.dumps(count(a.store)))
    elif a.cmd == "compare":
        print(json.dumps(compare(a.old, a.new)))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            for n in a.groups:
                t = time.perf_counter()
                out = scale(a.store, n, Path(tmp), a.system)
                laid = time.perf_counter() - t
                name = f"Driver{(n - 1) // 100:03d}__Response{n - 1:05d}"
                print(json.dumps({"groups": n, **count(out), "manifest_bytes": (out / MANIFEST).stat().st_size,
                                  "open_split_s": round(time_open(out, name), 3), "layout_s": round(laid, 1)}))


if __name__ == "__main__":
    main()
