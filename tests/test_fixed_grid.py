"""The fixed-step fast path (`chaosdata.integrate.fixed`) against the generic path of
`ode.integrate`, closed forms, and its own grid rule.

Tolerance against the generic rk4 path: the two take the same steps from the same starts and
differ only in the rounding of each step (coefficients times dt folded into one constant, not
`a @ (h k)`) and of the stage times (`t0 + k dt`, not a running sum); over one time unit of
Lorenz (200 steps) that is measured at 8e-14 of max(|y|, 1), so 1e-12 leaves 12x for the
flow's stretching of rounding.
"""

from __future__ import annotations

import math

import pytest
import torch

import chaosdata
from chaosdata.errors import InvalidInputError
from chaosdata.integrate.fixed import ALIGN_ULPS, integrate_fixed_grid, make_advance, steps_per_output
from chaosdata.integrate.ode import Status, integrate
from chaosdata.integrate.settings import Bound, Execution, SolverSettings
from chaosdata.integrate.tableaux import RK4, TABLEAUX

F64 = torch.float64
DT = 0.005


def _field(name: str):
    system = chaosdata.get_system(name)
    params = system.bind()
    return system, (lambda t, y: system.equations(y, t, **params))


def _lorenz_starts(B: int = 32, dtype=F64) -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    return (torch.randn(B, 3, generator=g, dtype=F64) * 5 + torch.tensor([0.0, 0.0, 25.0], dtype=F64)).to(dtype)


