"""`chaosdata benchmark`: protocols as values, tasks deterministic per seed, a resumable runner
whose reruns are byte-identical, and reports derived from results.csv alone."""

from __future__ import annotations

import csv
import dataclasses
import math

import pytest
import torch

from chaosdata.benchmark import PROTOCOLS, Protocol, SkipSystem, get_protocol, make_task, run_benchmark, write_plots, write_reports
from chaosdata.benchmark.leaderboard import markdown, per_system, summarize
from chaosdata.benchmark.protocols import system_seed
from chaosdata.cli import main
from chaosdata.errors import InvalidInputError

TINY = Protocol(name="tiny", description="test: 2 ICs, 30 points per Lyapunov time, context 60, horizon 30",
                n_ics=2, context=60, horizon=30, timescale="lyapunov", pts_per_step=30, transient=2.0)
MODELS = ["naive", "nvar", "oracle"]


def read(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


# --- protocols --------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_protocols_are_consistent_values(name):
    p = get_protocol(name)
    assert p.name == name and p.n_points == p.context + p.horizon
    assert p.timescale in ("lyapunov", "period") and p.n_ics >= 1
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.n_ics = 3


def test_published_settings():
    zs, d21 = get_protocol("zero-shot"), get_protocol("dysts2021")
    assert (zs.n_ics, zs.pts_per_step, zs.context, zs.horizon) == (20, 30, 512, 300)
    assert d21.univariate and d21.pts_per_step == 100 and d21.context * 6 == d21.n_points * 5
    c21 = get_protocol("dysts2021-coarse")
    assert c21.pts_per_step == 15 and c21.n_points == 12 * 15 and c21.context * 6 == c21.n_points * 5


def test_unknown_protocol_is_explained():
    with pytest.raises(InvalidInputError, match="Did you mean 'zero-shot'"):
        get_protocol("zero_shot")


def test_task_shapes_and_determinism():
    a, b = make_task(TINY, "Lorenz"), make_task(TINY, "Lorenz")
    assert a.context.shape == (2, 60, 3) and a.target.shape == (2, 30, 3)
    assert torch.equal(a.context, b.context) and torch.equal(a.target, b.target)
    assert torch.equal(a.raw_context, a.context)  # Lorenz has no postprocess
    assert math.isclose(a.dt * 30, a.lyapunov_time)
    assert a.seed == system_seed(0, "tiny", "Lorenz") != system_seed(1, "tiny", "Lorenz")
    assert not torch.equal(make_task(TINY, "Lorenz", base_seed=1).context, a.context)


def test_maps_step_once_per_iteration():
    t = make_task(TINY, "Henon")
    assert t.dt == 1.0 and t.context.shape == (2, 60, 2)


def test_systems_without_a_lyapunov_time_are_skipped_with_a_reason():
    with pytest.raises(SkipSystem, match="no Lyapunov time"):
        make_task(TINY, "Torus")


# --- the runner -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    run_benchmark(TINY, ["Lorenz", "Henon", "Torus"], MODELS, out, progress=False)
    return out


def test_results_are_tidy_and_complete(run_dir):
    rows = read(run_dir / "results.csv")
    assert len(rows) == 2 * len(MODELS) * 2  # systems x models x ICs
    keys = [(r["protocol"], r["system"], r["model"], r["ic"]) for r in rows]
    assert len(set(keys)) == len(keys)
    assert {"vpt_smape", "vpt_nrmse", "smape", "smape_at_1", "smape_at_30"} <= set(rows[0])
    skipped = read(run_dir / "skipped.csv")
    assert {(r["system"], r["model"]) for r in skipped} == {("Torus", m) for m in MODELS}
    assert all("Lyapunov" in r["reason"] for r in skipped)
    assert {r["model"] for r in read(run_dir / "timings.csv")} == set(MODELS)


def test_oracle_outlasts_persistence(run_dir):
    rows = read(run_dir / "results.csv")
    for system in ("Lorenz", "Henon"):
        mine = [r for r in rows if r["system"] == system]
        full = float(mine[0]["horizon"]) * float(mine[0]["dt"]) / float(mine[0]["lyapunov_time"])
        # the oracle stays valid over the whole horizon (1 Lyapunov time for Lorenz, 30 iterations of Henon)
        assert [float(r["vpt_smape"]) for r in mine if r["model"] == "oracle"] == pytest.approx([full, full])
        assert max(float(r["vpt_smape"]) for r in mine if r["model"] == "naive") < full


def test_rerun_skips_everything_and_changes_nothing(run_dir):
    before = (run_dir / "results.csv").read_bytes(), (run_dir / "skipped.csv").read_bytes()
    summary = run_benchmark(TINY, ["Lorenz", "Henon", "Torus"], MODELS, run_dir, progress=False)
    assert summary.written == 0 and summary.skipped == 0
    assert ((run_dir / "results.csv").read_bytes(), (run_dir / "skipped.csv").read_bytes()) == before


def test_a_fresh_run_is_byte_identical(run_dir, tmp_path):
    run_benchmark(TINY, ["Lorenz", "Henon", "Torus"], MODELS, tmp_path, progress=False)
    assert (tmp_path / "results.csv").read_bytes() == (run_dir / "results.csv").read_bytes()


def test_an_interrupted_run_resumes_to_the_same_rows(run_dir, tmp_path):
    run_benchmark(TINY, ["Lorenz", "Henon"], ["naive"], tmp_path, progress=False)  # the first part only
    summary = run_benchmark(TINY, ["Lorenz", "Henon", "Torus"], MODELS, tmp_path, progress=False)
    assert summary.written == 2 * (len(MODELS) - 1) * 2
    as_set = lambda p: {tuple(sorted(r.items())) for r in read(p)}
    assert as_set(tmp_path / "results.csv") == as_set(run_dir / "results.csv")


def test_a_model_error_is_recorded_not_fatal(tmp_path):
    summary = run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path, progress=False, model_params={"nvar": {"k": 0}})
    assert summary.written == 0 and summary.skipped == 1
    assert "k must be a positive integer" in read(tmp_path / "skipped.csv")[0]["reason"]


