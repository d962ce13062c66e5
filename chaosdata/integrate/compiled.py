"""What the compiled solvers (`ode.integrate` and `fixed.integrate_fixed_grid` with
`compile=True`) share: room for one graph per system, and when graphs replay as CUDA graphs."""

from __future__ import annotations

import contextlib

import torch

# each system (and parameter set) compiles graphs of its own; dynamo's default of 8 graphs per
# function would fail the ninth system compiled in a process
RECOMPILE_LIMIT = 256


def recompile_room(enabled: bool) -> contextlib.AbstractContextManager:
    """A context in which dynamo may compile `RECOMPILE_LIMIT` graphs of one function (a no-op
    when `enabled` is False)."""
    if not enabled:
        return contextlib.nullcontext()
    return torch._dynamo.config.patch(recompile_limit=max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT))


def uses_cuda_graphs(device: torch.device) -> bool:
    """Whether a compiled solve on `device` replays its steps as CUDA graphs (mode
    "reduce-overhead"): on CUDA devices."""
    return device.type == "cuda"
