"""The same numerics on a CUDA device as on the CPU.

These run only where a GPU is present (`benchmarks/gpu_check.sh` on a lent device machine);
elsewhere they are skipped, and nothing here counts as measured until that script has run.
"""

from __future__ import annotations

import pytest
import torch

import chaosdata
from chaosdata import Sampling, SolverSettings
from chaosdata.integrate import integrate
from chaosdata.invariants import compute

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device"),
]


def _scaled_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    """max |a - b| over the attractor's scale (per-coordinate std of `b`)."""
    scale = b.reshape(-1, b.shape[-1]).std(0).clamp_min(1e-12)
    return float(((a.cpu() - b.cpu()).abs() / scale.cpu()).max())


@pytest.mark.parametrize("name", ["Lorenz", "Rossler", "MacArthur", "ForcedVanDerPol"])
def test_flows_on_cuda_follow_the_cpu_for_two_lyapunov_times(name):
    """Same draws (made on the CPU), same tableau: the two devices differ by rounding only,
    which chaos amplifies by e^2 over two Lyapunov times; 1e-9 leaves room for that."""
    system = chaosdata.get_system(name)
    horizon = 2 * system.invariants["lyapunov_time"] / system.period  # periods
    n = max(11, int(horizon * 50) + 1)
    kw = {"pts_per_period": 50, "sampling": Sampling(n_ics=64, seed=1, transient=1.0)}  # short: the CPU side is slow
    cpu = chaosdata.make_trajectories(system, n, **kw)
    gpu = chaosdata.make_trajectories(system, n, **kw, device="cuda")
    assert gpu.x.device.type == "cuda" and bool(gpu.valid.all())
    torch.testing.assert_close(gpu.start_states.cpu(), cpu.start_states, rtol=1e-9, atol=1e-9)
    assert _scaled_gap(gpu.x, cpu.x) < 1e-9


def test_cuda_runs_are_bitwise_reproducible():
    a = chaosdata.make_trajectories("Lorenz", 501, device="cuda", sampling=Sampling(n_ics=256, seed=7))
    b = chaosdata.make_trajectories("Lorenz", 501, device="cuda", sampling=Sampling(n_ics=256, seed=7))
    assert torch.equal(a.x, b.x)


@pytest.mark.parametrize("name", ["MackeyGlass", "Henon", "Logistic"])
def test_delay_equations_and_maps_on_cuda(name):
    cpu = chaosdata.make_trajectories(name, 200, sampling=Sampling(n_ics=32, seed=2))
    gpu = chaosdata.make_trajectories(name, 200, device="cuda", sampling=Sampling(n_ics=32, seed=2))
    assert bool(gpu.valid.all())
    # maps amplify rounding by e^(lambda n) (lambda ~ 0.5 per iterate, 10 transient iterates):
    # compare the first 10 iterates, where it has grown to ~e^10 times 1e-16
    k = 10 if chaosdata.get_system(name).kind == "map" else 200
    assert _scaled_gap(gpu.x[:, :k], cpu.x[:, :k]) < 1e-9


def test_compiled_step_on_cuda_matches_eager():
    system = chaosdata.get_system("Lorenz")
    y0 = (torch.randn(4096, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5
          + torch.tensor([0.0, 0.0, 25.0], dtype=torch.float64)).cuda()
    t_eval = torch.linspace(0, 1.0, 101, dtype=torch.float64, device="cuda")

    def f(t, y):
        return system.equations(y, t, **system.bind())

    eager = integrate(f, y0, t_eval, SolverSettings(method="dop853", rtol=1e-12, atol=1e-12))
    compiled = integrate(f, y0, t_eval, SolverSettings(method="dop853", rtol=1e-12, atol=1e-12, compile=True))
    assert bool((eager.status == 0).all()) and bool((compiled.status == 0).all())
    assert _scaled_gap(compiled.y, eager.y) < 1e-10


def test_float32_rk4_on_cuda_stays_on_the_attractor():
    tr = chaosdata.make_trajectories("Lorenz", 1001, dtype=torch.float32, device="cuda", sampling=Sampling(n_ics=4096), solver=SolverSettings(method="rk4", fixed_step=0.002))
    assert tr.x.dtype == torch.float32 and bool(tr.valid.all())
    assert float(tr.x[..., 2].mean()) == pytest.approx(23.5, abs=1.0)  # Lorenz <z> ~ 23.5 at rho = 28


def test_invariants_on_cuda_agree_with_the_stored_cpu_values():
    stored = chaosdata.get_system("Lorenz").invariants
    inv = compute("Lorenz", device="cuda")
    assert inv.lyapunov_spectrum[0] == pytest.approx(stored["lyapunov_spectrum"][0], abs=0.03)
    p = chaosdata.get_system("Lorenz").parameters
    assert sum(inv.lyapunov_spectrum) == pytest.approx(-(p["sigma"] + 1 + p["beta"]), rel=1e-3)
