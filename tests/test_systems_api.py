"""Generic behaviour every catalogue entry must have: batching, dtypes, broadcasting, autodiff."""

from __future__ import annotations

import math

import pytest
import torch

import chaosdata
from chaosdata import get_system, list_systems, make_trajectories
from chaosdata.errors import ChaosdataError, UnknownNameError
from chaosdata.systems import base, stack

FLOWS = list_systems("flow")
ALL = list_systems()


def evaluate(system, x, **params):
    if system.kind == "flow":
        return system.rhs(x, 0.3, **params)
    if system.kind == "delay":
        return system.rhs(x, 0.9 * x, 0.3, **params)
    return system.step(x, **params)


def base_state(system, dtype=torch.float64):
    dim = system.state_dim or system.dim
    return torch.tensor(system.initial_conditions[:dim], dtype=dtype)


@pytest.mark.parametrize("name", ALL)
@pytest.mark.parametrize("batch", [(), (5,), (2, 3)])
def test_batch_shapes_agree_with_single_states(name, batch):
    system = get_system(name)
    x0 = base_state(system)
    noise = 0.01 * (x0.abs() + 0.1) * torch.randn(*batch, x0.shape[-1], dtype=torch.float64,
                                                  generator=torch.Generator().manual_seed(0))
    x = x0 + noise
    out = evaluate(system, x)
    assert out.shape == x.shape
    flat = x.reshape(-1, x.shape[-1])
    one_by_one = torch.stack([evaluate(system, xi) for xi in flat]).reshape(x.shape)
    torch.testing.assert_close(out, one_by_one, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", ALL)
def test_float32_tracks_float64(name):
    system = get_system(name)
    x = base_state(system).expand(4, -1)
    out64 = evaluate(system, x)
    out32 = evaluate(system, x.float())
    assert out32.dtype == torch.float32
    scale = out64.abs().max().clamp_min(1e-30)
    assert ((out32.double() - out64).abs().max() / scale) < 1e-4


@pytest.mark.parametrize("name", [n for n in ALL if get_system(n).parameters])
def test_parameter_tensor_broadcasts_over_batch(name):
    """A sweep of one parameter in one call equals the same calls made one value at a time."""
    system = get_system(name)
    key = next(iter(system.parameters))
    default = torch.tensor(system.parameters[key], dtype=torch.float64)
    values = torch.stack([default, default * 1.01 + 0.01, default * 0.99 - 0.01])  # [3, *shape]
    x = base_state(system).expand(3, -1)
    swept = evaluate(system, x, **{key: values})
    singles = torch.stack([
        evaluate(system, x[i], **{key: float(v) if v.ndim == 0 else v}) for i, v in enumerate(values)
    ])
    torch.testing.assert_close(swept, singles, rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("name", FLOWS)
def test_jvp_matches_central_difference(name):
    """Forward-mode derivative against a Richardson-extrapolated central difference.

    The direction is scaled per coordinate (relative for small coordinates, absolute for large
    ones such as unbounded phases), so one step size suits every system.
    """
    system = get_system(name)
    x = base_state(system)
    r = torch.randn(x.shape, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    v = (x.abs().clamp(max=1.0) + 1e-3) * r / r.abs().max()
    f = lambda y: system.rhs(y, 0.3)  # noqa: E731
    _, tangent = torch.func.jvp(f, (x,), (v,))

    def central(eps):
        return (f(x + eps * v) - f(x - eps * v)) / (2 * eps)

    eps = 1e-4
    fd = (4 * central(eps / 2) - central(eps)) / 3  # error O(eps^4)
    scale = torch.maximum(tangent.abs().max(), f(x).abs().max()).clamp_min(1.0)
    assert ((tangent - fd).abs().max() / scale) < 1e-6


@pytest.mark.parametrize("name", FLOWS)
def test_vmap_and_jacfwd_work(name):
    system = get_system(name)
    x = base_state(system).expand(3, -1).clone()
    f = lambda y: system.rhs(y, 0.3)  # noqa: E731
    torch.testing.assert_close(torch.func.vmap(f)(x), f(x))
    jac = torch.func.vmap(torch.func.jacfwd(f))(x)
    assert jac.shape == (3, system.dim, system.dim)


def test_bad_inputs_give_clear_errors():
    lorenz = get_system("Lorenz")
    with pytest.raises(TypeError, match="torch.Tensor"):
        lorenz.rhs([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="last dimension 3"):
        lorenz.rhs(torch.zeros(4, 2))
    with pytest.raises(ValueError, match="Did you mean 'sigma'"):
        lorenz.rhs(torch.zeros(3), sigm=1.0)
    with pytest.raises(TypeError, match="use step"):
        get_system("Henon").rhs(torch.zeros(2))
    with pytest.raises(TypeError, match="use rhs"):
        lorenz.step(torch.zeros(3))
    with pytest.raises(KeyError, match="Did you mean 'Lorenz'"):
        get_system("Lorenzz")
    with pytest.raises(ChaosdataError):
        get_system("nope-not-a-system")
    with pytest.raises(ValueError, match="kind"):
        list_systems("ode")


def test_period_and_delay_are_read_where_a_use_needs_them():
    assert get_system("Lorenz").required_period("unused") == get_system("Lorenz").period
    with pytest.raises(ValueError, match="Henon has no period: it is a map"):
        get_system("Henon").required_period("it is a map")
    mackey = get_system("MackeyGlass")
    assert mackey.delay_of(mackey.bind({"tau": 3.0})) == 3.0
    with pytest.raises(TypeError, match="Lorenz is a flow, not a delay equation"):
        get_system("Lorenz").delay_of({})


def test_lookup_is_case_insensitive():
    assert chaosdata.get_system("lorenz") is chaosdata.get_system("LORENZ")
    assert chaosdata.list_systems() == sorted(chaosdata.list_systems())


# ---------------------------------------------------------------------- user-registered systems
def _register_user_flow(name: str) -> None:
    @base.flow(name=name, parameters={"a": 1.0}, initial_conditions=(1.0, 0.0), period=2 * math.pi, dt=0.01,
               citation="test", description="a harmonic oscillator registered from user code")
    def oscillator(x, t, *, a):
        u, v = x.unbind(-1)
        return stack(v, -a * u, like=x)


def test_a_system_registered_from_user_code_is_found_by_get_system(restore_systems):
    _register_user_flow("MyOscillator")
    assert "MyOscillator" in list_systems("flow")
    assert get_system("myoscillator").name == "MyOscillator"  # case-insensitive, like the catalogue
    x0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    tr = make_trajectories("MyOscillator", 11, pts_per_period=10, initial_conditions=x0)
    torch.testing.assert_close(tr.x[0, -1], x0, atol=1e-9, rtol=0)  # one period later


def test_a_name_differing_only_in_case_is_refused(restore_systems):
    with pytest.raises(ValueError, match="'Lorenz'"):
        _register_user_flow("LORENZ")
    with pytest.raises(UnknownNameError):
        get_system("MyOscillator")  # the fixture restored the registry of the previous test

