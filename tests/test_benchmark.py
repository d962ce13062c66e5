"""`chaosdata benchmark`: protocols as values, tasks deterministic per seed, a resumable runner
whose reruns are byte-identical, and reports derived from results.csv alone."""

from __future__ import annotations

import csv
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest
import torch

from chaosdata.baselines import forecaster_class
from chaosdata.benchmark import (
    PROTOCOLS,
    Dispatch,
    Protocol,
    SkipSystem,
    get_protocol,
    make_task,
    run_benchmark,
    write_plots,
    write_reports,
)
from chaosdata.benchmark.leaderboard import labels, markdown, per_system, summarize, valid_horizon
from chaosdata.benchmark.protocols import system_seed
from chaosdata.benchmark.results import ROW_KEY, params_hash
from chaosdata.benchmark.runner import model_settings
from chaosdata.benchmark.tuning import GRIDS, grid_for, tune
from chaosdata.cli import main
from chaosdata.errors import InvalidInputError
from chaosdata.store.executors import KILL_GRACE
from chaosdata.systems import get_system

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
    keys = [tuple(r[k] for k in ROW_KEY) for r in rows]
    assert len(set(keys)) == len(keys)
    assert {"vpt_smape", "vpt_nrmse", "smape", "smape_at_1", "smape_at_30"} <= set(rows[0])
    assert {r["seed"] for r in rows} == {"0"} and {r["params"] for r in rows if r["model"] == "nvar"} == {"{}"}
    skipped = read(run_dir / "skipped.csv")
    assert [(r["system"], r["seed"]) for r in skipped] == [("Torus", "0")]
    assert all("Lyapunov" in r["reason"] for r in skipped)
    timings = read(run_dir / "timings.csv")
    assert {r["model"] for r in timings} == set(MODELS)
    assert all(float(r["wall_seconds"]) >= float(r["forecast_seconds"]) > 0 for r in timings)


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
    assert summary.written == 0 and summary.skipped == 0 and summary.failed == 0
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


def test_a_model_error_is_recorded_not_fatal_and_tried_again(tmp_path):
    """A failed fit was stored in skipped.csv and never tried again."""
    for attempt in (1, 2):
        summary = run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path, progress=False,
                                model_params={"nvar": {"k": 0}})
        assert summary.written == 0 and summary.failed == 1
        (failure,) = read(tmp_path / "failures.csv")
        assert "k must be a positive integer" in failure["reason"] and failure["attempts"] == str(attempt)
    assert not (tmp_path / "skipped.csv").exists()


def test_a_model_error_of_any_type_is_one_line_and_the_run_goes_on(tmp_path, capsys):
    """A third-party model's own error type (here darts' TypeError on a mistyped hyperparameter)
    stopped the run with a traceback; now it is recorded, its traceback kept in failures.log."""
    pytest.importorskip("darts")
    summary = run_benchmark(TINY, ["Lorenz"], ["darts:NaiveSeasonal", "naive"], tmp_path, progress=False,
                            model_params={"darts:NaiveSeasonal": {"K": "3"}})
    assert summary.failed == 1 and summary.written == 2  # naive, after the failure
    (failure,) = read(tmp_path / "failures.csv")
    assert failure["model"] == "darts:naiveseasonal" and failure["reason"].startswith("TypeError: ")
    assert "Traceback" in (tmp_path / "failures.log").read_text()
    err = capsys.readouterr().err
    assert "failed: Lorenz / darts:naiveseasonal: TypeError" in err and "Traceback" not in err


def test_a_forecast_of_the_wrong_shape_is_a_recorded_model_error(tmp_path, monkeypatch):
    """A forecast of the wrong shape reached the metrics, whose shape error was recorded as the model's."""
    monkeypatch.setattr(forecaster_class("naive"), "fit_predict_each", lambda self, *a, **k: torch.zeros(1, 1, 1))
    summary = run_benchmark(TINY, ["Lorenz"], ["naive"], tmp_path, progress=False)
    assert summary.failed == 1 and summary.written == 0
    (failure,) = read(tmp_path / "failures.csv")
    assert failure["reason"] == ("ModelError: naive forecast a tensor of shape (1, 1, 1); expected [2, 30, 3] "
                                 "(contexts, horizon, dimension)")


