"""What an export reads from the store for one split, opened once (opening a Zarr group costs
tens of milliseconds; a split needs its array, its variables and two groups' attributes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr

from chaosdata.export.features import parameters_json
from chaosdata.store import Store
from chaosdata.store.archive import array_at, attributes, group_at, read
from chaosdata.store.config import SPLITS
from chaosdata.store.layout import SERIES, TRAJECTORY_VARIABLES, split_path


@dataclass(frozen=True)
class SplitSource:
    """One store split: `series` is the lazy zarr array `[trajectory, time, component]`,
    `variables` the per-trajectory numpy arrays, `attrs` the system group's attributes,
    `granularity_attrs` its granularity group's (`time`, `normalization`, `recipe`). In a corpus
    store (`"corpus" in attrs`) `variables` also holds `variant` `[trajectory]` and `parameters`
    `[trajectory, parameter]` float64, and `parameter_names` the `parameter` coordinate."""

    system: str
    granularity: str
    split: str  # the store's name: train, val, test
    series: zarr.Array
    variables: dict[str, np.ndarray]
    attrs: dict[str, Any]
    granularity_attrs: dict[str, Any]
    manifest: dict[str, dict[str, Any]]  # the manifest's entry (shape, dtype, sha256) per variable: `series`, `time`, ...
    parameter_names: tuple[str, ...] = ()  # a corpus split's `parameter` coordinate (flat names: `rho`, `k[0,1]`)

    @property
    def grid(self) -> dict[str, Any]:
        return dict(self.granularity_attrs["time"])


def system_sources(store: Store, system: str) -> list[SplitSource]:
    """Every split of `system` (granularities sorted, splits train, val, test), opened once."""
    group = store.group(system)
    attrs = attributes(group)
    arrays = store.array_entries(system)  # shape, dtype, sha256 of every array, from the system's file
    out = []
    for gran in store.granularities(system):
        gran_attrs = attributes(group_at(group, gran))
        for split in SPLITS:
            g = group_at(group, split_path(gran, split))
            prefix = split_path(gran, split) + "/"
            entries = {p[len(prefix):]: a for p, a in arrays.items() if p.startswith(prefix)}
            corpus = "corpus" in attrs
            names = list(TRAJECTORY_VARIABLES) + (["variant", "parameters"] if corpus else [])
            columns = tuple(str(c) for c in read(array_at(g, "parameter"))) if corpus else ()
            out.append(SplitSource(system, gran, split, array_at(g, SERIES), {n: read(array_at(g, n)) for n in names},
                                   attrs, gran_attrs, entries, columns))
    return out


def row_parameters(source: SplitSource, variables: dict[str, np.ndarray]) -> list[str]:
    """Each row's parameters as JSON: the system's, or in a corpus group the row's own variant's
    (`variant` ids index the group's `corpus` attribute)."""
    n = len(variables["trajectory"])
    if "corpus" not in source.attrs:
        return [parameters_json(source.attrs["system"]["parameters"])] * n
    sets = variant_parameters(source.attrs["corpus"])
    return [sets[int(v)] for v in variables["variant"]]


def variant_parameters(corpus: dict) -> dict[int, str]:
    """Variant id -> its parameters as JSON, from a system group's `corpus` attribute."""
    return {v["id"]: parameters_json(v["parameters"]) for v in corpus["variants"]}
