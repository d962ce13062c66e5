"""Checks of user input, written once (in the manner of zarr's `parse_*` helpers).

Each function takes a value and the name of the argument it came in, and returns the value
normalised (a Python int, float or bool, a `torch.dtype`, a `Path`) or raises the package's error
naming the argument, what was expected and how to fix it: `InvalidTypeError` for a value of the
wrong kind, `InvalidInputError` for one of the right kind out of range. The same rules hold at every
entry point: numpy scalars (and 0-d tensors, for reals) count as the numbers they are; a bool is
never a number; NaN and infinities are never a valid real.

Optional arguments stay with the caller: `None if x is None else validate.positive(x, "x")`.
"""

from __future__ import annotations

import math
import operator
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError, InvalidTypeError, suggest

#: Seeds torch's and numpy's generators both take: 0 <= seed < 2**64.
SEED_LIMIT = 2**64
#: The largest count a torch index (int64) holds.
COUNT_LIMIT = 2**63 - 1


def _hint(hint: str) -> str:
    return f" ({hint})" if hint else ""


def _tensor_scalar(value: Tensor, name: str, what: str) -> Tensor:
    """A 0-d (or one-element) tensor that holds a value, else the error for `what`."""
    if value.device.type == "meta":
        raise InvalidTypeError(f"{name} must be {what}, got a tensor on the meta device (it holds no value); "
                               "pass a number or a tensor on a real device")
    if value.numel() != 1:
        raise InvalidTypeError(f"{name} must be {what}, got a tensor of shape {tuple(value.shape)}; pass one number")
    return value


def count(value: Any, name: str, *, minimum: int = 1, maximum: int = COUNT_LIMIT, hint: str = "") -> int:
    """`value` as an int in [minimum, maximum]: a Python or numpy integer (or an integer 0-d
    tensor); a bool or a float (even 3.0) is an `InvalidTypeError`."""
    what = {1: "a positive integer", 0: "a non-negative integer"}.get(minimum, f"an integer >= {minimum}")
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, Tensor) and value.dtype == torch.bool):
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    if isinstance(value, Tensor):
        _tensor_scalar(value, name, what)
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}; pass a whole number "
                               "as an int") from None
    if not minimum <= number <= maximum:
        if number > maximum:
            what = f"an integer in [{minimum}, {maximum}]"
        raise InvalidInputError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    return number


def real(value: Any, name: str, *, what: str = "a finite number", hint: str = "") -> float:
    """`value` as a finite float: a Python or numpy real, or a real 0-d tensor; a bool, a complex
    number, a string, NaN or an infinity is refused."""
    if isinstance(value, (bool, np.bool_)) or (isinstance(value, Tensor) and value.dtype == torch.bool):
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    if isinstance(value, Tensor):
        if _tensor_scalar(value, name, what).is_complex():
            raise InvalidTypeError(f"{name} must be {what}, got a complex tensor{_hint(hint)}")
    elif not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    try:
        number = float(value)
    except OverflowError:
        raise InvalidInputError(f"{name} must be {what}, got {value!r}, too large for a float{_hint(hint)}") from None
    if not math.isfinite(number):
        raise InvalidInputError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    return number


def positive(value: Any, name: str, *, hint: str = "") -> float:
    """`value` as a finite float > 0 (the rules of `real`)."""
    number = real(value, name, what="a positive finite number", hint=hint)
    if not number > 0:
        raise InvalidInputError(f"{name} must be a positive finite number, got {value!r}{_hint(hint)}")
    return number


def non_negative(value: Any, name: str, *, hint: str = "") -> float:
    """`value` as a finite float >= 0 (the rules of `real`)."""
    number = real(value, name, what="a non-negative finite number", hint=hint)
    if not number >= 0:
        raise InvalidInputError(f"{name} must be a non-negative finite number, got {value!r}{_hint(hint)}")
    return number


def _power(n: int) -> str:
    """`n` as written in a message: a power of two as `2**k` (signed), anything else in digits."""
    m = abs(n)
    text = f"2**{m.bit_length() - 1}" if m and m & (m - 1) == 0 else str(m)
    return f"-{text}" if n < 0 else text


