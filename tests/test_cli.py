"""The `chaosdata` command line as a whole: names and paths resolved the same wherever it runs,
and the packaging it is installed by. Each command family's own cases live beside its unit
(test_export, test_cards, test_publish, test_store, test_benchmark, test_demo)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from chaosdata.cli import main as cli_main

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
