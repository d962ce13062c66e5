"""The `chaosdata` command line: options that must not be accepted and ignored, user errors as
one line (exit 2) instead of tracebacks, the release config as the CLI reads it, names and paths
resolved the same wherever it runs, and the packaging it is installed by. Each command family's
write-safety and interruption cases live beside its unit (test_export, test_cards, test_publish)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import pytest

import chaosdata.store
from chaosdata.cli import main as cli_main
from chaosdata.errors import InvalidInputError, UnknownNameError
from chaosdata.store import open_store
from chaosdata.store.config import ReleaseConfig, load_config, parse_config
from chaosdata.store.generate import _plan
from chaosdata.systems import get_system

ROOT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------- the CLI and the working directory
def test_info_names_a_system_even_inside_a_store_directory(tmp_path, monkeypatch, capsys):
    """`chaosdata info Lorenz` used to open ./Lorenz as a store when run inside a store."""
    (tmp_path / "Lorenz").mkdir()
    (tmp_path / "Lorenz" / "zarr.json").write_text("{}")  # a system group of a store
    monkeypatch.chdir(tmp_path)
    assert cli_main(["info", "Lorenz"]) == 0
    assert json.loads(capsys.readouterr().out)["name"] == "Lorenz"


def test_info_on_a_directory_that_is_not_a_store_says_so(tmp_path, capsys):
    assert cli_main(["info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "not a chaosdata store" in err and "manifest.json" in err


# ---------------------------------------------------------------------- packaging
def test_requires_python_matches_what_the_code_needs():
    """tomllib (used by the store configs) and zarr 3 need Python 3.11."""
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert meta["project"]["requires-python"] == ">=3.11"


CLI_CONFIG = """
name = "tiny"
systems = ["Lorenz", "Henon"]
length = 2
transient = 1
map_length = 50
map_transient = 10
[splits]
train = 2
val = 1
test = 1
[granularities.coarse]
points = 15
[granularities.fine]
points = 100
[integrator]
rtol = 1e-6
atol = 1e-6
"""


def raw_cli_config(**changes) -> dict:
    """A two-system config (a flow and a map, two granularities) as a dict, with `changes`."""
    raw = tomllib.loads(CLI_CONFIG)
    raw.update(changes)
    return raw


@pytest.fixture
def config_file(tmp_path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(CLI_CONFIG)
    return path


def one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err.strip()
    assert err.startswith("chaosdata: error:") and "\n" not in err, err
    for w in words:
        assert w in err, err
    return err


# ---------------------------------------------------------------------- generate's options
def test_scheduler_without_the_dask_executor_is_refused(config_file, tmp_path, capsys):
    # it used to be ignored: the build ran locally although a cluster was named
    assert cli_main(["generate", "--config", str(config_file), "--out", str(tmp_path / "s"),
                "--scheduler", "tcp://host:8786"]) == 2
    one_line_error(capsys, "--scheduler", "--executor dask")
    assert not (tmp_path / "s").exists()


def test_workers_with_a_scheduler_is_refused(config_file, tmp_path, capsys):
    # with a remote scheduler the cluster's workers run the systems; --workers was silently ignored
    assert cli_main(["generate", "--config", str(config_file), "--out", str(tmp_path / "s"), "--executor", "dask",
                "--scheduler", "tcp://host:8786", "--workers", "4"]) == 2
    one_line_error(capsys, "--workers does not apply with --scheduler")
    assert not (tmp_path / "s").exists()


def test_generate_without_systems_or_workers_builds_the_whole_config(config_file, tmp_path):
    assert cli_main(["generate", "--config", str(config_file), "--out", str(tmp_path / "s")]) == 0
    assert open_store(tmp_path / "s").systems == ["Henon", "Lorenz"]


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_a_systems_option_that_names_nothing_is_refused(config_file, tmp_path, capsys, value):
    # `--systems "$UNSET"` used to build every system of the config
    assert cli_main(["generate", "--config", str(config_file), "--out", str(tmp_path / "s"), "--systems", value]) == 2
    one_line_error(capsys, "--systems", "names nothing")
    assert not (tmp_path / "s").exists()


def test_systems_may_have_spaces_after_the_commas(config_file, tmp_path):
    assert cli_main(["generate", "--config", str(config_file), "--out", str(tmp_path / "s"),
                "--systems", "Lorenz, Henon"]) == 0
    assert open_store(tmp_path / "s").systems == ["Henon", "Lorenz"]


@pytest.mark.parametrize("under", [False, True])
def test_out_that_is_a_file_is_a_one_line_error(config_file, tmp_path, capsys, under):
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    out = path / "store" if under else path
    assert cli_main(["generate", "--config", str(config_file), "--out", str(out)]) == 2
    one_line_error(capsys, "is a file, not a directory")
    assert path.read_text() == "precious"


@pytest.mark.parametrize("command", [
    ["export", "store", "--format", "parquet", "--out"],
    ["card", "store", "--out"],
    ["publish", "store", "--repo-id", "me/data", "--dry-run"],
])
def test_output_folders_that_are_files_are_one_line_errors(tmp_path, capsys, command):
    # they were NotADirectoryError tracebacks, after the command had started writing
    path = tmp_path / "notes.txt"
    path.write_text("precious")
    assert cli_main([*command, str(path)]) == 2
    one_line_error(capsys, "is a file, not a directory")
    assert path.read_text() == "precious"


def test_a_path_that_cannot_be_read_is_one_line_not_a_traceback(tmp_path, monkeypatch, capsys):
    def denied(path):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(chaosdata.store, "open_store", denied)
    assert cli_main(["verify", str(tmp_path)]) == 1
    err = capsys.readouterr().err.strip()
    assert err == f"chaosdata: error: Permission denied: {str(tmp_path)!r}"


def test_an_os_error_about_no_path_keeps_its_traceback(tmp_path, monkeypatch):
    def broken(path):
        raise OSError("something inside went wrong")

    monkeypatch.setattr(chaosdata.store, "open_store", broken)
    with pytest.raises(OSError, match="something inside"):
        cli_main(["verify", str(tmp_path)])


@pytest.mark.parametrize("extra", [["--systems", "Henon"], ["--hdf5"], ["--dataset-info"], ["--workers", "4"],
                                   ["--results", "results.csv"]])
def test_no_restage_with_staging_options_is_refused(tmp_path, monkeypatch, capsys, extra):
    # --no-restage uploads the staged folder as it is: `--systems Henon` uploaded every system, silently
    import chaosdata.publish

    calls = []
    monkeypatch.setattr(chaosdata.publish, "publish", lambda *a, **kw: calls.append(kw) or pytest.fail("published"))
    assert cli_main(["publish", str(tmp_path), "--repo-id", "me/data", "--no-restage", *extra]) == 2
    one_line_error(capsys, "--no-restage", extra[0], "would be ignored")
    assert calls == []


def test_verify_with_a_systems_option_that_names_nothing_is_refused(tmp_path, capsys):
    # it used to verify the whole store and answer "ok"
    assert cli_main(["verify", str(tmp_path), "--systems", ""]) == 2
    one_line_error(capsys, "--systems", "names nothing")


# ---------------------------------------------------------------------- benchmark's options
@pytest.mark.parametrize("args, words", [
    (["--threads", "0"], ["--threads must be a positive integer"]),
    (["--params", "{esn: 3}"], ["--params is not valid JSON"]),
    (["--params", "[1]"], ["--params must map forecaster names"]),
    (["--params", '{"esn": 200}'], ["--params must map forecaster names"]),
])
def test_bad_benchmark_options_are_one_line_errors(tmp_path, capsys, args, words):
    # these were a RuntimeError, a JSONDecodeError and an AttributeError, with tracebacks
    assert cli_main(["benchmark", "--out", str(tmp_path / "b"), "--systems", "Lorenz", "--models", "naive", *args]) == 2
    one_line_error(capsys, *words)
    assert not (tmp_path / "b").exists()


@pytest.mark.parametrize("args, words", [
    (["--systems", ""], ["--systems", "names nothing"]),  # ran nothing, then FileNotFoundError on results.csv
    (["--systems", "Lorenz", "--metrics", ","], ["--metrics", "names nothing"]),  # was the protocol's default set
])
def test_benchmark_lists_that_name_nothing_are_refused(tmp_path, capsys, args, words):
    assert cli_main(["benchmark", "--out", str(tmp_path / "b"), "--models", "naive", *args]) == 2
    one_line_error(capsys, *words)
    assert not (tmp_path / "b").exists()


def test_report_only_without_results_is_a_one_line_error(tmp_path, capsys):
    # it was a FileNotFoundError traceback
    assert cli_main(["benchmark", "--out", str(tmp_path), "--report-only"]) == 2
    one_line_error(capsys, "results.csv", "without --report-only")


@pytest.mark.parametrize("extra", [["--models", "naive"], ["--systems", "Lorenz"], ["--protocol", "attractor"],
                                   ["--seed", "3"], ["--params", '{"esn": {"size": 10}}'], ["--time-limit", "60"]])
def test_report_only_with_the_options_of_a_run_is_refused(tmp_path, capsys, extra):
    # they were ignored: `--report-only --models naive` redrew the board of every model
    (tmp_path / "results.csv").write_text("protocol,system,model,ic,smape\nzero-shot,Lorenz,naive,0,100.0\n")
    assert cli_main(["benchmark", "--out", str(tmp_path), "--report-only", *extra]) == 2
    one_line_error(capsys, "--report-only", extra[0], "would be ignored")
    assert not (tmp_path / "leaderboard.md").exists()


def test_report_only_draws_the_leaderboard_of_the_metrics_asked_for(tmp_path, capsys):
    # --metrics was ignored by the leaderboard (only the headline metrics were shown), and with
    # --report-only a metric the results lack gave a table with an empty, headerless column
    (tmp_path / "results.csv").write_text(
        "protocol,system,model,seed,params_hash,ic,mse,smape\n"
        "zero-shot,Lorenz,naive,0,h,0,2.0,100.0\n"
        "zero-shot,Lorenz,naive,0,h,1,4.0,120.0\n")
    assert cli_main(["benchmark", "--out", str(tmp_path), "--report-only", "--metrics", "mse"]) == 0
    board = (tmp_path / "leaderboard.md").read_text()
    assert "| model | systems | mse |" in board and "smape" not in board.split("| model")[1]
    assert cli_main(["benchmark", "--out", str(tmp_path), "--report-only", "--metrics", "mae"]) == 2
    one_line_error(capsys, "--metrics 'mae' is not a column of")


# ---------------------------------------------------------------------- config
def test_a_granularity_with_fewer_than_two_points_over_the_length_is_refused():
    # 0.001 points per period over 2 periods became 2 points 1000 periods apart: a 500x longer span
    with pytest.raises(InvalidInputError, match=r"granularities.sparse .* fewer than the 2 .*raise"):
        parse_config(raw_cli_config(granularities={"sparse": {"points": 0.001}}), "tiny.toml")
    with pytest.raises(InvalidInputError, match="granularities.coarse"):
        parse_config(raw_cli_config(length=0.05), "tiny.toml")  # coarse: 0.75 points
    assert parse_config(raw_cli_config(length=0.1)).length == 0.1  # coarse 1.5 points round to 2, fine 10
    assert parse_config(raw_cli_config(length=0.05, systems=["Henon"])).length == 0.05  # maps ignore the length


def test_a_lyapunov_granularity_too_sparse_for_the_length_is_skipped_with_the_reason():
    config = parse_config(raw_cli_config(length=1, granularities={"fine": {"points": 100},
                                                             "lyap": {"timescale": "lyapunov", "points": 0.1}}))
    passes, skipped = _plan(get_system("Lorenz"), config)
    assert "lyap" in skipped and "fewer than 2" in skipped["lyap"]
    assert [list(p.members) for p in passes] == [["fine"]]
    dense = parse_config(raw_cli_config(length=1, granularities={"lyap": {"timescale": "lyapunov", "points": 50}}))
    assert _plan(get_system("Lorenz"), dense)[1] == {}


def test_noise_levels_that_name_the_same_groups_are_refused():
    # 0.01 and 0.010000001 both wrote fine_noise0.01: the second overwrote the first, silently
    with pytest.raises(InvalidInputError, match="name the same groups"):
        parse_config(raw_cli_config(noise={"levels": [0.01, 0.010000001]}), "tiny.toml")
    assert [n.level for n in parse_config(raw_cli_config(noise={"levels": [0.01, 0.0101]})).noise] == [0.01, 0.0101]


@pytest.mark.parametrize("granularities", [
    {"fine": {"points": 100}, "Fine": {"points": 15}},  # one directory on macOS and Windows
    {"fine": {"points": 100}, "fine_noise1": {"points": 15}},  # fine's copy at noise level 1
])
def test_granularities_that_write_the_same_group_are_refused(granularities):
    with pytest.raises(InvalidInputError, match="write the same group"):
        parse_config(raw_cli_config(granularities=granularities, noise={"levels": [1]}), "tiny.toml")


def test_a_config_path_that_is_a_directory_or_not_text_is_a_clear_error(tmp_path):
    with pytest.raises(InvalidInputError, match="is a directory"):
        load_config(tmp_path)
    binary = tmp_path / "store.zip"
    binary.write_bytes(b"PK\x03\x04\xff\xfe\x00\x81")
    with pytest.raises(InvalidInputError, match="not valid TOML"):
        load_config(binary)


def test_an_unknown_system_in_the_config_names_the_file_and_key():
    # the error was the catalogue's alone: with --systems also given, nothing said which list was wrong
    with pytest.raises(UnknownNameError, match=r"^tiny.toml: systems: unknown system 'Lorenzz'.*Did you mean 'Lorenz'"):
        parse_config(raw_cli_config(systems=["Lorenzz"]), "tiny.toml")


def test_verify_says_when_the_store_is_incomplete(tmp_path, capsys):
    # a store built with --systems Henon (or whose Lorenz failed) verified as a bare "ok"
    out = tmp_path / "partial"
    chaosdata.store.build(parse_config(raw_cli_config()), out, systems=["Henon"], progress=False, log=lambda m: None)
    assert cli_main(["verify", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "ok: 1 systems match the manifest"
    assert lines[1].startswith("incomplete: 1 of the config's systems are not built yet (Lorenz)")
    assert cli_main(["verify", str(out), "--systems", "Henon"]) == 0  # asked for Henon only: nothing to add
    assert capsys.readouterr().out == "ok: 1 systems match the manifest\n"


def test_a_store_built_before_the_new_build_rules_still_opens(tmp_path):
    # the rules above guard new builds; a manifest recording such a config must still be read
    sparse = parse_config(raw_cli_config(), "tiny.toml").to_dict()
    sparse["granularities"]["sparse"] = {"timescale": "period", "points": 0.001}
    sparse["granularities"]["Fine"] = {"timescale": "period", "points": 15.0}
    config = ReleaseConfig.from_dict(sparse, "old/manifest.json")
    assert {g.name for g in config.granularities} == {"coarse", "fine", "sparse", "Fine"}
    with pytest.raises(InvalidInputError, match="granularities.sparse"):
        parse_config(sparse, "new.toml")
