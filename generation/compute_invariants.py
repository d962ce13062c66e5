"""Compute the invariants of every catalogue system into the package data, with provenance.

    python generation/compute_invariants.py                    # every system (resumes)
    python generation/compute_invariants.py --systems Lorenz,Henon --force

Writes `chaosdata/systems/data/invariants.json` after each system (temporary file, then
`os.replace`, so a crash never leaves half a file) and skips systems already stored with the
same settings. Beside ours, each entry keeps the few numbers dysts 0.96 stores for the system
(read here, at generation time; dysts is not a runtime dependency), for `chaosdata invariants`
and for the comparison table written to `benchmarks/INVARIANTS.md`.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import math
import os
import platform
import sys
import time
import traceback
import warnings
from pathlib import Path

import torch

import chaosdata
from chaosdata.invariants import Settings, compute
from chaosdata.store.provenance import git_commit as source_commit
from chaosdata.store.provenance import run_git

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "chaosdata" / "systems" / "data" / "invariants.json"
REPORT = ROOT / "benchmarks" / "INVARIANTS.md"
CODE = sorted((ROOT / "chaosdata" / "invariants").glob("*.py"))
DIFFERENCE = 0.2  # relative difference from dysts worth listing in the report


# ---------------------------------------------------------------------------- provenance
def code_hash() -> str:
    digest = hashlib.sha256()
    for path in CODE:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def git_commit() -> str | None:
    """The source commit, marked "+dirty" when chaosdata/invariants has uncommitted changes."""
    commit = source_commit()
    if commit is None:
        return None
    return commit + ("+dirty" if run_git("status", "--porcelain", "--", "chaosdata/invariants") else "")


def provenance(settings: Settings, device: str) -> dict:
    return {
        "generator": "generation/compute_invariants.py",
        "chaosdata_version": chaosdata.__version__,
        "git_commit": git_commit(),
        "code_hash": code_hash(),
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": device,
        "cpu": platform.processor() or platform.machine(),
        "torch_threads": torch.get_num_threads(),
        "settings": settings.to_dict(),
        "timestamp": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


# ---------------------------------------------------------------------------- dysts values
def dysts_values() -> dict[str, dict]:
    """The invariants dysts 0.96 stores, by dysts name ({} when dysts is not installed)."""
    try:
        from importlib import resources

        warnings.filterwarnings("ignore", message="Numba not installed")
        root = resources.files("dysts").joinpath("data")
    except ModuleNotFoundError:
        return {}
    out = {}
    for fname in ("chaotic_attractors.json", "discrete_maps.json"):
        with root.joinpath(fname).open() as f:
            for name, entry in json.load(f).items():
                out[(fname, name)] = {
                    "max_lyapunov": entry.get("maximum_lyapunov_estimated"),
                    "lyapunov_spectrum": entry.get("lyapunov_spectrum_estimated"),
                    "kaplan_yorke_dimension": entry.get("kaplan_yorke_dimension"),
                    "correlation_dimension": entry.get("correlation_dimension"),
                    "pesin_entropy": entry.get("pesin_entropy"),
                    "period": entry.get("period"),
                }
    return out


def dysts_entry(system: chaosdata.System, table: dict) -> dict | None:
    fname = "discrete_maps.json" if system.kind == "map" else "chaotic_attractors.json"
    return table.get((fname, system.dysts_name or system.name))


# ---------------------------------------------------------------------------- storage
def load(path: Path) -> dict:
    if path.is_file():
        with path.open() as f:
            return json.load(f)
    return {"provenance": {}, "systems": {}}


def save(data: dict, path: Path) -> None:
    """Write atomically: a temporary file in the same folder, then os.replace."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    with tmp.open("w") as f:
        json.dump(data, f, indent=1, allow_nan=False)
        f.write("\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


# ---------------------------------------------------------------------------- report
def _fmt(value, digits=3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}g}"


def _rel(ours, theirs) -> float | None:
    if ours is None or theirs is None or not math.isfinite(theirs) or not math.isfinite(ours):
        return None
    denom = max(abs(ours), abs(theirs))
    return abs(ours - theirs) / denom if denom > 0 else 0.0


