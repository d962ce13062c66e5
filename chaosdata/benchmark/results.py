"""The benchmark's files and their key: what identifies a result, and how the CSVs are kept.

A (system, model) pair of a run is identified by `PAIR_KEY` = (protocol, system, model, seed,
params_hash): `seed` is the base seed of the data, `params_hash` a hash of the model's full
settings (defaults included, so `--params` equal to the defaults is the same run). A results
row adds `ic`. The files of an output folder:

- `results.csv`: one row per (pair, ic), the metrics as columns;
- `timings.csv`: one row per finished pair (seconds, threads, the settings as JSON); written
  after the pair's results rows, it is the pair's commit record: results rows of a pair without
  one (a run killed between the two writes) are dropped when the next run starts;
- `failures.csv`: the latest error of each pair that failed (recorded, tried again next run,
  removed once the pair succeeds);
- `skipped.csv`: (protocol, system, seed, reason) where the protocol does not apply to a
  system's data (no Lyapunov time, trajectories that failed): permanent for that data.

Files written under the earlier key (protocol, system, model, ic) cannot be matched to a data
seed or to hyperparameters, so they are refused with a message saying how to go on
(`check_format`), never read as if they were seed 0 with defaults.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from chaosdata.atomic import replacing
from chaosdata.errors import InvalidInputError

PAIR_KEY = ("protocol", "system", "model", "seed", "params_hash")
ROW_KEY = (*PAIR_KEY, "ic")
SKIP_KEY = ("protocol", "system", "seed")
SKIPPED_FIELDS = (*SKIP_KEY, "reason")
FAILURE_FIELDS = (*PAIR_KEY, "attempts", "reason")
TIMING_FIELDS = (*PAIR_KEY, "n_ics", "forecast_seconds", "wall_seconds", "threads", "device", "params")
# the columns each file must have: a file without them was written under the earlier key
REQUIRED = {"results.csv": ROW_KEY, "timings.csv": PAIR_KEY, "skipped.csv": SKIP_KEY, "failures.csv": PAIR_KEY}


def settings_json(settings: Mapping[str, Any]) -> str:
    """Canonical JSON of a model's settings (sorted keys; values JSON cannot hold as their repr)."""
    return json.dumps(dict(settings), sort_keys=True, default=repr, separators=(",", ":"))


def params_hash(settings: Mapping[str, Any]) -> str:
    """12 hex digits of SHA-256 of `settings_json(settings)`: equal settings, equal hash."""
    return hashlib.sha256(settings_json(settings).encode()).hexdigest()[:12]


def pair_key(row: Mapping[str, Any]) -> tuple[str, ...]:
    """The `PAIR_KEY` of a row, as strings (what a CSV gives back)."""
    return tuple(str(row[k]) for k in PAIR_KEY)


def check_format(path: Path) -> None:
    """Refuse a benchmark file that lacks its key columns (one written by the earlier key)."""
    required = REQUIRED[path.name]
    if not path.exists():
        return
    with path.open(newline="") as f:
        header = next(csv.reader(f), [])
    missing = [c for c in required if c not in header]
    if header and missing:
        raise InvalidInputError(
            f"{path} has no {', '.join(missing)} column: it was written by an earlier chaosdata that keyed "
            f"results by (protocol, system, model, ic) only, so its rows cannot be matched to a data seed or "
            f"hyperparameters and are not read; move it aside (e.g. rename it {path.stem}-old.csv) or use "
            f"another --out, then run the benchmark again")


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a benchmark CSV (checked by `check_format`; [] when absent). A row cut short
    by a killed write (fields missing) is left out."""
    check_format(path)
    if not path.exists():
        return []
    with path.open(newline="") as f:
        return [r for r in csv.DictReader(f) if None not in r.values()]


def rewrite(path: Path, rows: Sequence[Mapping[str, Any]], first_fields: Sequence[str]) -> None:
    """Replace `path` atomically with `rows` (header: `first_fields`, then the other columns in
    order of appearance); with no rows the file is removed."""
    if not rows:
        path.unlink(missing_ok=True)
        return
    header = _header([], rows, first_fields)
    with replacing(path) as tmp, tmp.open("w", newline="") as f:
        w = csv.DictWriter(f, header)
        w.writeheader()
        w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)


def append_rows(path: Path, rows: Sequence[Mapping[str, Any]], first_fields: Sequence[str]) -> None:
    """Append rows to a CSV (one write, flushed to disk); if they bring new columns, rewrite it
    with the union header first. Floats are written with `repr`, so reruns are byte-identical."""
    if not rows:
        return
    existing: list[str] = []
    if path.exists():
        with path.open(newline="") as f:
            existing = next(csv.reader(f), [])
    header = _header(existing, rows, first_fields)
    if existing and header != existing:
        rewrite(path, read_csv(path), header)
    fresh = not path.exists()
    with path.open("a", newline="") as f:
        w = csv.DictWriter(f, header)
        if fresh:
            w.writeheader()
        w.writerows({k: _fmt(v) for k, v in r.items()} for r in rows)
        f.flush()
        os.fsync(f.fileno())


def _header(existing: Sequence[str], rows: Sequence[Mapping[str, Any]], first_fields: Sequence[str]) -> list[str]:
    header = list(existing) or list(first_fields)
    for r in rows:
        for c in r:
            if c not in header:
                header.append(c)
    return header


def _fmt(v: Any) -> Any:
    return repr(v) if isinstance(v, float) else v
