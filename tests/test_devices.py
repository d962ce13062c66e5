"""`usable_device`: a device a user names is checked once, with an error that says why."""

import pytest
import torch

import chaosdata
from chaosdata import Sampling
from chaosdata.devices import usable_device
from chaosdata.errors import InvalidInputError


def test_none_is_the_cpu_and_a_usable_device_comes_back_as_a_torch_device():
    assert usable_device(None) == torch.device("cpu")
    assert usable_device("cpu") == torch.device("cpu") == usable_device(torch.device("cpu"))
    assert usable_device("meta") == torch.device("meta")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks a machine without CUDA")
@pytest.mark.parametrize("call", [
    lambda d: usable_device(d),
    lambda d: chaosdata.make_trajectories("Lorenz", 10, device=d, sampling=Sampling(n_ics=1)),  # was torch's AssertionError
])
def test_cuda_where_there_is_none_is_named(call):
    with pytest.raises(InvalidInputError, match="device 'cuda' is not usable here"):
        call("cuda")


@pytest.mark.parametrize("device", ["cdua", 3.5])
def test_a_misspelt_or_wrong_type_device_is_named(device):
    with pytest.raises(InvalidInputError, match="is not usable here"):
        usable_device(device)