def explain(name: str, entry: dict) -> list[str]:
    """Facts that account for a difference from dysts, read off the two entries."""
    ours, theirs = entry, entry.get("dysts") or {}
    notes = []
    spec = theirs.get("lyapunov_spectrum") or []
    if spec and theirs.get("max_lyapunov") is not None:
        r = _rel(spec[0], theirs["max_lyapunov"])
        if r is not None and r > DIFFERENCE:
            notes.append(f"dysts disagrees with itself: its spectrum starts at {_fmt(spec[0])}, its maximum exponent is "
                         f"{_fmt(theirs['max_lyapunov'])}")
    div = (ours.get("checks", {}).get("sum_vs_divergence") or {}).get("divergence")
    if spec and div is not None and len(spec) == len(ours["lyapunov_spectrum"]):
        total = sum(spec)
        scale = sum(abs(v) for v in spec) or 1.0
        if abs(total - div) > 0.05 * scale:
            notes.append(f"dysts's spectrum sums to {_fmt(total)}, but the mean divergence along the attractor is "
                         f"{_fmt(div)} (ours sums to {_fmt(ours['checks']['sum_vs_divergence']['ours'])})")
    if not ours.get("chaotic"):
        notes.append(f"ours finds no positive exponent beyond its uncertainty (lambda_1 = {_fmt(ours['max_lyapunov'])} "
                     f"+- {_fmt(ours['max_lyapunov_stderr'])})")
    elif ours.get("max_lyapunov_stderr") and ours["max_lyapunov"] < 10 * ours["max_lyapunov_stderr"]:
        notes.append("ours is uncertain (lambda_1 within 10 standard errors of zero)")
    if ours.get("clock_coordinates"):
        notes.append("a clock (forcing phase) coordinate: ours counts it as one exact zero exponent")
    if ours.get("partial_spectrum"):
        notes.append("delay equation: exponents of the discretized history, leading ones only")
    failed = [k for k, v in ours.get("checks", {}).items() if not v.get("ok", True)]
    if failed:
        notes.append("our self-checks flag: " + ", ".join(failed))
    return notes


NOTES_START, NOTES_END = "<!-- notes: written by hand, kept when the table is regenerated -->", "<!-- /notes -->"


def _kept_notes(path: Path) -> str:
    if not path.is_file():
        return "## Notes\n\n(none yet)"
    text = path.read_text()
    if NOTES_START in text and NOTES_END in text:
        return text.split(NOTES_START, 1)[1].split(NOTES_END, 1)[0].strip()
    return "## Notes\n\n(none yet)"


def write_report(data: dict, path: Path) -> None:
    systems = data["systems"]
    prov = data.get("provenance", {})
    rows, differing = [], []
    for name in sorted(systems):
        e = systems[name]
        d = e.get("dysts") or {}
        # dysts keeps two estimates of lambda_1 that often disagree (its `maximum_lyapunov_estimated`
        # and the first entry of its spectrum): ours differs only if it is far from both
        first = (d.get("lyapunov_spectrum") or [None])[0]
        gaps = [r for r in (_rel(e.get("max_lyapunov"), d.get("max_lyapunov")), _rel(e.get("max_lyapunov"), first))
                if r is not None]
        rel = {
            "lambda_1": min(gaps) if gaps else None,
            "KY": _rel(e.get("kaplan_yorke_dimension"), d.get("kaplan_yorke_dimension")),
            "D2": _rel(e.get("correlation_dimension"), d.get("correlation_dimension")),
        }
        big = [k for k, v in rel.items() if v is not None and v > DIFFERENCE]
        if big:
            differing.append((name, big))
        rows.append(
            f"| {name} | {e['kind']} | {_fmt(e.get('max_lyapunov'))} ± {_fmt(e.get('max_lyapunov_stderr'), 2)} | "
            f"{_fmt(d.get('max_lyapunov'))} / {_fmt(first)} | {_fmt(e.get('kaplan_yorke_dimension'))} | {_fmt(d.get('kaplan_yorke_dimension'))} | "
            f"{_fmt(e.get('correlation_dimension'))} | {_fmt(d.get('correlation_dimension'))} | "
            f"{'yes' if e.get('passed') else 'no'} | {'**' + ', '.join(big) + '**' if big else ''} |"
        )
    n_pass = sum(1 for e in systems.values() if e.get("passed"))
    lines = [
        "# Invariants: chaosdata against dysts",
        "",
        "Generated by `generation/compute_invariants.py`; do not edit by hand.",
        f"{len(systems)} systems, {n_pass} pass every self-check. Settings: `{json.dumps(prov.get('settings', {}))}`;",
        f"commit {prov.get('git_commit')}, torch {prov.get('torch_version')}, device {prov.get('device')}, {prov.get('timestamp')}.",
        "",
        "lambda_1: largest Lyapunov exponent (per time unit; per iteration for maps) ± standard error over the",
        "ensemble; dysts: its `maximum_lyapunov_estimated` / the first exponent of its `lyapunov_spectrum_estimated`",
        "(two estimates that often disagree). KY: Kaplan-Yorke dimension. D2: correlation dimension.",
        f"`differs`: quantities whose relative difference exceeds {DIFFERENCE:.0%} (for lambda_1: from both of dysts's",
        "estimates). dysts stores no invariants for maps.",
        "",
        "| system | kind | lambda_1 | dysts | KY | dysts | D2 | dysts | checks | differs |",
        "|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"## Systems differing from dysts by more than {DIFFERENCE:.0%} ({len(differing)})",
        "",
    ]
    for name, big in differing:
        e = systems[name]
        lines.append(f"- **{name}** ({', '.join(big)}): " + "; ".join(explain(name, e) or ["no recorded fact accounts for it"]) + ".")
    failed = {name: [k for k, v in e.get("checks", {}).items() if not v.get("ok", True)] for name, e in systems.items()}
    failed = {k: v for k, v in failed.items() if v}
    lines += ["", f"## Systems failing a self-check ({len(failed)})", ""]
    lines += [f"- {name}: {', '.join(v)}" for name, v in sorted(failed.items())]
    lines += ["", NOTES_START, _kept_notes(path), NOTES_END]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


