"""Dataset cards: the repo card parses as a Hub DatasetCard, every number comes from the store,
every link and image exists, pictures are small deterministic PNGs, the recipe TOML rebuilds the
same config, leaderboards come from a results file."""

from __future__ import annotations

import contextlib
import io
import re
import struct
import tomllib
from pathlib import Path

import numpy as np
import pytest

from chaosdata.cards import plots, render_cards
from chaosdata.cards import values as V
from chaosdata.cards.recipe import config_toml
from chaosdata.cards.render import (GALLERY, PICTURES, README, environment, image_path, size_category,
                                    system_context, system_page)
from chaosdata.cli import main as cli
from chaosdata.errors import InvalidInputError
from chaosdata.publish.verify import broken_links, markdown_links
from chaosdata.store import build, load_preset, open_store
from chaosdata.store.config import parse_config
from chaosdata.store.errors import StoreError
from chaosdata.systems import get_system, list_systems
from stores import raw_tiny

# a flow, a delay equation and a map, one granularity (maps: iteration): the tiny store of
# tests/test_store.py with its own name and seed
CONFIG = raw_tiny(name="cards-test", seed=3, length=3, map_length=60,
                  granularities={"fine": {"timescale": "period", "points": 60}},
                  description="Three systems for the card tests.")
SYSTEMS = ("Lorenz", "Henon", "MackeyGlass")


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("cards") / "store"
    report = build(parse_config(CONFIG, "cards-test"), out, progress=False, log=lambda m: None)
    assert report.ok
    return open_store(out)


@pytest.fixture(scope="module")
def cards(store, tmp_path_factory):
    out = tmp_path_factory.mktemp("cards") / "rendered"
    return render_cards(store, out, repo_id="someone/cards-test")


# ---------------------------------------------------------------------- formatting
@pytest.mark.parametrize("value, digits, expected", [
    (0.9008272, 3, "0.901"), (None, 3, V.DASH), (float("nan"), 3, V.DASH), (float("inf"), 3, V.DASH),
    ([1.0, -14.5679], 3, "[1, -14.6]"), (28.0, 10, "28"), (True, 3, "True"), (7, 3, "7"),
])
def test_num(value, digits, expected):
    assert V.num(value, digits) == expected


@pytest.mark.parametrize("value, err, expected", [
    (0.9008, 0.0053, "0.901 ± 0.0053"), (0.9008, None, "0.901"), (None, 0.1, V.DASH), (1.0, float("nan"), "1"),
])
def test_plus_minus(value, err, expected):
    assert V.plus_minus(value, err) == expected


@pytest.mark.parametrize("n, label", [(0, "n<1K"), (999, "n<1K"), (1000, "1K<n<10K"), (12_345, "10K<n<100K"),
                                      (5_000_000, "1M<n<10M")])
def test_size_category(n, label):
    assert size_category(n) == label


@pytest.mark.parametrize("ours, theirs, differs", [
    ({"max_lyapunov": 0.9, "kaplan_yorke_dimension": 2.06}, {"max_lyapunov": 0.89, "lyapunov_spectrum": [1.09],
                                                             "kaplan_yorke_dimension": 2.07}, []),
    # lambda_max differs only when it is far from both of dysts's estimates
    ({"max_lyapunov": 0.9}, {"max_lyapunov": 2.0, "lyapunov_spectrum": [0.95]}, []),
    ({"max_lyapunov": 0.9}, {"max_lyapunov": 2.0, "lyapunov_spectrum": [3.0]}, ["lambda_max"]),
    ({"max_lyapunov": 0.9, "correlation_dimension": 1.0}, {"max_lyapunov": 0.9, "correlation_dimension": 2.0}, ["D2"]),
    ({"max_lyapunov": 0.4}, {"max_lyapunov": None, "lyapunov_spectrum": None}, []),
])
def test_dysts_comparison_flags_large_differences(ours, theirs, differs):
    row = V.dysts_comparison("X", dict(ours, dysts=theirs))
    assert row["differs"] == differs


# ---------------------------------------------------------------------- the repo card
def test_readme_parses_as_a_dataset_card(cards):
    from huggingface_hub import DatasetCard

    card = DatasetCard.load(cards.root / README)
    data = card.data.to_dict()
    assert data["license"] == "mit"
    assert data["task_categories"] == ["time-series-forecasting"]
    assert "multivariate-time-series-forecasting" in data["task_ids"]
    assert data["size_categories"] == ["n<1K"]
    assert "chaos" in data["tags"]
    assert "configs" not in data  # no export given: nothing to point at
    assert "someone/cards-test" in card.text


