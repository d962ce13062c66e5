import os
import warnings

# dysts is the reference, not the subject: keep it uncompiled so the suite behaves the same
# whether or not numba (the `bench` extra) is installed.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

# The loopback Hub (chaosdata/publish/loopback.py). huggingface_hub and datasets read HF_ENDPOINT
# and HF_HOME once, when first imported, so both are set here, before any test module imports
# them. Each pytest-xdist worker is its own process and imports this file: each binds its own
# ephemeral port here (held, so no other process can take it; a bound socket that does not listen
# refuses connections until the `hub` fixture serves on it) and gets its own empty HF_HOME (no
# login token, no cache shared with the user or another worker). No test request leaves 127.0.0.1.
import atexit
import shutil
import socket
import tempfile

HUB_SOCKET = socket.socket()
HUB_SOCKET.bind(("127.0.0.1", 0))
os.environ["HF_ENDPOINT"] = f"http://127.0.0.1:{HUB_SOCKET.getsockname()[1]}"
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="chaosdata-test-hf-home-")
atexit.register(shutil.rmtree, os.environ["HF_HOME"], ignore_errors=True)
for _name in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_CACHE", "HF_DATASETS_CACHE"):
    os.environ.pop(_name, None)

import pytest
import torch

warnings.filterwarnings("ignore", message="Numba not installed")
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)


@pytest.fixture
def restore_systems():
    """The system registry as a test may extend it (user-registered systems), with what the
    test added removed afterwards."""
    from chaosdata.systems import SYSTEMS

    before = set(SYSTEMS.names())
    yield SYSTEMS
    for name in set(SYSTEMS.names()) - before:
        SYSTEMS.remove(name)


@pytest.fixture(scope="session")
def tiny_chronos(tmp_path_factory):
    """Folders of a tiny Chronos (T5) and a tiny Chronos-Bolt checkpoint with random weights,
    by kind ("t5", "bolt"); skipped where chronos-forecasting is absent."""
    pytest.importorskip("chronos")
    from tiny_chronos import save_chronos_bolt, save_chronos_t5

    root = tmp_path_factory.mktemp("chronos")
    return {"t5": str(save_chronos_t5(root / "t5")), "bolt": str(save_chronos_bolt(root / "bolt"))}


@pytest.fixture(scope="session")
def loopback_hub(tmp_path_factory):
    """The loopback Hub that HF_ENDPOINT names, serving on this process's port; see `hub`."""
    from chaosdata.publish.loopback import LoopbackHub

    with LoopbackHub(tmp_path_factory.mktemp("loopback-hub"), sock=HUB_SOCKET) as server:
        yield server


@pytest.fixture
def hub(loopback_hub):
    """The loopback Hub, empty (no repos, counts, faults or token) for each test; `hub.serve(repo_id,
    folder)` publishes a folder. huggingface_hub's file-system instances (and their listing caches)
    are dropped, so a repo id served again is listed again."""
    from huggingface_hub import HfFileSystem

    loopback_hub.reset()
    HfFileSystem.clear_instance_cache()
    yield loopback_hub
    loopback_hub.release()  # requests held by a 'hang' fault
    loopback_hub.reset()


# ---------------------------------------------------------------------- write paths (issue 20)
def _tree(root):
    """{relative path: SHA-256} of every file under `root` (empty when it does not exist)."""
    import hashlib
    from pathlib import Path

    root = Path(root)
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()} if root.exists() else {}


@pytest.fixture
def tree():
    """`tree(root)`: every file under `root` with its SHA-256, to compare before and after a command."""
    return _tree


class FullDisk:
    """An output folder on a full disk: a 64 KiB tmpfs where the tests may mount one (root on
    Linux), else a folder where every atomic rename (`chaosdata.atomic`) fails with ENOSPC.
    `free()` makes room (remounts at 64 MiB, or lifts the failure), as a user freeing space would."""

    def __init__(self, path, monkeypatch):
        import errno
        import subprocess

        self.path, self._monkeypatch = path, monkeypatch
        path.mkdir()
        self.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(path)],
                                      capture_output=True).returncode == 0
        if not self.mounted:
            real = os.replace

            def replace(src, dst, *args, **kwargs):
                if os.path.abspath(dst).startswith(str(path) + os.sep):
                    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
                return real(src, dst, *args, **kwargs)

            monkeypatch.setattr(os, "replace", replace)

    def free(self):
        import subprocess

        if self.mounted:
            subprocess.run(["mount", "-o", "remount,size=64m", str(self.path)], check=True)
        else:
            self._monkeypatch.undo()

    def close(self):
        import subprocess

        if self.mounted:
            subprocess.run(["umount", str(self.path)], check=True)


@pytest.fixture
def full_disk(tmp_path, monkeypatch):
    disk = FullDisk(tmp_path / "full", monkeypatch)
    yield disk
    disk.close()


@pytest.fixture(scope="session")
def tiny_store(tmp_path_factory):
    """The tiny store of `stores.TINY` (Lorenz, Henon, MackeyGlass; three granularities), built
    once per test process; tests read it and never change it."""
    from chaosdata.store import build
    from chaosdata.store.config import parse_config
    from stores import quiet, raw_tiny

    out = tmp_path_factory.mktemp("tiny") / "store"
    assert build(parse_config(raw_tiny()), out, progress=False, log=quiet).ok
    return out
