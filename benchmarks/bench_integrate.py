"""Integration speed and accuracy, side by side in one process: against dysts, against the
peer torch solvers, against the previous solver (per step), and under contention.

CPU mode (default): dysts's `make_trajectory` with its defaults (Radau, rtol = atol = 1e-12,
one initial condition, numba JIT when installed) against `chaosdata.make_trajectories` with its
defaults (DOP853, 1e-13) on a batch of initial conditions, same `n` and `pts_per_period`. Both
are scored against scipy's DOP853 at rtol = atol = 1e-13 from the same initial condition on
their own time grid; errors are divided by the attractor's scale (per-coordinate std).

    python benchmarks/bench_integrate.py                      # Lorenz and MacArthur (10-D)
    python benchmarks/bench_integrate.py --systems Lorenz --n 1000 --batch 64
    python benchmarks/bench_integrate.py --spread --n 1000    # 10 flows spread over the steps-per-period table
    python benchmarks/bench_integrate.py --per-step           # ops and microseconds per step, before/after
    python benchmarks/bench_integrate.py --peers              # torchdiffeq and torchode, 1e-10 and 1e-13
    python benchmarks/bench_integrate.py --contention         # default settings beside a busy process

`--per-step` loads the solver as it was at `--baseline` (a git revision, default 647e544: the
last commit before integrator v2) from git and runs it beside today's on the same problem
(Lorenz, batch 16, DOP853 at 1e-13, 1 thread): aten operations per step counted by a
TorchDispatchMode (independent of load), and microseconds per step as the best of `--repeat`.

Throughput mode (`--throughput`, meant for `--device cuda`): trajectory-steps per second for
fixed-step float32 RK4 on 2^20, 2^22 and 2^24 Lorenz trajectories (`--sizes`), the generic
path of `integrate` (compiled) beside the fixed-grid path (`chaosdata.integrate.fixed`, eager
and compiled) with their ratios, and for adaptive float64 DOP853 on 2^16 (goal: 1e11
trajectory-steps/s for RK4 on an H200).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import importlib.util
import inspect
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from scipy.integrate import solve_ivp

import chaosdata
from chaosdata import SolverSettings
from chaosdata.integrate import Execution, integrate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "647e544"  # the last commit before integrator v2

warnings.filterwarnings("ignore", message="Numba not installed")


def reference(system, ic: np.ndarray, t: np.ndarray) -> np.ndarray:
    """scipy DOP853 at 1e-13 from `ic` on `t`, through our (dysts-verified) vector field."""
    def f(ti, y):
        return system.rhs(torch.from_numpy(y), float(ti)).numpy()

    sol = solve_ivp(f, (t[0], t[-1]), ic, method="DOP853", t_eval=t, rtol=1e-13, atol=1e-13)
    return sol.y.T


def scaled_error(x: np.ndarray, ref: np.ndarray, scale: np.ndarray, n_early: int) -> tuple[float, int]:
    """(max error over the first `n_early` points, index where the error first passes 1%)."""
    err = np.abs(x - ref).max(-1) / scale.max()
    early = float(err[: max(2, n_early)].max())
    past = np.nonzero(err > 0.01)[0]
    return early, (int(past[0]) if past.size else len(err))


def run_dysts(name: str, n: int, ppp: int):
    import dysts.flows

    model = getattr(dysts.flows, name)()
    model.make_trajectory(20, pts_per_period=ppp)  # numba compilation outside the timing
    start = time.perf_counter()
    t, x = model.make_trajectory(n, pts_per_period=ppp, return_times=True)
    lyap = float(model.maximum_lyapunov_estimated)
    return time.perf_counter() - start, np.asarray(t), np.asarray(x), np.asarray(model.ic, dtype=float), lyap


def run_ours(system, n: int, ppp: int, batch: int, ic: np.ndarray, compile: bool):
    gen = torch.Generator().manual_seed(1)
    ics = torch.from_numpy(ic)[None].repeat(batch, 1)
    ics[1:] += 1e-3 * (ics[1:].abs() + 0.1) * torch.randn(batch - 1, ic.size, generator=gen, dtype=torch.float64)
    # warm-up (and compilation, whose one-off cost is reported separately): the same shapes
    # (batch, n) over a very short span, so the compiled step is reused by the timed run
    start = time.perf_counter()
    chaosdata.make_trajectories(system, n, pts_per_period=ppp * 1000, initial_conditions=ics, solver=SolverSettings(compile=compile))
    warmup = time.perf_counter() - start
    start = time.perf_counter()
    tr = chaosdata.make_trajectories(system, n, pts_per_period=ppp, initial_conditions=ics, solver=SolverSettings(compile=compile))
    elapsed = time.perf_counter() - start
    assert bool(tr.valid.all()), tr.stats["failures"]
    return elapsed, tr.t.numpy(), tr.x[0].numpy(), dict(tr.stats, warmup=warmup)


def compare(name: str, n: int, ppp: int, batch: int, compile: bool) -> dict:
    system = chaosdata.get_system(name)
    t_d, times_d, x_d, ic, lyap = run_dysts(name, n, ppp)
    t_o, times_o, x_o, stats = run_ours(system, n, ppp, batch, ic, compile)
    scale = x_o.std(0)
    two_lt = int(2.0 / lyap / (times_o[1] - times_o[0]))  # points in two Lyapunov times (dysts's estimate)
    err_d, hor_d = scaled_error(x_d, reference(system, ic, times_d), scale, two_lt)
    err_o, hor_o = scaled_error(x_o, reference(system, ic, times_o), scale, two_lt)
    pps_d, pps_o = n / t_d, batch * n / t_o
    return {
        "system": name, "n": n, "batch": batch,
        "dysts_s": t_d, "ours_s": t_o, "dysts_pts_s": pps_d, "ours_pts_s": pps_o, "ratio": pps_o / pps_d,
        "dysts_err": err_d, "ours_err": err_o,
        "dysts_horizon_periods": hor_d / ppp, "ours_horizon_periods": hor_o / ppp,
        "steps_per_period": stats["steps_per_period"], "warmup_s": stats["warmup"],
    }


def throughput(device: str, n_traj: int, n_steps: int, sizes: list[int], steps_per_graph: int | None = None,
               threads: int | None = None) -> None:
    """Trajectory-steps per second for float32 RK4 on 2^k Lorenz trajectories (each k in
    `sizes`) over `n_steps` steps of 0.005 onto [0, t_end], three ways side by side: the
    generic path of `ode.integrate` (compiled, batch bucketed, as before), and the fixed-grid
    path (`chaosdata.integrate.fixed`) eager and compiled (`steps_per_graph` steps per call,
    None: `fixed.STEPS_PER_GRAPH`), with the ratios to the generic path; then adaptive float64
    DOP853 on `n_traj // 16` through the generic path. Every compiled variant is compiled on
    its own shapes (a short run) before it is timed. `threads`: torch CPU threads for every
    variant (None: the solver's policy, `threads.threads_for`)."""

    from chaosdata.integrate.fixed import STEPS_PER_GRAPH, integrate_fixed_grid
    from chaosdata.integrate.tableaux import RK4
    from chaosdata.integrate.threads import torch_threads

    lorenz = chaosdata.get_system("Lorenz")
    dt = 0.005

    def f(t, y):
        return lorenz.equations(y, t, **lorenz.parameters)

    def sync():
        if device.startswith("cuda"):
            torch.cuda.synchronize()

    def timed(run) -> tuple[float, object]:
        sync()
        start = time.perf_counter()
        sol = run()
        sync()
        return time.perf_counter() - start, sol

    def starts(n: int, dtype) -> torch.Tensor:
        y0 = torch.randn(n, 3, generator=torch.Generator().manual_seed(0)) * 5 + torch.tensor([0, 0, 25.0])
        return y0.to(device=device, dtype=dtype)

    per_graph = steps_per_graph or STEPS_PER_GRAPH
    print(f"throughput on {device}: Lorenz, {n_steps} steps of {dt} onto [0, t_end]; generic = ode.integrate "
          f"compiled (bucket); fixed = chaosdata.integrate.fixed, eager and compiled ({per_graph} steps per call); "
          f"torch threads {torch.get_num_threads() if threads is None else threads} (CPU)", flush=True)
    t_eval = torch.tensor([0.0, n_steps * dt], dtype=torch.float32, device=device)
    for k in sizes:
        n = 2**k
        y0 = starts(n, torch.float32)
        rates, valid, ends = {}, {}, {}
        settings = SolverSettings(method="rk4", fixed_step=dt, max_outputs_per_step=1, compile=True, threads=threads)
        run = Execution(check_every=64, bucket=True, fixed_grid=False)
        # each path as it finishes (a run cut short by its time limit keeps what it measured)
        warm_s, _ = timed(lambda: integrate(f, y0, t_eval * 0.01, settings, execution=run))  # compile on the timed shapes
        elapsed, sol = timed(lambda: integrate(f, y0, t_eval, settings, execution=run))
        rates["generic"], valid["generic"] = float((sol.n_accepted + sol.n_rejected).sum()) / elapsed, sol.valid
        ends["generic"] = sol.y[:, -1]
        print(f"  {n:>9d} generic         {rates['generic']:.3e}  ({elapsed:.2f} s; warm-up {warm_s:.1f} s)", flush=True)
        with torch_threads(threads, y0):
            for label, compile in (("fixed eager", False), ("fixed compiled", True)):
                fkw = {"compile": compile, "steps_per_graph": per_graph}
                try:  # a failure here (on a lent GPU, say) must not cost the other rows
                    warm_s = 0.0
                    if compile:  # three calls of the timed graph: CUDA graphs record on the second
                        warm = torch.linspace(0, 3 * per_graph * dt, 4, device=device)
                        warm_s, _ = timed(lambda: integrate_fixed_grid(f, y0, warm, RK4, dt, **fkw))
                    elapsed, sol = timed(lambda: integrate_fixed_grid(f, y0, t_eval, RK4, dt, **fkw))
                except Exception as error:  # noqa: BLE001 - reported, and the benchmark goes on
                    print(f"  {label} on {n} trajectories failed: {type(error).__name__}: {error}", flush=True)
                    continue
                rates[label], valid[label], ends[label] = float(sol.n_accepted.sum()) / elapsed, sol.valid, sol.y[:, -1]
                print(f"  {n:>9d} {label:15s} {rates[label]:.3e}  ({elapsed:.2f} s; warm-up {warm_s:.1f} s)", flush=True)
        # the same steps from the same starts: the paths differ by rounding, grown by the flow over
        # t_end (a few trajectories pass near the saddle and part entirely, so the median, not the max)
        ref = ends.get("fixed eager", ends["generic"])
        scale = ref.std(0).clamp_min(1e-12)
        gaps = "  ".join(
            f"{label} {float(((end - ref).abs() / scale).amax(-1).nan_to_num(float('inf')).median()):.1e}"
            for label, end in ends.items() if end is not ref)
        cells = "  ".join(f"{label} {rate:.3e}" for label, rate in rates.items())
        ratios = "  ".join(f"{label} / generic {rates[label] / rates['generic']:.1f}x" for label in rates if label != "generic")
        checks = " ".join(f"{int(v.sum())}/{n}" for v in valid.values())
        print(f"rk4 float32 {n:>9d} trajectories  trajectory-steps/s: {cells}  ({ratios}; valid {checks}; "
              f"median end gap to fixed eager / std: {gaps})", flush=True)
    n = n_traj // 16
    y0 = starts(n, torch.float64)
    settings = SolverSettings(method="dop853", rtol=1e-10, atol=1e-10, max_outputs_per_step=1, compile=True,
                              threads=threads)
    run = Execution(check_every=64, bucket=True)
    integrate(f, y0, t_eval.double() * 0.01, settings, execution=run)
    elapsed, sol = timed(lambda: integrate(f, y0, t_eval.double(), settings, execution=run))
    steps = float((sol.n_accepted + sol.n_rejected).sum())
    print(f"dop853 float64   {n:>9d} trajectories  {steps / elapsed:.3e} trajectory-steps/s  "
          f"({elapsed:.2f} s, valid {int(sol.valid.sum())}/{n})", flush=True)

# ----------------------------------------------------------------------------- per step
class _CountOps(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts aten operations dispatched (the cost that does not depend on machine load)."""

    def __init__(self):
        super().__init__()
        self.ops = Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops[str(func.overloadpacket)] += 1
        return func(*args, **(kwargs or {}))


def load_baseline(rev: str):
    """The module chaosdata/integrate/ode.py as it was at git revision `rev`."""
    source = subprocess.run(["git", "show", f"{rev}:chaosdata/integrate/ode.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(f"/tmp/chaosdata_ode_{rev}.py")
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(f"ode_{rev}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def stage_buffer(batch: int, repeat: int, tol: float = 1e-13) -> dict:
    """The per-step question of issue 22: the eager solver with Lorenz's `stack` writing the
    field's value straight into the stage buffer (`torch.stack(..., out=)`, then the scaling by
    h in place) against `stack` allocating it, same problem as `--per-step`. Both sides call
    the field through the same wrapper (it knows the stage, so the write target), which differs
    only in whether it hands `stack` the buffer; the FSAL stage is left out (its value must
    survive the scaling). Microseconds per step, best of `repeat`, sides alternating."""
    from chaosdata.integrate import ode
    from chaosdata.systems import base, lorenz_family

    slot: list = [None]

    def stack_into(*components, like):
        out, slot[0] = slot[0], None  # one-shot: only the first matching stack of a call writes there
        if out is not None and out.shape == like.shape:
            try:
                return torch.stack(components, dim=-1, out=out)
            except (TypeError, RuntimeError):  # a float component, shapes that only broadcast
                pass
        return base.stack(*components, like=like)

    plain_stages = ode._stages

    def staged(into: bool):
        def stages(f, co, buf, v, t, y, fy, h):
            stage = iter(range(1, co.n_main))

            def field(tt, yy):
                j = next(stage)
                slot[0] = v.rows[j] if into and j < co.n_main - 1 else None
                try:
                    return f(tt, yy)
                finally:
                    slot[0] = None
            return plain_stages(field, co, buf, v, t, y, fy, h)
        return stages

    lorenz, f = lorenz_field()
    gen = torch.Generator().manual_seed(0)
    y0 = torch.tensor(lorenz.initial_conditions, dtype=torch.float64) + 0.01 * torch.randn(batch, 3, generator=gen,
                                                                                           dtype=torch.float64)
    t = torch.arange(668, dtype=torch.float64) * (lorenz.period / 100)
    best, ends = {"allocating": math.inf, "into the buffer": math.inf}, {}
    lorenz_family.stack = stack_into
    try:
        for _ in range(repeat):
            for label in best:
                ode._stages = staged(label == "into the buffer")
                start = time.perf_counter()
                sol = integrate(f, y0, t, SolverSettings(rtol=tol, atol=tol))
                steps = int((sol.n_accepted + sol.n_rejected).max())
                best[label] = min(best[label], (time.perf_counter() - start) / steps * 1e6)
                ends[label] = sol.y
    finally:
        ode._stages, lorenz_family.stack = plain_stages, base.stack
    return {**best, "same_bytes": torch.equal(*ends.values()), "steps": steps}


def lorenz_field():
    lorenz = chaosdata.get_system("Lorenz")
    params = lorenz.parameters

    def f(t, y):
        return lorenz.equations(y, t, **params)
    return lorenz, f


def integrate_kw(f, y0: torch.Tensor, t: torch.Tensor, *, solve=integrate, **kw):
    """`solve` (today's `integrate` by default) called with the keywords of the older revisions
    `--per-step` compares it with (their `integrate` took every setting as a keyword): the same
    solve, through today's specs."""
    settings = {k: kw.pop(k) for k in ("method", "rtol", "atol", "controller", "compile", "threads",
                                       "max_outputs_per_step") if k in kw}
    if "dt" in kw:
        settings["fixed_step"] = kw.pop("dt")
    run = {k: kw.pop(k) for k in ("check_every", "steps_per_graph", "bucket", "compact", "fixed_grid") if k in kw}
    return solve(f, y0, t, SolverSettings(**settings), execution=Execution(**run), **kw)


def keyword_integrate(module):
    """The `integrate` of a baseline `module`, called with keywords: as it is where it takes
    them (revisions before the solve spec), else through `integrate_kw`."""
    if "rtol" in inspect.signature(module.integrate).parameters:
        return module.integrate
    return functools.partial(integrate_kw, solve=module.integrate)


def per_step(rev: str, batch: int, repeat: int, tol: float) -> dict:
    """Ops and best-of-`repeat` microseconds per DOP853 step, the two sides of each row
    alternating: eager baseline against today's for two fields, then compiled (the baseline's
    one-step graph against today's graphs of 4 steps, and today's 1 against 4 steps per graph).
    Compiled rows are timed after one untimed call (the compile) and count no operations."""
    old_integrate = keyword_integrate(load_baseline(rev))
    lorenz, f = lorenz_field()
    gen = torch.Generator().manual_seed(0)
    y0 = torch.tensor(lorenz.initial_conditions, dtype=torch.float64) + 0.01 * torch.randn(batch, 3, generator=gen,
                                                                                           dtype=torch.float64)
    t = torch.arange(668, dtype=torch.float64) * (lorenz.period / 100)  # 100 points per period, ~10 time units
    a = torch.tensor([[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, -0.1]], dtype=torch.float64)
    tols = {"rtol": tol, "atol": tol}
    rows = {  # label -> field, (before, its kwargs), (after, its kwargs), count ops
        "lorenz": (f, (old_integrate, tols), (integrate_kw, tols), True),
        "linear (1 op)": (lambda t, y: y @ a, (old_integrate, tols), (integrate_kw, tols), True),
        "lorenz compiled": (f, (old_integrate, {**tols, "compile": True}),
                            (integrate_kw, {**tols, "compile": True, "steps_per_graph": 4}), False),
        "compiled 1 -> 4": (f, (integrate_kw, {**tols, "compile": True, "steps_per_graph": 1}),
                            (integrate_kw, {**tols, "compile": True, "steps_per_graph": 4}), False),
    }
    out = {}
    for label, (field, *sides, count) in rows.items():
        row = {}
        for name, (fn, kw) in zip(("before", "after"), sides):
            with _CountOps() if count else contextlib.nullcontext() as counter:
                sol = fn(field, y0, t, **kw)
            steps = int((sol.n_accepted + sol.n_rejected).max())
            row[name] = {"steps": steps, "ops_per_step": sum(counter.ops.values()) / steps if count else math.nan,
                         "us_per_step": float("inf"), "end": sol.y[:, -1]}
        for _ in range(repeat):
            for name, (fn, kw) in zip(("before", "after"), sides):
                start = time.perf_counter()
                fn(field, y0, t, **kw)
                row[name]["us_per_step"] = min(row[name]["us_per_step"],
                                               (time.perf_counter() - start) / row[name]["steps"] * 1e6)
        row["max_end_difference"] = float((row["before"].pop("end") - row["after"].pop("end")).abs().max())
        out[label] = row
    out["lorenz"]["field"] = field_share(f, y0, t, (old_integrate, tols), (integrate_kw, tols), repeat=repeat)
    return out


def field_share(f, y0: torch.Tensor, t: torch.Tensor, *sides, repeat: int) -> dict:
    """Microseconds per step spent inside `f` and outside it (the solver's own part), each side
    timed with the field wrapped in a clock (about 0.1 us per call on both sides); best of
    `repeat` by total time, sides alternating. The field is the same function on both sides."""
    clock = time.perf_counter
    spent = [0.0, 0]

    def timed(tt, y):
        start = clock()
        value = f(tt, y)
        spent[0] += clock() - start
        spent[1] += 1
        return value

    best = {}
    for _ in range(repeat):
        for name, (fn, kw) in zip(("before", "after"), sides):
            spent[:] = [0.0, 0]
            start = clock()
            sol = fn(timed, y0, t, **kw)
            total = clock() - start
            steps = int((sol.n_accepted + sol.n_rejected).max())
            if name not in best or total < best[name]["total"]:
                best[name] = {"total": total, "field_us_per_step": spent[0] / steps * 1e6,
                              "solver_us_per_step": (total - spent[0]) / steps * 1e6,
                              "calls_per_step": spent[1] / steps, "us_per_call": spent[0] / spent[1] * 1e6}
    return best


# ----------------------------------------------------------------------------- peers
def peer_solvers(tol: float):
    """name -> solve(f, y0, t) returning [B, n, d]; torchdiffeq and torchode where installed."""
    solvers = {"chaosdata dop853": lambda f, y0, t: integrate(f, y0, t, SolverSettings(rtol=tol, atol=tol)).y}
    try:
        import torchdiffeq

        for method in ("dopri8", "dopri5"):
            solvers[f"torchdiffeq {method}"] = (
                lambda f, y0, t, m=method: torchdiffeq.odeint(f, y0, t, rtol=tol, atol=tol, method=m).transpose(0, 1))
    except ImportError:
        print("torchdiffeq not installed: pip install -e .[bench]")
    try:
        import torchode

        def solve_torchode(f, y0, t):
            term = torchode.ODETerm(f)
            solver = torchode.AutoDiffAdjoint(torchode.Dopri5(term=term),
                                              torchode.IntegralController(atol=tol, rtol=tol, term=term))
            problem = torchode.InitialValueProblem(y0=y0, t_eval=t.expand(y0.shape[0], -1))
            return solver.solve(problem).ys
        solvers["torchode dopri5"] = solve_torchode
    except ImportError:
        print("torchode not installed: pip install -e .[bench]")
    return solvers


def peers(batch: int, n: int, ppp: int, tols: list[float], repeat: int) -> list[dict]:
    """Lorenz, `batch` initial conditions, `n` points at `ppp` per period, one thread: wall time
    (best of `repeat`) and error of trajectory 0 over two Lyapunov times against scipy DOP853 1e-13."""
    lorenz, f = lorenz_field()
    ic = np.asarray(lorenz.initial_conditions)
    gen = torch.Generator().manual_seed(1)
    y0 = torch.from_numpy(ic)[None].repeat(batch, 1)
    y0[1:] += 1e-3 * (y0[1:].abs() + 0.1) * torch.randn(batch - 1, 3, generator=gen, dtype=torch.float64)
    t = torch.arange(n, dtype=torch.float64) * (lorenz.period / ppp)
    ref = reference(lorenz, ic, t.numpy())
    scale = ref.std(0)
    two_lt = int(2.0 / 0.906 / float(t[1] - t[0]))
    rows = []
    for tol in tols:
        for name, solve in peer_solvers(tol).items():
            best = float("inf")
            with torch.inference_mode():
                for _ in range(repeat):
                    start = time.perf_counter()
                    y = solve(f, y0, t)
                    best = min(best, time.perf_counter() - start)
            err, _ = scaled_error(y[0].numpy(), ref, scale, two_lt)
            rows.append({"tol": tol, "solver": name, "seconds": best, "error": err})
            print(f"  {tol:7.0e}  {name:18s} {best:8.2f} s  error {err:.1e}", flush=True)
    return rows


# ----------------------------------------------------------------------------- contention
def contention(batch: int, n: int, repeat: int) -> dict:
    """Default settings (Lorenz, `batch` ICs, `n` points) alone, then beside one busy process
    (a Python loop we start and stop here), with the thread policy and with 2 threads forced."""
    lorenz = chaosdata.get_system("Lorenz")
    x0 = torch.tensor(lorenz.initial_conditions, dtype=torch.float64).repeat(batch, 1)
    x0 += 1e-3 * torch.randn(batch, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    t = torch.arange(n, dtype=torch.float64) * (lorenz.period / 100)
    from chaosdata.integrate.simulate import simulate

    def once(threads) -> float:
        settings = SolverSettings(threads=threads).for_system(lorenz)
        start = time.perf_counter()
        simulate(lorenz, x0, t, settings)
        return time.perf_counter() - start

    result = {}
    for label, threads in (("policy", None), ("2 threads", 2)):
        alone = beside = float("inf")
        for _ in range(repeat):  # alternating, so a drifting background load hits both sides
            alone = min(alone, once(threads))
            busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(0.5)
                beside = min(beside, once(threads))
            finally:
                busy.kill()
                busy.wait()
        result[label] = {"alone_s": alone, "beside_busy_s": beside, "loss": beside / alone}
        print(f"  {label:10s} alone {alone:6.2f} s   beside a busy process {beside:6.2f} s   "
              f"loss {beside / alone:4.2f}x", flush=True)
    return result


# ----------------------------------------------------------------------------- spread
def spread_systems(k: int = 10) -> list[str]:
    """`k` DOP853 flows at evenly spaced quantiles of the steps-per-period table."""
    table = ROOT / "benchmarks" / "steps_per_period.jsonl"
    rows = [json.loads(line) for line in table.read_text().splitlines() if line.strip()]
    rows = sorted((r for r in rows if r["kind"] == "flow" and r["method"] == "dop853" and r.get("periods") == 100.0),
                  key=lambda r: r["steps_per_period"])
    return [rows[int((i + 0.5) * len(rows) / k)]["system"] for i in range(k)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default="Lorenz,MacArthur")
    parser.add_argument("--n", type=int, default=2000, help="points per trajectory")
    parser.add_argument("--pts-per-period", type=int, default=100)
    parser.add_argument("--batch", type=int, default=256, help="our initial conditions")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    parser.add_argument("--compile", action="store_true", help="torch.compile our step (one-off cost shown)")
    parser.add_argument("--throughput", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--n-traj", type=int, default=2**20)
    parser.add_argument("--n-steps", type=int, default=1024, help="throughput: steps per trajectory")
    parser.add_argument("--sizes", default="20,22,24", help="throughput: RK4 float32 on 2^k trajectories")
    parser.add_argument("--steps-per-graph", type=int, default=None,
                        help="throughput: fixed-grid steps per call (default: fixed.STEPS_PER_GRAPH, 16)")
    parser.add_argument("--spread", action="store_true", help="10 flows spread over the steps-per-period table")
    parser.add_argument("--per-step", action="store_true", help="ops and us per step against --baseline")
    parser.add_argument("--stage-buffer", action="store_true",
                        help="us per step with Lorenz's stack writing into the stage buffer (issue 22)")
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the solver to compare with")
    parser.add_argument("--peers", action="store_true", help="torchdiffeq and torchode on Lorenz")
    parser.add_argument("--contention", action="store_true", help="default settings beside a busy process")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timed runs")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.throughput:
        throughput(args.device, args.n_traj, args.n_steps, [int(k) for k in args.sizes.split(",")],
                   steps_per_graph=args.steps_per_graph, threads=args.threads)
        return
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (timings on a loaded machine are noisy; ops are not)")
    if args.stage_buffer:
        torch.set_num_threads(1)
        for batch in (16, 256, 1024):
            row = stage_buffer(batch, args.repeat)
            print(f"stage buffer: Lorenz, batch {batch}, DOP853 1e-13, 1 thread, best of {args.repeat}: us/step "
                  f"allocating {row['allocating']:.1f}, into the buffer {row['into the buffer']:.1f} "
                  f"({row['allocating'] / row['into the buffer']:.3f}x); same bytes {row['same_bytes']}; "
                  f"steps {row['steps']}", flush=True)
        return
    if args.per_step:
        torch.set_num_threads(1)
        batch = 16
        print(f"per step: Lorenz, batch {batch}, DOP853 1e-13, 1 thread; before = {args.baseline}, "
              f"best of {args.repeat}")
        for label, row in per_step(args.baseline, batch, args.repeat, 1e-13).items():
            b, a = row["before"], row["after"]
            ops = (f"ops/step {b['ops_per_step']:6.1f} -> {a['ops_per_step']:6.1f} "
                   f"({b['ops_per_step'] / a['ops_per_step']:.2f}x)" if a["ops_per_step"] == a["ops_per_step"]
                   else f"{'ops/step (compiled: not counted)':33s}")
            print(f"  {label:16s} {ops}   us/step {b['us_per_step']:7.1f} -> "
                  f"{a['us_per_step']:7.1f} ({b['us_per_step'] / a['us_per_step']:.2f}x)   steps {b['steps']} / "
                  f"{a['steps']}   max |end difference| {row['max_end_difference']:.1e}")
            if "field" in row:
                fb, fa = row["field"]["before"], row["field"]["after"]
                print(f"    {'inside f':14s} us/step {fb['field_us_per_step']:7.1f} -> {fa['field_us_per_step']:7.1f} "
                      f"({fb['calls_per_step']:.2f} -> {fa['calls_per_step']:.2f} calls of {fb['us_per_call']:.1f} -> "
                      f"{fa['us_per_call']:.1f} us)")
                print(f"    {'solver only':14s} us/step {fb['solver_us_per_step']:7.1f} -> "
                      f"{fa['solver_us_per_step']:7.1f} ({fb['solver_us_per_step'] / fa['solver_us_per_step']:.2f}x)")
        return
    if args.peers:
        torch.set_num_threads(1)
        print(f"peers: Lorenz, {args.batch} initial conditions, {args.n} points at {args.pts_per_period} per period, "
              f"1 thread, best of {args.repeat}; error over two Lyapunov times against scipy DOP853 1e-13")
        rows = peers(args.batch, args.n, args.pts_per_period, [1e-10, 1e-13], args.repeat)
        for tol in (1e-10, 1e-13):
            ours = next(r for r in rows if r["tol"] == tol and r["solver"].startswith("chaosdata"))
            others = [r for r in rows if r["tol"] == tol and not r["solver"].startswith("chaosdata")]
            if others:
                fastest = min(others, key=lambda r: r["seconds"])
                print(f"  {tol:.0e}: {fastest['seconds'] / ours['seconds']:.2f}x faster than the fastest peer "
                      f"({fastest['solver']}, error {fastest['error']:.1e} against ours {ours['error']:.1e})")
        return
    if args.contention:
        print(f"contention: Lorenz, {args.batch} initial conditions, {args.n} points, default settings, "
              f"best of {args.repeat}")
        contention(args.batch, args.n, args.repeat)
        return
    if args.spread:
        args.systems = ",".join(spread_systems())
    header = (f"{'system':10s} {'dysts s':>8s} {'ours s':>8s} {'dysts pts/s':>12s} {'ours pts/s':>12s} "
              f"{'ratio':>7s} {'dysts err':>10s} {'ours err':>10s} {'dysts hor':>9s} {'ours hor':>9s} {'steps/per':>9s}")
    print(f"n = {args.n}, pts_per_period = {args.pts_per_period}, ours: {args.batch} initial conditions, "
          f"torch threads = {torch.get_num_threads()}, compile = {args.compile}; err = max |x - ref| / max std over the first "
          "two Lyapunov times; hor = periods until the error passes 1%")
    print(header)
    ratios = []
    for name in args.systems.split(","):
        r = compare(name, args.n, args.pts_per_period, args.batch, args.compile)
        ratios.append(r["ratio"])
        print(f"{r['system']:10s} {r['dysts_s']:8.2f} {r['ours_s']:8.2f} {r['dysts_pts_s']:12.0f} "
              f"{r['ours_pts_s']:12.0f} {r['ratio']:7.1f} {r['dysts_err']:10.2e} {r['ours_err']:10.2e} "
              f"{r['dysts_horizon_periods']:9.1f} {r['ours_horizon_periods']:9.1f} {r['steps_per_period']:9.1f}"
              f"  (warm-up {r['warmup_s']:.1f} s)", flush=True)
    print(f"median ratio over {len(ratios)} systems: {statistics.median(ratios):.1f}")


if __name__ == "__main__":
    main()
