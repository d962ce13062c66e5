"""The numbers and facts a card shows, read from a store (never computed anew for the card).

Templates say words; these pure functions turn a store's metadata into plain dicts and
formatted strings for them. Every number here is one the store (its manifest or its system
groups' attributes) holds: a generated card never shows a number that the store does not.
The one thing read from the installed catalogue is each system's equation text (the store
keeps parameters, not equations), and the page says so.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from chaosdata.benchmark import leaderboard as L
from chaosdata.benchmark.results import read_csv
from chaosdata.errors import UnknownNameError
from chaosdata.store.config import SPLITS
from chaosdata.store.layout import split_path
from chaosdata.store.reader import Store
from chaosdata.systems import get_system

DASH = "–"  # shown where the store has no value (not computed, not applicable)


def num(value: Any, digits: int = 3) -> str:
    """A number with `digits` significant digits, `DASH` for None or non-finite, lists bracketed."""
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(num(v, digits) for v in value) + "]"
    if value is None or isinstance(value, bool):
        return DASH if value is None else str(value)
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return DASH
        return f"{value:.{digits}g}"
    return str(value)


def plus_minus(value: Any, err: Any, digits: int = 3) -> str:
    """`value ± err` (err to 2 significant digits), or the value alone when there is no error."""
    if value is None:
        return DASH
    if err is None or not isinstance(err, (int, float)) or not math.isfinite(err):
        return num(value, digits)
    return f"{num(value, digits)} ± {num(err, 2)}"


def equation_text(system: str) -> str | None:
    """The catalogue's equation text of `system` (its equation function's docstring), or None.

    The catalogue writes equations as plain text (`x' = sigma (y - x), ...`), not LaTeX; the
    page shows them verbatim rather than inventing a LaTeX form.
    """
    try:
        doc = get_system(system).equations.__doc__
    except UnknownNameError:
        return None
    if not doc or not doc.strip():
        return None
    return "\n".join(line.strip() for line in doc.strip().splitlines())


def catalogue_row(name: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """One line of the catalogue table: what a system is and its scalar invariants (strings)."""
    meta = attrs["system"]
    inv = attrs.get("invariants") or {}
    return {
        "name": name,
        "kind": meta["kind"],
        "dim": meta["dim"],
        "lambda_max": plus_minus(inv.get("max_lyapunov"), inv.get("max_lyapunov_stderr")),
        "kaplan_yorke": num(inv.get("kaplan_yorke_dimension")),
        "lyapunov_time": num(inv.get("lyapunov_time")),
        "period": num(inv.get("period")),
        "units": inv.get("units", "time"),
        "checks": DASH if not inv else ("pass" if inv.get("passed") else "see page"),
        "citation": meta.get("citation", ""),
        "description": meta.get("description", ""),
    }


def _relative_difference(ours: Any, theirs: Any) -> float | None:
    if not isinstance(ours, (int, float)) or not isinstance(theirs, (int, float)):
        return None
    scale = max(abs(ours), abs(theirs))
    return None if scale == 0 or not math.isfinite(scale) else abs(ours - theirs) / scale


def dysts_comparison(name: str, inv: Mapping[str, Any], tolerance: float = 0.2) -> dict[str, Any]:
    """Ours against dysts 0.96's stored values (kept in our invariants entry, `dysts`).

    `differs` names the quantities whose relative difference exceeds `tolerance`
    (lambda_max: from both of dysts's estimates, its "maximum" and its spectrum's first).
    """
    theirs = inv.get("dysts") or {}
    spectrum = theirs.get("lyapunov_spectrum") or [None]
    dysts_lmax = [theirs.get("max_lyapunov"), spectrum[0]]
    differs = []
    rel = [_relative_difference(inv.get("max_lyapunov"), v) for v in dysts_lmax]
    if any(r is not None for r in rel) and all(r is None or r > tolerance for r in rel):
        differs.append("lambda_max")
    for key, label in (("kaplan_yorke_dimension", "KY"), ("correlation_dimension", "D2")):
        r = _relative_difference(inv.get(key), theirs.get(key))
        if r is not None and r > tolerance:
            differs.append(label)
    return {
        "name": name,
        "ours_lambda_max": plus_minus(inv.get("max_lyapunov"), inv.get("max_lyapunov_stderr")),
        "dysts_lambda_max": " / ".join(num(v) for v in dysts_lmax),
        "ours_ky": num(inv.get("kaplan_yorke_dimension")),
        "dysts_ky": num(theirs.get("kaplan_yorke_dimension")),
        "ours_d2": num(inv.get("correlation_dimension")),
        "dysts_d2": num(theirs.get("correlation_dimension")),
        "has_dysts": any(v is not None for v in theirs.values()),
        "differs": differs,
    }


def invariant_rows(inv: Mapping[str, Any]) -> list[dict[str, str]]:
    """The invariants table of a system page: quantity, ours ± spread, dysts's value."""
    if not inv:
        return []
    theirs = inv.get("dysts") or {}
    rows = [
        ("Lyapunov spectrum", inv.get("lyapunov_spectrum"), inv.get("lyapunov_spectrum_stderr"),
         theirs.get("lyapunov_spectrum")),
        ("largest Lyapunov exponent", inv.get("max_lyapunov"), inv.get("max_lyapunov_stderr"),
         theirs.get("max_lyapunov")),
        ("Lyapunov time", inv.get("lyapunov_time"), None, None),
        ("Kaplan-Yorke dimension", inv.get("kaplan_yorke_dimension"), inv.get("kaplan_yorke_dimension_stderr"),
         theirs.get("kaplan_yorke_dimension")),
        ("Pesin entropy", inv.get("pesin_entropy"), inv.get("pesin_entropy_stderr"), theirs.get("pesin_entropy")),
        ("correlation dimension", inv.get("correlation_dimension"), inv.get("correlation_dimension_spread"),
         theirs.get("correlation_dimension")),
        ("dominant period", inv.get("period"), inv.get("period_resolution"), theirs.get("period")),
    ]
    return [{"quantity": q, "value": num(v), "spread": num(e, 2), "dysts": num(d)} for q, v, e, d in rows]


