"""A corpus store's layout as its groups grow tenfold: files, metadata bytes, the largest document,
the fullest folder, and the time (and requests) to open one split, locally and over a loopback Hub.

    python benchmarks/bench_corpus_scale.py STORE --groups 200 2000 20000 [--system NAME] [--no-hub]
    python benchmarks/bench_corpus_scale.py STORE --commits 2000   # a build's commits, one after another

From STORE (any chaosdata store; by default its first group) it lays out corpus stores of N skew
products `DriverDDD__ResponseNNNNN`, 150 per driver as ~135 flows give at the Panda scale (2x10^4):
the group's zip hard-linked under each name at `layout.system_file` (nested by driver; no bytes
copied), each entry recorded as a build records it (`manifest.record_system`, one `write_manifest`),
and one build log per driver. So the files and metadata documents are those of N real groups.
Opening = in a fresh process (imports excluded, best of 3): `open_store` and 512 points of one
split; over the loopback Hub (`chaosdata.publish.loopback`, an empty HF_HOME and cache each time)
the same through `chaosdata.store.remote.open_remote`, and through zarr as a user of
`zip::hf://datasets/owner/corpus/<Driver>/<Group>.zip` does. Metadata = every JSON document, every
`zarr.json` member and each zip's headers and directory; `hub_repo_info_s` times the repo-info GET
that both clients send (its `siblings` name every file of the repo). Prints one JSON row per N.
`--commits N` records N groups one at a time into an empty folder, writing the manifest after each
as a build does (fsync included): the seconds and the bytes written.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile
from pathlib import Path

from chaosdata.store.layout import MANIFEST, driver_of, system_file
from chaosdata.store.manifest import build_log, new_manifest, read_manifest, record_system, write_json, write_manifest
from chaosdata.store.reader import open_store

REPO = "owner/corpus"
PER_DRIVER = 150


def group_name(i: int) -> str:
    return f"Driver{i // PER_DRIVER:03d}__Response{i:05d}"


def lay_out(source: Path, system: str, groups: int, out: Path) -> Path:
    """A store of `groups` skew products, each a hard link to `system`'s file in `source`."""
    store = open_store(source)
    entry, log = dict(store.manifest["systems"][system]), json.loads((source / build_log(None)).read_text())
    manifest = new_manifest(store.config, store.manifest["code"], store.manifest["code_hash"])
    logs: dict[str, dict] = collections.defaultdict(dict)
    for i in range(groups):
        name = group_name(i)
        (out / system_file(name)).parent.mkdir(parents=True, exist_ok=True)
        os.link(store.file(system), out / system_file(name))
        record_system(manifest, name, dict(entry))
        logs[str(driver_of(name))][name] = log.get(system, {})
    write_manifest(out, manifest)
    for driver, entries in logs.items():
        write_json(out / build_log(driver), entries)
    return out


def zip_metadata(path: Path) -> int:
    """Bytes of a zip that are not chunk data: `zarr.json` members, local headers, the directory."""
    with zipfile.ZipFile(path) as zf:
        chunks = sum(i.compress_size for i in zf.infolist() if not i.filename.endswith("zarr.json"))
    return path.stat().st_size - chunks


def count(root: Path) -> dict:
    """Files, bytes, metadata bytes and share, the largest JSON document and the fullest folder."""
    files = [p for p in root.rglob("*") if p.is_file()]
    per_inode: dict[int, int] = {}
    meta = total = 0
    for p in files:
        stat = p.stat()
        total += stat.st_size
        if p.suffix == ".zip":
            meta += per_inode.setdefault(stat.st_ino, zip_metadata(p))
        elif p.suffix == ".json":
            meta += stat.st_size
    docs = {p: p.stat().st_size for p in files if p.suffix == ".json"}
    largest = max(docs, key=docs.__getitem__)
    folders = collections.Counter(p.parent for p in root.rglob("*"))
    return {"files": len(files), "bytes": total, "metadata_bytes": meta, "metadata_share": round(meta / total, 4),
            "manifest_bytes": docs[root / MANIFEST], "largest_json": largest.relative_to(root).as_posix(),
            "largest_json_bytes": docs[largest], "json_docs": len(docs), "max_folder_entries": max(folders.values())}


IMPORTS = "import json, sys, time\nimport zarr\nimport chaosdata.store, chaosdata.store.remote\n"
OPEN_LOCAL = """
t = time.perf_counter()
s = chaosdata.store.open_store(sys.argv[1])
w = s.array(sys.argv[2], sys.argv[3], sys.argv[4])[0, :512]
print(time.perf_counter() - t)
"""
OPEN_REMOTE = """
t = time.perf_counter()
s = chaosdata.store.remote.open_remote(sys.argv[1], revision=None, cache=__import__("pathlib").Path(sys.argv[5]))
w = s.array(sys.argv[2], sys.argv[3], sys.argv[4])[0, :512]
print(time.perf_counter() - t)
"""
OPEN_ZARR = """
from huggingface_hub import HfFileSystem
t = time.perf_counter()
path = f"datasets/{sys.argv[1]}/{sys.argv[2].split('__')[0]}/{sys.argv[2]}.zip"
g = zarr.open_group(f"zip::hf://{path}", mode="r")
w = g[f"{sys.argv[3]}/{sys.argv[4]}/series"][0, :512]
print(time.perf_counter() - t)
"""