def _rel_gap(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(((a - b).abs() / b.abs().clamp_min(1.0)).max())


# ----------------------------------------------------------------------------- the grid rule
@pytest.mark.parametrize("dtype", [torch.float32, F64])
@pytest.mark.parametrize("grid, dt, m", [
    ("linspace", 0.01, 1), ("linspace", 0.01 / 7, 7), ("arange", 0.005, 3), ("offset", 0.013, 4),
    ("ends", 0.005, 1000), ("ends", 0.1, 1),
])
def test_aligned_grids_give_their_steps_per_output(grid, dt, m, dtype):
    n = 2 if grid == "ends" else 401
    t0 = 3.7 if grid == "offset" else 0.0
    t_end = t0 + (n - 1) * m * dt
    t_eval = {"linspace": lambda: torch.linspace(t0, t_end, n, dtype=dtype),
              "arange": lambda: torch.arange(n, dtype=dtype) * (m * dt),
              "offset": lambda: (t0 + torch.arange(n, dtype=F64) * (m * dt)).to(dtype),
              "ends": lambda: torch.tensor([t0, t_end], dtype=dtype)}[grid]()
    assert steps_per_output(t_eval, dt) == m


@pytest.mark.parametrize("dtype", [torch.float32, F64])
def test_the_alignment_boundary_is_align_ulps_rounding_units(dtype):
    """t_end = 2 (a power of two): one rounding unit up is exactly eps * 2 = eps * max|t|,
    so ALIGN_ULPS units up is the last aligned grid and one more is not."""
    t_eval = torch.linspace(0.0, 2.0, 9, dtype=dtype)  # spacing 0.25 = 2 steps of 0.125

    def moved(k: int) -> torch.Tensor:
        t = t_eval.clone()
        for _ in range(k):
            t[-1] = torch.nextafter(t[-1], torch.tensor(math.inf, dtype=dtype))
        return t

    assert steps_per_output(moved(ALIGN_ULPS), 0.125) == 2
    assert steps_per_output(moved(ALIGN_ULPS + 1), 0.125) is None


@pytest.mark.parametrize("t_eval, dt", [
    (torch.arange(50, dtype=F64) * 0.0123, DT),  # spacing 2.46 steps
    (torch.arange(50, dtype=F64) * 0.0125, DT),  # 2.5 steps: neither 2 nor 3
    (torch.arange(50, dtype=F64) * 0.002, DT),  # spacing below a step
    (torch.tensor([0.0, 0.01, 0.02, 0.04], dtype=F64), DT),  # not uniform
    (torch.tensor([0.0, 0.0101], dtype=F64), DT),  # ends not a whole number of steps apart
    (torch.cat([torch.zeros(1, dtype=F64), torch.full((20000,), 0.01, dtype=F64).cumsum(0)]), DT),  # running sum
    (torch.tensor([1000.0, 1000.0001], dtype=torch.float32), 5e-5),  # float32's rounding at 1000 exceeds half a step
])
def test_unaligned_grids_return_none(t_eval, dt):
    _, f = _field("Lorenz")
    assert steps_per_output(t_eval, dt) is None
    assert integrate_fixed_grid(f, _lorenz_starts(4, t_eval.dtype), t_eval, RK4, dt) is None


def test_more_steps_than_max_steps_returns_none():
    _, f = _field("Lorenz")
    t_eval = torch.tensor([0.0, 1.0], dtype=F64)
    assert integrate_fixed_grid(f, _lorenz_starts(4), t_eval, RK4, DT, max_steps=199) is None
    assert integrate_fixed_grid(f, _lorenz_starts(4), t_eval, RK4, DT, max_steps=200) is not None


@pytest.mark.parametrize("kwargs, match", [
    ({"fixed_step": -0.1}, "fixed_step must be"), ({"steps_per_graph": 0}, "steps_per_graph"),
    ({"tab": TABLEAUX.get("dopri5")}, "adaptive"),
])
def test_bad_arguments_name_themselves(kwargs, match):
    _, f = _field("Lorenz")
    args = {"tab": RK4, "fixed_step": DT, **kwargs}
    tab, dt = args.pop("tab"), args.pop("fixed_step")
    with pytest.raises(InvalidInputError, match=match):
        integrate_fixed_grid(f, _lorenz_starts(4), torch.linspace(0, 1, 11, dtype=F64), tab, dt, **args)


# ----------------------------------------------------------------------------- against the generic path
@pytest.mark.parametrize("m, n", [(1, 201), (7, 29), (200, 2)], ids=["m1", "m7", "ends"])
def test_matches_the_generic_rk4_path_on_aligned_grids(m, n):
    _, f = _field("Lorenz")
    y0 = _lorenz_starts()
    t_eval = torch.arange(n, dtype=F64) * (m * DT)  # one time unit (0.98 for m = 7)
    generic = integrate(f, y0, t_eval, SolverSettings(method="rk4", fixed_step=DT), execution=Execution(fixed_grid=False))
    fast = integrate_fixed_grid(f, y0, t_eval, RK4, DT)
    assert fast.y.shape == generic.y.shape == (32, n, 3)
    assert bool(fast.valid.all()) and bool(generic.valid.all())
    assert _rel_gap(fast.y, generic.y) < 1e-12
    assert torch.equal(fast.y[:, 0], y0) and torch.equal(fast.t, t_eval)
    assert torch.equal(fast.n_accepted, torch.full((32,), (n - 1) * m)) and int(fast.n_rejected.sum()) == 0
    assert fast.n_evaluations == (n - 1) * m * 4


def test_per_trajectory_parameters_stay_with_their_rows():
    """A parameter sweep (`rho` per row, `[B]`) after a row fails: every row is stepped to
    the end (no compaction), so the parameters still line up with the rows."""
    system = chaosdata.get_system("Lorenz")
    rho = torch.tensor([28.0, 28.0, 10.0, 35.0], dtype=F64)
    y0 = _lorenz_starts(4)
    y0[1] = math.nan
    t_eval = torch.arange(21, dtype=F64) * (5 * DT)
    sweep = integrate_fixed_grid(lambda t, y: system.equations(y, t, **system.bind({"rho": rho})), y0, t_eval, RK4, DT)
    assert sweep.status.tolist() == [0, int(Status.NONFINITE), 0, 0]
    for row in (0, 2, 3):
        alone = integrate_fixed_grid(lambda t, y: system.equations(y, t, **system.bind({"rho": float(rho[row])})),
                                     y0[row:row + 1], t_eval, RK4, DT)
        assert torch.equal(sweep.y[row], alone.y[0])


@pytest.mark.parametrize("per_graph", [1, 3, 5, 16])
def test_steps_per_graph_does_not_change_an_autonomous_solution(per_graph):
    """An autonomous field sees no time: regrouping the steps into calls changes nothing."""
    _, f = _field("Lorenz")
    y0, t_eval = _lorenz_starts(8), torch.arange(6, dtype=F64) * (7 * DT)
    reference = integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=7)
    assert torch.equal(integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=per_graph).y, reference.y)