def test_an_error_outside_the_model_stops_the_run(tmp_path, monkeypatch):
    """Only a model's own code is behind the recorded-and-retried boundary: an error in the scoring
    (here injected) is chaosdata's, and was recorded as the model's failure."""
    def broken_score(*args, **kwargs):
        raise RuntimeError("a scoring bug")

    monkeypatch.setattr("chaosdata.benchmark.runner.score", broken_score)
    with pytest.raises(RuntimeError, match="a scoring bug"):
        run_benchmark(TINY, ["Lorenz"], ["naive"], tmp_path, progress=False)
    assert not (tmp_path / "failures.csv").exists()


def test_seeded_subset_is_a_stated_draw_from_the_protocols_systems():
    from chaosdata.benchmark.protocols import seeded_subset

    gilpin = get_protocol("gilpin2023")
    picked = seeded_subset(gilpin, 20, seed=2023)
    assert picked == seeded_subset(gilpin, 20, seed=2023) == sorted(set(picked)) and len(picked) == 20
    assert picked != seeded_subset(gilpin, 20, seed=2024)
    assert all(get_system(s).kind in gilpin.kinds for s in picked)
    with pytest.raises(InvalidInputError, match=r"n must be between 1 and 135 .* got 0"):
        seeded_subset(gilpin, 0, seed=2023)


def test_a_pair_that_failed_before_runs_and_its_failure_is_cleared(tmp_path):
    settings = model_settings("nvar", {}, TINY)
    key = {"protocol": "tiny", "system": "Lorenz", "model": "nvar", "seed": "0", "params_hash": params_hash(settings)}
    with open(tmp_path / "failures.csv", "w", newline="") as f:
        w = csv.DictWriter(f, [*key, "attempts", "reason"])
        w.writeheader()
        w.writerow({**key, "attempts": "1", "reason": "RuntimeError: out of memory"})
    summary = run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path, progress=False)
    assert summary.written == 2 and not (tmp_path / "failures.csv").exists()


def test_a_metric_typo_is_refused_before_anything_runs(tmp_path):
    """A typo in metrics failed every pair, each stored as a permanent skip."""
    with pytest.raises(InvalidInputError, match=r"metrics \(--metrics\): unknown metric 'smap'.*'smape'"):
        run_benchmark(TINY, ["Lorenz"], ["naive"], tmp_path / "run", progress=False, metrics=["smap"])
    assert not (tmp_path / "run").exists()


def test_another_seed_or_other_params_are_new_results(run_dir, tmp_path):
    """Reruns with another --seed or --params wrote nothing: the key ignored both."""
    shutil.copytree(run_dir, tmp_path / "run")
    assert run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path / "run", progress=False, seed=1).written == 2
    assert run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path / "run", progress=False,
                         model_params={"nvar": {"k": 3}}).written == 2
    # the defaults given explicitly are the same settings: nothing new
    assert run_benchmark(TINY, ["Lorenz"], ["nvar"], tmp_path / "run", progress=False,
                         model_params={"nvar": {"k": 2}}).written == 0
    rows = [r for r in read(tmp_path / "run" / "results.csv") if r["system"] == "Lorenz" and r["model"] == "nvar"]
    assert sorted((r["seed"], r["params"]) for r in rows) == [("0", '{"k":3}')] * 2 + [("0", "{}")] * 2 + [("1", "{}")] * 2
    assert len({r["data_seed"] for r in rows}) == 2


def test_rows_of_a_pair_cut_short_are_dropped_and_rerun(run_dir, tmp_path):
    """A run killed after a pair's results rows but before its timings row (its commit record)."""
    shutil.copytree(run_dir, tmp_path / "run")
    timings = tmp_path / "run" / "timings.csv"
    lines = timings.read_text().splitlines(keepends=True)
    cut = next(i for i, line in enumerate(lines) if ",oracle," in line)
    timings.write_text("".join(lines[:cut] + lines[cut + 1:]))
    with open(tmp_path / "run" / "results.csv", "a") as f:
        f.write("tiny,Lorenz,naive,0,")  # a row cut short by the kill
    summary = run_benchmark(TINY, ["Lorenz", "Henon", "Torus"], MODELS, tmp_path / "run", progress=False)
    assert summary.written == 2
    as_set = lambda p: {tuple(sorted(r.items())) for r in read(p)}
    assert as_set(tmp_path / "run" / "results.csv") == as_set(run_dir / "results.csv")


