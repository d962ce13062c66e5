"""chaosdata.store.config: a release config parsed section by section, every value through `validate`."""

from __future__ import annotations

import pytest

from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.store.config import parse_config
from stores import raw_tiny


@pytest.mark.parametrize("change, error, message", [
    ({"colour": "red"}, InvalidInputError, "unknown key 'colour'"),
    ({"splits": {"train": 2, "val": 1}}, InvalidInputError, "must give all of"),
    ({"splits": {"train": 0, "val": 1, "test": 1}}, InvalidInputError, "splits.train must be a positive integer, got 0"),
    ({"splits": {"train": 2.0, "val": 1, "test": 1}}, InvalidTypeError, "splits.train must be a positive integer"),
    ({"splits": [2, 1, 1]}, InvalidTypeError, r"\[splits\] must be a table"),
    ({"length": -1}, InvalidInputError, "length must be a positive finite number, got -1"),
    ({"granularities": {"fine": {"timescale": "hours", "points": 100}}}, InvalidInputError, "timescale must be one of"),
    ({"granularities": {"fine": {"timescale": "period"}}}, InvalidInputError, "needs `points`"),
    ({"granularities": {"fine": {"timescale": "period", "points": 100, "pts": 3}}}, InvalidInputError,
     "unknown key granularities.fine.pts"),
    ({"storage": {"dtype": "float16"}}, InvalidInputError, "storage.dtype must be one of"),
    ({"storage": {"compression_level": 10}}, InvalidInputError, r"storage.compression_level must be an integer in \[0, 9\]"),
    ({"integrator": {"method": "rk4"}}, InvalidInputError, "takes fixed steps"),
    ({"integrator": {"method": "euler9"}}, InvalidInputError, "unknown method"),
    ({"integrator": {"method": 4}}, InvalidTypeError, "integrator.method must be a string"),
    ({"integrator": {"rtol": "small"}}, InvalidTypeError, "integrator.rtol must be a positive finite number"),
    ({"integrator": {"compile": "no"}}, InvalidTypeError, "integrator.compile must be True or False"),
    ({"map_length": 1}, InvalidInputError, "map_length must be an integer >= 2"),
    ({"seed": -3}, InvalidInputError, r"seed must be an integer in \[0, 2\*\*64\)"),
    ({"seed": True}, InvalidTypeError, "seed must be an integer"),
    ({"name": ""}, InvalidInputError, "name must be a non-empty string"),
    ({"description": 3}, InvalidTypeError, "description must be a str"),
    ({"systems": "some"}, InvalidInputError, "unknown system 'some'"),
    ({"systems": []}, InvalidInputError, "systems is empty"),
])
def test_config_errors_name_the_file_and_the_key(change, error, message):
    with pytest.raises(error, match=f"^tiny.toml: .*{message}"):
        parse_config(raw_tiny(**change), "tiny.toml")


def test_a_parsed_config_keeps_the_types_its_hash_was_taken_over():
    config = parse_config(raw_tiny(noise={"levels": [0.05, 0.01], "steps_per_period": 500}))
    assert config.to_dict()["noise"] == {"levels": [0.01, 0.05], "kind": "additive", "scale": "initial", "method": None,
                                         "steps_per_period": 500.0}
    assert type(config.length) is float and type(config.splits["train"]) is int and type(config.seed) is int
