"""`chaosdata.budget` and the release config's size and work checks: absurd sizes are refused at
once, naming the key, the estimate and the limit; the presets and the tests' sizes pass."""

import copy
import time

import pytest

from chaosdata import budget
from chaosdata.errors import InvalidInputError
from chaosdata.store.config import PRESETS, load_preset, parse_config

FAST = 2.0  # seconds: a refusal comes before any work (generous, the machine is shared)


def _quick_with(change):
    raw = copy.deepcopy(load_preset("quick").to_dict())
    change(raw)
    return raw


@pytest.mark.parametrize("preset", PRESETS)
def test_the_presets_fit(preset):
    config = load_preset(preset)  # parse_config runs check_budget
    assert config.name == preset


@pytest.mark.parametrize("key, change, estimate", [
    ("transient = 1e+09", lambda r: r.update(transient=1e9), "integration steps per trajectory"),
    ("splits.train = 1000000000", lambda r: r["splits"].update(train=10**9), "held at once"),
    ("length = 1e+09", lambda r: r.update(length=1e9), "held at once"),
    ("map_length = 10000000000", lambda r: r.update(map_length=10**10), "held at once"),
    ("granularities.fine.points = 1e+12", lambda r: r["granularities"]["fine"].update(points=1e12), "held at once"),
    ("corpus.variants = 1000000000", lambda r: r.update(corpus={"variants": 10**9}), "held at once"),
])
def test_absurd_config_sizes_are_refused_at_once(key, change, estimate):
    raw = _quick_with(change)
    started = time.perf_counter()
    with pytest.raises(InvalidInputError) as err:
        parse_config(raw, "big.toml")
    assert time.perf_counter() - started < FAST
    message = str(err.value)
    assert message.startswith("big.toml: ") and key in message and estimate in message
    assert "more than the limit" in message and "\n" not in message


def test_a_long_corpus_screen_is_refused_naming_its_keys():
    raw = _quick_with(lambda r: r.update(corpus={"variants": 1000, "screen_ics": 1000, "screen_periods": 1e6}))
    with pytest.raises(InvalidInputError, match=r"screening .*corpus.screen_periods = 1e\+06.*corpus.variants = 1000"):
        parse_config(raw, "corpus.toml")


def test_a_recorded_config_opens_whatever_its_size():
    """A store's manifest is read with building=False: the limits guard new builds only."""
    raw = _quick_with(lambda r: r.update(length=1e9))
    assert parse_config(raw, "manifest", building=False).length == 1e9


def test_the_memory_limit_follows_the_environment(monkeypatch):
    raw = _quick_with(lambda r: r["splits"].update(train=1000))
    parse_config(raw, "cfg")  # 1002 trajectories of 10 periods fit this machine
    monkeypatch.setenv(budget.ENV_MEMORY, "1e6")
    with pytest.raises(InvalidInputError, match=r"more than the limit 1 MB \(\$CHAOSDATA_MEMORY_LIMIT\)"):
        parse_config(raw, "cfg")


@pytest.mark.parametrize("value", ["lots", "-1", "0", "nan", "inf"])
def test_a_bad_limit_in_the_environment_is_named(monkeypatch, value):
    monkeypatch.setenv(budget.ENV_STEPS, value)
    with pytest.raises(InvalidInputError, match=rf"\$CHAOSDATA_MAX_STEPS must be a positive number, got '{value}'"):
        budget.limits()


def test_the_work_limit_counts_every_trajectory(monkeypatch):
    monkeypatch.setenv(budget.ENV_EVALUATIONS, "1e6")
    budget.check_work("here", 1000, 10, "x")  # 1.2e5 evaluations
    with pytest.raises(InvalidInputError, match=r"here: about 1.2e\+07 field evaluations .* limit 1e\+06"):
        budget.check_work("here", 1000, 1000, "x")


def test_a_build_of_a_config_made_in_code_refuses_an_absurd_span_at_once(tmp_path):
    """A ReleaseConfig made in code skips parse_config; generate_system checks its system itself."""
    import dataclasses

    from chaosdata.store import build

    config = dataclasses.replace(load_preset("quick"), systems=("Lorenz",), transient=1e9)
    started = time.perf_counter()
    report = build(config, tmp_path / "store", progress=False, log=lambda msg: None)
    assert time.perf_counter() - started < 10.0  # the build's own set-up (fingerprint, lock, manifest) included
    (result,) = report.results
    assert result.status == "failed" and "InvalidInputError: config 'quick': building Lorenz" in result.error
    assert "transient = 1e+09" in result.error and "more than the limit" in result.error