# ---------------------------------------------------------------------------- main
def merge(out: Path, others: list[Path], settings: Settings, report: Path | None) -> int:
    """Add the systems computed by other runs (e.g. parallel processes with their own --out).

    Only entries computed with the current settings are taken; each keeps its own provenance
    (commit, code hash, time), and a system already in `out` with these settings is kept.
    """
    data = load(out)
    taken, refused = [], []
    for path in others:
        for name, entry in load(path)["systems"].items():
            if entry.get("settings", {}).get("config") != settings.to_dict():
                refused.append(f"{name} ({path}: other settings)")
            elif (data["systems"].get(name) or {}).get("settings", {}).get("config") != settings.to_dict():
                data["systems"][name] = entry
                taken.append(name)
    data["systems"] = dict(sorted(data["systems"].items()))
    save(data, out)
    if report:
        write_report(data, report)
    print(f"merged {len(taken)} systems into {out}" + (f"; refused {', '.join(refused)}" if refused else ""))
    return 1 if refused else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--systems", default=None, help="comma-separated names (default: every system)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--report", type=lambda s: Path(s) if s else None, default=REPORT, help="comparison table ('' to skip)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--force", action="store_true", help="recompute systems already stored with these settings")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--merge", type=Path, nargs="+", default=None,
                        help="add the systems of these files (other processes' --out, same settings) and stop")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    settings = Settings()
    if args.merge:
        return merge(args.out, args.merge, settings, args.report)
    names = args.systems.split(",") if args.systems else chaosdata.list_systems()
    names = [chaosdata.get_system(n).name for n in names]
    data = load(args.out)
    data["provenance"] = provenance(settings, args.device)
    reference = dysts_values()
    started = time.perf_counter()
    errors: dict[str, str] = {}
    for i, name in enumerate(names, 1):
        system = chaosdata.get_system(name)
        old = data["systems"].get(name)
        if old and not args.force and old.get("settings", {}).get("config") == settings.to_dict():
            print(f"[{i}/{len(names)}] {name}: stored with these settings, skipped", flush=True)
            continue
        t0 = time.perf_counter()
        try:
            entry = compute(system, settings=settings, device=args.device).to_dict()
        except Exception as err:  # noqa: BLE001 - one system's failure must not stop the catalogue
            errors[name] = f"{type(err).__name__}: {err}"
            traceback.print_exc()
            print(f"[{i}/{len(names)}] {name}: ERROR {errors[name]}", flush=True)
            continue
        entry["dysts"] = dysts_entry(system, reference)
        entry["provenance"] = {"git_commit": data["provenance"]["git_commit"], "code_hash": data["provenance"]["code_hash"],
                               "computed_at": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")}
        data["systems"][name] = entry
        save(data, args.out)
        failed = [k for k, v in entry["checks"].items() if not v.get("ok", True)]
        print(f"[{i}/{len(names)}] {name}: lambda_1 = {_fmt(entry['max_lyapunov'], 4)} ± {_fmt(entry['max_lyapunov_stderr'], 2)}, "
              f"KY = {_fmt(entry['kaplan_yorke_dimension'], 4)}, D2 = {_fmt(entry['correlation_dimension'], 4)}, "
              f"{time.perf_counter() - t0:.1f} s wall, {entry['cpu_time']:.1f} s CPU"
              f"{', FAILS ' + ', '.join(failed) if failed else ''}", flush=True)
    total = time.perf_counter() - started
    data["provenance"]["wall_time_this_run"] = total
    save(data, args.out)
    if args.report:
        write_report(data, args.report)

    stored = data["systems"]
    passed = [n for n in stored if stored[n].get("passed")]
    failing = {n: [k for k, v in stored[n]["checks"].items() if not v.get("ok", True)] for n in stored if not stored[n].get("passed")}
    print(f"\n{len(names)} systems requested, {len(stored)} stored, {total:.0f} s wall this run; stored entries "
          f"took {sum(e.get('wall_time') or 0 for e in stored.values()):.0f} s wall, "
          f"{sum(e.get('cpu_time') or 0 for e in stored.values()):.0f} s CPU")
    print(f"{len(passed)} pass every self-check; {len(failing)} fail one:")
    for n, checks in sorted(failing.items()):
        print(f"  {n}: {', '.join(checks)}")
    if errors:
        print(f"{len(errors)} errors: " + "; ".join(f"{k} ({v})" for k, v in errors.items()))
    missing = sorted(set(chaosdata.list_systems()) - set(stored))
    if missing:
        print(f"not stored yet: {', '.join(missing)}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