@pytest.mark.parametrize("name", ["results.csv", "skipped.csv"])
def test_files_of_the_earlier_key_are_refused(tmp_path, name):
    """Results keyed by (protocol, system, model, ic) cannot be matched to a seed or params."""
    (tmp_path / name).write_text("protocol,system,model,ic,reason\ntiny,Lorenz,naive,0,x\n")
    with pytest.raises(InvalidInputError, match=rf"{name} has no seed.*written by an earlier chaosdata.*move it aside"):
        run_benchmark(TINY, ["Lorenz"], ["naive"], tmp_path, progress=False)
    if name == "results.csv":
        with pytest.raises(InvalidInputError, match="earlier chaosdata"):
            write_reports(tmp_path)


# --- reports ----------------------------------------------------------------------------------
def synthetic_rows():
    """Model a: per-system medians 1, 2, 3, 4 (VPT); model b: 0.5 everywhere."""
    rows = []
    key = {"protocol": "p", "seed": "0", "params": "{}"}
    for i, system in enumerate(["S1", "S2", "S3", "S4"]):
        for ic, offset in enumerate((-1.0, 0.0, 1.0)):
            rows.append({**key, "system": system, "model": "a", "params_hash": "ha", "ic": str(ic),
                         "vpt_smape": repr(i + 1 + offset * 0.5), "smape": "10.0"})
            rows.append({**key, "system": system, "model": "b", "params_hash": "hb", "ic": str(ic),
                         "vpt_smape": "0.5", "smape": "nan" if i == 0 else "50.0"})
    return rows


def test_summary_is_median_and_iqr_over_systems_of_per_system_medians():
    rows = synthetic_rows()
    table = per_system(rows, ["vpt_smape"])
    assert [table[("p", "0", s, "a", "ha")]["vpt_smape"] for s in ("S1", "S2", "S3", "S4")] == [1.0, 2.0, 3.0, 4.0]
    a, b = summarize(rows, ["vpt_smape", "smape"])
    assert a.model == "a" and a.n_systems == 4
    assert a.stats["vpt_smape"] == pytest.approx((2.5, 1.75, 3.25))
    assert b.stats["smape"] == (50.0, 50.0, 50.0)  # a system with no finite value drops out


def test_markdown_ranks_by_vpt():
    text = markdown(synthetic_rows(), ["vpt_smape", "smape"])
    assert text.index("| a | 4 | 2.5 [1.75, 3.25]") < text.index("| b | 4 |")


def test_results_on_other_seeds_or_settings_are_never_ranked_together():
    """A model scored on seed-1 data was ranked against models scored on seed-0 data."""
    rows = synthetic_rows()
    rows += [{**r, "seed": "1", "vpt_smape": "9.0"} for r in rows if r["model"] == "b"]
    rows += [{**r, "params_hash": "hb2", "params": '{"k":3}', "vpt_smape": "7.0"} for r in rows
             if r["model"] == "b" and r["seed"] == "0"]
    text = markdown(rows, ["vpt_smape"])
    seed0, seed1 = text.split("### p, data seed 1")
    assert "### p, data seed 0: 4 systems" in seed0 and "those on seed 1 are in their own table" in seed0
    assert '| b {"k":3} | 4 | 7 ' in seed0 and "| b {} | 4 | 0.5 " in seed0 and "9 [" not in seed0
    assert "| b | 4 | 9 [9, 9] |" in seed1 and "| a |" not in seed1


def test_entries_of_one_model_are_told_apart_in_their_labels():
    """A tuned entry read like an untuned one with fewer settings, and two entries whose non-default
    settings read the same (defaults changed between runs) had one label for two rows."""
    rows = synthetic_rows()
    b = [r for r in rows if r["model"] == "b"]
    rows += [{**r, "params_hash": "hb2"} for r in b]  # same params text, another hash
    rows += [{**r, "params_hash": "hb3", "params": '{"steps":100}', "tuned": '{"lookback":25}'} for r in b]
    names = labels(rows)
    assert names[("p", "0", "a", "ha")] == "a"
    assert names[("p", "0", "b", "hb")] == "b {} #hb" and names[("p", "0", "b", "hb2")] == "b {} #hb2"
    assert names[("p", "0", "b", "hb3")] == 'b {"steps":100} tuned: lookback'


