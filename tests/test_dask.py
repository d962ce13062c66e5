"""Builds on a real `dask.distributed` LocalCluster: the same bytes as a local build, also when
a worker is killed in the middle of a task."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from chaosdata.errors import InvalidInputError
from chaosdata.store import build, open_store
from chaosdata.store.config import parse_config
from chaosdata.store.layout import STAGING
from stores import quiet, raw_tiny, store_bytes

distributed = pytest.importorskip("dask.distributed")
dask = pytest.importorskip("dask")


@pytest.fixture(scope="module")
def local_build(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "store"
    build(parse_config(raw_tiny()), out, progress=False, log=quiet)
    return out


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as c:
        yield c


def test_a_dask_build_gives_the_bytes_of_a_local_build(local_build, cluster, tmp_path):
    messages: list[str] = []
    report = build(parse_config(raw_tiny()), tmp_path / "dask", executor="dask",
                   scheduler=cluster.scheduler_address, progress=False, log=messages.append)
    assert report.ok and sorted(r.status for r in report.results) == ["built"] * 3
    assert store_bytes(tmp_path / "dask") == store_bytes(local_build)
    assert any("dashboard" in m for m in messages)


def test_a_dask_build_leaves_the_processs_dask_scheduler_alone(cluster, tmp_path):
    """The build's client is not the process's default: the caller's dask scheduler is the same
    while the build runs (its log line comes from inside) and after."""
    seen = []
    with dask.config.set(scheduler="synchronous"):
        report = build(parse_config(raw_tiny()), tmp_path / "dask", executor="dask",
                       scheduler=cluster.scheduler_address, progress=False,
                       log=lambda message: seen.append(dask.config.get("scheduler", None)))
        assert report.ok and seen and set(seen) == {"synchronous"}
        assert dask.config.get("scheduler", None) == "synchronous"


def test_a_worker_killed_mid_task_is_replaced_and_the_store_is_identical(local_build, cluster, tmp_path):
    out = tmp_path / "killed"
    result: dict = {}
    thread = threading.Thread(target=lambda: result.update(report=build(
        parse_config(raw_tiny()), out, executor="dask", scheduler=cluster.scheduler_address,
        progress=False, log=quiet)))
    thread.start()
    with distributed.Client(cluster.scheduler_address) as client:
        killed = None
        deadline = time.monotonic() + 120
        while killed is None and time.monotonic() < deadline and thread.is_alive():
            busy = [w for w, tasks in client.processing().items() if tasks]
            if busy and (out / STAGING).exists() and any(p.is_file() for p in (out / STAGING).rglob("*")):
                pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
                os.kill(pid, signal.SIGKILL)  # mid-task: it has begun writing its staging
                killed = pid
            time.sleep(0.005)
        thread.join(300)
    assert killed is not None, "no task was caught in progress"
    assert result["report"].ok and not (out / STAGING).exists()
    assert open_store(out).verify().ok
    assert store_bytes(out) == store_bytes(local_build)


def test_an_unreachable_scheduler_is_a_clear_error(tmp_path, monkeypatch):
    from chaosdata.store import executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(InvalidInputError, match="no Dask scheduler answers at 'tcp://127.0.0.1:9'"):
        build(parse_config(raw_tiny(systems=["Henon"])), tmp_path / "s", executor="dask",
              scheduler="tcp://127.0.0.1:9", progress=False, log=quiet)
    with pytest.raises(InvalidInputError, match="executor must be one of"):
        build(parse_config(raw_tiny(systems=["Henon"])), tmp_path / "s", executor="spark", progress=False, log=quiet)