@pytest.mark.parametrize("system", SYSTEMS)
def test_catalogue_row_holds_the_stored_invariants(cards, store, system):
    inv = store.attrs(system)["invariants"]
    text = (cards.root / README).read_text()
    row = next(line for line in text.splitlines() if line.startswith(f"| [{system}]("))
    cells = [c.strip() for c in row.strip("|").split(" | ")]
    assert cells[1] == store.attrs(system)["system"]["kind"]
    assert cells[2] == str(store.attrs(system)["system"]["dim"])
    assert cells[3] == f"{inv['max_lyapunov']:.3g} ± {inv['max_lyapunov_stderr']:.2g}"
    assert cells[4] == f"{inv['kaplan_yorke_dimension']:.3g}"


def test_readme_states_the_recipe_and_provenance(cards, store):
    text = (cards.root / README).read_text()
    assert store.manifest["config_hash"] in text
    assert store.manifest["code"]["source_sha256"] in text
    assert "chaosdata generate --config metadata/config.toml" in text
    assert "@misc{chaosdata_cards-test" in text and "@inproceedings{gilpin2021chaos" in text


def test_every_page_and_picture_was_written(cards):
    expected = {README, GALLERY} | {system_page(s) for s in SYSTEMS} | {image_path(s, p) for s in SYSTEMS
                                                                        for p in PICTURES}
    assert expected <= set(cards.files)
    assert all((cards.root / f).is_file() for f in cards.files)


@pytest.mark.parametrize("page", [README] + [system_page(s) for s in SYSTEMS])
def test_every_link_and_image_exists(cards, page):
    assert markdown_links((cards.root / page).read_text())  # the check has something to check
    assert broken_links(cards.root, page) == []


def test_broken_links_finds_a_missing_target(tmp_path):
    (tmp_path / "a.md").write_text("[ok](a.md) ![img](img/x.png) [web](https://x.org) [anchor](#top) [gone](b.md#s)")
    assert broken_links(tmp_path, "a.md") == ["img/x.png", "b.md#s"]


@pytest.mark.parametrize("system", SYSTEMS)
def test_system_page_holds_parameters_invariants_and_checks(cards, store, system):
    text = (cards.root / system_page(system)).read_text()
    attrs = store.attrs(system)
    for name, value in attrs["system"]["parameters"].items():
        assert f"| `{name}` | {V.num(value, 10)} |" in text
    inv = attrs["invariants"]
    assert f"| largest Lyapunov exponent | {V.num(inv['max_lyapunov'])} | {V.num(inv['max_lyapunov_stderr'], 2)} |" in text
    for check in inv["checks"]:
        assert f"| {check} | " in text
    assert V.equation_text(system) in text


def test_system_page_counts_splits_from_the_store(cards, store):
    text = (cards.root / system_page("Lorenz")).read_text()
    grid = store.time("Lorenz", "fine")
    assert f"| `fine` | {V.num(grid['dt'], 6)} | {grid['n']} | 2 | 1 | 1 |" in text


@pytest.mark.parametrize("name", list_systems())
def test_every_catalogue_system_has_equation_text(name):
    text = V.equation_text(name)
    assert text and "=" in text


def test_unknown_system_has_no_equation_text():
    assert V.equation_text("NoSuchSystem") is None


# ---------------------------------------------------------------------- pictures
def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.parametrize("system", SYSTEMS)
@pytest.mark.parametrize("picture", PICTURES)
def test_pictures_are_small_pngs(cards, system, picture):
    path = cards.root / image_path(system, picture)
    width, height = _png_size(path)
    assert 150 <= width <= 1000 and 100 <= height <= 400
    assert path.stat().st_size < 150_000


def test_gallery_is_one_png_with_a_tile_per_system(cards):
    width, height = _png_size(cards.root / GALLERY)
    assert width >= 3 * 80 and height >= 80


def test_pictures_are_deterministic(store, tmp_path):
    data = plots.plot_data(store, "Lorenz")
    a = plots.save_png(plots.attractor_figure(data), tmp_path / "a.png").read_bytes()
    b = plots.save_png(plots.attractor_figure(plots.plot_data(store, "Lorenz")), tmp_path / "b.png").read_bytes()
    assert a == b