# ----------------------------------------------------------------------------- time
@pytest.mark.parametrize("per_graph", [2, 9, 16])  # 2 calls an output; 3 outputs a call and 1 left; 5 a call
def test_stage_times_are_exact_for_a_cubic_in_time(per_graph):
    """y' = (t^3, t): RK4 integrates a cubic in t exactly (Simpson), so the outputs are
    t^4/4 and t^2/2 from t0 = 3 to rounding only if every stage sees its own time."""
    def f(t, y):
        return torch.stack([t**3, t], -1)

    t0, m, n = 3.0, 3, 41
    t_eval = t0 + torch.arange(n, dtype=F64) * (m * DT)
    y0 = torch.tensor([[t0**4 / 4, t0**2 / 2]], dtype=F64)
    sol = integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=per_graph)
    exact = torch.stack([t_eval**4 / 4, t_eval**2 / 2], -1)[None]
    assert _rel_gap(sol.y, exact) < 1e-14


def test_stage_times_do_not_accumulate_rounding():
    """Every stage time of 20,000 steps is t0 + (k + c) dt to within 2 rounding units of
    t_end (a running sum t += dt in float64 ends 775 units off)."""
    seen = []

    def f(t, y):
        seen.append(t[0].item())
        return torch.zeros_like(y)

    t0, dt, m = 0.1, 1e-3, 20_000
    sol = integrate_fixed_grid(f, torch.zeros(1, 1, dtype=F64), torch.tensor([t0, t0 + m * dt], dtype=F64), RK4, dt,
                               steps_per_graph=7)  # calls of 7 steps, and a remainder of 1 per output
    assert sol is not None and len(seen) == 4 * m
    exact = torch.tensor([t0 + (k + c) * dt for k in range(m) for c in RK4.c], dtype=F64)
    off = (torch.tensor(seen, dtype=F64) - exact).abs().max() / (torch.finfo(F64).eps * (t0 + m * dt))
    assert off <= 2


def test_torus_the_catalogue_field_that_reads_t_matches_generic_and_closed_form():
    """Torus's velocity is a function of t alone; its position is
    ((r + a cos nt) cos t, (r + a cos nt) sin t, a sin nt) up to the starting offset."""
    system, f = _field("Torus")
    p = system.parameters
    a, n_wind, r = p["a"], p["n"], p["r"]
    t_eval = torch.arange(101, dtype=F64) * (4 * 0.001)

    def closed(t):
        return torch.stack([(r + a * torch.cos(n_wind * t)) * torch.cos(t),
                            (r + a * torch.cos(n_wind * t)) * torch.sin(t), a * torch.sin(n_wind * t)], -1)

    y0 = closed(t_eval[:1]).expand(3, 3) + torch.tensor([[0.0], [1.0], [-2.0]], dtype=F64)
    fast = integrate_fixed_grid(f, y0, t_eval, RK4, 0.001)
    generic = integrate(f, y0, t_eval, SolverSettings(method="rk4", fixed_step=0.001), execution=Execution(fixed_grid=False))
    assert _rel_gap(fast.y, generic.y) < 1e-12
    exact = closed(t_eval)[None] + (y0 - closed(t_eval[:1]))[:, None]
    assert _rel_gap(fast.y, exact) < 1e-9  # RK4's own error at dt = 1e-3 (n a = 7.7)


