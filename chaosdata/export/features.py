"""The one `datasets.Features` declaration of an exported row, and the names the exports use.

One row is one trajectory of one (system, granularity, split). The same declaration is
embedded in every Parquet file's schema (so `datasets`, pandas, polars and duckdb read the
same columns) and written into the card's YAML `dataset_info` (`features_yaml`), so the two can
never disagree. Columns, in order:

| column | type | what |
|---|---|---|
| system, granularity | string | e.g. `Lorenz`, `fine` (maps: `iteration`) |
| split | string | Hugging Face name: train, validation, test |
| trajectory | int64 | id within the split, 0..n-1 |
| t0, dt | float64 | time grid `t = t0 + dt * arange(n_points)` (maps: iterations) |
| n_points | int64 | length of the series |
| valid, failure | bool, string | flag and reason ("" when valid; NaN series when not) |
| resampled | int64 | fresh draws that replaced failed ones |
| initial_condition | List(float64), state_dim values | the seeded draw, before the transient |
| start_state | List(float64), state_dim values | the state at t0, after the transient |
| n_accepted, n_rejected | int64 | integrator steps |
| parameters | string | the system's parameters as JSON (sorted keys; some are matrices) |
| max_lyapunov, max_lyapunov_stderr, lyapunov_time | float64 (null when undefined) | the system's invariants that are scalars |
| kaplan_yorke_dimension, correlation_dimension, period | float64 (null when undefined) | likewise |
| series | Array2D(shape=(None, dim), float32) | `[time, component]` the data |

`series` is last so that a viewer shows the scalar columns first. A variable first axis lets
one declaration serve every length of the same system. The state lists have no declared
length: `datasets` 5.2 drops a `List(length=...)` declared in the card's `dataset_info` when it
loads a folder, and the file's schema must equal the card's.
"""

from __future__ import annotations

import json
import math
from typing import Any

import datasets

# scalar invariants copied into every row (names as in the system's `invariants` attribute)
SCALAR_INVARIANTS = ("max_lyapunov", "max_lyapunov_stderr", "lyapunov_time", "kaplan_yorke_dimension",
                     "correlation_dimension", "period")

SERIES_DTYPE = "float32"


def config_name(system: str, granularity: str) -> str:
    """The `datasets` config of one (system, granularity): `Lorenz_fine`, `Henon_iteration`.

    System names are alphanumeric (CamelCase), so the first `_` always splits the two parts.
    """
    return f"{system}_{granularity}"


def row_features(dim: int) -> datasets.Features:
    """The features of one exported row of a system with `dim` stored components (delay
    equations: the 10 columns of the delay embedding)."""
    f64, i64, text = datasets.Value("float64"), datasets.Value("int64"), datasets.Value("string")
    columns: dict[str, Any] = {
        "system": text, "granularity": text, "split": text, "trajectory": i64,
        "t0": f64, "dt": f64, "n_points": i64,
        "valid": datasets.Value("bool"), "failure": text, "resampled": i64,
        "initial_condition": datasets.List(f64),
        "start_state": datasets.List(f64),
        "n_accepted": i64, "n_rejected": i64,
        "parameters": text,
    }
    columns.update({name: f64 for name in SCALAR_INVARIANTS})
    columns["series"] = datasets.Array2D(shape=(None, dim), dtype=SERIES_DTYPE)
    return datasets.Features(columns)


def combined_config_name(granularity: str) -> str:
    """The config holding every system of one granularity: `all_fine` (names are CamelCase, so
    no system config starts with `all_`)."""
    return f"all_{granularity}"


def combined_features(n_time: int) -> datasets.Features:
    """The row of a config holding every system of one granularity (`chaosdata.export.combined`).

    Systems differ in dimension but share the length `n_time` of the granularity, and `Array2D`
    allows a variable first axis only: so this config stores the series transposed, as
    `series_by_component` `[component, time]`, with `dim` beside it. Every other column is the
    per-system row's (`row_features`).
    """
    columns = dict(row_features(1))
    del columns["series"]
    columns["dim"] = datasets.Value("int64")
    columns["series_by_component"] = datasets.Array2D(shape=(None, n_time), dtype=SERIES_DTYPE)
    return datasets.Features(columns)


def features_yaml(features: datasets.Features) -> list[dict[str, Any]]:
    """The features as the card's YAML `dataset_info.features` list (what `datasets` parses back),
    through `datasets`' own card writer."""
    from datasets.info import DatasetInfo, DatasetInfosDict
    from huggingface_hub import DatasetCardData

    card = DatasetCardData()
    DatasetInfosDict({"default": DatasetInfo(features=features)}).to_dataset_card_data(card)
    return card.to_dict()["dataset_info"]["features"]


def schema_metadata(features: datasets.Features) -> dict[bytes, bytes]:
    """The Parquet schema metadata `datasets` reads features from (key `huggingface`)."""
    return {b"huggingface": json.dumps({"info": {"features": features.to_dict()}}, sort_keys=True).encode()}


def scalar_invariants(invariants: dict[str, Any] | None) -> dict[str, float | None]:
    """The scalar invariants of a system's stored `invariants` (None where undefined or not finite)."""
    out: dict[str, float | None] = {}
    for name in SCALAR_INVARIANTS:
        value = (invariants or {}).get(name)
        out[name] = float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
    return out


def parameters_json(parameters: dict[str, Any]) -> str:
    """Parameters as compact JSON with sorted keys (tuples become lists): the same text every time."""
    return json.dumps(parameters, sort_keys=True, separators=(",", ":"))