def time_open(script: str, args: list[str], env: dict[str, str] | None = None) -> float:
    """Seconds of `script` in a fresh process (imports excluded); a failed one raises with its stderr."""
    run = subprocess.run([sys.executable, "-c", IMPORTS + script, *args], capture_output=True, text=True, env=env)
    if run.returncode != 0:
        raise RuntimeError(f"the timed process failed (exit {run.returncode}):\n{run.stderr[-3000:]}")
    return float(run.stdout.split()[-1])


def time_hub(server, script: str, args: list[str]) -> tuple[float, dict[str, int]]:
    """Best of 3 fresh processes with an empty HF_HOME and cache; the requests of one of them."""
    best, counts = float("inf"), {}
    for _ in range(3):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "HF_ENDPOINT": server.url, "HF_HOME": home}
            env.pop("HF_TOKEN", None)
            server.counts.clear()
            best = min(best, time_open(script, [REPO, *args, str(Path(home) / "cache")], env))
            counts = dict(server.counts)
    return best, counts


def repo_info(server, repo: str, query: str = "") -> tuple[float, int]:
    """Best of 3 plain GETs of the repo-info endpoint (`query`: e.g. `?expand=sha`): seconds, and the answer's bytes."""
    best, size = float("inf"), 0
    for _ in range(3):
        started = time.perf_counter()
        with urllib.request.urlopen(f"{server.url}/api/datasets/{repo}{query}") as answer:
            size = len(answer.read())
        best = min(best, time.perf_counter() - started)
    return best, size


def written_bytes() -> int:
    """Bytes this process has passed to write() so far (Linux: `wchar` of /proc/self/io)."""
    return int(dict(line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())["wchar"])


def commits(source: Path, system: str | None, n: int) -> dict:
    """`n` groups recorded one at a time into an empty folder, the manifest written after each."""
    store = open_store(source)
    entry = store.manifest["systems"][system or store.systems[0]]
    with tempfile.TemporaryDirectory() as tmp:
        manifest = new_manifest(store.config, store.manifest["code"], store.manifest["code_hash"])
        started, before = time.perf_counter(), written_bytes()
        for i in range(n):
            record_system(manifest, group_name(i), dict(entry))
            write_manifest(tmp, manifest)
        seconds, written = time.perf_counter() - started, written_bytes() - before
    return {"commits": n, "seconds": round(seconds, 1), "bytes_written": written}


def run(source: Path, groups: list[int], system: str | None, hub: bool) -> None:
    from chaosdata.publish.loopback import LoopbackHub

    store = open_store(source)
    system = system or store.systems[0]
    granularity, split = store.arrays(system)[0].split("/")
    with tempfile.TemporaryDirectory() as tmp, LoopbackHub(Path(tmp) / "hub") as server:
        for n in groups:
            started = time.perf_counter()
            out = lay_out(source, system, n, Path(tmp) / f"corpus{n}")
            laid = time.perf_counter() - started
            name = group_name(n - 1)
            args = [name, granularity, split]
            local = min(time_open(OPEN_LOCAL, [str(out), *args]) for _ in range(3))
            row = {"groups": n, **count(out), "open_split_s": round(local, 3), "layout_s": round(laid, 1)}
            if read_manifest(out)["systems"][name] != store.manifest["systems"][system]:
                raise RuntimeError(f"{out}: the entry of {name} did not read back as written")
            if hub:
                repo = server.serve(REPO, out)
                server.entries(repo, "", True)  # the server's git blob ids, once (the Hub has them stored)
                seconds, size = repo_info(server, REPO)
                row.update(hub_repo_info_s=round(seconds, 3), hub_repo_info_bytes=size)
                seconds, size = repo_info(server, REPO, "?expand=sha")  # what chaosdata asks for its revision
                row.update(hub_repo_sha_s=round(seconds, 3), hub_repo_sha_bytes=size)
                for label, script in (("chaosdata", OPEN_REMOTE), ("zarr", OPEN_ZARR)):
                    seconds, requests = time_hub(server, script, args)
                    row[f"hub_{label}_open_split_s"] = round(seconds, 3)
                    row[f"hub_{label}_requests"] = requests
            print(json.dumps(row), flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("store", type=Path, help="a chaosdata store whose group is copied")
    ap.add_argument("--groups", type=int, nargs="+", default=[200, 2000, 20000])
    ap.add_argument("--system", help="the group to copy (default: the store's first)")
    ap.add_argument("--no-hub", action="store_true", help="time local opens only")
    ap.add_argument("--commits", type=int, help="time this many commits instead")
    a = ap.parse_args()
    if a.commits:
        print(json.dumps(commits(a.store, a.system, a.commits)))
    else:
        run(a.store, a.groups, a.system, hub=not a.no_hub)


if __name__ == "__main__":
    main()