def test_reports_and_plots_from_results(run_dir):
    paths = write_reports(run_dir)
    board = paths["leaderboard"].read_text()
    assert "oracle" in board and "### Wall time" in board and "| tiny | 0 | nvar | 2 |" in board
    rows = read(paths["per_system"])
    assert len(rows) == 2 * len(MODELS) and {r["seed"] for r in rows} == {"0"}
    pytest.importorskip("matplotlib")
    plots = write_plots(run_dir)
    assert {p.name for p in plots} == {"vpt_distribution_tiny.png", "error_vs_horizon_tiny.png",
                                       "error_vs_lyapunov_time_tiny.png"}
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


# --- the Gilpin 2023 protocols -------------------------------------------------------------
def tiny_gilpin(name, horizon):
    """gilpin2023 shrunk: 20 points per period, 240-point training trajectory (200 fit, 40 scored)."""
    return dataclasses.replace(get_protocol(name), name=f"tiny-{name}", context=200, horizon=horizon,
                               train_points=240, tune_horizon=40, pts_per_step=20)


TINY_GILPIN = tiny_gilpin("gilpin2023", 40)


def test_gilpin_protocols_follow_the_published_settings():
    fixed, long = get_protocol("gilpin2023"), get_protocol("gilpin2023-long")
    for p in (fixed, long):
        assert (p.timescale, p.pts_per_step, p.n_ics, p.univariate) == ("period", 100, 1, False)
        assert (p.train_points, p.train_points - p.tune_horizon, p.tune_horizon) == (1200, 1000, 200)
        assert p.context == 1000 and "map" not in p.kinds
    assert fixed.horizon == 200 and long.horizon == 5000 and long.n_points == 60 * 100


@pytest.mark.parametrize("model", sorted(GRIDS))
def test_every_grid_names_hyperparameters_of_its_model(model):
    assert set(GRIDS[model]) <= set(forecaster_class(model).hyperparam_names())
    assert all(len(values) >= 1 for values in GRIDS[model].values())


def test_published_grids():
    assert GRIDS["linear"] == {"lags": (3, 5, 10, 25)}
    assert GRIDS["nbeats"] == {"lookback": (5, 10, 25, 50, 100), "out_steps": (1,)}
    assert GRIDS["nvar"]["s"] == (2, 5, 15, 30, 60, 120)
    assert GRIDS["esn"]["leak"] == pytest.approx([1 / t for t in (2, 5, 15, 30, 60, 120)])
    assert grid_for("linear", {"lags": 4}) == {} and grid_for("naive", {}) == {}


@pytest.fixture(scope="module")
def lorenz_gilpin():
    return make_task(TINY_GILPIN, "Lorenz")


def test_a_gilpin_task_trains_on_another_initial_condition(lorenz_gilpin):
    task = lorenz_gilpin
    assert task.train.shape == (240, 3) and task.context.shape == (1, 200, 3) and task.target.shape == (1, 40, 3)
    assert not torch.allclose(task.train[:200], task.context[0])
    assert torch.equal(make_task(TINY_GILPIN, "Lorenz").train, task.train)
    with pytest.raises(SkipSystem, match="Henon is a map"):
        make_task(TINY_GILPIN, "Henon")


def test_tuning_picks_the_candidate_with_the_lowest_training_smape(lorenz_gilpin):
    train = lorenz_gilpin.train
    kw = {"dt": 0.1, "system": "Lorenz"}
    best, err = tune("linear", {"ridge": 1e-6}, {"lags": (3, 5, 10, 25)}, train, 40, **kw)
    singles = [tune("linear", {"ridge": 1e-6}, {"lags": (lag,)}, train, 40, **kw)[1] for lag in (3, 5, 10, 25)]
    assert err == min(singles) and best["lags"] == (3, 5, 10, 25)[singles.index(err)] and best["ridge"] == 1e-6


