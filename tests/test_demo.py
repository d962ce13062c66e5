"""`chaosdata demo`: one line per system, and bad arguments refused before any output."""

import pytest

from chaosdata.cli import main as cli
from chaosdata.demo import run_demo
from chaosdata.errors import InvalidInputError, InvalidTypeError


def test_demo_prints_one_line_per_system_and_the_totals(capsys):
    assert run_demo(n_points=50, n_ics=2, systems="Lorenz,henon") == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line.split() for line in lines[2:4]]
    assert [r[0] for r in rows] == ["Lorenz", "Henon"] and [r[1] for r in rows] == ["flow", "map"]
    assert [r[3] for r in rows] == ["2/2", "2/2"]
    assert lines[-1].startswith("2 systems, 0 failed trajectories")


@pytest.mark.parametrize("kw, error, match", [
    (dict(n_points=1), InvalidInputError, "n_points must be an integer >= 2"),
    (dict(n_points=0), InvalidInputError, "n_points must be an integer >= 2"),
    (dict(n_ics=0), InvalidInputError, "n_ics must be a positive integer"),
    (dict(n_points=2.5), InvalidTypeError, "n_points must be an integer >= 2"),
])
def test_bad_sizes_are_refused_before_the_table_starts(kw, error, match, capsys):
    with pytest.raises(error, match=match):
        run_demo(systems="Lorenz", **kw)
    assert capsys.readouterr().out == ""


def test_the_cli_reports_a_bad_size_in_one_line(capsys):
    assert cli(["demo", "--n-points", "1", "--systems", "Lorenz"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and out.err.strip() == "chaosdata: error: n_points must be an integer >= 2, got 1"


def test_an_absurd_n_points_is_refused_at_once_before_any_output(capsys):
    """`demo --n-points 1e11` tried to allocate terabytes and died in the allocator."""
    import time

    started = time.perf_counter()
    assert cli(["demo", "--n-points", str(10**11), "--systems", "Lorenz"]) == 2
    assert time.perf_counter() - started < 2.0
    out = capsys.readouterr()
    assert out.out == ""
    assert "n_points = 100000000000" in out.err and "more than the limit" in out.err and out.err.count("\n") == 1
