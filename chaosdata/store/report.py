"""Plain-text summaries of a build, a store and a verification, for the command line."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from chaosdata.store.config import SPLITS
from chaosdata.store.reader import Store, VerifyReport
from chaosdata.store.writer import BuildReport
from chaosdata.tables import table


def size(n_bytes: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n_bytes < 1024 or unit == "GiB":
            return f"{n_bytes:.0f} {unit}" if unit == "B" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024
    raise AssertionError


def _shapes(arrays: dict[str, list[int]]) -> tuple[str, str]:
    """('2/1/1' trajectories per split, 'coarse 150, fine 1000' time points per granularity)."""
    n = {p.split("/")[1]: shape[0] for p, shape in arrays.items()}
    t = {p.split("/")[0]: shape[1] for p, shape in arrays.items()}
    per_split = "/".join(str(n[s]) for s in SPLITS if s in n)
    return per_split, ", ".join(f"{g} {t[g]}" for g in sorted(t))


def _dim(arrays: dict[str, list[int]]) -> Any:
    return next(iter(arrays.values()))[2] if arrays else "-"


def format_build(report: BuildReport) -> str:
    rows = []
    for r in report.results:
        per_split, points = _shapes(r.arrays)
        rows.append((r.name, r.status, _dim(r.arrays), per_split or "-", points or "-", size(r.bytes),
                     r.n_invalid, ",".join(sorted(r.skipped)) or "-", f"{r.seconds:.1f}"))
    out = [table(("system", "status", "dim", "train/val/test", "time points", "size", "flagged", "skipped", "s"),
                 rows)]
    counts = {s: sum(r.status == s for r in report.results) for s in ("built", "done", "adopted", "failed")}
    total = sum(r.bytes for r in report.results)
    out.append(
        f"\n{len(report.results)} systems ({', '.join(f'{v} {k}' for k, v in counts.items() if v)}), "
        f"{size(total)} in {report.out}, {report.seconds:.1f} s"
    )
    flagged = sum(r.n_invalid for r in report.results)
    if flagged:
        out.append(f"{flagged} trajectories flagged invalid (NaN rows, see each array's `valid` and `failures`)")
    for r in report.results:
        if r.error:
            out.append(f"FAILED {r.name}: {r.error}")
    return "\n".join(out)


def format_store(store: Store) -> str:
    config = store.config
    rows, total, files = [], 0, 0
    for row in store.summary():
        per_split, points = _shapes(row["arrays"])
        rows.append((row["system"], row["kind"], row["dim"], per_split, points, size(row["bytes"]), row["files"],
                     row["n_invalid"], ",".join(sorted(row["skipped"])) or "-", "yes" if row["present"] else "MISSING"))
        total += row["bytes"]
        files += row["files"]
    expected = len(config.resolved_systems())
    head = [
        f"store    {store.path}",
        f"config   {config.name} (hash {store.manifest['config_hash'][:12]}): {config.description}".rstrip(": "),
        f"systems  {len(store.systems)} present, {len(store.manifest['systems'])} recorded, {expected} in the config",
        f"size     {size(total)} in {files} files",
        "",
    ]
    return "\n".join(head) + table(("system", "kind", "dim", "train/val/test", "time points", "size", "files",
                                    "flagged", "skipped", "present"), rows)


def format_verify(report: VerifyReport, unbuilt: Sequence[str] = ()) -> str:
    """The verdict; `unbuilt` names the config's systems that the store does not hold yet (a
    partial or failed build), so that "ok" is never read as "complete"."""
    if report.ok:
        lines = [f"ok: {len(report.checked)} systems match the manifest"]
    else:
        lines = [f"MISMATCH: {len(report.problems)} problem(s) in {len(report.checked)} systems checked",
                 f"first: {report.first}"]
        lines += [f"  {p}" for p in report.problems[1:20]]
        if len(report.problems) > 20:
            lines.append(f"  ... and {len(report.problems) - 20} more")
    if unbuilt:
        shown = ", ".join(unbuilt[:10]) + (f" and {len(unbuilt) - 10} more" if len(unbuilt) > 10 else "")
        lines.append(f"incomplete: {len(unbuilt)} of the config's systems are not built yet ({shown}); "
                     "run the same `chaosdata generate` again to build them")
    return "\n".join(lines)