def test_a_tuning_candidate_that_fails_is_passed_over(lorenz_gilpin):
    train = lorenz_gilpin.train
    best, _ = tune("nvar", {}, {"s": (2, 500)}, train, 40, dt=0.1, system="Lorenz")  # 500-step taps: no data
    assert best["s"] == 2
    with pytest.raises(InvalidInputError):
        tune("nvar", {}, {"s": (500,)}, train, 40, dt=0.1, system="Lorenz")


@pytest.fixture(scope="module")
def gilpin_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("gilpin")
    run_benchmark(TINY_GILPIN, ["Lorenz", "Rossler", "Henon"], ["naive", "linear", "nvar"], out, progress=False)
    run_benchmark(tiny_gilpin("gilpin2023-long", 300), ["Lorenz"], ["naive", "linear"], out, progress=False)
    return out


def test_tiny_gilpin_runs_record_the_tuned_values_and_lyapunov_horizons(gilpin_dir):
    rows = read(gilpin_dir / "results.csv")
    fixed = [r for r in rows if r["protocol"] == "tiny-gilpin2023"]
    assert sorted((r["system"], r["model"]) for r in fixed) == sorted(
        (s, m) for s in ("Lorenz", "Rossler") for m in ("naive", "linear", "nvar"))
    linear = next(r for r in fixed if r["model"] == "linear" and r["system"] == "Lorenz")
    assert json.loads(linear["tuned"])["lags"] in (3, 5, 10, 25) and float(linear["tune_smape"]) >= 0
    assert next(r for r in fixed if r["model"] == "naive")["tuned"] == ""  # no grid: not tuned
    long = [r for r in rows if r["protocol"] == "tiny-gilpin2023-long"]
    assert len(long) == 2 and long[0]["horizon"] == "300"
    # 300 steps at 20 per period reach 15 periods: past 8 Lyapunov times of Lorenz (T_lambda 1.1, period 0.75)
    assert "smape_lt_8" in long[0] and float(long[0]["smape_lt_0.25"]) <= float(long[0]["smape_lt_8"])
    assert [r["system"] for r in read(gilpin_dir / "skipped.csv")] == ["Henon"]


def test_tiny_gilpin_reports_give_each_models_valid_horizon(gilpin_dir):
    board = write_reports(gilpin_dir)["leaderboard"].read_text()
    assert board.count("sMAPE < 30 up to (Lyapunov times)") == 2
    pytest.importorskip("matplotlib")
    names = {p.name for p in write_plots(gilpin_dir)}
    assert {"error_vs_lyapunov_time_tiny-gilpin2023.png", "error_vs_lyapunov_time_tiny-gilpin2023-long.png"} <= names


@pytest.mark.parametrize("curve, expected", [
    ([], "n/a"), ([(0.5, 40.0), (1.0, 50.0)], "0"), ([(0.5, 10.0), (1.0, 29.0), (2.0, 31.0)], "1"),
    ([(0.5, 10.0), (1.0, 20.0)], ">1"), ([(0.5, 10.0), (1.0, math.nan)], "0.5"),
])
def test_valid_horizon_is_the_last_horizon_under_the_threshold(curve, expected):
    assert valid_horizon(curve, 30.0) == expected


# --- executors and devices ----------------------------------------------------------------------
def test_a_dask_local_cluster_writes_the_rows_a_local_run_writes(tmp_path):
    pytest.importorskip("dask.distributed")
    systems, models = ["Lorenz", "Henon", "Torus"], ["naive", "nvar"]
    local = run_benchmark(TINY, systems, models, tmp_path / "local", progress=False)
    dask = run_benchmark(TINY, systems, models, tmp_path / "dask", progress=False,
                         dispatch=Dispatch(executor="dask", workers=2))
    assert (dask.written, dask.skipped, dask.failed) == (local.written, local.skipped, local.failed) == (8, 2, 0)
    rows = {name: sorted(read(tmp_path / name / "results.csv"), key=lambda r: [r[k] for k in ROW_KEY])
            for name in ("local", "dask")}
    assert rows["dask"] == rows["local"]  # every value, not only the keys
    assert read(tmp_path / "dask" / "skipped.csv") == read(tmp_path / "local" / "skipped.csv")
    assert run_benchmark(TINY, systems, models, tmp_path / "dask", progress=False,
                         dispatch=Dispatch(executor="dask")).written == 0


