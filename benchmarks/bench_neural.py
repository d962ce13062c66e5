"""Neural forecasters on Lorenz: fit time, sMAPE and valid prediction time per model.

Setup (the Zhang & Gilpin 2025 sampling and window): 30 points per Lyapunov time; models fit
once on `--n-train` separate training trajectories of `--train-length` points, then forecast
`--horizon` (300) steps from the last `--context` (512) points of each of `--n-test` (20) test
trajectories drawn from other initial conditions. Reported: fit wall time, sMAPE (0-200) over
the horizon and VPT (first step where the cumulative sMAPE passes 30) in Lyapunov times, mean
and median over the test contexts; the naive forecasts beside them as the floor.

    .venv/bin/python benchmarks/bench_neural.py                       # every neural model, defaults
    .venv/bin/python benchmarks/bench_neural.py --models gru,plrnn --steps 500
    .venv/bin/python benchmarks/bench_neural.py --models plrnn --set alpha=0.5

Fit times are wall time and process CPU time (the latter is what a loaded machine distorts
least: with one torch thread it is the single core's busy time).
"""

from __future__ import annotations

import argparse
import json
import time

import torch

import chaosdata
from chaosdata import Sampling
from chaosdata.baselines import forecaster_class, get_forecaster, list_forecasters
from chaosdata.metrics import smape, valid_prediction_steps

NEURAL_MODULES = {"chaosdata.baselines.neural", "chaosdata.baselines.node", "chaosdata.baselines.dsr"}
PTS_PER_LYAPUNOV = 30


def main() -> None:
    neural = [n for n in list_forecasters() if forecaster_class(n).__module__ in NEURAL_MODULES]
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default=",".join(["naive", "mean"] + neural))
    ap.add_argument("--steps", type=int, default=None, help="training steps (default: each model's own)")
    ap.add_argument("--n-train", type=int, default=8)
    ap.add_argument("--train-length", type=int, default=2000)
    ap.add_argument("--n-test", type=int, default=20)
    ap.add_argument("--context", type=int, default=512)
    ap.add_argument("--horizon", type=int, default=300)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE",
                    help="a hyperparameter for every listed model that has it (repeatable; e.g. alpha=0.5)")
    ap.add_argument("--json", default=None, help="append one JSON line per model to this file")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)

    common = dict(timescale="lyapunov", pts_per_period=PTS_PER_LYAPUNOV)
    train = chaosdata.make_trajectories("Lorenz", args.train_length, **common, sampling=Sampling(n_ics=args.n_train, seed=0))
    test = chaosdata.make_trajectories("Lorenz", args.context + args.horizon, **common, sampling=Sampling(n_ics=args.n_test, seed=1))
    dt = float(train.t[1] - train.t[0])
    context, truth = test.x[:, : args.context], test.x[:, args.context :]
    print(f"Lorenz, dt = {dt:.5f} ({PTS_PER_LYAPUNOV} points per Lyapunov time); train {tuple(train.x.shape)}, "
          f"test contexts {tuple(context.shape)}, horizon {args.horizon}; {args.threads} thread(s), {args.device}")
    settings = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    if args.steps:
        settings["steps"] = args.steps
    print(f"{'model':<11} {'fit s':>7} {'fit CPU s':>9} {'pred s':>7} {'sMAPE':>6} {'VPT mean':>9} {'VPT median':>10}")
    for name in args.models.split(","):
        accepted = forecaster_class(name).hyperparam_names()
        model = get_forecaster(name, **{k: v for k, v in settings.items() if k in accepted}).to(args.device)
        started, cpu_started = time.perf_counter(), time.process_time()
        model.fit(list(train.x.unbind(0)), dt=dt, system="Lorenz")
        fit_s, fit_cpu_s = time.perf_counter() - started, time.process_time() - cpu_started
        started = time.perf_counter()
        pred = model.predict(context.to(args.device), args.horizon).cpu()
        pred_s = time.perf_counter() - started
        err = smape(pred, truth)
        vpt = valid_prediction_steps(pred, truth).double() / PTS_PER_LYAPUNOV
        row = dict(model=name, fit_s=round(fit_s, 2), fit_cpu_s=round(fit_cpu_s, 2), predict_s=round(pred_s, 3),
                   smape=round(float(err.mean()), 2),
                   vpt_mean=round(float(vpt.mean()), 3), vpt_median=round(float(vpt.median()), 3),
                   hyperparams=model.hyperparams(), n_train=args.n_train, train_length=args.train_length,
                   n_test=args.n_test, context=args.context, horizon=args.horizon, threads=args.threads)
        print(f"{name:<11} {fit_s:7.1f} {fit_cpu_s:9.1f} {pred_s:7.2f} {row['smape']:6.1f} "
              f"{row['vpt_mean']:9.2f} {row['vpt_median']:10.2f}",
              flush=True)
        if args.json:
            with open(args.json, "a") as fh:
                fh.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()
