"""Where systems are staged: this process, a local process pool, or a Dask cluster.

An executor runs `stage(name)` for each system and calls `done(name, result)` in the driver as
each finishes, where `result()` returns the staged directory, its manifest entry and build
facts, or raises the task's error. Workers only write into the store's `.staging/`; the driver
verifies and commits (rename, manifest, consolidated metadata), so the commit protocol stays in
one place (`chaosdata.store.writer`) whatever runs the work. A system is the unit of work: its
splits integrate in one batch, which is cheaper than one task per split, and it is the unit a
commit makes visible.

`TimedWorker` runs jobs one at a time in a child process that is killed when a job passes its
time limit (`chaosdata benchmark --time-limit`).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import multiprocessing
import pickle
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

import torch

from chaosdata.errors import ChaosdataError, InvalidInputError
from chaosdata.store.errors import StoreError

Stage = Callable[[str], Any]
Done = Callable[[str, Callable[[], Any]], None]
Log = Callable[[str], None]
EXECUTORS = ("local", "dask")
CONNECT_TIMEOUT = "30s"  # how long to wait for a remote scheduler to answer
# What `result()` may raise that fails its system alone (the build records it and goes on): the
# package's errors, I/O (a full disk, a lost connection), torch's RuntimeError (out of memory
# included; a broken process pool is one too), numerical and allocation failures. Anything else
# (TypeError, KeyError, ...) is a bug and stops the build.
STAGE_ERRORS: tuple[type[Exception], ...] = (ChaosdataError, OSError, RuntimeError, ValueError, ArithmeticError,
                                             MemoryError)
KILL_GRACE = 1.0  # seconds a timed-out job's process gets between SIGTERM and SIGKILL


class TimeLimitError(ChaosdataError, TimeoutError):
    """A job ran past its wall-clock limit; its worker process was killed."""


class WorkerLostError(ChaosdataError, RuntimeError):
    """A worker process died under a job (a crash in native code, the kernel's out-of-memory killer)."""


class WorkerStartError(ChaosdataError, RuntimeError):
    """A worker process died before it was ready: no job can run in one."""


def init_worker() -> None:
    """A worker process: one torch thread, Ctrl-C left to the driver, dies with the driver."""
    torch.set_num_threads(1)
    # Ctrl-C reaches the whole process group: the parent decides (cancels queued work, stops us)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Linux: die with the parent, so a killed build leaves no workers (no libc.so.6 elsewhere: OSError)
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def interruptible(pool: ProcessPoolExecutor) -> Iterator[ProcessPoolExecutor]:
    """Use `pool`, then shut it down; on any exception (Ctrl-C included) first cancel what is
    queued and stop its workers at once instead of waiting for their tasks. The workers leave
    Ctrl-C to this process (`init_worker`)."""
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        for child in multiprocessing.active_children():
            child.terminate()
        raise
    finally:
        pool.shutdown(wait=True)


def run_in_processes(todo: Sequence[str], workers: int, stage: Stage, done: Done, log: Log) -> None:
    """`workers` spawned processes on this machine. An interrupt (Ctrl-C) cancels the queued
    systems and stops the workers at once: what was committed stays, the next run cleans staging."""
    ctx = multiprocessing.get_context("spawn")
    with interruptible(ProcessPoolExecutor(workers, mp_context=ctx, initializer=init_worker)) as pool:
        futures = {pool.submit(stage, n): n for n in todo}
        for fut in as_completed(futures):
            done(futures[fut], fut.result)


def run_on_dask(todo: Sequence[str], workers: int, stage: Stage, done: Done, log: Log,
                scheduler: str | None = None) -> None:
    """A `dask.distributed` cluster: the one at `scheduler` (an address such as
    `tcp://host:8786`; its workers must see the store's directory), or a `LocalCluster` of
    `workers` single-threaded processes. A task whose worker dies is run again on another
    (the scheduler's `allowed-failures`); its half-written staging is removed at the end. The
    client is not made the process's default: set as one, it changes dask's global `scheduler`,
    and two clients closed out of order left it at "dask.distributed" with no client (the
    caller's next dask computation, xarray's say, then failed)."""
    try:
        from dask.distributed import Client, KilledWorker, LocalCluster
        from dask.distributed import as_completed as dask_completed
    except ImportError:
        raise InvalidInputError("executor='dask' needs dask.distributed: pip install 'chaosdata[dask]'") from None
    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = stack.enter_context(LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                       dashboard_address=":0"))
            client = stack.enter_context(Client(cluster, set_as_default=False))
        else:
            try:
                client = stack.enter_context(Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False))
            except OSError as err:
                raise InvalidInputError(f"no Dask scheduler answers at {scheduler!r} ({err}); start one with "
                                        "`dask scheduler` and workers with `dask worker ADDRESS`, or leave out "
                                        "--scheduler for a local cluster") from None
        log(f"dask: {len(client.scheduler_info()['workers'])} workers, dashboard {client.dashboard_link}")
        futures = [client.submit(stage, n, key=f"chaosdata-stage-{n}", pure=False) for n in todo]
        names = {f.key: n for f, n in zip(futures, todo, strict=True)}
        try:
            for fut in dask_completed(futures, loop=client.loop):  # not the default client: its loop
                done(names[fut.key], functools.partial(_dask_result, fut, names[fut.key], KilledWorker))
        except BaseException:
            client.cancel(futures)
            raise


