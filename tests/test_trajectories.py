"""`make_trajectories` and `union_grid` (chaosdata.integrate.trajectories)."""

from __future__ import annotations

import numpy as np
import pytest

from chaosdata.errors import InvalidInputError, InvalidTypeError
from chaosdata.integrate.trajectories import union_grid


@pytest.mark.parametrize("grid, error, match", [
    ((0.1, 2.5), InvalidTypeError, r"grid 'a': n must be a positive integer, got 2.5"),  # was silently two points
    ((0.1, True), InvalidTypeError, r"grid 'a': n must be a positive integer, got True"),
    ((0.1, 0), InvalidInputError, r"grid 'a': n must be a positive integer, got 0"),
    (("0.1", 3), InvalidTypeError, r"grid 'a': dt must be a positive finite number, got '0.1'"),  # was a TypeError
    ((-0.1, 3), InvalidInputError, r"grid 'a': dt must be a positive finite number, got -0.1"),
    ((np.inf, 3), InvalidInputError, r"grid 'a': dt must be a positive finite number, got inf"),
])
def test_union_grid_names_the_grid_and_the_bad_value(grid, error, match):
    with pytest.raises(error, match=match):
        union_grid({"a": grid})


def test_union_grid_takes_numpy_numbers():
    times, index = union_grid({"a": (np.float64(0.5), np.int64(3))})
    assert times.tolist() == [0.0, 0.5, 1.0] and index["a"].tolist() == [0, 1, 2]