def test_benchmark_dask_options_are_checked_before_anything_runs(tmp_path, capsys):
    assert main(["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--scheduler", "tcp://h:8786"]) == 2
    assert "they need executor='dask' (--executor dask)" in capsys.readouterr().err
    args = ["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--executor", "dask"]
    assert main([*args, "--scheduler", "tcp://h:8786", "--workers", "2"]) == 2
    assert "workers (--workers) does not apply with a scheduler (--scheduler)" in capsys.readouterr().err
    assert main([*args, "--time-limit", "600"]) == 2
    assert "time_limit (--time-limit) works with the local executor only" in capsys.readouterr().err
    assert main(["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--time-limit", "0"]) == 2
    assert "time_limit (--time-limit) must be a positive finite number, got 0.0" in capsys.readouterr().err
    assert not (tmp_path / "results.csv").exists()


@pytest.mark.parametrize("settings, message", [
    ({"executor": "spark"}, "executor (--executor) must be one of ['local', 'dask']"),
    ({"workers": 2}, "need executor='dask'"),
    ({"scheduler": "tcp://h:8786"}, "need executor='dask'"),
    ({"executor": "dask", "scheduler": "tcp://h:8786", "workers": 2}, "does not apply with a scheduler"),
    ({"executor": "dask", "time_limit": 60}, "works with the local executor only"),
    ({"time_limit": -1}, "must be a positive finite number"),
])
def test_dispatch_refuses_settings_that_do_not_go_together(settings, message):
    with pytest.raises(InvalidInputError, match=re.escape(message)):
        Dispatch(**settings)


def test_a_pair_past_the_time_limit_is_killed_recorded_and_the_run_goes_on(tmp_path, monkeypatch):
    import misbehaving_forecasters  # registers "hang-test", also in the worker process (which imports it by name)

    started = tmp_path / "hang.pid"
    monkeypatch.setenv(misbehaving_forecasters.HANG_SECONDS, "60")  # ignoring SIGTERM: only SIGKILL stops it
    monkeypatch.setenv(misbehaving_forecasters.HANG_STARTED, str(started))
    t0 = time.perf_counter()
    summary = run_benchmark(TINY, ["Lorenz"], ["hang-test", "naive"], tmp_path, progress=False,
                            dispatch=Dispatch(time_limit=1))
    assert time.perf_counter() - t0 < 30  # the limit, the grace and two process starts; not the 60 s hang
    assert (summary.failed, summary.written) == (1, 2)
    [failure] = read(tmp_path / "failures.csv")
    assert (failure["model"], failure["attempts"]) == ("hang-test", "1")
    assert failure["reason"] == "time limit 1 s exceeded; raise --time-limit (time_limit) or leave this model out"
    assert {r["model"] for r in read(tmp_path / "results.csv")} == {"naive"}  # the next pair ran, in a new process
    run_benchmark(TINY, ["Lorenz"], ["naive"], tmp_path / "here", progress=False)
    assert read(tmp_path / "results.csv") == read(tmp_path / "here" / "results.csv")  # the worker's rows: the same
    # the limit and the grace before SIGKILL; not the worker's start (seconds of imports, outside the limit)
    assert 1 + KILL_GRACE <= summary.model_seconds["hang-test"] < 1 + KILL_GRACE + 2
    with pytest.raises(ProcessLookupError):  # the hung process is gone (killed and reaped), not left behind
        os.kill(int(started.read_text()), 0)
    monkeypatch.setenv(misbehaving_forecasters.HANG_SECONDS, "0")  # the next run tries it again; now it does not hang
    again = run_benchmark(TINY, ["Lorenz"], ["hang-test", "naive"], tmp_path, progress=False)
    assert (again.written, again.failed) == (2, 0) and not (tmp_path / "failures.csv").exists()


def test_a_pair_whose_worker_process_dies_is_recorded_as_failed(tmp_path):
    import misbehaving_forecasters  # noqa: F401 - registers "crash-test", here and in the worker process

    summary = run_benchmark(TINY, ["Lorenz"], ["crash-test"], tmp_path, progress=False, dispatch=Dispatch(time_limit=60))
    assert (summary.failed, summary.written) == (1, 0)
    [failure] = read(tmp_path / "failures.csv")
    assert failure["reason"] == ("the worker process died while running a job (exit code -9; its own error output, "
                                 "if any, is above)")


