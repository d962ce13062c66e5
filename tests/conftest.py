import warnings

import pytest
import torch

warnings.filterwarnings("ignore", message="Numba not installed")
torch.set_num_threads(1)


@pytest.fixture
def rng():
    return torch.Generator().manual_seed(0)