def test_forced_duffing_with_explicit_time_matches_the_catalogue_phase_form():
    """The catalogue's Duffing carries the forcing phase as a third variable z = omega t; the
    same oscillator written with cos(omega t) must follow it (z is integrated exactly)."""
    system, f3 = _field("Duffing")
    p = system.parameters

    def f2(t, y):
        x, v = y.unbind(-1)
        forcing = p["gamma"] * torch.cos(p["omega"] * t)
        return torch.stack([v, -p["delta"] * v - p["beta"] * x - p["alpha"] * x**3 + forcing], -1)

    t0 = 2.0
    t_eval = t0 + torch.arange(61, dtype=F64) * (5 * 0.01)
    y2 = torch.tensor([[-1.16, -0.51], [0.3, 0.2]], dtype=F64)
    y3 = torch.cat([y2, torch.full((2, 1), p["omega"] * t0, dtype=F64)], -1)
    explicit = integrate_fixed_grid(f2, y2, t_eval, RK4, 0.01, steps_per_graph=3)
    phase = integrate_fixed_grid(f3, y3, t_eval, RK4, 0.01)
    generic = integrate(f2, y2, t_eval, SolverSettings(method="rk4", fixed_step=0.01), execution=Execution(fixed_grid=False))
    assert _rel_gap(explicit.y, phase.y[..., :2]) < 1e-12
    assert _rel_gap(explicit.y, generic.y) < 1e-12


# ----------------------------------------------------------------------------- failures
def _blowup(t, y):
    return y * y  # y(t) = y0 / (1 - y0 t): a row with y0 = 5 blows up at t = 0.2


@pytest.mark.parametrize("bound, code", [(None, Status.NONFINITE), (Bound(100.0), Status.OUT_OF_BOUNDS)])
def test_a_blowup_row_is_flagged_and_the_others_match_the_generic_path(bound, code):
    y0 = torch.tensor([[0.1, 0.0], [5.0, 0.0], [0.2, 0.5]], dtype=F64)
    t_eval = torch.arange(51, dtype=F64) * (2 * DT)  # to t = 0.5
    fast = integrate_fixed_grid(_blowup, y0, t_eval, RK4, DT, bound=bound)
    generic = integrate(_blowup, y0, t_eval, SolverSettings(method="rk4", fixed_step=DT), bound=bound,
                        execution=Execution(fixed_grid=False))
    assert fast.status.tolist() == generic.status.tolist() == [0, int(code), 0]
    assert bool(fast.y[1].isnan().all())
    assert _rel_gap(fast.y[[0, 2]], generic.y[[0, 2]]) < 1e-12
    assert fast.n_accepted[0] == 100 and 0 < int(fast.n_accepted[1]) < 100  # steps up to the first failed output


def test_the_bound_applies_only_to_bounded_coordinates():
    """Row 0 blows up on its unbounded coordinate (flagged once non-finite), row 1 sits past
    the bound on its bounded one from the start, row 2 stays small."""
    def f(t, y):
        return torch.stack([0 * y[:, 0], y[:, 1] ** 2], -1)

    y0 = torch.tensor([[0.1, 5.0], [500.0, 0.1], [1.0, 0.1]], dtype=F64)
    t_eval = torch.arange(101, dtype=F64) * DT  # to t = 0.5, past row 0's blow-up at 0.2
    bound = Bound(100.0, unbounded=(1,))
    sol = integrate_fixed_grid(f, y0, t_eval, RK4, DT, bound=bound)
    generic = integrate(f, y0, t_eval, SolverSettings(method="rk4", fixed_step=DT), bound=bound,
                        execution=Execution(fixed_grid=False))
    assert sol.status.tolist() == generic.status.tolist() == [int(Status.NONFINITE), int(Status.OUT_OF_BOUNDS), 0]
    assert sol.n_accepted.tolist()[1:] == [0, 100]