def check_rows(inv: Mapping[str, Any]) -> list[dict[str, str]]:
    """The self-checks of a system's invariants: name, pass/FAIL, and their numbers as `key=value`."""
    rows = []
    for name, check in sorted((inv.get("checks") or {}).items()):
        detail = ", ".join(f"{k}={num(v)}" for k, v in check.items() if k != "ok")
        rows.append({"check": name, "ok": "pass" if check.get("ok", True) else "FAIL", "detail": detail})
    return rows


def parameter_rows(meta: Mapping[str, Any]) -> list[dict[str, str]]:
    """Parameter name and value (vectors and matrices as bracketed lists, full precision)."""
    return [{"name": k, "value": num(v, 10)} for k, v in meta.get("parameters", {}).items()]


def granularity_rows(store: Store, name: str) -> list[dict[str, Any]]:
    """Per granularity: the time step, points per trajectory, trajectories and flagged ones per split."""
    rows = []
    shapes = store.manifest["systems"][name]["splits"]  # "fine/train" -> series shape
    for gran in store.granularities(name):
        grid = store.time(name, gran)
        splits = {}
        for split in SPLITS:
            shape = shapes.get(split_path(gran, split))
            if shape is None:
                continue
            valid = store.variables(name, gran, split, ["valid"])["valid"]  # only this variable: one read
            splits[split] = {"n": int(shape[0]), "invalid": int((~valid.astype(bool)).sum())}
        rows.append({"granularity": gran, "dt": num(grid["dt"], 6), "n_time": grid["n"], "splits": splits,
                     "dim": shapes.get(split_path(gran, "train"), [0, 0, 0])[2]})
    return rows


