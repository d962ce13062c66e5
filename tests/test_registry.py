"""The one Registry class, and every named kind of thing found through it the same way."""

import pytest

from chaosdata.baselines import forecaster_class
from chaosdata.baselines.base import FORECASTERS
from chaosdata.benchmark.protocols import PROTOCOLS, get_protocol
from chaosdata.errors import InvalidInputError, InvalidTypeError, UnknownNameError
from chaosdata.integrate.tableaux import get_tableau
from chaosdata.integrate.tableaux import TABLEAUX
from chaosdata.metrics import METRICS, get_metric
from chaosdata.registry import LIST_AT_MOST, Registry
from chaosdata.systems import SYSTEMS, get_system


def _colours() -> Registry[int]:
    reg: Registry[int] = Registry("colour", listing="colours()")
    for i, name in enumerate(("Red", "green", "blue")):
        reg.add(name, i)
    return reg


def test_lookup_ignores_case_and_keeps_the_registered_spelling():
    reg = _colours()
    assert reg.get("RED") == 0 and reg.get("red") == 0
    assert reg.canonical("RED") == "Red"
    assert "GREEN" in reg and "purple" not in reg and 3 not in reg
    assert list(reg) == ["Red", "green", "blue"]  # registration order


def test_an_unknown_name_names_the_kind_the_known_names_and_the_closest():
    with pytest.raises(UnknownNameError, match=r"^unknown colour 'gren'; known: Red, green, blue\. Did you mean 'green'\?$"):
        _colours().get("gren")


def test_a_prefix_of_a_name_is_suggested():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'blue'\?"):
        _colours().get("bl")


def test_the_unknown_name_error_is_an_input_error_and_a_key_error():
    with pytest.raises(InvalidInputError):
        _colours().get("purple")
    with pytest.raises(KeyError):
        _colours().get("purple")


def test_a_long_registry_points_to_its_listing_instead_of_listing():
    reg: Registry[int] = Registry("colour", listing="colours()")
    for i in range(LIST_AT_MOST + 1):
        reg.add(f"c{i}", i)
    with pytest.raises(UnknownNameError, match=r"31 known: colours\(\) lists them"):
        reg.get("purple")


def test_a_second_object_under_a_taken_name_is_refused_in_any_case():
    reg = _colours()
    with pytest.raises(InvalidInputError, match=r"colour name 'RED' is taken \(by 'Red'"):
        reg.add("RED", 7)
    assert reg.add("RED", 0) == 0  # the same object again is no change, its spelling included
    assert reg.get("red") == 0 and reg.canonical("red") == "Red"


def test_a_name_that_is_not_a_string_is_a_type_error():
    with pytest.raises(InvalidTypeError, match="colour name must be a str, got int"):
        _colours().get(3)  # type: ignore[arg-type]
    with pytest.raises(InvalidTypeError, match="colour name must be a string, got None"):
        _colours().add(None, 4)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="colour name must be a non-empty string"):
        _colours().add("", 4)


def test_a_family_makes_names_on_first_use_and_is_listed():
    reg = _colours()
    reg.add_family("mix", lambda rest: reg.add(f"mix:{rest}", len(rest)))
    assert reg.get("mix:teal") == 4
    assert "mix:teal" in reg
    with pytest.raises(UnknownNameError, match=r"known: .*mix:<name>"):
        reg.get("purple")


def test_remove_frees_the_name():
    reg = _colours()
    assert reg.remove("RED") == 0
    assert "Red" not in reg
    reg.add("red", 9)
    assert reg.get("Red") == 9


# every named kind of thing: the same lookup, the same error, the same suggestion
LOOKUPS = {
    "system": (get_system, "Lorenz", "lorenz", "Lorenzz"),
    "method": (get_tableau, "dop853", "DOP853", "dop835"),
    "forecaster": (forecaster_class, "nvar", "NVAR", "nvr"),
    "metric": (get_metric, "smape", "SMAPE", "smap"),
    "protocol": (get_protocol, "zero-shot", "Zero-Shot", "zero-shoot"),
}


@pytest.mark.parametrize("kind", sorted(LOOKUPS))
def test_every_registry_lookup_ignores_case(kind):
    lookup, name, other_case, _ = LOOKUPS[kind]
    assert lookup(other_case) is lookup(name)


@pytest.mark.parametrize("kind", sorted(LOOKUPS))
def test_every_registry_lookup_raises_one_error_with_a_suggestion(kind):
    lookup, name, _, typo = LOOKUPS[kind]
    with pytest.raises(UnknownNameError, match=rf"^unknown {kind} '{typo}'; .*Did you mean '{name}'"):
        lookup(typo)


@pytest.mark.parametrize("registry", [SYSTEMS, TABLEAUX, FORECASTERS, METRICS, PROTOCOLS], ids=repr)
def test_every_registry_is_the_one_class(registry):
    assert isinstance(registry, Registry)


def test_a_metric_family_name_suggests_its_members():
    with pytest.raises(UnknownNameError, match=r"Did you mean 'vpt_smape', 'vpt_nrmse'\?"):
        get_metric("vpt")
