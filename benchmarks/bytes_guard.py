"""Guard the bytes a refactor must keep: SHA-256 of what make_trajectories returns and of a tiny store's data.

    python benchmarks/bytes_guard.py record   # write benchmarks/bytes_guard.json from this tree
    python benchmarks/bytes_guard.py check    # compare this tree with it; exit 1 naming what differs

Cases cover every path of the pipeline: an adaptive flow, a fixed-step catalogue system, a
non-autonomous flow (clock coordinate, postprocess), a delay equation, a map, parameter sweeps
with redraws of failures, SDE noise, float32, the Lyapunov timescale, explicit times, given
initial conditions, an explicit fixed-step method, and the invariants of a map. Each hashes
the arrays (`x`, `t`, `valid`, draws, start states, step counts) and the stats that decide
bytes (method, tolerances, spacing, failures, noise); never wall times or devices.

The store part runs `generate_system` (what a build writes, before encoding) for the tests'
tiny config (tests/test_store.py TINY), a noisy config and a corpus config, and hashes every
array's decoded values, and separately its attributes without the code fingerprint.
Written against the API of the day: when a call's spelling changes, update the case, never
the recorded hashes.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "benchmarks" / "bytes_guard.json"
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from chaosdata import (
    Sampling,
    SolverSettings,
    make_trajectories,  # noqa: E402
)
from chaosdata.integrate.trajectories import union_grid  # noqa: E402
from chaosdata.invariants.compute import compute  # noqa: E402
from chaosdata.store import provenance  # noqa: E402
from chaosdata.store.config import parse_config  # noqa: E402
from chaosdata.store.generate import generate_system  # noqa: E402

STAT_KEYS = ("method", "rtol", "atol", "dt", "timescale", "pts_per_period", "seed", "failures", "noise")


def _digest(*parts: Any) -> str:
    h = hashlib.sha256()
    for part in parts:
        if isinstance(part, torch.Tensor):
            part = part.detach().cpu().contiguous().numpy()
        if isinstance(part, np.ndarray):
            if part.dtype.kind in "OT":  # strings: their text
                h.update("\x00".join(map(str, part.ravel().tolist())).encode())
            else:
                h.update(np.ascontiguousarray(part).tobytes())
            h.update(f"{part.dtype}{part.shape}".encode())
        else:
            h.update(json.dumps(part, sort_keys=True, default=str).encode())
    return h.hexdigest()


def _trajectory_hashes(tr: Any) -> dict[str, str]:
    stats = {k: tr.stats.get(k) for k in STAT_KEYS}
    return {
        "x": _digest(tr.x), "t": _digest(tr.t), "valid": _digest(tr.valid),
        "initial_conditions": _digest(tr.initial_conditions), "start_states": _digest(tr.start_states),
        "steps": _digest(tr.stats["n_accepted"], tr.stats["n_rejected"]),
        "stats": _digest(stats), "parameters": _digest(tr.parameters),
    }


def trajectory_cases() -> dict[str, Any]:
    """name -> a call of make_trajectories (update the spelling here when the API changes)."""
    lorenz_ics = torch.tensor([[1.0, 2.0, 20.0], [-3.0, 1.0, 25.0]], dtype=torch.float64)
    times, _ = union_grid({"a": (0.05, 40), "b": (0.02, 90)})
    sweep = torch.tensor([1.4, 1.4, 2.5, 1.4, 1.3], dtype=torch.float64)
    beta = torch.tensor([8 / 3, 8 / 3, -50.0, 2.0], dtype=torch.float64)
    return {
        "adaptive_flow": lambda: make_trajectories("Lorenz", 300, sampling=Sampling(n_ics=4, seed=3, transient=2)),
        "fixed_step_catalogue": lambda: make_trajectories("StickSlipOscillator", 60, sampling=Sampling(n_ics=3, seed=1, transient=0.5)),
        "non_autonomous": lambda: make_trajectories("Duffing", 80, sampling=Sampling(n_ics=3, seed=2, transient=0.5)),
        "non_autonomous_raw": lambda: make_trajectories("Duffing", 120, postprocess=False, sampling=Sampling(n_ics=2, transient=1)),
        "delay": lambda: make_trajectories("MackeyGlass", 120, sampling=Sampling(n_ics=3, seed=5, transient=3), solver=SolverSettings(dde_steps_per_period=60)),
        "delay_given": lambda: make_trajectories("MackeyGlass", 80, initial_conditions=torch.tensor([1.1, 0.9]
                                                 ).double()[:, None], solver=SolverSettings(dde_steps_per_period=50)),
        "map": lambda: make_trajectories("Henon", 200, sampling=Sampling(n_ics=5, seed=4)),
        "map_sweep_resample": lambda: make_trajectories("Henon", 60, a=sweep, sampling=Sampling(n_ics=5, seed=9, resample_failed=True)),
        "flow_sweep_resample": lambda: make_trajectories("Lorenz", 30, beta=beta, sampling=Sampling(n_ics=4, seed=11, resample_failed=True, transient=0.5)),
        "sde_noise": lambda: make_trajectories("Lorenz", 100, noise=0.02, sampling=Sampling(n_ics=3, seed=6, transient=1)),
        "sde_noise_spec": lambda: make_trajectories("Rossler", 80, noise={
            "level": 0.01, "kind": "multiplicative", "steps_per_period": 400, "seed": 77}, sampling=Sampling(n_ics=2, seed=6, transient=2)),
        "sde_noise_resample": lambda: make_trajectories("Lorenz", 40, noise=0.05, sampling=Sampling(n_ics=4, seed=13, transient=1, resample_failed=True), solver=SolverSettings(max_steps_per_unit=300)),
        "float32": lambda: make_trajectories("Lorenz", 200, dtype=torch.float32, sampling=Sampling(n_ics=3, seed=7)),
        "lyapunov_timescale": lambda: make_trajectories("Lorenz", 150, timescale="lyapunov", pts_per_period=30, sampling=Sampling(n_ics=2, transient=1)),
        "explicit_times": lambda: make_trajectories("Lorenz", times=times, sampling=Sampling(n_ics=3, seed=8, transient=1)),
        "given_ics": lambda: make_trajectories("Lorenz", 100, initial_conditions=lorenz_ics, pts_per_period=50),
        "fixed_rk4": lambda: make_trajectories("Rossler", 100, sampling=Sampling(n_ics=2, transient=2), solver=SolverSettings(method="rk4", fixed_step=0.05, compile=False)),
        "dopri5_tolerances": lambda: make_trajectories("Rossler", 100, pts_per_period=20, sampling=Sampling(n_ics=2, transient=1), solver=SolverSettings(method="dopri5", rtol=1e-8, atol=1e-9)),
    }


def invariant_cases() -> dict[str, Any]:
    return {"henon_invariants": lambda: compute("Henon", n_ics=8, periods=200)}


_TINY = (ROOT / "tests" / "stores.py").read_text().split('TINY = """', 1)[1].split('"""', 1)[0]


def store_configs() -> dict[str, Any]:
    tiny = tomllib.loads(_TINY)
    noisy = {**tiny, "systems": ["Lorenz", "Henon"], "length": 2, "granularities": {"coarse": {"points": 15}},
             "noise": {"levels": [0.01, 0.05]}}
    corpus = {**tiny, "systems": ["Lorenz", "Rossler", "Henon"], "granularities": {"fine": {"points": 30}},
              "length": 1, "corpus": {"variants": 2, "scale": 0.1, "skew_products": 1, "screen_ics": 2,
                                      "screen_periods": 1}}
    return {"tiny": parse_config(tiny), "noisy": parse_config(noisy), "corpus": parse_config(corpus)}


def _attrs_without_code(attrs: dict[str, Any]) -> dict[str, Any]:
    attrs = json.loads(json.dumps(attrs, default=str))
    attrs.pop("provenance", None)
    attrs.get("chaosdata", {}).pop("code_hash", None)
    return attrs


def store_hashes() -> dict[str, str]:
    out: dict[str, str] = {}
    fp = provenance.fingerprint("cpu")
    for label, config in store_configs().items():
        for name in config.resolved_systems():
            data = generate_system(name, config, fingerprint=fp)
            for path in sorted(data.arrays):
                arr = data.arrays[path]
                out[f"{label}/{name}/{path}"] = _digest(arr.values, list(arr.dims))
            out[f"{label}/{name}/attrs"] = _digest(_attrs_without_code(data.attrs),
                                                   json.loads(json.dumps(data.groups, default=str)))
    return out


def measure() -> dict[str, Any]:
    torch.set_num_threads(1)
    result: dict[str, Any] = {"trajectories": {}, "invariants": {}}
    for name, call in trajectory_cases().items():
        result["trajectories"][name] = _trajectory_hashes(call())
    for name, call in invariant_cases().items():
        inv = call().to_dict()
        for volatile in ("wall_time", "cpu_time"):
            inv.pop(volatile)
        inv["settings"]["pilot"] = {k: v for k, v in inv["settings"]["pilot"].items() if "wall_time" not in k}
        inv["settings"].pop("device", None)
        inv["settings"]["lyapunov"].pop("wall_time", None)
        result["invariants"][name] = _digest(inv)
    result["store"] = store_hashes()
    return result


def _differences(old: Any, new: Any, path: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if key not in new or key not in old:
                out.append(f"{path}{key}: {'missing now' if key not in new else 'new'}")
            else:
                out += _differences(old[key], new[key], f"{path}{key}/")
        return out
    return [] if old == new else [path.rstrip("/")]


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("record", "check"):
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        print("usage: python benchmarks/bytes_guard.py record|check", file=sys.stderr)
        return 2
    started = time.perf_counter()
    result = measure()
    if argv[0] == "record":
        RECORD.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
        print(f"recorded {sum(len(v) for v in result.values())} entries to {RECORD} "
              f"in {time.perf_counter() - started:.1f} s")
        return 0
    recorded = json.loads(RECORD.read_text())
    diff = _differences(recorded, result)
    for line in diff:
        print(f"DIFFERS: {line}")
    print(f"bytes_guard: {'OK' if not diff else f'{len(diff)} differences'} "
          f"({time.perf_counter() - started:.1f} s)")
    return 1 if diff else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
