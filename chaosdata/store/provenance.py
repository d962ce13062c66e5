"""Where a store came from: code and library versions (stable) and build facts (volatile).

Stable facts go into the Zarr attributes, so they are checksummed and equal between two
builds of the same code. Volatile ones (creation time, wall times, whether the working tree
had uncommitted changes) go into the store's `builds.json`, outside the checksums: a
rebuild is then byte-identical where it should be, and honest about when it ran.
"""

from __future__ import annotations

import datetime
import os
import platform
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import torch
import zarr

import chaosdata

COMMIT_ENV = "CHAOSDATA_GIT_COMMIT"  # set it when building from a tree without .git (a tarball)


def run_git(*args: str) -> str | None:
    """`git <args>` in the chaosdata source tree: its stripped output, None without git or a tree."""
    root = Path(chaosdata.__file__).resolve().parent.parent
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


def stable(device: str) -> dict[str, Any]:
    """Versions, commit and device: what decides the bytes."""
    import numcodecs

    return {
        "chaosdata": chaosdata.__version__,
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "numpy": np.__version__,
        "zarr": zarr.__version__,
        "numcodecs": numcodecs.__version__,
        "device": device,
    }


def volatile() -> dict[str, Any]:
    """When it ran, and whether the source tree had uncommitted changes."""
    status = None if os.environ.get(COMMIT_ENV) else run_git("status", "--porcelain", "--untracked-files=no")
    return {
        "created_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_dirty": None if status is None else bool(status),
        "torch_threads": torch.get_num_threads(),
    }