def test_plot_data_reads_valid_training_trajectories(store):
    data = plots.plot_data(store, "Henon")
    assert data.is_map and data.granularity == "iteration"
    np.testing.assert_array_equal(data.series, store.array("Henon", "iteration", "train")[...].astype(np.float64))


@pytest.mark.parametrize("dim, kind, pairs", [(1, "map", []), (2, "map", [(0, 1)]),
                                              (3, "flow", [(0, 1), (0, 2), (1, 2)]),
                                              (10, "delay", [(0, 5), (0, 9)])])
def test_projection_pairs(dim, kind, pairs):
    data = plots.PlotData("X", kind, "fine", np.zeros((1, 10, dim)), 0.1, 1.0,
                          tuple(f"x{i}" for i in range(dim)), tuple(range(dim)))
    assert plots.projection_pairs(data) == pairs


def test_one_dimensional_map_draws_a_return_plot(tmp_path):
    x = np.random.default_rng(0).random((1, 200, 1))
    data = plots.PlotData("OneD", "map", "iteration", x, 1.0, None, ("x1",), (0,))
    for draw in (plots.attractor_figure, plots.series_figure, plots.spectrum_figure):
        assert _png_size(plots.save_png(draw(data), tmp_path / f"{draw.__name__}.png"))[0] > 0
    plots.save_png(plots.gallery_figure([data]), tmp_path / "g.png")


def test_power_spectrum_peaks_at_the_signal_frequency():
    t = np.arange(2000) * 0.01
    x = np.sin(2 * np.pi * 3.0 * t)[None, :, None]
    freq, power = plots.power_spectrum(x, 0.01)
    assert abs(freq[np.argmax(power)] - 3.0) < 0.1


# ---------------------------------------------------------------------- recipe, leaderboard, errors
@pytest.mark.parametrize("preset", ["quick", "release"])
def test_config_toml_reads_back_to_the_same_hash(preset):
    config = load_preset(preset)
    text = config_toml(config.to_dict())
    assert parse_config(tomllib.loads(text), "x.toml").config_hash == config.config_hash


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": 1}, None])
def test_config_toml_refuses_a_value_toml_cannot_hold_naming_it(value):
    config = load_preset("quick").to_dict()
    config["splits"] = {**config["splits"], "odd": [1, value]}
    with pytest.raises(StoreError, match=f"cannot write {type(value).__name__} value"):
        config_toml(config)


def test_metadata_toml_rebuilds_the_stores_config(cards, store):
    text = (cards.root / "metadata" / "config.toml").read_text()
    assert parse_config(tomllib.loads(text), "config.toml").config_hash == store.manifest["config_hash"]
    assert (cards.root / "metadata" / "manifest.json").read_bytes() == (store.path / "manifest.json").read_bytes()


RESULTS = """protocol,system,model,seed,params_hash,ic,params,smape,vpt_smape,smape_at_1
short,Lorenz,naive,0,aaa,0,{},100.0,0.5,1.0
short,Lorenz,naive,0,aaa,1,{},120.0,0.7,1.0
short,Lorenz,naive,0,aaa,2,{},110.0,0.9,1.0
short,Lorenz,nvar,0,bbb,0,{},10.0,5.0,1.0
short,Henon,nvar,0,bbb,0,{},50.0,1.0,1.0
short,Henon,naive,0,aaa,0,{},150.0,0.1,1.0
"""
# the same models on another data seed and under other settings: rows of their own, never pooled
OTHER_RUNS = """short,Lorenz,naive,1,aaa,0,{},190.0,0.1,1.0
short,Lorenz,nvar,0,ccc,0,"{""k"":3}",25.0,2.0,1.0
"""


def test_leaderboard_medians_per_model(tmp_path):
    (tmp_path / "results.csv").write_text(RESULTS)
    rows = V.read_leaderboard(tmp_path, "Lorenz")
    assert [(r["model"], r["seed"], r["settings"], r["n"], r["cells"]) for r in rows] == [
        ("nvar", "0", "defaults", "1", ["10", "5"]), ("naive", "0", "defaults", "3", ["110", "0.7"])]
    assert rows[0]["metrics"] == ["smape", "vpt_smape"]
    assert V.read_leaderboard(tmp_path, "Rossler") == []
    assert V.read_leaderboard(tmp_path / "nothing.csv", "Lorenz") == []


