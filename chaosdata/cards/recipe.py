"""The release config written back as TOML, so that a card's recipe is a file `chaosdata generate` reads.

The manifest records the config as plain JSON (`ReleaseConfig.to_dict`); `config_toml` writes
the same values in the TOML shape of `chaosdata/store/presets/*.toml` and checks that reading it
back gives the same `config_hash`.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Mapping
from typing import Any

from chaosdata.store.config import parse_config
from chaosdata.store.errors import StoreError


def _value(v: Any) -> str:
    """`v` as a TOML value: a bool, an int, a finite float, a string or a list of them."""
    match v:
        case bool():
            return "true" if v else "false"
        case int():
            return str(v)
        case float() if math.isfinite(v):
            return repr(v)
        case str():
            return json.dumps(v, ensure_ascii=False)  # a JSON string is a valid TOML basic string
        case list() | tuple():
            return "[" + ", ".join(_value(x) for x in v) + "]"
    raise StoreError(f"cannot write {type(v).__name__} value {v!r} into a release config (TOML holds booleans, "
                     "integers, finite numbers, strings and lists of them)")


def _table(name: str, entries: Mapping[str, Any]) -> list[str]:
    lines = [f"[{name}]"]
    lines += [f"{k} = {_value(v)}" for k, v in entries.items() if v is not None]
    return lines + [""]


def config_toml(config: Mapping[str, Any]) -> str:
    """TOML text of a release config given as the manifest's JSON (`manifest["config"]`).

    Raises `StoreError` when the text does not read back to the same config hash (a value
    TOML cannot carry).
    """
    lines = ["# The release config of this store, as recorded in its manifest.",
             "# Rebuild with: chaosdata generate --config THIS_FILE --out DIR", ""]
    # the fixed tables first, then the optional ones a config may have (`corpus`, `noise`)
    tables = ["splits", "granularities", "integrator", "storage"]
    tables += [k for k, v in config.items() if isinstance(v, dict) and k not in tables]
    for key, value in config.items():
        if key not in tables and value is not None:
            lines.append(f"{key} = {_value(value)}")
    lines.append("")
    for key in tables:
        if key == "granularities":
            for name, g in config.get(key, {}).items():
                lines += _table(f"granularities.{name}", g)
        elif key in config:
            lines += _table(key, config[key])
    text = "\n".join(lines)
    expected = parse_config(dict(config), "manifest").config_hash
    got = parse_config(tomllib.loads(text), "config.toml").config_hash
    if got != expected:
        raise StoreError(f"the release config written as TOML reads back with hash {got}, not {expected}")
    return text
