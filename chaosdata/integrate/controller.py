"""Step-size controllers: how the next step size follows from the error norm of this one.

A controller is a frozen value; `propose` is a pure function of tensors, so the solver's step
stays free of host decisions. Two kinds, one class:

- integral (I) control, the default, as the solver has always done: the next step is
  `h * safety * norm ** (-1 / (q + 1))` with `q` the order of the error estimate, clipped to
  `[min_factor, max_factor]` after an accepted step and to `[min_factor, 1]` after a rejected
  one (Hairer, Norsett & Wanner, Solving ODEs I, II.4);
- proportional-integral (PI) control (Gustafsson 1991; coefficients as Soederlind 2002 and
  diffrax name them): the factor is also multiplied by `prev_norm ** (pcoeff / (q + 1))`, the
  norm of the last accepted step, which damps the step-size oscillations of a trajectory
  whose step is limited by stability rather than accuracy. `pcoeff = 0.4, icoeff = 0.3` is the
  usual choice; `pcoeff = 0, icoeff = 1` is integral control.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from chaosdata import validate
from chaosdata.errors import InvalidInputError


@dataclass(frozen=True)
class Controller:
    """Step-size control; `Controller()` is integral control, `Controller.pi()` PI control."""

    safety: float = 0.9
    min_factor: float = 0.2
    max_factor: float = 10.0
    pcoeff: float = 0.0
    icoeff: float = 1.0

    def __post_init__(self) -> None:
        for name in ("safety", "min_factor", "max_factor", "icoeff"):  # numbers as Python floats (to_dict)
            object.__setattr__(self, name, validate.positive(getattr(self, name), f"Controller {name}"))
        object.__setattr__(self, "pcoeff", validate.non_negative(self.pcoeff, "Controller pcoeff"))
        if not 0 < self.safety <= 1:
            raise InvalidInputError(f"Controller safety must be in (0, 1], got {self.safety!r}")
        if not 0 < self.min_factor < 1 < self.max_factor:
            raise InvalidInputError(
                f"Controller needs 0 < min_factor < 1 < max_factor, got {self.min_factor!r}, {self.max_factor!r}"
            )
        if self.icoeff <= 0 or self.pcoeff < 0:
            raise InvalidInputError(
                f"Controller needs icoeff > 0 and pcoeff >= 0, got icoeff={self.icoeff!r}, pcoeff={self.pcoeff!r}"
            )

    @classmethod
    def pi(cls, pcoeff: float = 0.4, icoeff: float = 0.3, **kw: float) -> Controller:
        """PI control with the usual coefficients (Soederlind's PI.4.2 family)."""
        return cls(pcoeff=pcoeff, icoeff=icoeff, **kw)

    @property
    def uses_history(self) -> bool:
        """Whether `propose` reads the previous accepted norm (PI control)."""
        return self.pcoeff != 0.0

    def to_dict(self) -> dict[str, float]:
        return {"safety": self.safety, "min_factor": self.min_factor, "max_factor": self.max_factor,
                "pcoeff": self.pcoeff, "icoeff": self.icoeff}

    def propose(self, norm: Tensor, h: Tensor, accept: Tensor, finite: Tensor, error_order: int,
                prev_norm: Tensor | None = None) -> Tensor:
        """Next step size per trajectory (`[B]` each): from `h` and its error `norm` (`<= 1`
        passes); a non-finite norm shrinks the step by `min_factor`."""
        k = error_order + 1
        factor = self.safety * norm.clamp_min(1e-300).pow(-(self.icoeff + self.pcoeff) / k)
        if self.uses_history and prev_norm is not None:
            factor = factor * prev_norm.pow(self.pcoeff / k)
        # a step rejected on its error (norm > 1) gets a factor below 1 without a clamp: safety
        # <= 1 and the remembered norm is that of an accepted step (<= 1); `accept` is unused
        factor = factor.clamp(self.min_factor, self.max_factor)
        # a NaN norm clamps to NaN: those trajectories shrink by min_factor
        return h * torch.where(finite, factor, self.min_factor)

    def history(self, norm: Tensor, accept: Tensor, prev_norm: Tensor) -> Tensor:
        """The norm PI control remembers: that of the last accepted step, floored at 1e-4
        (as Hairer's DOP853 floors it) so one tiny error does not blow up the next factor."""
        return torch.where(accept, norm.clamp_min(1e-4), prev_norm)


INTEGRAL = Controller()