def test_leaderboard_keeps_data_seeds_and_settings_apart(tmp_path):
    (tmp_path / "results.csv").write_text(RESULTS + OTHER_RUNS)
    rows = V.read_leaderboard(tmp_path, "Lorenz")
    assert [(r["seed"], r["model"], r["settings"], r["n"], r["cells"][0]) for r in rows] == [
        ("0", 'nvar {}', "defaults", "1", "10"), ("0", 'nvar {"k":3}', '{"k":3}', "1", "25"),
        ("0", "naive", "defaults", "3", "110"), ("1", "naive", "defaults", "1", "190")]
    assert [r["model"] for r in V.read_leaderboard(tmp_path, "Lorenz", top=1)] == ["nvar {}", "naive"]


def test_leaderboard_refuses_results_of_the_earlier_key(tmp_path):
    (tmp_path / "results.csv").write_text("protocol,system,model,ic,smape\nshort,Lorenz,naive,0,100.0\n")
    with pytest.raises(InvalidInputError, match=r"has no seed, params_hash column.*move it aside"):
        V.read_leaderboard(tmp_path, "Lorenz")


def test_overall_leaderboard_ranks_models_over_systems_per_data_seed(tmp_path):
    (tmp_path / "results.csv").write_text(RESULTS + OTHER_RUNS)
    rows = V.overall_leaderboard(tmp_path)
    assert [(r["seed"], r["model"], r["n"], r["cells"][0]) for r in rows] == [
        ("0", 'nvar {"k":3}', "1", "25 [25, 25]"), ("0", "nvar {}", "2", "30 [20, 40]"),
        ("0", "naive", "2", "130 [120, 140]"), ("1", "naive", "1", "190 [190, 190]")]


def test_system_page_shows_the_leaderboard(store, tmp_path):
    (tmp_path / "results.csv").write_text(RESULTS)
    ctx = system_context(store, "Lorenz", store.attrs("Lorenz"), [], "a/b", "fine", tmp_path / "results.csv", False)
    text = environment().get_template("system.md.j2").render(**ctx)
    assert "## Baseline leaderboard" in text and "at most 5 per protocol and data seed" in text
    assert "| short | 0 | naive | defaults | 3 | 110 | 0.7 |" in text
    no_results = environment().get_template("system.md.j2").render(
        **system_context(store, "Lorenz", store.attrs("Lorenz"), [], "a/b", "fine", None, False))
    assert "leaderboard" not in no_results


def test_repo_card_shows_the_overall_leaderboard_when_given(store, tmp_path):
    from chaosdata.cards.render import repo_context

    (tmp_path / "results.csv").write_text(RESULTS)
    names = store.select(None)
    attrs = {n: store.attrs(n) for n in names}
    template = environment().get_template("README.md.j2")
    assert "## Baseline leaderboard" not in template.render(**repo_context(store, attrs, [], "a/b", False))
    text = template.render(**repo_context(store, attrs, [], "a/b", False, results=tmp_path / "results.csv"))
    assert "## Baseline leaderboard" in text and "never pooled" in text
    assert "| short | 0 | nvar | defaults | 2 | 30 [20, 40] | 3 [2, 4] |" in text
    # and through render_cards, as `chaosdata card --results` and publish call it (the repo card
    # had no leaderboard: render_cards passed the results to the system pages only)
    render_cards(store, tmp_path / "out", results=tmp_path / "results.csv", systems=["Lorenz"])
    assert "| short | 0 | nvar | defaults |" in (tmp_path / "out" / "README.md").read_text()


@pytest.mark.parametrize("kwargs, message", [({"workers": 0}, "workers must be a positive integer"),
                                             ({"systems": ["Rossler"]}, "not in the store")])
def test_render_cards_errors_name_the_argument(store, tmp_path, kwargs, message):
    with pytest.raises(InvalidInputError, match=message):
        render_cards(store, tmp_path / "x", **kwargs)


def test_cli_card(store, tmp_path):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        assert cli(["card", str(store.path), "--out", str(tmp_path / "c"), "--systems", "Henon"]) == 0
    assert re.search(r"cards of 1 systems under .*: \d+ files", buf.getvalue())
    assert (tmp_path / "c" / system_page("Henon")).is_file()
    assert not (tmp_path / "c" / system_page("Lorenz")).exists()
    assert get_system("Henon").name in (tmp_path / "c" / README).read_text()