def test_a_non_finite_start_is_flagged_without_steps():
    _, f = _field("Lorenz")
    y0 = _lorenz_starts(3)
    y0[1, 2] = math.nan
    sol = integrate_fixed_grid(f, y0, torch.arange(11, dtype=F64) * DT, RK4, DT)
    assert sol.status.tolist() == [0, int(Status.NONFINITE), 0]
    assert sol.n_accepted.tolist() == [10, 0, 10]


@pytest.mark.parametrize("chunk_elements", [1, 16, 24, 2**24])  # 1, 2 or 3 outputs per slice, or all at once
def test_the_failure_check_finds_each_rows_first_failure_in_any_slicing(chunk_elements):
    from chaosdata.integrate.fixed import _failures

    out = torch.ones(5, 10, 2, dtype=F64)
    out[1, 3:] = math.nan  # non-finite from output 3
    out[2, 6, 0], out[2, 8:] = 500.0, math.nan  # past the bound at 6, non-finite later
    out[3, 5:, 1] = math.inf  # inf on the unbounded coordinate: non-finite, not outside
    out[4, 2:, 1] = 1e6  # finite past the bound on the unbounded coordinate: valid
    status, first = _failures(out, Bound(100.0, unbounded=(1,)), chunk_elements=chunk_elements)
    assert status.tolist() == [0, int(Status.NONFINITE), int(Status.OUT_OF_BOUNDS), int(Status.NONFINITE), 0]
    assert first.tolist() == [9, 3, 6, 5, 9]
    # only the valid rows: the one-pass check cannot clear row 4 (1e6 > 100), the rows can
    assert _failures(out[[0, 4]], Bound(100.0, unbounded=(1,)), chunk_elements)[0].tolist() == [0, 0]


# ----------------------------------------------------------------------------- dtypes and compile
def test_float32_follows_float64():
    _, f = _field("Lorenz")
    t_eval = torch.arange(21, dtype=F64) * (10 * DT)  # one time unit
    y64 = integrate_fixed_grid(f, _lorenz_starts(), t_eval, RK4, DT)
    y32 = integrate_fixed_grid(f, _lorenz_starts(dtype=torch.float32), t_eval.float(), RK4, DT)
    assert y32.y.dtype == torch.float32 and y32.t.dtype == torch.float32 and bool(y32.valid.all())
    # float32 rounding (6e-8 per step) grown by the flow over one time unit
    assert _rel_gap(y32.y.double(), y64.y) < 1e-4


@pytest.mark.parametrize("per_graph, mode", [(4, None), (16, None), (16, "reduce-overhead")])
def test_compiled_matches_eager(per_graph, mode):
    """m = 7 in two graphs each: 4 steps then the 3 left per output, or 2 outputs (14 steps) a
    call then the 1 output left. Inductor may fuse multiply-adds, so the match is to rounding,
    grown over 77 steps of Lorenz. (On the CPU "reduce-overhead" compiles without CUDA graphs.)"""
    _, f = _field("Lorenz")
    y0, t_eval = _lorenz_starts(16), torch.arange(12, dtype=F64) * (7 * DT)
    eager = integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=per_graph)
    compiled = integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=per_graph, compile=True, mode=mode)
    assert bool(compiled.valid.all())
    assert _rel_gap(compiled.y, eager.y) < 1e-12


