"""The ensemble runner's values (`Sampling`, `OutputGrid`) and its draws: input checks through `validate`."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from chaosdata import get_system
from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate import RESAMPLE
from chaosdata.integrate.ensemble import OutputGrid, Sampling, run_ensemble, run_passes, sample_initial_conditions


@pytest.mark.parametrize("seed, error", [(1.5, InvalidTypeError), ("a", InvalidTypeError), (True, InvalidTypeError),
                                         (2**63, InvalidInputError), (-(2**63) - 1, InvalidInputError)])
def test_sampling_seed_is_an_integer_torch_takes_with_room_for_redraws(seed, error):
    with pytest.raises(error, match=r"^seed must be an integer in \[-2\*\*63, 2\*\*63\)"):
        Sampling(seed=seed)


def test_sampling_seed_takes_numpy_and_negative_integers_as_python_ints():
    assert Sampling(seed=np.int64(-5)).seed == -5 and type(Sampling(seed=np.uint8(3)).seed) is int


@pytest.mark.parametrize("seed, error", [(2**64, InvalidInputError), (np.float64(1.0), InvalidTypeError)])
def test_draws_refuse_a_seed_torch_cannot_take(seed, error):
    with pytest.raises(error, match=r"^seed must be an integer in \[-2\*\*63, 2\*\*64\)"):
        sample_initial_conditions(get_system("Lorenz"), 2, seed)


def test_given_starts_that_are_not_a_tensor_name_the_argument():
    with pytest.raises(InvalidTypeError, match=r"^initial_conditions must be a torch.Tensor of shape \[B, dim\] or "
                                               r"\[dim\], got list"):
        run_ensemble(get_system("Lorenz"), OutputGrid(n_points=3), starts=[[1.0, 2.0, 3.0]])


def test_given_starts_run_as_given():
    x0 = torch.tensor([[1.0, 2.0, 20.0]], dtype=torch.float64)
    run = run_ensemble(get_system("Lorenz"), OutputGrid(n_points=3), starts=x0)
    assert torch.equal(run.solution.y[:, 0], x0) and torch.equal(run.starts, x0)


def test_blocks_of_a_sampling_draw_from_their_own_seeds():
    lorenz = get_system("Lorenz")
    (run,) = run_passes(lorenz, [OutputGrid(n_points=3)], sampling=[Sampling(n_ics=2, seed=5, transient=0),
                                                                     Sampling(n_ics=1, seed=9, transient=0)])
    expected = torch.cat([sample_initial_conditions(lorenz, 2, 5), sample_initial_conditions(lorenz, 1, 9)])
    assert torch.equal(run.draws, expected)


@pytest.mark.parametrize("second", [Sampling(transient=1.0), Sampling(transient=0, resample_failed=True)])
def test_blocks_of_a_sampling_share_transient_and_redraws(second):
    with pytest.raises(InvalidInputError, match="must share transient and resample_failed"):
        run_passes(get_system("Lorenz"), [OutputGrid(n_points=3)], sampling=[Sampling(transient=0), second])


def test_a_row_that_fails_is_redrawn_on_every_grid():
    beta = torch.tensor([8 / 3, -50.0], dtype=torch.float64)  # the second diverges, every draw of it
    grids = [OutputGrid(n_points=5), OutputGrid(n_points=9, pts_per_period=200)]
    runs = run_passes(get_system("Lorenz"), grids, params={"beta": beta},
                      sampling=Sampling(n_ics=2, seed=1, transient=0.5, resample_failed=True))
    assert [r.solution.status.tolist()[0] for r in runs] == [0, 0]
    assert all(r.solution.status[1] != 0 and r.resampled == {1: RESAMPLE.max_resamples} for r in runs)
    assert runs[0].draws is runs[1].draws and torch.equal(runs[0].starts, runs[1].starts)