def test_cli_card_without_the_publish_extra(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "jinja2" else real(name, *a))
    assert cli(["card", "nowhere", "--out", "x"]) == 2
    assert "pip install 'chaosdata[publish]'" in capsys.readouterr().err


# ---------------------------------------------------------------------- corpus stores
# two flows, 3 variants each, screened (Rossler loses some to the screen): tests/test_corpus.py's tiny corpus
CORPUS_SYSTEMS = ("Lorenz", "Rossler")
CORPUS_CONFIG = raw_tiny(name="cards-corpus", systems=list(CORPUS_SYSTEMS), granularities={"fine": {"points": 30}},
                         length=2, corpus={"variants": 3, "scale": 0.1, "skew_products": 0, "screen_ics": 3,
                                           "screen_periods": 5})
VARIANTS_HEADER = "| variant | λ_max at screening |"


@pytest.fixture(scope="module")
def corpus_cards(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus-cards")
    assert build(parse_config(CORPUS_CONFIG, "cards-corpus"), root / "store", progress=False, log=lambda m: None).ok
    store = open_store(root / "store")
    return store, render_cards(store, root / "rendered", repo_id="someone/cards-corpus")


def _variant_table(text: str) -> tuple[list[str], list[list[str]]]:
    """(header cells, row cells) of a page's table of accepted variants."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(VARIANTS_HEADER))
    table = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        table.append([c.strip() for c in line.strip().strip("|").split("|")])
    return table[0], table[2:]


@pytest.mark.parametrize("system", CORPUS_SYSTEMS)
def test_a_corpus_page_lists_the_accepted_variants_of_the_attribute(corpus_cards, system):
    store, cards = corpus_cards
    attrs = store.attrs(system)
    corpus, catalogue = attrs["corpus"], attrs["system"]["parameters"]
    accepted = [v for v in corpus["variants"] if v["accepted"]]
    differ = [k for k in catalogue if any(v["parameters"][k] != catalogue[k] for v in accepted)]
    header, rows = _variant_table((cards.root / system_page(system)).read_text())
    assert header == ["variant", "λ_max at screening"] + [f"`{k}`" for k in differ]
    assert [r[0] for r in rows] == [str(v["id"]) for v in accepted]
    for row, v in zip(rows, accepted):
        assert row[1] == V.plus_minus(v["lambda_max"], v["lambda_max_stderr"])
        assert row[2:] == [V.num(v["parameters"][k], V.VARIANT_DIGITS) for k in differ]


@pytest.mark.parametrize("system", CORPUS_SYSTEMS)
def test_a_corpus_page_counts_variants_and_verdicts(corpus_cards, system):
    store, cards = corpus_cards
    corpus = store.attrs(system)["corpus"]
    text = " ".join((cards.root / system_page(system)).read_text().split())
    assert f"{corpus['n_accepted']} of the {corpus['n_variants']} parameter sets screened" in text
    rejected = [v["reason"].split(" (")[0] for v in corpus["variants"] if not v["accepted"]]
    counts = ([f"accepted {corpus['n_accepted']}"] if corpus["n_accepted"] else []) + \
        [f"{r} {rejected.count(r)}" for r in sorted(set(rejected), key=lambda r: (-rejected.count(r), r))]
    assert f"Screening verdicts: {'; '.join(counts)}." in text


def test_the_corpus_metadata_holds_every_variant(corpus_cards):
    import json

    store, cards = corpus_cards
    written = json.loads((cards.root / "metadata" / "corpus.json").read_text())
    assert written == {s: store.attrs(s)["corpus"] for s in CORPUS_SYSTEMS}


def test_the_repo_card_states_the_corpus_recipe(corpus_cards):
    store, cards = corpus_cards
    text = (cards.root / README).read_text()
    line = next(line for line in text.splitlines() if line.startswith("- A corpus of parameter variants:"))
    groups = [store.attrs(s)["corpus"] for s in CORPUS_SYSTEMS]
    assert "3 per flow" in line and "1 + 0.1·N(0, 1)" in line and "relative spread of 10%" in line
    assert f"base seed {store.config.seed}" in line and "over 5 periods from 3 members" in line
    assert f"{sum(g['n_accepted'] for g in groups)} of {sum(g['n_variants'] for g in groups)} accepted over 2 groups" in line
    assert "skew product" not in line  # this corpus has none


@pytest.mark.parametrize("page", [README] + [system_page(s) for s in CORPUS_SYSTEMS])
def test_corpus_cards_links_exist(corpus_cards, page):
    _, cards = corpus_cards
    assert broken_links(cards.root, page) == []


def test_a_long_variant_table_is_cut_and_says_how_many_more(corpus_cards):
    store, _ = corpus_cards
    attrs = store.attrs("Lorenz")
    base = attrs["system"]["parameters"]
    variants = [{"id": i, "parameters": {**base, "rho": 28.0 + i}, "accepted": i % 4 != 3,
                 "reason": "" if i % 4 != 3 else "unbounded (3 of 3 members left the bound)",
                 "lambda_max": 0.9, "lambda_max_stderr": 0.01, "n_members": 3} for i in range(120)]
    n_accepted = sum(v["accepted"] for v in variants)
    corpus = dict(attrs["corpus"], variants=variants, n_variants=120, n_accepted=n_accepted, acceptance=n_accepted / 120)
    summary = V.corpus_summary(corpus, base)
    assert summary["columns"] == ["rho"] and len(summary["rows"]) == V.VARIANT_ROWS
    assert summary["n_more"] == n_accepted - V.VARIANT_ROWS
    assert summary["verdicts"] == [{"verdict": "accepted", "n": 90}, {"verdict": "unbounded", "n": 30}]
    ctx = system_context(store, "Lorenz", dict(attrs, corpus=corpus), [], "a/b", "fine", None, False)
    text = environment().get_template("system.md.j2").render(**ctx)
    assert len(_variant_table(text)[1]) == V.VARIANT_ROWS
    assert f"And {n_accepted - V.VARIANT_ROWS} more accepted variants (the table lists the first {V.VARIANT_ROWS})" in text


@pytest.mark.parametrize("variants, expected", [
    ([], []),
    ([{"accepted": False, "reason": "fixed point (the state stops moving)"}] * 2
     + [{"accepted": True, "reason": ""}], [("accepted", 1), ("fixed point", 2)]),
    ([{"accepted": False, "reason": "not chaotic (lambda_max 0.01 +- 0.02 ...)"},
      {"accepted": False, "reason": "unbounded (the tangent dynamics blew up)"}], [("not chaotic", 1), ("unbounded", 1)]),
])
def test_verdict_counts(variants, expected):
    assert [(c["verdict"], c["n"]) for c in V.verdict_counts(variants)] == expected


def test_a_store_without_a_corpus_shows_no_variants(cards, store):
    assert V.corpus_recipe(store.manifest["config"], {s: store.attrs(s) for s in SYSTEMS}) is None
    assert all(V.corpus_summary(store.attrs(s).get("corpus"), store.attrs(s)["system"]) is None for s in SYSTEMS)
    assert not (cards.root / "metadata" / "corpus.json").exists()
    for page in [README] + [system_page(s) for s in SYSTEMS]:
        text = (cards.root / page).read_text()
        assert "parameter variants" not in text.lower() and "corpus" not in text.lower()
        assert VARIANTS_HEADER not in text


def test_the_recipe_toml_of_a_corpus_store_rebuilds_its_config(corpus_cards):
    store, cards = corpus_cards
    text = (cards.root / "metadata" / "config.toml").read_text()
    assert "[corpus]" in text
    assert parse_config(tomllib.loads(text), "config.toml").config_hash == store.manifest["config_hash"]


@pytest.mark.parametrize("table, entries", [("corpus", {"variants": 4, "scale": 0.2, "skew_products": 2}),
                                            ("noise", {"levels": [0.01, 0.1]})])
def test_config_toml_writes_the_optional_tables(table, entries):
    config = parse_config(raw_tiny(**{table: entries}), "x")
    text = config_toml(config.to_dict())
    assert f"[{table}]" in text
    assert parse_config(tomllib.loads(text), "x.toml").config_hash == config.config_hash


# ---------------------------------------------------------------------- write paths (issue 20)
def _one_line(err: str) -> str:
    assert err.count("\n") == 1 and err.startswith("chaosdata: "), err
    return err


def test_card_refuses_to_overwrite_a_readme_it_did_not_write(store, tmp_path, capsys, tree):
    (tmp_path / README).write_text("# my own notes\n")
    (tmp_path / "metadata").mkdir()
    (tmp_path / "metadata" / "config.json").write_text("{}")
    before = tree(tmp_path)
    assert cli(["card", str(store.path), "--out", str(tmp_path)]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "README.md" in err and "metadata/config.json" in err and "did not write" in err
    assert tree(tmp_path) == before


def test_card_rerenders_its_own_folder(store, tmp_path):
    render_cards(store, tmp_path, systems=["Henon"])
    (tmp_path / "LICENSE").write_text("mine")
    report = render_cards(store, tmp_path, systems=["Henon"], repo_id="a/b")
    assert "a/b" in (tmp_path / README).read_text() and (tmp_path / "LICENSE").read_text() == "mine"
    assert README in report.files


@pytest.mark.parametrize("out", ["store", "store/Lorenz", "."])
def test_card_into_or_around_the_store_is_refused(store, tmp_path, monkeypatch, capsys, tree, out):
    import shutil

    shutil.copytree(store.path, tmp_path / "store")
    monkeypatch.chdir(tmp_path)
    before = tree(tmp_path)
    assert cli(["card", "store", "--out", out]) == 2
    assert "the store" in _one_line(capsys.readouterr().err)
    assert tree(tmp_path) == before


@pytest.mark.parametrize("results, message", [("missing.csv", "no file"), ("notes.csv", "not a benchmark results table"),
                                              ("folder", "no file")])
def test_card_results_that_are_not_a_results_table_are_refused(store, tmp_path, capsys, results, message):
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    (tmp_path / "folder").mkdir()
    out = tmp_path / "out"
    assert cli(["card", str(store.path), "--out", str(out), "--results", str(tmp_path / results)]) == 2
    err = _one_line(capsys.readouterr().err)
    assert "--results" in err and message in err
    assert not out.exists()


SLOW_CARD = """
import os, signal, sys, time
# Ctrl-C as from a terminal, whatever this test's process ignores (a child inherits an ignored SIGINT)
signal.signal(signal.SIGINT, signal.default_int_handler)
from chaosdata.cards import plots
real = plots.save_png
def slow(fig, path):
    open(os.environ["CARD_STARTED"], "a").close()  # a worker is drawing: the test may interrupt now
    time.sleep(0.5)
    return real(fig, path)
plots.save_png = slow  # the forked workers inherit it
from chaosdata.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_ctrl_c_during_card_with_workers_stops_at_once_with_one_line(store, tmp_path):
    """Ctrl-C reaches the whole process group (as from a terminal): the workers leave it to the
    parent, which stops them; it used to take 10.7 s and print tracebacks."""
    import os
    import signal
    import subprocess
    import sys
    import time

    out, started = tmp_path / "out", tmp_path / "started"
    proc = subprocess.Popen([sys.executable, "-c", SLOW_CARD, "card", str(store.path), "--out", str(out),
                             "--workers", "2"], stderr=subprocess.PIPE, text=True, start_new_session=True,
                            env={**os.environ, "CARD_STARTED": str(started)})
    deadline = time.monotonic() + 60
    # interrupt once the first picture is being drawn (waiting for a finished one raced the run's end on a busy machine)
    while not started.exists() and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    first = proc.stderr.readline()
    stopped = time.monotonic() - sent  # to the message; the interpreter's own exit (torch's teardown) follows
    rc = proc.wait(timeout=30)
    err = first + proc.stderr.read()
    assert rc == 130 and "interrupted" in _one_line(err), err
    assert stopped < 2, stopped
    assert not (out / ".chaosdata-written.json").exists()
    assert render_cards(store, out).files  # a rerun completes


def test_a_full_disk_during_card_is_one_line_naming_the_output_and_a_rerun_completes(store, full_disk, capsys):
    out = full_disk.path / "cards"
    assert cli(["card", str(store.path), "--out", str(out)]) == 1
    err = _one_line(capsys.readouterr().err)
    assert "No space left on device" in err and repr(str(out)) in err and str(store.path) not in err
    full_disk.free()
    assert cli(["card", str(store.path), "--out", str(out)]) == 0
    assert (out / README).is_file() and (out / ".chaosdata-written.json").is_file()