LEADERBOARD_METRICS = ("smape", "vpt_smape", "vpt_nrmse", "nrmse", "d_stsp", "d_h")
BEST_PER_SYSTEM = 5  # entries of each (protocol, data seed) a system page lists, best first


def _leaderboard_rows(results: str | os.PathLike | None) -> list[dict[str, str]]:
    """The rows of the benchmark's `results.csv` (or its folder); [] when there is none. A file
    of the earlier key (no seed or settings hash) is refused with the way out, never read as if
    its rows were on one seed and one setting."""
    if results is None:
        return []
    path = Path(results)
    path = path / "results.csv" if path.is_dir() else path
    return read_csv(path) if path.is_file() else []


def _entry_cells(rows: list[dict[str, str]], metrics: Iterable[str]) -> tuple[list[str], Any, Any]:
    """The metric columns to show (those of `metrics` with a number, else the benchmark's
    headline ones) and the benchmark's own per-system and label tables of `rows`."""
    wanted = L.metric_columns(rows, list(metrics)) or L.metric_columns(rows, L.HEADLINE + L.ATTRACTOR_HEADLINE)
    return wanted, L.per_system(rows, wanted), L.labels(rows)


def _rank(table: list[dict[str, Any]], first: str | None) -> list[dict[str, Any]]:
    """`table` ordered by (protocol, data seed), then best first by `first` (missing last)."""
    sign = -1 if first in L.HIGHER_IS_BETTER else 1

    def key(r: dict[str, Any]) -> tuple[Any, ...]:
        v = r["values"].get(first, math.nan) if first else math.nan
        return (r["protocol"], int(r["seed"]), not math.isfinite(v), sign * v if math.isfinite(v) else 0.0)

    return sorted(table, key=key)


def _settings(rows: list[dict[str, str]]) -> dict[tuple[str, str], str]:
    """(model, params_hash) -> the settings that differ from the model's defaults (`defaults`)."""
    out = {}
    for r in rows:
        params = r.get("params") or ""
        out[(r["model"], r["params_hash"])] = "defaults" if params in ("", "{}") else params
    return out


def read_leaderboard(results: str | os.PathLike | None, system: str, metrics: Iterable[str] = LEADERBOARD_METRICS,
                     top: int = BEST_PER_SYSTEM) -> list[dict[str, Any]]:
    """A system's best models from the benchmark's `results.csv` (or its folder): one row per
    (protocol, data seed, model, settings hash), never pooling other data seeds or settings,
    each the median over initial conditions of the `metrics` the file has; the `top` best of each
    (protocol, data seed) by the first metric. Empty when there is no file or no row for `system`."""
    rows = [r for r in _leaderboard_rows(results) if r["system"] == system]
    if not rows:
        return []
    wanted, table, names = _entry_cells(rows, metrics)
    settings = _settings(rows)
    entries = [{"protocol": p, "seed": seed, "model": names[(p, seed, model, h)], "settings": settings[(model, h)],
                "n": str(int(e["n_ics"])), "values": e} for (p, seed, _s, model, h), e in table.items()]
    ranked = _rank(entries, wanted[0] if wanted else None)
    shown: dict[tuple[str, str], int] = {}
    out = []
    for r in ranked:
        group = (r["protocol"], r["seed"])
        shown[group] = shown.get(group, 0) + 1
        if shown[group] <= top:
            out.append({**r, "cells": [num(r["values"][m]) for m in wanted], "metrics": wanted, "top": top})
    return out


def overall_leaderboard(results: str | os.PathLike | None, metrics: Iterable[str] = LEADERBOARD_METRICS
                        ) -> list[dict[str, Any]]:
    """The repo card's table: per (protocol, data seed, model, settings hash) the median over
    systems [interquartile range] of each system's median over initial conditions (the
    benchmark's own `leaderboard.summarize`), best first within each (protocol, data seed)."""
    rows = _leaderboard_rows(results)
    if not rows:
        return []
    wanted, _, _ = _entry_cells(rows, metrics)
    settings = _settings(rows)
    entries = [{"protocol": s.protocol, "seed": s.seed, "model": s.label,
                "settings": settings[(s.model, s.params_hash)], "n": str(s.n_systems),
                "values": {m: s.stats[m][0] for m in wanted},
                "cells": [_median_iqr(s.stats[m]) for m in wanted], "metrics": wanted}
               for s in L.summarize(rows, wanted)]
    return _rank(entries, wanted[0] if wanted else None)


