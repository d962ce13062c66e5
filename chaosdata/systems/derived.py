"""Systems derived from the catalogue: parameter-perturbed variants and skew products.

A foundation-model corpus (Lai, Bao & Gilpin 2025, "Panda") trains on many systems built from
the catalogue's flows: each with its parameters perturbed, and pairs coupled as skew products
(a driver flow forcing a response flow, which does not act back). Both are deterministic
functions of names and seeds, so a worker process rebuilds the same system from its name.

- `perturbed_parameters(system, n, scale, seed)`: `n` variants, each scalar parameter
  multiplied by `1 + scale * N(0, 1)` (array parameters element by element), from a seed
  derived with SHA-256 from (seed, system, variant). Variant 0 is the catalogue's own values.
- `skew_product(driver, response, coupling)`: the flow on `[x_driver, x_response]` with
      dx_d/dt = f_d(x_d)
      dx_r/dt = f_r(x_r) + coupling * rms(f_r) / rms(f_d) * f_d(x_d)[:m],   m = min(d_d, d_r)
  the driver's field added to the response's first `m` coordinates, scaled so both have the
  same root-mean-square size on their attractors (rms over the stored invariants' mean and
  std of each state, pushed through the field once: `field_rms`). Its period is the
  response's; it has no stored invariants, so corpus filters measure it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import torch
from torch import Tensor

from chaosdata.errors import InvalidInputError
from chaosdata.seeds import seed_of
from chaosdata.systems.base import SYSTEMS, System, freeze_params, per_coordinate

SKEW_SEPARATOR = "__"  # a skew product's name: "<Driver>__<Response>"


def derived_seed(*parts: Any) -> int:
    """A 53-bit seed from the parts' text, the same in every process (no salted `hash`)."""
    return seed_of("/".join(map(str, ("chaosdata-derived", *parts))))


def perturbed_parameters(system: System, n: int, scale: float, seed: int) -> list[dict[str, Any]]:
    """`n` parameter sets of `system`: variant 0 the catalogue's, the others relative Gaussian
    perturbations of size `scale` (plain floats, or nested lists for array parameters). A system
    without parameters has one variant."""
    if system.kind != "flow":
        raise InvalidInputError(f"{system.name} is a {system.kind}: corpus variants are made of flows "
                                "(a delay equation's batch shares one delay; maps have no period)")
    out = []
    if not system.parameters:  # nothing to perturb: the one system is the one variant
        n = min(n, 1)
    for v in range(n):
        gen = torch.Generator().manual_seed(derived_seed(seed, system.name, v))
        params = {}
        for key, value in sorted(system.parameters.items()):
            base = torch.as_tensor(value, dtype=torch.float64)
            factor = 1.0 + scale * torch.randn(base.shape, generator=gen, dtype=torch.float64) if v else 1.0
            params[key] = (base * factor).tolist()
        out.append(params)
    return out


def stack_parameters(sets: Sequence[Mapping[str, Any]], repeats: int) -> dict[str, Tensor]:
    """Per-row parameter tensors: each set repeated `repeats` times (`[len(sets) * repeats, ...]`)."""
    return {k: torch.tensor([s[k] for s in sets], dtype=torch.float64).repeat_interleave(repeats, dim=0)
            for k in sets[0]}


def field_rms(system: System) -> float:
    """Root-mean-square size of the vector field on the attractor, from the stored mean and std
    of each coordinate (the field at mean +- std along each axis, averaged)."""
    inv = system.invariants
    if not inv or inv.get("mean") is None or inv.get("std") is None:
        raise InvalidInputError(f"{system.name} has no stored statistics to scale a coupling with")
    mean = torch.tensor(inv["mean"], dtype=torch.float64)[: system.dim]
    std = torch.tensor(inv["std"], dtype=torch.float64)[: system.dim]
    points = mean + torch.cat([torch.diag(std), -torch.diag(std)])
    values = system.equations(points, torch.zeros(()), **system.bind())
    return float(values.square().mean().sqrt())


@cache
def skew_product(driver_name: str, response_name: str, coupling: float) -> System:
    """The skew product of two catalogue flows (see the module docstring), named
    `<Driver>__<Response>`, with parameters `driver_*`, `response_*` and `coupling`."""
    driver, response = SYSTEMS.get(driver_name), SYSTEMS.get(response_name)
    for s in (driver, response):
        if s.kind != "flow" or s.nonautonomous or s.period is None:
            raise InvalidInputError(f"{s.name} cannot be part of a skew product: it needs an autonomous flow "
                                    "with a period")
    d_d, d_r = driver.dim, response.dim
    m = min(d_d, d_r)
    gain = coupling * field_rms(response) / field_rms(driver)
    dp = {f"driver_{k}": v for k, v in driver.parameters.items()}
    rp = {f"response_{k}": v for k, v in response.parameters.items()}

    def equations(x: Tensor, t: Tensor, **params: Any) -> Tensor:
        xd, xr = x[..., :d_d], x[..., d_d:]
        fd = driver.equations(xd, t, **{k[7:]: v for k, v in params.items() if k.startswith("driver_")})
        fr = response.equations(xr, t, **{k[9:]: v for k, v in params.items() if k.startswith("response_")})
        k = per_coordinate(params["coupling"])  # a float, or one value per trajectory
        forcing = torch.nn.functional.pad(fd[..., :m], (0, d_r - m))
        return torch.cat([fd, fr + k * forcing], dim=-1)

    return System(
        name=f"{driver.name}{SKEW_SEPARATOR}{response.name}", kind="flow", equations=equations,
        parameters=freeze_params({**dp, **rp, "coupling": gain}),
        initial_conditions=tuple(driver.initial_conditions) + tuple(response.initial_conditions),
        description=f"Skew product: {driver.name} drives {response.name} (coupling {coupling:g} of the "
                    "response's field RMS).",
        citation=f"{driver.citation}; {response.citation}",
        dt=min(driver.dt or math.inf, response.dt or math.inf), period=response.period,
        unbounded_indices=tuple(driver.unbounded_indices) + tuple(d_d + i for i in response.unbounded_indices),
        solver={},
    )


def skew_pairs(flows: list[str], n: int, seed: int) -> list[tuple[str, str]]:
    """`n` distinct (driver, response) pairs of different flows, drawn deterministically."""
    gen = torch.Generator().manual_seed(derived_seed(seed, "skew-pairs"))
    pairs = [(a, b) for a in flows for b in flows if a != b]
    if n > len(pairs):
        raise InvalidInputError(f"{n} skew products asked for, but {len(flows)} flows make only {len(pairs)} pairs")
    order = torch.randperm(len(pairs), generator=gen)[:n].tolist()
    return sorted(pairs[i] for i in order)