class TimedWorker:
    """Jobs run one at a time in one spawned process, each within `limit` seconds of wall-clock
    time. The process starts at the first job (after `setup()` ran in it once: the imports that
    register what jobs look up by name; they take seconds, outside any limit) and serves the next
    jobs; a job past the limit is stopped from here, SIGTERM then SIGKILL after `grace` seconds (a
    thread stuck in a C extension answers no alarm of its own process), and a fresh process serves
    the next job. A context manager: leaving it, Ctrl-C included, stops the process."""

    def __init__(self, limit: float, setup: Callable[[], None] | None = None, grace: float = KILL_GRACE) -> None:
        self.limit, self.setup, self.grace = limit, setup, grace
        self._proc: BaseProcess | None = None
        self._conn: Connection | None = None

    def __enter__(self) -> TimedWorker:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        """`fn(*args)` in the worker process (`fn` and the value are pickled): its value, or the
        exception it raised (which ends that process; its traceback is printed there);
        `TimeLimitError` past the limit, `WorkerLostError` if the process died, `WorkerStartError`
        if a new one died before it was ready."""
        conn = self.start()
        conn.send((fn, args))
        if not conn.poll(self.limit):  # a dead process reads as ready: end of file
            self.close()
            raise TimeLimitError(f"time limit {self.limit:g} s exceeded; its worker process was killed")
        return self._receive(conn, WorkerLostError, "died while running a job")

    def close(self) -> int | None:
        """Stop the worker process, if any (SIGTERM, SIGKILL after `grace`); its exit code."""
        proc, conn, self._proc, self._conn = self._proc, self._conn, None, None
        if conn is not None:
            conn.close()
        if proc is None:
            return None
        proc.terminate()
        proc.join(self.grace)
        if proc.is_alive():
            proc.kill()
            proc.join()
        return proc.exitcode

    def start(self) -> Connection:
        """Start the worker process, unless one is ready (`run` does it too): its connection.
        `WorkerStartError` if it died before it was ready."""
        if self._conn is not None:
            return self._conn
        ctx = multiprocessing.get_context("spawn")
        here, there = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(there, self.setup), name="chaosdata-timed-worker")
        try:
            proc.start()
        except BaseException:
            here.close()
            raise
        finally:
            there.close()  # the child's end stays open in the child alone: its death reads as end of file here
        self._proc, self._conn = proc, here
        try:
            self._receive(here, WorkerStartError, "could not start", "; a script that starts one must guard its "
                          "top level with `if __name__ == '__main__':` (a spawned process imports the script again)")
        except BaseException:
            self.close()
            raise
        return here

    def _receive(self, conn: Connection, lost: type[ChaosdataError], what: str, fix: str = "") -> Any:
        """The reply to what was sent; `lost(...)` if the process died instead."""
        try:
            status, value = conn.recv()
        except EOFError:
            code = self.close()
            raise lost(f"the worker process {what} (exit code {code}; its own error output, if any, is above)"
                       f"{fix}") from None
        if status == "error":
            self.close()
            raise value
        return value


def _serve(conn: Connection, setup: Callable[[], None] | None) -> None:
    """A `TimedWorker`'s process: `setup`, then each job received until the parent hangs up."""
    init_worker()
    _reply(conn, setup or _nothing, ())
    while True:
        try:
            fn, args = conn.recv()
        except EOFError:
            return
        _reply(conn, fn, args)


def _nothing() -> None:
    return None


def _reply(conn: Connection, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Send `fn(*args)`'s value; or the exception it raised (as its text where it cannot be
    pickled), and raise it here too: it ends this process, which prints its traceback."""
    try:
        value = fn(*args)
    except BaseException as err:
        try:
            sent: BaseException = pickle.loads(pickle.dumps(err))
        except (pickle.PicklingError, TypeError, AttributeError):  # a type that cannot cross: its text does
            sent = RuntimeError(f"{type(err).__name__}: {err}")
        conn.send(("error", sent))
        raise
    conn.send(("done", value))


def _dask_result(fut: Any, name: str, killed: type[Exception]) -> Any:
    """The task's result; a task whose workers kept dying becomes a `StoreError` (one of `STAGE_ERRORS`)."""
    try:
        return fut.result()
    except killed as err:
        raise StoreError(f"{name}: the Dask workers staging it died ({err}); see the workers' logs "
                         "(memory limit?) and rerun to resume") from err


def run(executor: str, todo: Sequence[str], workers: int, stage: Stage, done: Done, log: Log,
        scheduler: str | None = None) -> None:
    """Dispatch to `run_in_processes` (`local`) or `run_on_dask` (`dask`)."""
    if executor == "dask":
        run_on_dask(todo, workers, stage, done, log, scheduler)
    else:
        run_in_processes(todo, workers, stage, done, log)
