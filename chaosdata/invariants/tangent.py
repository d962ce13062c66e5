"""One step of a system together with its tangent vectors, for the Lyapunov spectrum.

Each builder returns a pure function of tensors that advances a batch of states and, through
`torch.func.jvp`, the tangent vectors attached to each (forward-mode derivatives: exact, no
finite differences). Tangents are folded into the batch dimension, so one call of the
equations carries all of them. `record` then traces that function once into a graph of
plain tensor operations (`make_fx`): forward-mode AD costs about twenty times a plain call
per operation in eager mode, the recorded graph about the same as a plain call, and it runs
on any device. Shapes and the step size are fixed at recording time (a new step size is
recorded again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.func import jvp

from chaosdata.integrate.delay import DelayStep, delay_step
from chaosdata.integrate.fixed import rk_step
from chaosdata.integrate.tableaux import RK4, Tableau, nonzero_terms
from chaosdata.systems import System


def record(fn: Callable[..., Any], *example: Tensor) -> tuple[Callable[..., Any], bool]:
    """`fn` traced on `example` into a reusable graph, and whether tracing worked.

    An equation with Python branching on tensor values cannot be traced; it then runs as is
    (slower, same numbers).
    """
    from torch.fx.experimental.proxy_tensor import make_fx

    try:
        graph = make_fx(fn)(*example)
    except torch.OutOfMemoryError:  # a RuntimeError, but not a tracing failure
        raise
    except (RuntimeError, ValueError):  # data-dependent branching or `.item()` (RuntimeError), fx's TraceError
        return fn, False
    graph.graph.eliminate_dead_code()
    graph.recompile()
    return graph, True


def _fold(x: Tensor, n: int) -> Tensor:
    """`[B, ...]` repeated as `[B * n, ...]` (each row n times in a row)."""
    return x.unsqueeze(1).expand(x.shape[0], n, *x.shape[1:]).reshape(x.shape[0] * n, *x.shape[1:])


def flow_tangent_field(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, Tensor, Tensor]]:
    """`(t [B], x [B, d], V [B, d, k]) -> (f(x), J V, trace J)` for an ODE.

    The k tangent columns and the d basis vectors (whose products give the trace of the
    Jacobian, i.e. the divergence of the field) go through one jvp call.
    """
    d = system.dim

    def field(t: Tensor, x: Tensor, V: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        B, k = x.shape[0], V.shape[-1]
        n = k + d
        eye = torch.eye(d, dtype=x.dtype, device=x.device).expand(B, d, d)
        directions = torch.cat([V.transpose(1, 2), eye], 1).reshape(B * n, d)
        tt = t.unsqueeze(1).expand(B, n).reshape(B * n)
        fx, out, *_ = jvp(lambda z: system.equations(z, tt, **params), (_fold(x, n),), (directions,))
        out = out.view(B, n, d)
        return fx.view(B, n, d)[:, 0], out[:, :k].transpose(1, 2), torch.diagonal(out[:, k:], dim1=1, dim2=2).sum(-1)

    return field


def flow_rk4_step(system: System, params: Mapping[str, Any], h: float,
                  tab: Tableau = RK4) -> Callable[..., tuple[Tensor, ...]]:
    """`(t, x, V) -> (t + h, x', V', integral of trace J over the step)`: `tab`'s step of size
    `h` (`fixed.rk_step`, classical RK4 by default) on the state, its variational equation
    `V' = J V` and the divergence's integral together, as the columns of one state `[x, V, 0]`.

    The step of the state and its variational equation together is the exact derivative of
    the step of the state, so the tangents are those of the discrete flow that is actually
    computed; the state's columns are the fixed-step solver's own step (`fixed.FixedStep`),
    to the last bit. `h` is a Python float (the tableau's rows scaled by it, as constants of a
    recorded graph): a new step size is a new step function.
    """
    field = flow_tangent_field(system, params)
    h = float(h)
    a, b = tuple(nonzero_terms(row, h) for row in tab.a), nonzero_terms(tab.b, h)
    offsets = tuple(float(c) * h for c in tab.c)

    def step(t: Tensor, x: Tensor, V: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        B, d, k = V.shape

        def stage(i: int, z: Tensor) -> Tensor:  # z: [B, d, 1 + k + 1], the columns x, V, the integral
            f, JV, div = field(t + offsets[i], z[:, :, 0], z[:, :, 1:k + 1])
            return torch.cat([f[:, :, None], JV, div[:, None, None].expand(B, d, 1)], -1)

        z, _ = rk_step(stage, torch.cat([x[:, :, None], V, torch.zeros_like(x[:, :, None])], -1), a, b)
        return t + h, z[:, :, 0], z[:, :, 1:k + 1], z[:, 0, -1]

    return step


def map_tangent_step(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, ...]]:
    """`(x [B, d], V [B, d, k]) -> (F(x), J V, log|det J|)` for a map."""
    d = system.dim

    def step(x: Tensor, V: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        B, k = x.shape[0], V.shape[-1]
        n = k + d
        eye = torch.eye(d, dtype=x.dtype, device=x.device).expand(B, d, d)
        directions = torch.cat([V.transpose(1, 2), eye], 1).reshape(B * n, d)
        fx, out, *_ = jvp(lambda z: system.equations(z, **params), (_fold(x, n),), (directions,))
        out = out.view(B, n, d)
        jac = out[:, k:].transpose(1, 2)
        return fx.view(B, n, d)[:, 0], out[:, :k].transpose(1, 2), torch.linalg.slogdet(jac)[1]

    return step


def _history_step_of(system: System, params: Mapping[str, Any], h: float) -> DelayStep:
    """The method-of-steps step of `integrate_delay` (`delay.delay_step`) for `system`."""
    return delay_step(lambda t, y, yd: system.equations(y, yd, t, **params), h)


def history_step(system: System, params: Mapping[str, Any], h: float) -> Callable[..., tuple[Tensor, Tensor]]:
    """`(t, Y, F) -> (Y', F')`: one step of size `h` on the discretized history of a delay equation.

    The state is the window of the last m + 1 solution points `Y [B, m + 1, s]` (oldest
    first, `Y[:, -1]` the current point) and the derivatives at the first m of them
    `F [B, m, s]`, with m = tau / h; a step (the scheme of `integrate_delay`) appends the new
    point and drops the oldest. The discretized system is a map on (2m + 1) s numbers whose
    leading exponents approximate those of the delay equation as h -> 0.
    """
    advance = _history_step_of(system, params, h)

    def step(t: Tensor, Y: Tensor, F: Tensor) -> tuple[Tensor, Tensor]:
        y_new, k1 = advance(t, Y[:, -1], Y[:, 0], F[:, 0], Y[:, 1], F[:, 1])
        return torch.cat([Y[:, 1:], y_new.unsqueeze(1)], 1), torch.cat([F[:, 1:], k1.unsqueeze(1)], 1)

    return step


def history_tangent_step(system: System, params: Mapping[str, Any], h: float) -> Callable[..., tuple[Tensor, ...]]:
    """`(t, Y, F, dY [B, k, m+1, s], dF [B, k, m, s]) -> (Y', F', dY', dF')`.

    The derivative of `history_step` along k tangent windows: jvp through the step's stages
    (the only nonlinear part), with the tangents folded into the batch; the window shift is
    linear and moves the tangents as it moves the state.
    """
    advance = _history_step_of(system, params, h)

    def step(t: Tensor, Y: Tensor, F: Tensor, dY: Tensor, dF: Tensor) -> tuple[Tensor, ...]:
        B, k, s = dY.shape[0], dY.shape[1], Y.shape[-1]
        tt = t.unsqueeze(1).expand(B, k).reshape(B * k)
        primals = tuple(_fold(v, k) for v in (Y[:, -1], Y[:, 0], F[:, 0], Y[:, 1], F[:, 1]))
        tangents = tuple(v.reshape(B * k, s) for v in (dY[:, :, -1], dY[:, :, 0], dF[:, :, 0], dY[:, :, 1], dF[:, :, 1]))
        (y_new, k1), (dy_new, dk1), *_ = jvp(lambda *a: advance(tt, *a), primals, tangents)
        y_new, k1 = y_new.view(B, k, s)[:, 0], k1.view(B, k, s)[:, 0]
        return (torch.cat([Y[:, 1:], y_new.unsqueeze(1)], 1), torch.cat([F[:, 1:], k1.unsqueeze(1)], 1),
                torch.cat([dY[:, :, 1:], dy_new.view(B, k, 1, s)], 2), torch.cat([dF[:, :, 1:], dk1.view(B, k, 1, s)], 2))

    return step
