"""The torch device a call runs on, checked once where a user names it."""

from __future__ import annotations

import torch

from chaosdata.errors import InvalidInputError


def usable_device(device: str | torch.device | None) -> torch.device:
    """`device` (None: the CPU) as a `torch.device` this process can allocate on; otherwise an
    `InvalidInputError` naming it and why (a misspelt name, or CUDA absent from this torch
    build or machine), instead of torch's own AssertionError deep inside a solve."""
    if device is None:
        return torch.device("cpu")
    try:
        resolved = torch.device(device)
        torch.empty(0, device=resolved)
    except (RuntimeError, AssertionError, TypeError) as err:
        raise InvalidInputError(f"device {device!r} is not usable here: {err}") from None
    return resolved
