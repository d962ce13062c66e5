"""Every flow and delay equation through `make_trajectories` at default settings.

Integrates `--n-ics` initial conditions per system over `--periods` periods (after the default
transient) and prints, per system: steps per period (mean over trajectories), rejected-step
fraction, failed trajectories with reasons, and wall time. Results append to a JSON-lines file,
so an interrupted run resumes where it stopped.

    python benchmarks/steps_per_period.py --out benchmarks/steps_per_period.jsonl
    python benchmarks/steps_per_period.py --systems Lorenz,StickSlipOscillator
    python benchmarks/steps_per_period.py --out benchmarks/steps_per_period.jsonl --table

Each flow integrated by an adaptive pair also gets its stability bound: the fewest steps per
period that keep the method stable on the Jacobian's eigenvalues along the orbit. Steps near
that bound are set by stiffness (an implicit method would take fewer), far above it by the
tolerance.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

import chaosdata
from chaosdata import Sampling, SolverSettings
from chaosdata.integrate.tableaux import get_tableau


def stability_polynomial(method: str) -> np.ndarray:
    """Coefficients g_k of R(z) = sum_k g_k z^k for an explicit RK method: g_k = b A^(k-1) 1."""
    tab = get_tableau(method)
    s = len(tab.b)
    a = np.zeros((s, s))
    for i, row in enumerate(tab.a):
        a[i, : len(row)] = row
    b, g, v = np.asarray(tab.b), [1.0], np.ones(s)
    for _ in range(s):
        g.append(float(b @ v))
        v = a @ v
    return np.asarray(g)


def stability_steps_per_period(system: chaosdata.System, x: torch.Tensor, t: torch.Tensor, method: str,
                               n_states: int = 256) -> float:
    """Fewest steps per period that keep `method` stable on the linearization at states `x`.

    For every Jacobian eigenvalue lambda with Re lambda < 0 at up to `n_states` states, the
    largest h with |R(h lambda)| <= 1 along the ray (R: the method's stability polynomial);
    the period over the smallest such h. Measured steps near this bound are set by stiffness,
    far above it by accuracy.
    """
    flat, times = x.reshape(-1, x.shape[-1]), t.repeat(x.shape[0])
    keep = torch.isfinite(flat).all(-1)
    flat, times = flat[keep], times[keep]
    pick = torch.linspace(0, flat.shape[0] - 1, min(n_states, flat.shape[0])).long()
    params = system.bind()
    jac = torch.func.vmap(torch.func.jacfwd(lambda y, ti: system.equations(y, ti, **params)))(flat[pick], times[pick])
    lam = torch.linalg.eigvals(jac).flatten().numpy()
    lam = lam[lam.real < -1e-12]
    if lam.size == 0:
        return 0.0
    g = stability_polynomial(method)
    h = float(system.period) * np.logspace(-7, 1, 800)
    z = lam[:, None] * h[None, :]
    growth = np.abs(np.polynomial.polynomial.polyval(z, g))
    unstable = growth > 1 + 1e-12
    first = np.where(unstable.any(1), unstable.argmax(1), len(h) - 1)
    h_stable = h[np.maximum(first - 1, 0)].min()
    return float(system.period) / h_stable


def stability_bound(system: chaosdata.System, tr: chaosdata.Trajectories) -> float | None:
    """The stability bound of `tr`'s method on its orbit; None where it has no meaning (fixed
    steps, delay equations)."""
    if system.kind != "flow" or not get_tableau(tr.stats["method"]).adaptive:
        return None
    return stability_steps_per_period(system, tr.x, tr.t, tr.stats["method"])


def survey(name: str, n_ics: int, periods: float, pts_per_period: int, tol: float | None = None,
           compile: bool = False) -> dict:
    system = chaosdata.get_system(name)
    compile = compile and system.kind == "flow"  # the delay solver has no compiled step
    start = time.perf_counter()
    tr = chaosdata.make_trajectories(system, int(periods * pts_per_period) + 1, pts_per_period=pts_per_period, postprocess=False, sampling=Sampling(n_ics=n_ics), solver=SolverSettings(rtol=tol, atol=tol, compile=compile))
    wall = time.perf_counter() - start
    stability = stability_bound(system, tr)
    acc, rej = tr.stats["n_accepted"].double(), tr.stats["n_rejected"].double()
    return {
        "system": name, "kind": system.kind, "dim": system.dim, "method": tr.stats["method"],
        "steps_per_period": tr.stats["steps_per_period"],
        "max_steps_per_period": float(acc.max()) / periods,
        "rejected_fraction": float(rej.sum() / (acc.sum() + rej.sum()).clamp_min(1)),
        "valid": int(tr.valid.sum()), "n_ics": n_ics, "periods": periods,
        "stability_steps_per_period": stability,
        "tol": tol,  # None: each system's own settings
        "compile": compile,  # wall time includes compiling
        "failures": {str(k): v for k, v in tr.stats["failures"].items()},
        "wall_s": wall,
    }


def backfill_stability(path: Path) -> None:
    """Add the stability bound to records written before it was measured (a 5-period probe)."""
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    for r in rows:
        if "stability_steps_per_period" not in r:
            system = chaosdata.get_system(r["system"])
            tr = chaosdata.make_trajectories(system, 51, pts_per_period=10, postprocess=False, sampling=Sampling(n_ics=2))
            r["stability_steps_per_period"] = stability_bound(system, tr)
    tmp = path.with_suffix(".tmp")
    tmp.write_text("".join(json.dumps(r) + "\n" for r in rows))
    tmp.replace(path)


def table(path: Path) -> str:
    """The records as a markdown table, hardest systems first."""
    rows = {}
    for line in path.read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            rows[r["system"]] = r  # the last record of a system wins
    out = ["| system | kind | dim | method | periods x ICs | steps/period | max | rejected | stability bound | "
           "limited by | valid | wall s |", "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows.values(), key=lambda r: -r["steps_per_period"]):
        bound = r.get("stability_steps_per_period")
        limited = ("–" if bound is None else "stiffness" if bound >= 0.5 * r["steps_per_period"] else "accuracy")
        fails = f" ({', '.join(sorted(set(r['failures'].values())))})" if r["failures"] else ""
        out.append(f"| {r['system']} | {r['kind']} | {r['dim']} | {r['method']} | {r.get('periods', 100):g} x {r['n_ics']} | "
                   f"{r['steps_per_period']:.1f} | {r['max_steps_per_period']:.1f} | {r['rejected_fraction']:.2f} | "
                   f"{'–' if bound is None else f'{bound:.1f}'} | {limited} | {r['valid']}/{r['n_ics']}{fails} | "
                   f"{r['wall_s']:.0f}{' (compiled)' if r.get('compile') else ''} |")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=None, help="comma-separated (default: all flows and delay equations)")
    parser.add_argument("--n-ics", type=int, default=16)
    parser.add_argument("--periods", type=float, default=100)
    parser.add_argument("--pts-per-period", type=int, default=10, help="output density (steps do not depend on it)")
    parser.add_argument("--out", type=Path, default=None, help="JSON-lines file to append to (resumes)")
    parser.add_argument("--tol", type=float, default=None, help="rtol = atol (default: each system's own)")
    parser.add_argument("--compile", action="store_true",
                        help="torch.compile the step (same steps; pays for itself on runs over a few minutes)")
    parser.add_argument("--table", action="store_true", help="print --out as a markdown table and stop")
    parser.add_argument("--backfill", action="store_true", help="add missing stability bounds to --out and stop")
    args = parser.parse_args()
    torch.set_num_threads(1)
    if args.table or args.backfill:
        if args.out is None:
            parser.error("--table and --backfill read --out")
        if args.backfill:
            backfill_stability(args.out)
        print(table(args.out))
        return
    names = args.systems.split(",") if args.systems else chaosdata.list_systems("flow") + chaosdata.list_systems("delay")
    done = set()
    if args.out is not None and args.out.exists():
        # a record covers a request if it integrated at least as many trajectories over as many periods
        for line in args.out.read_text().splitlines():
            r = json.loads(line) if line.strip() else None
            if r and r["n_ics"] >= args.n_ics and r.get("periods", 100) >= args.periods and r.get("tol") == args.tol:
                done.add(r["system"])
    print(f"{'system':28s} {'kind':5s} {'dim':>3s} {'steps/period':>12s} {'max':>8s} {'rejected':>8s} "
          f"{'valid':>6s} {'wall s':>7s}")
    for name in names:
        if name in done:
            continue
        r = survey(name, args.n_ics, args.periods, args.pts_per_period, args.tol, args.compile)
        print(f"{name:28s} {r['kind']:5s} {r['dim']:3d} {r['steps_per_period']:12.1f} {r['max_steps_per_period']:8.1f} "
              f"{r['rejected_fraction']:8.2f} {r['valid']:3d}/{r['n_ics']:<2d} {r['wall_s']:7.1f}"
              + (f"  {sorted(set(r['failures'].values()))}" if r["failures"] else ""), flush=True)
        if args.out is not None:
            with args.out.open("a") as f:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
