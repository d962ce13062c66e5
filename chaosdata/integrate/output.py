"""Dense output onto a time grid, written in batches of steps rather than step by step.

The solver hands each attempted step to a `DenseWriter`: the step's start time, state, size,
the index of the first output it may cover, how many outputs it covers (0 when rejected or
when no output falls in it), and its stage derivatives times `h`. Nothing is computed then.
Every `capacity` steps (and at the end) `flush` evaluates the interpolant for all recorded
steps at once: the method's extra dense-output stages (DOP853's three) and the polynomial run
once over `[steps, batch]` instead of once per step, and not at all over stretches with no
output (a transient). On the CPU this takes the dense output from about a third of the
per-step operations to a few percent; the values are those of the step-by-step evaluation.

Outputs go into `out`, `[B * (n_out + 1), d]`: row `b * (n_out + 1) + i` is output `i` of
trajectory `b`, and each trajectory's spare last row swallows the masked writes.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

VectorField = Callable[[Tensor, Tensor], Tensor]


class DenseWriter:
    """Collects steps and writes their dense output into `out` in batches (see module doc).

    `dense_t` (`[degree, n_stages]`), `a_extra` (rows of the extra stages over all earlier
    stages) and `c_extra` (0-d tensors) come from the tableau, cast to the solve's dtype and device;
    `n_main` is the number of stages every step computes (main ones and first-same-as-last).
    Each flush reads one number on the host, the most outputs any recorded step covers, and
    evaluates that many output slots (not `max_outputs_per_step` of them every time).
    `batched`: evaluate the extra stages of all recorded steps in one call of `f` on
    `t: [S, B]`, `y: [S, B, d]` (see `stacks_batches`), else one call per step on `[B]`, `[B, d]`.
    """

    def __init__(self, f: VectorField, out: Tensor, t_eval: Tensor, *, dense_t: Tensor, a_extra: list[Tensor],
                 c_extra: list[Tensor], n_main: int, batched: bool = True):
        self.f = f
        self.batched = batched
        self.out = out
        self.t_eval = t_eval
        self.n_out = t_eval.numel()
        self.dense_t = dense_t
        self.a_extra = a_extra
        self.c_extra = c_extra
        self.n_main = n_main
        self.n_extra_evaluations = 0  # extra-stage evaluations, counted per (step, trajectory) row
        self._slots: dict[int, Tensor] = {}
        self._clear()

    def _clear(self) -> None:
        self.steps: list[tuple[Tensor, ...]] = []

    def __len__(self) -> int:
        return len(self.steps)

    def record(self, step: tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor]) -> None:
        """Keep one step `(k, t, y, h, first, count)`: `k` `[n_stages, B, d]` (stage
        derivatives times h; the extra stages' rows are filled at the flush), `t`, `h`,
        `first`, `count` `[B, 1]`, `y` `[B, d]`. The tensors are kept by reference: the
        caller must not change them in place."""
        self.steps.append(step)

    def flush(self, rows: Tensor, ring: Tensor | None = None) -> None:
        """Write the dense output of every recorded step. `rows` (`[B]`) is each trajectory's
        first row in `out`; `ring`, when given, already holds the recorded `k` stacked."""
        if not self.steps:
            return
        ks, ts, ys, hs, firsts, step_counts = zip(*self.steps, strict=True)
        counts = torch.stack(step_counts)  # [S, B, 1]
        m = int(counts.max())
        if m == 0:
            self._clear()
            return
        k = ring if ring is not None else torch.stack(ks)  # [S, n_stages, B, d]
        t, h = torch.stack(ts), torch.stack(hs)  # [S, B, 1]
        y, first = torch.stack(ys), torch.stack(firsts)
        self._clear()
        S, n_stages, B, d = k.shape
        flat = k.view(S, n_stages, B * d)
        for e, (a, c) in enumerate(zip(self.a_extra, self.c_extra, strict=True)):
            j = self.n_main + e
            stage_y = y + torch.matmul(a, flat[:, :j]).view(S, B, d)
            # evaluated as [S, B, d], not flattened: per-trajectory parameters ([B]) broadcast
            stage_t = torch.addcmul(t, h, c).view(S, B)
            value = (self.f(stage_t, stage_y) if self.batched
                     else torch.stack([self.f(stage_t[i], stage_y[i]) for i in range(S)]))
            torch.mul(value.view(S, B, d), h, out=k[:, j])
            self.n_extra_evaluations += S * B
        coeffs = torch.matmul(self.dense_t, flat).view(S, -1, B, d)  # [S, degree, B, d]
        slot = self._slot(m, first.device)
        idx = first + slot  # [S, B, m]
        t_out = self.t_eval[idx.clamp_max(self.n_out - 1)]
        # the output slot leads and theta is spelled out over d: every operand of the Horner
        # steps below then runs over contiguous [B * d] rows (a broadcast over the last axis
        # made each multiply-add ~40x slower at B = 1024); the same operations, the same bytes
        theta = ((t_out - t) / h).clamp(0.0, 1.0).permute(2, 0, 1)[..., None].expand(m, S, B, d).contiguous()
        poly = coeffs[:, -1]
        for i in range(coeffs.shape[1] - 2, -1, -1):  # Horner: sum_i theta^(i+1) coeffs[i]
            poly = torch.addcmul(coeffs[:, i], poly, theta)  # [m, S, B, d]
        values = torch.addcmul(y, theta, poly)
        write = slot < counts
        target = rows[:, None] + torch.where(write, idx, self.n_out)  # [S, B, m]
        self.out.index_copy_(0, target.permute(2, 0, 1).reshape(-1), values.reshape(-1, d))

    def _slot(self, m: int, device: torch.device) -> Tensor:
        if m not in self._slots:
            self._slots[m] = torch.arange(m, device=device)
        return self._slots[m]


def stacks_batches(f: VectorField, t_eval: Tensor, y: Tensor) -> bool:
    """Whether `f` evaluated on two batches stacked (`t: [2, B]`, `y: [2, B, d]`) gives each
    batch's own values, as the writer's batched extra stages need. The catalogue's fields
    take any leading axes; a field written for `[B]` and `[B, d]` only (`y * t[:, None]`)
    raises there, or, where `B == d`, silently mixes rows: it is then called step by step.
    Probed at `B` distinct times of the span (the mix-up hides when all times are equal),
    with the rounding of the dtype as tolerance (a batched matmul may sum in another order)."""
    B = y.shape[0]
    times = t_eval[0] + (t_eval[-1] - t_eval[0]) * torch.linspace(0, 1, B, dtype=y.dtype, device=y.device)
    one, other = f(times, y), f(times.flip(0), y)
    try:
        both = f(torch.stack([times, times.flip(0)]), torch.stack([y, y]))
    except torch.OutOfMemoryError:  # a RuntimeError, but a fact about the device, not about `f`
        raise
    except (RuntimeError, IndexError, ValueError, TypeError):  # shapes that do not broadcast, indexing a
        return False  # `[B]` axis that is now `[2, B]`, unpacking the wrong axis: call `f` step by step
    tol = 64 * torch.finfo(y.dtype).eps
    return (isinstance(both, Tensor) and tuple(both.shape) == (2, *one.shape)
            and torch.allclose(both[0], one, rtol=tol, atol=0.0, equal_nan=True)
            and torch.allclose(both[1], other, rtol=tol, atol=0.0, equal_nan=True))
