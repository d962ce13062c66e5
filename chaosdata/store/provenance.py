"""Where a store came from: the code fingerprint (stable) and build facts (volatile).

The fingerprint is what decides the bytes besides the config: the package version, a SHA-256
of the package's own source and data files (the same for a git checkout, a dirty tree or a
wheel with the same files), the versions of torch, numpy, zarr and numcodecs, Python, and the
device kind. Its hash is part of a store's identity: a resume with other code refuses, and the
regenerate cache keys on it. The git commit is recorded beside it, as information.

Stable facts go into the Zarr attributes, so they are checksummed and equal between two
builds of the same code. Volatile ones (creation time, wall times, whether the working tree
had uncommitted changes) go into the store's `builds.json`, outside the checksums: a
rebuild is then byte-identical where it should be, and honest about when it ran.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr

from chaosdata.version import __version__

PACKAGE_DIR = Path(__file__).resolve().parent.parent
SOURCE_SUFFIXES = (".py", ".json", ".toml")
COMMIT_ENV = "CHAOSDATA_GIT_COMMIT"  # set it when building from a tree without .git (a tarball)


def run_git(*args: str) -> str | None:
    """`git <args>` in the chaosdata source tree: its stripped output, None without git or a tree."""
    root = PACKAGE_DIR.parent
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


@cache
def git_commit() -> str | None:
    """The commit of the chaosdata source tree (or `$CHAOSDATA_GIT_COMMIT`), None if unknown."""
    return os.environ.get(COMMIT_ENV) or run_git("rev-parse", "HEAD")


@cache
def source_sha256() -> str:
    """SHA-256 over the package's source and data files (relative path and bytes, sorted)."""
    digest = hashlib.sha256()
    files = sorted(p for p in PACKAGE_DIR.rglob("*") if p.suffix in SOURCE_SUFFIXES and "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode() + b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def device_kind(device: str | torch.device) -> str:
    """`cpu`, or `cuda (<GPU name>)`: the hardware class, not the index, decides the rounding."""
    device = torch.device(device)
    if device.type == "cuda":
        return f"cuda ({torch.cuda.get_device_name(device)})"
    return device.type


def fingerprint(device: str | torch.device) -> dict[str, Any]:
    """The code and platform that decide a store's bytes (see the module docstring)."""
    import numcodecs

    return {
        "chaosdata": __version__,
        "source_sha256": source_sha256(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "zarr": zarr.__version__,
        "numcodecs": numcodecs.__version__,
        "device": device_kind(device),
    }


def code_hash(fp: dict[str, Any]) -> str:
    """SHA-256 of a fingerprint's canonical JSON."""
    return hashlib.sha256(json.dumps(fp, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def fingerprint_diff(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """`key (old -> new)` for every entry that differs."""
    return [f"{k} ({old.get(k)!r} -> {new.get(k)!r})" for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]


def stable(fp: dict[str, Any]) -> dict[str, Any]:
    """The system group's `provenance` attribute: the fingerprint and the git commit."""
    return {**fp, "git_commit": git_commit()}


def volatile() -> dict[str, Any]:
    """When it ran, and whether the source tree had uncommitted changes."""
    status = None if os.environ.get(COMMIT_ENV) else run_git("status", "--porcelain", "--untracked-files=no")
    return {
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_dirty": None if status is None else bool(status),
        "torch_threads": torch.get_num_threads(),
    }
