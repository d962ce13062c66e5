"""Corpus stores: the variants of one system (or skew product) in one group, screened first.

A corpus config (`[corpus]`, see `chaosdata.store.config.Corpus`) turns each flow of the
config into a store group holding several parameter sets, and adds skew products as groups
of their own (`<Driver>__<Response>`). Variants are a trajectory-level variable, not extra
groups: the variants of a system integrate in one batch (the vector fields take a parameter
tensor per row), and the Hub layout stays within its per-folder limits at the Panda scale.

Per group, before anything is integrated for the store, every variant is screened
(`chaosdata.invariants.screen`): unbounded, collapsing to a fixed point, or not chaotic
(lambda_max not positive beyond its spread) rejects it, with the reason. The accepted ones
are stored: each split holds `splits[split]` trajectories per accepted variant, variant by
variant, with per-trajectory variables `variant` (the id) and `parameters`
`[trajectory, parameter]` (names in the `parameter` coordinate). The group's `corpus`
attribute lists every variant with its parameters, verdict and lambda_max.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError
from chaosdata.invariants.screen import Verdict, screen
from chaosdata.store.config import SPLITS, Corpus, ReleaseConfig, split_seed
from chaosdata.systems import System, get_system
from chaosdata.systems.derived import SKEW_SEPARATOR, perturbed_parameters, skew_product, stack_parameters


def system_of(name: str, config: ReleaseConfig) -> System:
    """The system a store group holds: a catalogue system, or a corpus's skew product."""
    if config.corpus is not None and SKEW_SEPARATOR in name:
        driver, response = name.split(SKEW_SEPARATOR)
        return skew_product(driver, response, config.corpus.coupling)
    return get_system(name)


@dataclass
class Variants:
    """A group's parameter sets, their verdicts, and the accepted ones' ids."""

    sets: list[dict[str, Any]]
    verdicts: list[Verdict]

    @property
    def accepted(self) -> list[int]:
        return [i for i, v in enumerate(self.verdicts) if v.accepted]

    def columns(self) -> list[str]:
        """Flat parameter names: `rho`, or `k[0,1]` for an element of an array parameter."""
        names = []
        for key, value in self.sets[0].items():
            shape = np.shape(value)
            names += [key] if not shape else [f"{key}[{','.join(map(str, ix))}]" for ix in np.ndindex(*shape)]
        return names

    def table(self, ids: list[int]) -> np.ndarray:
        """`[len(ids), n_columns]` float64: the parameter sets of `ids`, flattened."""
        n = len(self.columns())
        rows = [np.concatenate([np.ravel(np.asarray(self.sets[i][k], dtype=np.float64)) for k in self.sets[i]])
                if n else np.zeros(0) for i in ids]
        return np.stack(rows) if rows else np.zeros((0, n))

    def row_parameters(self, per_split: dict[str, int]) -> dict[str, Tensor]:
        """Per-row parameter tensors for the store's rows (splits in order, each variant's
        trajectories consecutive)."""
        chosen = [self.sets[i] for i in self.accepted]
        parts = [stack_parameters(chosen, per_split[s]) for s in SPLITS]
        return {k: torch.cat([p[k] for p in parts]) for k in chosen[0]}

    def attrs(self, config: ReleaseConfig) -> dict[str, Any]:
        n, k = len(self.sets), len(self.accepted)
        corpus = corpus_of(config)
        return {
            "settings": {"variants": corpus.variants, "scale": corpus.scale,
                         "screen_ics": corpus.screen_ics, "screen_periods": corpus.screen_periods},
            "n_variants": n, "n_accepted": k, "acceptance": k / n if n else 0.0,
            "variants": [{"id": i, "parameters": s, **v.to_dict()}
                         for i, (s, v) in enumerate(zip(self.sets, self.verdicts, strict=True))],
        }


def corpus_of(config: ReleaseConfig) -> Corpus:
    """The `[corpus]` table of `config`; a config without one has no variants to plan."""
    if config.corpus is None:
        raise InvalidInputError(f"config {config.name!r} has no [corpus] table: it builds no parameter variants")
    return config.corpus


def plan_variants(system: System, config: ReleaseConfig, device: str) -> Variants:
    """Draw the group's parameter sets and screen them (deterministic in the config's seed)."""
    corpus = corpus_of(config)
    sets = perturbed_parameters(system, corpus.variants, corpus.scale, config.seed)
    # a skew product keeps its response's period for sampling, but is screened over periods
    # of its slower part, so a slow driver is seen long enough to tell chaos from a cycle
    use = "its variants are screened over periods"
    slowest = max(get_system(part).required_period(use) for part in system.name.split(SKEW_SEPARATOR))
    periods = corpus.screen_periods * slowest / system.required_period(use)
    verdicts = screen(system, stack_parameters(sets, corpus.screen_ics), len(sets), corpus.screen_ics,
                      split_seed(config.seed, system.name, "screen"), periods=periods, device=device)
    return Variants(sets, verdicts)
