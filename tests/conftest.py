import os
import warnings

# dysts is the reference, not the subject: keep it uncompiled so the suite behaves the same
# whether or not numba (the `bench` extra) is installed.
os.environ.setdefault("NUMBA_DISABLE_JIT", "1")

import pytest
import torch

warnings.filterwarnings("ignore", message="Numba not installed")
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)