# --- reports ----------------------------------------------------------------------------------
def synthetic_rows():
    """Model a: per-system medians 1, 2, 3, 4 (VPT); model b: 0.5 everywhere."""
    rows = []
    for i, system in enumerate(["S1", "S2", "S3", "S4"]):
        for ic, offset in enumerate((-1.0, 0.0, 1.0)):
            rows.append({"protocol": "p", "system": system, "model": "a", "ic": str(ic),
                         "vpt_smape": repr(i + 1 + offset * 0.5), "smape": "10.0"})
            rows.append({"protocol": "p", "system": system, "model": "b", "ic": str(ic),
                         "vpt_smape": "0.5", "smape": "nan" if i == 0 else "50.0"})
    return rows


def test_summary_is_median_and_iqr_over_systems_of_per_system_medians():
    rows = synthetic_rows()
    table = per_system(rows, ["vpt_smape"])
    assert [table[("p", s, "a")]["vpt_smape"] for s in ("S1", "S2", "S3", "S4")] == [1.0, 2.0, 3.0, 4.0]
    a, b = summarize(rows, ["vpt_smape", "smape"])
    assert a.model == "a" and a.n_systems == 4
    assert a.stats["vpt_smape"] == pytest.approx((2.5, 1.75, 3.25))
    assert b.stats["smape"] == (50.0, 50.0, 50.0)  # a system with no finite value drops out


def test_markdown_ranks_by_vpt():
    text = markdown(synthetic_rows(), ["vpt_smape", "smape"])
    assert text.index("| a | 4 | 2.5 [1.75, 3.25]") < text.index("| b | 4 |")


def test_reports_and_plots_from_results(run_dir):
    paths = write_reports(run_dir)
    assert "oracle" in paths["leaderboard"].read_text()
    rows = read(paths["per_system"])
    assert len(rows) == 2 * len(MODELS)
    pytest.importorskip("matplotlib")
    plots = write_plots(run_dir)
    assert {p.name for p in plots} == {"vpt_distribution_tiny.png", "error_vs_horizon_tiny.png"}
    assert all(p.stat().st_size > 1000 for p in plots)


def test_cli_redraws_reports(run_dir, capsys):
    assert main(["benchmark", "--out", str(run_dir), "--report-only"]) == 0
    assert "leaderboard.md" in capsys.readouterr().out


def test_cli_rejects_an_unknown_model(tmp_path, capsys):
    assert main(["benchmark", "--out", str(tmp_path), "--models", "nvarr", "--systems", "Lorenz"]) == 2
    assert "Did you mean 'nvar'" in capsys.readouterr().err


def test_attractor_protocol_scores_free_runs_by_divergences(tmp_path):
    free = dataclasses.replace(TINY, name="tiny-free", horizon=120, free_run=True)
    run_benchmark(free, ["Lorenz"], ["mean", "oracle"], tmp_path, progress=False)
    rows = read(tmp_path / "results.csv")
    assert {"d_stsp", "d_h", "hellinger_distance"} <= set(rows[0]) and "vpt_smape" not in rows[0]
    d = {m: max(float(r["d_stsp"]) for r in rows if r["model"] == m) for m in ("mean", "oracle")}
    assert d["oracle"] < d["mean"]  # the true dynamics fill the attractor; a constant does not


@pytest.mark.parametrize("params, match", [
    ({"esn": {"size": 10}}, r"params \(--params\) set hyperparameters of 'esn', which is not among the models run"),
    ({"nvr": {"k": 2}}, r"unknown forecaster 'nvr'.*Did you mean 'nvar'"),
    ({"nvar": {"kk": 2}}, r"params \(--params\) for 'nvar': forecaster 'nvar' has no hyperparameter 'kk'"),
])
def test_params_that_would_be_ignored_are_refused_before_anything_runs(tmp_path, params, match):
    """Hyperparameters of a model that is not run were accepted and silently ignored."""
    out = tmp_path / "run"
    with pytest.raises(InvalidInputError, match=match):
        run_benchmark(TINY, ["Lorenz"], ["nvar"], out, progress=False, model_params=params)
    assert not out.exists()


def test_cli_refuses_params_for_a_model_not_run(tmp_path, capsys):
    args = ["benchmark", "--out", str(tmp_path / "run"), "--models", "naive", "--systems", "Lorenz",
            "--params", '{"esn": {"size": 200}}']
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'esn', which is not among the models run (--models naive)" in err