def test_make_advance_runs_its_steps_and_keeps_every_state_asked_for():
    """One call of `advance` with n steps is n calls with one step each; `every` keeps the
    states in between."""
    _, f = _field("Lorenz")
    y = _lorenz_starts(4)
    t = torch.tensor(0.0, dtype=F64)
    once = make_advance(f, RK4, DT, 6)(y, t)
    kept = make_advance(f, RK4, DT, 6, 2)(y, t)
    one = make_advance(f, RK4, DT, 1)
    states = [y]
    for k in range(6):
        states.append(one(states[-1], torch.tensor(k * DT, dtype=F64))[0])
    assert once.shape == (1, 4, 3) and torch.equal(once[0], states[6])
    assert kept.shape == (3, 4, 3) and torch.equal(kept, torch.stack(states[2::2]))
    with pytest.raises(InvalidInputError, match="every must divide"):
        make_advance(f, RK4, DT, 6, 4)


def test_returned_tensors_are_ordinary_tensors_callers_may_update():
    _, f = _field("Lorenz")
    sol = integrate_fixed_grid(f, _lorenz_starts(2), torch.arange(5, dtype=F64) * DT, RK4, DT)
    sol.y[0] += 1.0
    sol.status[1] = int(Status.OUT_OF_BOUNDS)
    sol.n_accepted += 1
    assert sol.status.tolist() == [0, int(Status.OUT_OF_BOUNDS)] and sol.n_accepted.tolist() == [5, 5]


@pytest.mark.slow
def test_the_throughput_benchmark_prints_every_path_side_by_side(capsys):
    """`benchmarks/bench_integrate.py --throughput` (what gpu_check.sh runs on a lent GPU) on
    the CPU at a tiny size: the generic, fixed eager and fixed compiled rates and the ratios."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "bench_integrate.py"
    spec = importlib.util.spec_from_file_location("bench_integrate", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.throughput("cpu", n_traj=64, n_steps=32, sizes=[6], threads=1)
    lines = capsys.readouterr().out.splitlines()
    rk4 = next(line for line in lines if line.startswith("rk4 float32"))
    assert "generic" in rk4 and "fixed eager" in rk4 and "fixed compiled / generic" in rk4
    assert "valid 64/64 64/64 64/64" in rk4 and "failed" not in "\n".join(lines)
    assert any(line.startswith("dop853 float64") for line in lines)


# ----------------------------------------------------------------------------- CUDA (a lent device machine)
needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@pytest.mark.gpu
@needs_cuda
@pytest.mark.parametrize("compile", [False, True], ids=["eager", "cuda-graphs"])
def test_on_cuda_follows_the_cpu(compile):
    """float64 Lorenz, m = 7 with 4 steps per call (two graphs): CUDA, eager or compiled
    with CUDA graphs (reduce-overhead), against the CPU's eager path, and a blow-up row flagged."""
    _, f = _field("Lorenz")
    y0, t_eval = _lorenz_starts(64), torch.arange(11, dtype=F64) * (7 * DT)
    y0[5] = 1e30  # overflows within a step
    cpu = integrate_fixed_grid(f, y0, t_eval, RK4, DT, steps_per_graph=4)
    gpu = integrate_fixed_grid(f, y0.cuda(), t_eval.cuda(), RK4, DT, steps_per_graph=4, compile=compile)
    assert gpu.y.device.type == "cuda" and gpu.status.tolist() == cpu.status.tolist()
    assert int(cpu.status[5]) == Status.NONFINITE and int((cpu.status != 0).sum()) == 1
    ok = cpu.valid
    assert _rel_gap(gpu.y[ok.cuda()].cpu(), cpu.y[ok]) < 1e-12


@pytest.mark.gpu
@needs_cuda
def test_float32_cuda_graphs_follow_eager():
    _, f = _field("Lorenz")
    y0, t_eval = _lorenz_starts(4096, torch.float32).cuda(), torch.linspace(0, 32 * DT, 3, device="cuda")
    eager = integrate_fixed_grid(f, y0, t_eval, RK4, DT)
    graphs = integrate_fixed_grid(f, y0, t_eval, RK4, DT, compile=True)
    assert bool(graphs.valid.all()) and graphs.y.dtype == torch.float32
    assert _rel_gap(graphs.y, eager.y) < 1e-4  # float32 rounding over 32 steps (fused multiply-adds)
