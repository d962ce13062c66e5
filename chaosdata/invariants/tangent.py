"""One step of a system together with its tangent vectors, for the Lyapunov spectrum.

Each builder returns a pure function of tensors that advances a batch of states and, through
`torch.func.jvp`, the tangent vectors attached to each (forward-mode derivatives: exact, no
finite differences). Tangents are folded into the batch dimension, so one call of the
equations carries all of them. `record` then traces that function once into a graph of
plain tensor operations (`make_fx`): forward-mode AD costs about twenty times a plain call
per operation in eager mode, the recorded graph about the same as a plain call, and it runs
on any device. Shapes are fixed at recording time; step sizes are tensors, not baked in.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import Tensor
from torch.func import jvp

from chaosdata.integrate.delay import hermite
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


def flow_rk4_step(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, ...]]:
    """`(t, x, V, h) -> (t + h, x', V', integral of trace J over the step)`, classical RK4.

    RK4 applied to the state and its variational equation V' = J V together is the exact
    derivative of the RK4 step of the state, so the tangents are those of the discrete flow
    that is actually computed.
    """
    field = flow_tangent_field(system, params)

    def step(t: Tensor, x: Tensor, V: Tensor, h: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        half = h / 2
        f1, g1, d1 = field(t, x, V)
        f2, g2, d2 = field(t + half, x + half * f1, V + half * g1)
        f3, g3, d3 = field(t + half, x + half * f2, V + half * g2)
        f4, g4, d4 = field(t + h, x + h * f3, V + h * g3)
        sixth = h / 6
        x_new = x + sixth * (f1 + 2 * f2 + 2 * f3 + f4)
        V_new = V + sixth * (g1 + 2 * g2 + 2 * g3 + g4)
        return t + h, x_new, V_new, sixth * (d1 + 2 * d2 + 2 * d3 + d4)

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


def _delay_stages(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, Tensor]]:
    """`(t, y, old, next_old, f_old, f_next, h) -> (y_new, k1)`: one RK4 method-of-steps step.

    `old`, `next_old` are the solution one delay and one delay minus h back, `f_old`, `f_next`
    their derivatives. This is the scheme of `integrate_delay`: the delayed value at the half
    step comes from the cubic Hermite interpolant between the two.
    """

    def stages(t: Tensor, y: Tensor, old: Tensor, next_old: Tensor, f_old: Tensor, f_next: Tensor,
               h: Tensor) -> tuple[Tensor, Tensor]:
        half = h / 2
        k1 = system.equations(y, old, t, **params)
        delayed_half = hermite(old, f_old, next_old, f_next, h, torch.full_like(h, 0.5))
        k2 = system.equations(y + half * k1, delayed_half, t + half, **params)
        k3 = system.equations(y + half * k2, delayed_half, t + half, **params)
        k4 = system.equations(y + h * k3, next_old, t + h, **params)
        return y + (h / 6) * (k1 + 2 * k2 + 2 * k3 + k4), k1

    return stages


def delay_step(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, Tensor]]:
    """`(t, Y, F, h) -> (Y', F')`: one step on the discretized history of a delay equation.

    The state is the window of the last m + 1 solution points `Y [B, m + 1, s]` (oldest
    first, `Y[:, -1]` the current point) and the derivatives at the first m of them
    `F [B, m, s]`, with m = tau / h; a step appends the new point and drops the oldest. The
    discretized system is a map on (2m + 1) s numbers whose leading exponents approximate
    those of the delay equation as h -> 0.
    """
    stages = _delay_stages(system, params)

    def step(t: Tensor, Y: Tensor, F: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        y_new, k1 = stages(t, Y[:, -1], Y[:, 0], Y[:, 1], F[:, 0], F[:, 1], h)
        return torch.cat([Y[:, 1:], y_new.unsqueeze(1)], 1), torch.cat([F[:, 1:], k1.unsqueeze(1)], 1)

    return step


def delay_tangent_step(system: System, params: Mapping[str, Any]) -> Callable[..., tuple[Tensor, ...]]:
    """`(t, Y, F, dY [B, k, m+1, s], dF [B, k, m, s], h) -> (Y', F', dY', dF')`.

    The derivative of `delay_step` along k tangent windows: jvp through the RK4 stages (the
    only nonlinear part), with the tangents folded into the batch; the window shift is linear
    and moves the tangents as it moves the state.
    """
    stages = _delay_stages(system, params)

    def step(t: Tensor, Y: Tensor, F: Tensor, dY: Tensor, dF: Tensor, h: Tensor) -> tuple[Tensor, ...]:
        B, k, s = dY.shape[0], dY.shape[1], Y.shape[-1]
        tt = t.unsqueeze(1).expand(B, k).reshape(B * k)
        primals = tuple(_fold(v, k) for v in (Y[:, -1], Y[:, 0], Y[:, 1], F[:, 0], F[:, 1]))
        tangents = tuple(v.reshape(B * k, s) for v in (dY[:, :, -1], dY[:, :, 0], dY[:, :, 1], dF[:, :, 0], dF[:, :, 1]))
        (y_new, k1), (dy_new, dk1), *_ = jvp(lambda *a: stages(tt, *a, h), primals, tangents)
        y_new, k1 = y_new.view(B, k, s)[:, 0], k1.view(B, k, s)[:, 0]
        return (torch.cat([Y[:, 1:], y_new.unsqueeze(1)], 1), torch.cat([F[:, 1:], k1.unsqueeze(1)], 1),
                torch.cat([dY[:, :, 1:], dy_new.view(B, k, 1, s)], 2), torch.cat([dF[:, :, 1:], dk1.view(B, k, 1, s)], 2))

    return step