def _median_iqr(stat: tuple[float, float, float]) -> str:
    med, lo, hi = stat
    return DASH if not math.isfinite(med) else f"{num(med)} [{num(lo)}, {num(hi)}]"


# ---------------------------------------------------------------------- corpus stores
VARIANT_ROWS = 50  # accepted variants listed on a system page; the others are counted
VARIANT_DIGITS = 6  # significant digits of a variant's parameter values on the page (exact ones in the store)


def verdict_counts(variants: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Screening verdicts counted by kind: `accepted`, or a rejection's reason up to its detail
    in brackets (`not chaotic`, `fixed point`, `unbounded`); accepted first, then most frequent."""
    counts: dict[str, int] = {}
    for v in variants:
        kind = "accepted" if v["accepted"] else (str(v.get("reason") or "rejected").split(" (")[0].strip() or "rejected")
        counts[kind] = counts.get(kind, 0) + 1
    order = sorted(counts, key=lambda k: (k != "accepted", -counts[k], k))
    return [{"verdict": k, "n": counts[k]} for k in order]


def corpus_summary(corpus: Mapping[str, Any] | None, catalogue: Mapping[str, Any],
                   limit: int = VARIANT_ROWS) -> dict[str, Any] | None:
    """What a corpus system's page says about its variants, from the group's `corpus` attribute
    (None for a store without a corpus): counts, verdicts, and a table of the first `limit`
    accepted variants with the parameters (`columns`) that differ from the catalogue's
    (`catalogue`, the system attribute's `parameters`) in any accepted variant."""
    if not corpus:
        return None
    accepted = [v for v in corpus["variants"] if v["accepted"]]
    keys = list(catalogue) + sorted({k for v in accepted for k in v["parameters"]} - set(catalogue))
    columns = [k for k in keys if any(v["parameters"].get(k) != catalogue.get(k) for v in accepted)]
    rows = [{"id": v["id"], "lambda_max": plus_minus(v.get("lambda_max"), v.get("lambda_max_stderr")),
             "cells": [num(v["parameters"].get(k), VARIANT_DIGITS) for k in columns]} for v in accepted[:limit]]
    return {
        "n_variants": corpus["n_variants"], "n_accepted": corpus["n_accepted"],
        "acceptance_pct": num(100 * corpus["acceptance"]),
        "verdicts": verdict_counts(corpus["variants"]),
        "columns": columns, "rows": rows, "n_more": len(accepted) - len(rows), "limit": limit,
        "digits": VARIANT_DIGITS,
    }


def corpus_recipe(config: Mapping[str, Any], attrs: Mapping[str, Mapping[str, Any]]) -> dict[str, Any] | None:
    """The corpus line of the repo card: the release config's `[corpus]` settings and base seed
    (`config` as the manifest records it), and the variants screened and accepted over the
    groups of `attrs`. None for a config without a corpus."""
    settings = config.get("corpus")
    if settings is None:
        return None
    groups = [a["corpus"] for a in attrs.values() if a.get("corpus")]
    return {
        "variants": settings["variants"], "scale": num(settings["scale"]), "scale_pct": num(100 * settings["scale"]),
        "skew_products": settings["skew_products"], "coupling": num(settings["coupling"]),
        "screen_ics": settings["screen_ics"], "screen_periods": num(settings["screen_periods"]),
        "seed": config["seed"], "n_groups": len(groups),
        "n_variants": sum(g["n_variants"] for g in groups), "n_accepted": sum(g["n_accepted"] for g in groups),
    }
