"""The benchmark scripts' record formats: what `benchmarks/RESULTS.md` is built from."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def steps():
    return _load("steps_per_period")


def test_a_survey_record_carries_what_the_table_reads(steps, tmp_path):
    record = steps.survey("Lorenz", n_ics=2, periods=2, pts_per_period=10)
    assert record["failures"] == {} and record["valid"] == 2 and record["periods"] == 2
    assert 100 < record["steps_per_period"] < 250  # ~157 at 1e-13 (RESULTS)
    assert 0 < record["stability_steps_per_period"] < record["steps_per_period"]
    assert record["compile"] is False and record["tol"] is None
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(record) + "\n")
    row = steps.table(path).splitlines()[2]
    assert row.startswith("| Lorenz | flow | 3 | dop853 | 2 x 2 |") and row.endswith("|")


def test_the_shipped_sweep_covers_every_flow_and_delay_equation_over_100_periods(steps):
    import chaosdata

    last = {}
    for line in (BENCHMARKS / "steps_per_period.jsonl").read_text().splitlines():
        if line.strip():
            r = json.loads(line)
            last[r["system"]] = r
    names = set(chaosdata.list_systems("flow")) | set(chaosdata.list_systems("delay"))
    assert set(last) == names
    assert all(r["periods"] >= 100 and r["n_ics"] >= 16 and r["valid"] == r["n_ics"] for r in last.values())


def test_the_stability_polynomial_of_rk4_is_its_taylor_series(steps):
    assert steps.stability_polynomial("rk4") == pytest.approx([1, 1, 1 / 2, 1 / 6, 1 / 24])
