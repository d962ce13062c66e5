"""Check a staged repo folder before anything leaves the machine.

`verify_staged(root)` returns the problems found (empty: ready to upload):
- every file of `metadata/staged.json` is there with its size and SHA-256, and nothing else is;
- the staged Zarr store passes `Store.verify` (files and decoded arrays against its manifest);
- the Parquet tree (and HDF5 files, if staged) equal the staged store (`chaosdata.export.check_*`);
- no folder holds more than 10,000 entries (the Hub's limit);
- every relative link and image of every Markdown file exists;
- README.md parses with `huggingface_hub.DatasetCard`, its configs are unique, one is the
  default, and every `data_files` path exists;
- with `secrets`, no file contains any of them (a token must never be staged).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from chaosdata.export import check_hdf5, check_parquet
from chaosdata.export.layout import HDF5_DIR
from chaosdata.files import sha256_file
from chaosdata.publish.stage import MAX_FOLDER_ENTRIES, STAGED_INDEX, staged_index
from chaosdata.store.reader import open_store

LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def markdown_links(text: str) -> list[str]:
    """Targets of the Markdown links and images in `text` (inline form), in order."""
    return LINK.findall(text)


def broken_links(root: Path, page: str) -> list[str]:
    """Relative link and image targets of `page` (relative to `root`) that do not exist."""
    base = (root / page).parent
    broken = []
    for target in markdown_links((root / page).read_text(encoding="utf-8")):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # absolute URLs and anchors in the same page
        path = (base / target.split("#", 1)[0]).resolve()
        if not path.exists() or not path.is_relative_to(root.resolve()):
            broken.append(target)
    return broken


def folder_entries(root: Path) -> Counter:
    """Entries (files and folders) per folder, relative path -> count ('.' for the root)."""
    counts: Counter = Counter()
    for dirpath, dirnames, filenames in os.walk(root):
        counts[Path(dirpath).relative_to(root).as_posix()] = len(dirnames) + len(filenames)
    return counts


def card_problems(root: Path) -> list[str]:
    """What is wrong with README.md as a Hub dataset card (parsing, configs, data files)."""
    import yaml
    from huggingface_hub import DatasetCard

    try:
        card = DatasetCard.load(root / "README.md")
    # YAML syntax, a header that is not a mapping or not UTF-8 (ValueError), keys that are not
    # names (TypeError), an unreadable file: each is the finding
    except (yaml.YAMLError, ValueError, TypeError, OSError) as err:
        return [f"README.md does not parse as a DatasetCard: {type(err).__name__}: {err}"]
    data = card.data.to_dict()
    problems = []
    configs = data.get("configs") or []
    names = [c.get("config_name") for c in configs]
    if any(n is None for n in names):
        problems.append("README.md: a config has no config_name")
    problems += [f"README.md: config {n!r} appears {k} times" for n, k in Counter(names).items() if k > 1]
    if configs and sum(bool(c.get("default")) for c in configs) != 1:
        problems.append("README.md: exactly one config must be `default: true`")
    for c in configs:
        for entry in c.get("data_files", []):
            paths = entry["path"] if isinstance(entry["path"], list) else [entry["path"]]
            problems += [f"README.md: config {c.get('config_name')!r} split {entry.get('split')!r}: no file {p}"
                         for p in paths if not (root / p).is_file()]
    info_names = [i.get("config_name") for i in data.get("dataset_info") or []]
    if info_names and sorted(info_names) != sorted(names):
        problems.append("README.md: dataset_info does not list the same configs as configs")
    return problems


def unstaged_files(root: str | os.PathLike) -> list[str]:
    """Files under a staged folder that staging did not write (a user's LICENSE, notes): kept on
    disk and left out of the upload, which sends only what `metadata/staged.json` lists."""
    root = Path(root)
    index = staged_index(root)
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    return sorted(on_disk - set(index["files"]) - {STAGED_INDEX})


def verify_staged(root: str | os.PathLike, *, data: bool = True, secrets: Iterable[str] = ()) -> list[str]:
    """Every problem of the staged files under `root`, as sentences naming the file (empty: ready).
    Files the staging did not write are not checked: they are not uploaded (`unstaged_files`)."""
    import pyarrow as pa

    root = Path(root)
    index = staged_index(root)
    problems: list[str] = []
    on_disk = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    for rel, entry in index["files"].items():
        if rel not in on_disk:
            problems.append(f"{rel}: staged but missing")
        elif (root / rel).stat().st_size != entry["size"] or sha256_file(root / rel) != entry["sha256"]:
            problems.append(f"{rel}: differs from {STAGED_INDEX} (size or SHA-256)")
    store = open_store(root)
    report = store.verify(index["systems"], data=data)
    problems += [f"store: {p}" for p in report.problems]
    if data:
        try:
            problems += [f"parquet: {p}" for p in check_parquet(store, root, index["systems"])]
        # a file too damaged to decode is a finding, not a crash: pyarrow's errors (ArrowInvalid is a
        # ValueError, ArrowIOError an OSError) and a codec's (OSError)
        except (pa.ArrowException, ValueError, OSError) as err:
            problems.append(f"parquet: cannot read the Parquet tree back ({type(err).__name__}: {err})")
        if any(rel.startswith(f"{HDF5_DIR}/") for rel in index["files"]):
            try:
                problems += [f"hdf5: {p}" for p in check_hdf5(store, root, index["systems"])]
            # h5py: OSError (not HDF5, truncated), KeyError (an attribute missing), ValueError (its JSON)
            except (OSError, KeyError, ValueError) as err:
                problems.append(f"hdf5: cannot read the HDF5 files back ({type(err).__name__}: {err})")
    problems += [f"{folder}: {n} entries, over the Hub's {MAX_FOLDER_ENTRIES} per folder"
                 for folder, n in sorted(folder_entries(root).items()) if n > MAX_FOLDER_ENTRIES]
    staged = sorted(on_disk & set(index["files"]))  # what goes up; files a user added are left out (`unstaged_files`)
    for page in (r for r in staged if r.endswith(".md")):
        problems += [f"{page}: broken link or image {t}" for t in broken_links(root, page)]
    problems += card_problems(root)
    encoded = [s.encode() for s in secrets if s]
    if encoded:
        for rel in staged:
            blob = (root / rel).read_bytes()
            if any(s in blob for s in encoded):
                problems.append(f"{rel}: contains the Hugging Face token; delete the staging and stage again")
    return problems
