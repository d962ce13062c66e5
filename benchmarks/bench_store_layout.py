"""The store's layout (chaosdata-store/3: one zip per system) measured: files, metadata bytes,
and the data checksums against a store of the earlier layout (corpus scale: bench_corpus_scale.py).

    python benchmarks/bench_store_layout.py count STORE            # files, bytes, metadata share
    python benchmarks/bench_store_layout.py compare OLD_V2 NEW_V3  # decoded-data SHA-256, array by array
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench_corpus_scale import count  # files, bytes, metadata share (nested folders too)

from chaosdata.store import open_store
from chaosdata.store.layout import MANIFEST


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser("count").add_argument("store", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("old", type=Path)
    c.add_argument("new", type=Path)
    a = ap.parse_args()
    if a.cmd == "count":
        print(json.dumps(count(a.store)))
    else:
        print(json.dumps(compare(a.old, a.new)))


if __name__ == "__main__":
    main()
