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


def test_the_gilpin2023_report_trims_results_and_ranks_each_part(tmp_path, monkeypatch, capsys):
    from chaosdata.benchmark import Protocol, run_benchmark
    from chaosdata.benchmark.results import read_csv

    report = _load("gilpin2023_report")
    tiny = Protocol(name="tiny", description="test", n_ics=2, context=60, horizon=30, timescale="lyapunov",
                    pts_per_step=30, transient=2.0)
    run_benchmark(tiny, ["Lorenz"], ["naive", "mean"], tmp_path / "runs" / "fixed", progress=False)
    monkeypatch.setattr("sys.argv", ["gilpin2023_report.py", "--runs", str(tmp_path / "runs"),
                                     "--out", str(tmp_path / "out")])
    report.main()
    rows = read_csv(tmp_path / "out" / "results.csv")
    assert len(rows) == 4 and "mse" not in rows[0] and {"smape", "vpt_smape", "smape_lt_0.5"} <= set(rows[0])
    board = (tmp_path / "out" / "leaderboard.md").read_text()
    assert "every system run (1 of the 135 flows)" in board and "| naive | 1 |" in board
    assert "| mean | 1 |" in capsys.readouterr().out  # the condensed table, by median sMAPE