def test_a_model_the_worker_process_cannot_find_stops_a_timed_run_with_the_fix(tmp_path):
    from chaosdata.baselines.base import Forecaster, register

    @register("here-only-test")
    class HereOnly(Forecaster):
        """Registered in this process alone (inside a function): a worker process cannot import it."""

    with pytest.raises(InvalidInputError, match="which finds no forecaster 'here-only-test'.*register it in a module"):
        run_benchmark(TINY, ["Lorenz"], ["here-only-test"], tmp_path, progress=False, dispatch=Dispatch(time_limit=60))
    assert not (tmp_path / "results.csv").exists()


def test_a_script_without_a_main_guard_stops_at_its_first_timed_pair_with_the_fix(tmp_path):
    # the spawned worker imports the script again, which tries to start a worker of its own and dies;
    # every pair was recorded as failed with "could not start", one process start after another
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from chaosdata.benchmark import Dispatch, Protocol, run_benchmark
        tiny = Protocol(**{ {f.name: getattr(TINY, f.name) for f in dataclasses.fields(TINY)}!r})
        run_benchmark(tiny, ["Lorenz"], ["naive", "mean"], {str(tmp_path / "run")!r}, progress=False,
                      dispatch=Dispatch(time_limit=60))
    """))
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "WorkerStartError: the worker process could not start" in done.stderr
    assert "guard its top level with `if __name__ == '__main__':`" in done.stderr
    assert not (tmp_path / "run" / "failures.csv").exists()


@pytest.fixture
def ctrl_c():
    """Ctrl-C raises KeyboardInterrupt here, whatever the launcher left: a shell starting the suite
    in the background sets SIGINT ignored, and Python then keeps it ignored."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_a_timed_run_and_kills_its_worker_process(tmp_path, monkeypatch, ctrl_c):
    import misbehaving_forecasters

    started = tmp_path / "hang.pid"
    monkeypatch.setenv(misbehaving_forecasters.HANG_SECONDS, "60")
    monkeypatch.setenv(misbehaving_forecasters.HANG_STARTED, str(started))

    def interrupt_once_hanging():
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not (started.exists() and started.read_text()):
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)  # as Ctrl-C does (the worker ignores it: the driver decides)

    threading.Thread(target=interrupt_once_hanging, daemon=True).start()
    t0 = time.perf_counter()
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(TINY, ["Lorenz"], ["hang-test"], tmp_path / "run", progress=False, dispatch=Dispatch(time_limit=30))
    assert time.perf_counter() - t0 < 25  # not the 30 s limit
    with pytest.raises(ProcessLookupError):  # the worker is gone (killed and reaped)
        os.kill(int(started.read_text()), 0)
    assert not (tmp_path / "run" / "failures.csv").exists()  # interrupted is not failed


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is present: nothing to refuse")
def test_device_cuda_is_refused_where_cuda_is_absent(tmp_path, capsys):
    args = ["benchmark", "--out", str(tmp_path), "--systems", "Lorenz", "--models", "naive", "--device", "cuda"]
    assert main(args) == 2
    assert "device 'cuda' is not usable here" in capsys.readouterr().err
    assert not (tmp_path / "results.csv").exists()


def test_the_device_reaches_the_models_and_the_timings(tmp_path):
    from chaosdata.baselines.base import Forecaster, register

    seen = []

    @register("device-probe-test")
    class DeviceProbe(Forecaster):
        """Forecasts zeros; records the device it was fitted on."""

        def _fit(self, series, *, dt, system):
            seen.append(str(self.device))
            self.dim_ = series[0].shape[-1]

        def _predict(self, context, horizon):
            return torch.zeros(context.shape[0], horizon, self.dim_, dtype=torch.float64)

    run_benchmark(TINY, ["Lorenz"], ["device-probe-test"], tmp_path, progress=False, device="meta")
    assert seen == ["meta", "meta"]  # one fit per initial condition, each on the run's device
    assert [r["device"] for r in read(tmp_path / "timings.csv")] == ["meta"]