def seed(value: Any, name: str = "seed", *, limit: int = SEED_LIMIT, minimum: int = 0, hint: str = "") -> int:
    """`value` as an int in [minimum, limit): the one rule for a seed (any integer torch's and
    numpy's generators take). A caller that derives further seeds from it (seed + k) passes a
    smaller `limit` so that those stay valid too, and says so in the error; one that seeds only
    torch may take its negative seeds too (`minimum=-2**63`)."""
    what = f"an integer in [{_power(minimum)}, {_power(limit)})"
    if isinstance(value, (bool, np.bool_, Tensor)):
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidTypeError(f"{name} must be {what}, got {value!r}{_hint(hint)}") from None
    if not minimum <= number < limit:
        raise InvalidInputError(f"{name} must be {what}, got {value!r}{_hint(hint)}")
    return number


def flag(value: Any, name: str, *, hint: str = "") -> bool:
    """`value` as a bool: True or False (numpy's too); 0, 1, 'yes' or None are refused."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidTypeError(f"{name} must be True or False, got {value!r}{_hint(hint)}")
    return bool(value)


def choice(value: Any, name: str, options: Iterable[str], *, ignore_case: bool = False, hint: str = "") -> str:
    """`value` as one of `options` (its spelling in `options` when `ignore_case`), else an error
    listing them, with the closest names suggested."""
    options = list(options)
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be one of {options}, got {value!r}{_hint(hint)}")
    if value in options:
        return value
    if ignore_case:
        folded = {o.lower(): o for o in options}
        if value.lower() in folded:
            return folded[value.lower()]
    raise InvalidInputError(f"{name} must be one of {options}, got {value!r}{_hint(hint)}.{suggest(value, options)}")


def text(value: Any, name: str, *, hint: str = "") -> str:
    """`value` as a non-empty string."""
    if not isinstance(value, str):
        raise InvalidTypeError(f"{name} must be a string, got {value!r}{_hint(hint)}")
    if not value:
        raise InvalidInputError(f"{name} must be a non-empty string{_hint(hint)}")
    return value


def names(value: Any, name: str, *, hint: str = "") -> list[str]:
    """`value` (one name, or an iterable of names: a set is sorted, so that the order does not
    follow the hash seed) as a non-empty list of non-empty strings."""
    if isinstance(value, str):
        value = [value]
    elif isinstance(value, (set, frozenset)):
        value = sorted(value, key=str)
    elif value is None or not isinstance(value, Iterable):
        raise InvalidTypeError(f"{name} must be a name or a list of names, got {value!r}{_hint(hint)}")
    result = [text(v, name, hint=hint) for v in value]
    if not result:
        raise InvalidInputError(f"{name} is empty: name at least one{_hint(hint)}")
    return result


def listed_names(value: Any, name: str, *, hint: str = "") -> list[str]:
    """`value` (a list of names, or one string of comma-separated names as a CLI option gives
    them) as a non-empty list of names; `names` checks each."""
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    return names(value, name, hint=hint)


def table(value: Any, name: str, keys: Iterable[str] | None = None) -> dict[str, Any]:
    """`value` as a table (a dict: a TOML table, a JSON object) whose keys are among `keys`
    (any, when None); an unknown key is refused with the closest names suggested."""
    if not isinstance(value, dict):
        raise InvalidTypeError(f"[{name}] must be a table, got {value!r}")
    if keys is not None:
        allowed = sorted(keys)
        unknown = sorted(str(k) for k in set(value) - set(allowed))
        if unknown:
            raise InvalidInputError(f"unknown key {name}.{unknown[0]}; allowed: {allowed}.{suggest(unknown[0], allowed)}")
    return value


FLOAT_DTYPES = (torch.float32, torch.float64)


def dtype(value: Any, name: str = "dtype", options: Iterable[torch.dtype] = FLOAT_DTYPES, *,
          by_name: bool = True) -> torch.dtype:
    """`value` (a `torch.dtype`, or where `by_name` its name: 'float32', 'torch.float64') as one
    of `options`."""
    allowed = {str(d).removeprefix("torch."): d for d in options}
    if isinstance(value, torch.dtype) and value in allowed.values():
        return value
    if by_name and isinstance(value, str) and value.removeprefix("torch.") in allowed:
        return allowed[value.removeprefix("torch.")]
    if not isinstance(value, torch.dtype) and not (by_name and isinstance(value, str)):
        kind = "a torch.dtype or its name" if by_name else "a torch.dtype"
        raise InvalidTypeError(f"{name} must be one of {sorted(allowed)} ({kind}), got {value!r}")
    raise InvalidInputError(f"{name} must be one of {sorted(allowed)}, got {value!r}")


def device(value: Any, name: str = "device") -> torch.device:
    """`value` (a name such as 'cpu' or 'cuda:0', a `torch.device`, or None for the CPU) as a
    device this process can allocate on (`chaosdata.devices.usable_device`)."""
    if value is not None and not isinstance(value, (str, torch.device)):
        raise InvalidTypeError(f"{name} must be a device name ('cpu', 'cuda:0'), a torch.device or None, "
                               f"got {value!r}")
    try:
        return usable_device(value)
    except InvalidInputError as err:
        raise InvalidInputError(f"{name}: {err}") from None


def tensor(value: Any, name: str, *, shape: str = "", ndims: Iterable[int] | None = None) -> Tensor:
    """`value` itself if it is a torch.Tensor (`shape`: the layout expected, for the message),
    with a number of dimensions in `ndims` where given."""
    layout = f" {shape}" if shape else ""
    if not isinstance(value, Tensor):
        raise InvalidTypeError(f"{name} must be a torch.Tensor{layout}, got {type(value).__name__}; "
                               "convert it with torch.as_tensor(...)")
    if ndims is not None and value.ndim not in tuple(ndims):
        raise InvalidInputError(f"{name} must be a tensor{layout}, got shape {tuple(value.shape)}")
    return value


def states(value: Any, name: str) -> Tensor:
    """`value` as a batch of start states: a floating-point torch.Tensor `[batch, dim]`."""
    value = tensor(value, name, shape="[batch, dim]")
    if value.ndim != 2:
        raise InvalidInputError(f"{name} must have shape [batch, dim], got {tuple(value.shape)}; "
                                f"a single state x is x[None]")
    if not value.is_floating_point():
        raise InvalidTypeError(f"{name} must be a floating-point tensor (failed rows read as NaN), got {value.dtype}; "
                               f"e.g. {name}.double()")
    return value


def times(value: Any, name: str, *, minimum: int = 2, increasing: bool = True) -> Tensor:
    """`value` as output times: a 1-D torch.Tensor of at least `minimum` finite times,
    strictly increasing where `increasing`."""
    value = tensor(value, name, shape="[n_times]")
    ordered = not increasing or value.ndim != 1 or bool((value[1:] > value[:-1]).all())
    if value.ndim != 1 or value.numel() < minimum or not bool(torch.isfinite(value).all()) or not ordered:
        order = ", strictly increasing" if increasing else ""
        raise InvalidInputError(f"{name} must be a 1-D tensor of at least {minimum} finite{order} times, "
                                f"got shape {tuple(value.shape)}; e.g. torch.linspace(0.0, 10.0, 101)")
    return value


def instance(value: Any, name: str, kind: type | tuple[type, ...], *, hint: str = "") -> Any:
    """`value` itself if it is an instance of `kind` (`hint`: how to make one), else an
    `InvalidTypeError` naming the argument."""
    if not isinstance(value, kind):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise InvalidTypeError(f"{name} must be a {names}{_hint(hint)}, got {type(value).__name__}")
    return value


def path(value: Any, name: str, *, must_exist: bool = False) -> Path:
    """`value` (a str or os.PathLike) as a `Path`; `must_exist`: it must name something on disk."""
    if isinstance(value, (bool, bytes)) or not isinstance(value, (str, os.PathLike)):
        raise InvalidTypeError(f"{name} must be a path (str or pathlib.Path), got {value!r}")
    if isinstance(value, str) and not value:
        raise InvalidInputError(f"{name} must be a path, got an empty string; pass '.' for the current folder")
    result = Path(value)
    if must_exist and not result.exists():
        raise InvalidInputError(f"{name} {str(result)!r} does not exist; check the path")
    return result


def folder(value: Any, name: str, *, must_exist: bool = True) -> Path:
    """`value` as a `Path` to a folder (`must_exist`: one that exists; anything else that exists
    there, a file, is refused either way)."""
    result = path(value, name, must_exist=must_exist)
    if result.exists() and not result.is_dir():
        raise InvalidInputError(f"{name} {str(result)!r} is a file, not a folder; pass the folder that holds it")
    return result
