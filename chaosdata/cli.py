"""`chaosdata ...` subcommands: parse the arguments, call the library, print."""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import overload

from chaosdata import validate
from chaosdata.errors import ChaosdataError, InvalidInputError, suggest
from chaosdata.systems import KINDS, SYSTEMS, get_system, list_systems
from chaosdata.tables import table


def cmd_systems(args: argparse.Namespace) -> int:
    rows = []
    for name in list_systems(args.kind):
        s = get_system(name)
        flags = ",".join(
            f for f, on in (("nonautonomous", s.nonautonomous), ("hamiltonian", s.hamiltonian),
                            ("unbounded", bool(s.unbounded_indices)), ("inverse", s.has_inverse)) if on
        )
        rows.append((name, s.kind, s.dim, flags, s.description))
    print(table(("name", "kind", "dim", "flags", "description"), rows))
    print(f"\n{len(rows)} systems")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    # a store (a directory with a manifest) is summarized; a directory that is not one names a
    # system when it can: inside a store, ./Lorenz is that system's folder, not a store
    path = Path(args.name)
    if path.is_dir():
        from chaosdata.store import open_store
        from chaosdata.store.layout import MANIFEST
        from chaosdata.store.report import format_store

        if (path / MANIFEST).is_file() or args.name not in SYSTEMS:
            print(format_store(open_store(args.name)))
            return 0
    print(json.dumps(get_system(args.name).to_dict(), indent=2))
    return 0


def cmd_generate(args: argparse.Namespace) -> int:
    from chaosdata.store import build, load_config, load_preset
    from chaosdata.store.report import format_build

    if args.scheduler is not None and args.executor != "dask":
        raise InvalidInputError("--scheduler is the address of a Dask scheduler; it needs --executor dask "
                                "(the local executor would ignore it)")
    if args.scheduler is not None and args.workers is not None:
        raise InvalidInputError("--workers does not apply with --scheduler: the cluster's own workers build the "
                                "systems; leave --workers out (or leave out --scheduler for a local cluster)")
    _check_out_dir(args.out)
    config = load_config(args.config) if args.config else load_preset(args.preset)
    systems = _systems_arg(args.systems)
    try:
        report = build(config, args.out, systems=systems, device=args.device,
                       workers=1 if args.workers is None else args.workers,
                       executor=args.executor, scheduler=args.scheduler, overwrite=args.overwrite,
                       allow_mixed_code=args.allow_mixed_code)
    except KeyboardInterrupt:
        print(f"chaosdata: interrupted; the systems committed so far are kept. Run the same command again "
              f"to resume the build of {args.out}.", file=sys.stderr)
        return 130
    print(format_build(report))
    return 0 if report.ok else 1


def cmd_verify(args: argparse.Namespace) -> int:
    from chaosdata.store import open_store
    from chaosdata.store.report import format_verify

    systems = _systems_arg(args.systems)
    store = open_store(args.dir)
    report = store.verify(systems, data=not args.files_only)
    unbuilt = [] if systems else [n for n in store.config.resolved_systems() if n not in store.manifest["systems"]]
    print(format_verify(report, unbuilt))
    return 0 if report.ok else 1


def _num(value: object, digits: int = 4) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_num(v, digits) for v in value) + "]"
    return "-" if value is None else f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def cmd_invariants(args: argparse.Namespace) -> int:
    system = get_system(args.name)
    inv = system.invariants
    if inv is None:
        print(f"{system.name} has no stored invariants; run generation/compute_invariants.py --systems {system.name}")
        return 1
    if args.json:
        print(json.dumps(inv, indent=2))
        return 0
    theirs = inv.get("dysts") or {}
    rows = [
        ("Lyapunov spectrum", inv["lyapunov_spectrum"], inv["lyapunov_spectrum_stderr"], theirs.get("lyapunov_spectrum")),
        ("max Lyapunov exponent", inv["max_lyapunov"], inv["max_lyapunov_stderr"], theirs.get("max_lyapunov")),
        ("Lyapunov time", inv["lyapunov_time"], None, None),
        ("Kaplan-Yorke dimension", inv["kaplan_yorke_dimension"], inv["kaplan_yorke_dimension_stderr"],
         theirs.get("kaplan_yorke_dimension")),
        ("Pesin entropy", inv["pesin_entropy"], inv["pesin_entropy_stderr"], theirs.get("pesin_entropy")),
        ("correlation dimension", inv["correlation_dimension"], inv["correlation_dimension_spread"],
         theirs.get("correlation_dimension")),
        ("dominant period", inv["period"], inv["period_resolution"], theirs.get("period")),
    ]
    per = "iteration" if inv["units"] == "iteration" else "time unit"
    print(f"{system.name} ({inv['kind']}; exponents per {per}; +- is the ensemble standard error, "
          f"or the fit spread / frequency resolution)")
    print(table(("quantity", "chaosdata", "+-", "dysts 0.96"),
                [(q, _num(a), _num(b, 2), _num(c)) for q, a, b, c in rows]))
    failed = [k for k, v in inv["checks"].items() if not v.get("ok", True)]
    print(f"\nself-checks: {'all pass' if not failed else 'FAIL ' + ', '.join(failed)}; "
          f"{inv['n_members']} members, {_num(inv['integration_length'])} {per}s each")
    for note in inv.get("notes", []):
        print(f"note: {note}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from chaosdata.export import export_hdf5, export_parquet

    _check_out_dir(args.out)
    export = export_parquet if args.format == "parquet" else export_hdf5
    report = export(args.store, args.out, systems=_systems_arg(args.systems))
    rate = report.store_bytes / 2**20 / max(report.seconds, 1e-9)
    print(f"{report.format}: {len(report.files)} files, {report.rows} rows, {report.bytes / 2**20:.2f} MiB "
          f"under {args.out} in {report.seconds:.1f} s ({rate:.1f} MiB/s of series); read back in "
          f"{report.check_seconds:.1f} s and equal to the store's checksums"
          + (f"; removed {len(report.removed)} file(s) an earlier export wrote" if report.removed else ""))
    if report.left:
        print(f"left {len(report.left)} file(s) that chaosdata did not write (or that changed since): "
              + ", ".join(report.left[:5]) + (" ..." if len(report.left) > 5 else ""))
    return 0


@overload
def _systems_arg(value: str, option: str = ..., example: str = ...) -> list[str]: ...
@overload
def _systems_arg(value: str | None, option: str = ..., example: str = ...) -> list[str] | None: ...
def _systems_arg(value: str | None, option: str = "--systems", example: str = "Lorenz,Henon") -> list[str] | None:
    """The names of a `--systems A,B` option (spaces around them allowed); None when it is left out.

    A value that names nothing ("" or ",") is an error, not "all systems": an unset shell
    variable (`--systems "$SYSTEMS"`) must not start a build of the whole catalogue."""
    if value is None:
        return None
    names = [s.strip() for s in value.split(",") if s.strip()]
    if not names:
        raise InvalidInputError(f"{option} {value!r} names nothing; give comma-separated names such as "
                                f"{example}, or leave {option} out for the default")
    return names


def _check_out_dir(out: str, option: str = "--out") -> None:
    """Refuse an output folder that is, or lies under, an existing file (before anything is read or written)."""
    path = Path(out)
    for p in (path, *path.parents):
        if p.exists():
            if not p.is_dir():
                raise InvalidInputError(f"{option} {out!r}: {str(p)!r} is a file, not a directory; give a new "
                                        "directory or one that the command wrote before")
            return


def _publish_extra_missing() -> str | None:
    """The missing module of the `publish` extra (jinja2, matplotlib, yaml), or None."""
    import importlib.util

    return next((m for m in ("jinja2", "matplotlib", "yaml") if importlib.util.find_spec(m) is None), None)


def cmd_card(args: argparse.Namespace) -> int:
    if missing := _publish_extra_missing():
        print(f"chaosdata: error: cards need {missing}: pip install 'chaosdata[publish]'", file=sys.stderr)
        return 2
    from chaosdata.cards import render_cards

    _check_out_dir(args.out)
    report = render_cards(args.store, args.out, repo_id=args.repo_id, results=args.results,
                          systems=_systems_arg(args.systems), workers=args.workers)
    print(f"cards of {len(report.systems)} systems under {args.out}: {len(report.files)} files (README.md, "
          f"cards/, metadata/) in {report.seconds:.1f} s, pictures {report.plot_seconds:.1f} s")
    return 0


def cmd_publish(args: argparse.Namespace) -> int:
    if missing := _publish_extra_missing():
        print(f"chaosdata: error: publishing needs {missing}: pip install 'chaosdata[publish]'", file=sys.stderr)
        return 2
    from chaosdata.publish import Contents, publish

    for option, folder in (("--dry-run", args.dry_run), ("--staging", args.staging)):
        if folder is not None:
            _check_out_dir(folder, option)
    if args.no_restage:  # the staged folder goes up as it is: what would shape a new staging does not apply
        shaping = {"--systems": args.systems is not None, "--results": args.results is not None, "--hdf5": args.hdf5,
                   "--dataset-info": args.dataset_info, "--workers": args.workers is not None}
        ignored = [option for option, given in shaping.items() if given]
        if ignored:
            raise InvalidInputError(f"--no-restage uploads the staging folder as it was staged, so {', '.join(ignored)} "
                                    "would be ignored; drop them, or drop --no-restage to stage again with them")
    contents = Contents(systems=_systems_arg(args.systems), results=args.results, hdf5=args.hdf5,
                        workers=1 if args.workers is None else args.workers, dataset_info=args.dataset_info)
    report = publish(args.store, args.repo_id, contents=contents, revision=args.revision, tag=args.tag,
                     private=args.private, dry_run=args.dry_run, staging=args.staging, restage=not args.no_restage,
                     log=print)
    staged = report.stage
    if staged is not None:
        phases = ", ".join(f"{k} {v:.1f} s" for k, v in staged.seconds.items())
        print(f"staged {len(staged.files)} files ({staged.bytes / 2**20:.1f} MiB) in {report.staged} ({phases}), verified")
    if report.dry_run:
        print(f"dry run: nothing uploaded; open {report.staged / 'README.md'}")
    else:
        print(f"{report.repo_id}: uploaded {len(report.uploaded)} file(s), {report.skipped} already there; "
              f"tagged {report.tag}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from chaosdata.demo import run_demo

    names = _systems_arg(args.systems)
    return run_demo(n_points=args.n_points, n_ics=args.n_ics, systems=None if names is None else ",".join(names))


DEFAULT_MODELS = "naive,mean,seasonal,linear,nvar,esn,oracle"  # what `chaosdata benchmark` runs by default


def _params_arg(value: str | None) -> dict[str, dict[str, object]] | None:
    """`--params`: a JSON object of {forecaster: {hyperparameter: value}}, or None."""
    if value is None:
        return None
    example = '\'{"esn": {"size": 200}}\''
    try:
        params = json.loads(value)
    except json.JSONDecodeError as err:
        raise InvalidInputError(f"--params is not valid JSON ({err}); give an object such as {example}") from None
    match params:  # data read from the option's text: its shape is matched, not asserted
        case dict() if all(isinstance(v, dict) for v in params.values()):
            return params
        case _:
            raise InvalidInputError(f"--params must map forecaster names to objects of hyperparameters, such as "
                                    f"{example}; got {value}")


def cmd_benchmark(args: argparse.Namespace) -> int:
    import torch

    from chaosdata.benchmark import Dispatch, run_benchmark, write_plots, write_reports

    validate.count(args.threads, "--threads")
    if args.seed is not None:
        validate.seed(args.seed, "--seed", hint="the base seed of the data")
    run_options = {"--protocol": args.protocol, "--systems": args.systems, "--models": args.models,
                   "--seed": args.seed, "--params": args.params, "--device": args.device,
                   "--executor": args.executor, "--scheduler": args.scheduler, "--workers": args.workers,
                   "--time-limit": args.time_limit}
    given = [option for option, value in run_options.items() if value is not None]
    if args.report_only and given:
        raise InvalidInputError(f"--report-only redraws the leaderboard from results.csv and runs nothing, so "
                                f"{', '.join(given)} would be ignored; drop them, or drop --report-only to run")
    dispatch = Dispatch(executor=args.executor or "local", scheduler=args.scheduler, workers=args.workers,
                        time_limit=args.time_limit)
    params = _params_arg(args.params)
    systems = "all" if args.systems in (None, "all") else _systems_arg(args.systems)
    models = _systems_arg(args.models or DEFAULT_MODELS, "--models", "naive,nvar")
    metrics = _systems_arg(args.metrics, "--metrics", "smape,vpt_smape")
    results = Path(args.out) / "results.csv"
    if args.report_only and not results.is_file():
        raise InvalidInputError(f"--report-only redraws from {results}, which does not exist; "
                                "run the benchmark first (without --report-only)")
    if args.report_only and metrics:  # a metric the results lack would be an empty leaderboard column
        with results.open(newline="") as fh:
            columns = next(csv.reader(fh), [])
        absent = [m for m in metrics if m not in columns]
        if absent:
            raise InvalidInputError(f"--metrics {absent[0]!r} is not a column of {results}; run the benchmark with "
                                    f"it first, or choose computed ones.{suggest(absent[0], columns)}")
    torch.set_num_threads(args.threads)
    if not args.report_only:
        summary = run_benchmark(args.protocol or "zero-shot", systems, models, args.out, seed=args.seed or 0,
                                model_params=params, metrics=metrics, progress=not args.no_progress,
                                device=args.device or "cpu", dispatch=dispatch)
        times = ", ".join(f"{m} {t:.1f} s" for m, t in summary.model_seconds.items())
        print(f"{summary.written} result rows written, {summary.skipped} (system, model) pairs skipped; "
              f"data {summary.data_seconds:.1f} s; models: {times}")
    paths = write_reports(args.out, metrics)  # the leaderboard shows the metrics asked for (default: the headline ones)
    plots = write_plots(args.out)
    print("\n".join(str(p) for p in [*paths.values(), *plots]))
    return 0


def _store_parser(sub: argparse._SubParsersAction, name: str, summary: str, *,
                  results: bool = False) -> argparse.ArgumentParser:
    """A subcommand that reads a store (positional) and a subset of its systems (`--systems`);
    `results`: it also renders the benchmark's leaderboards (`--results`)."""
    p = sub.add_parser(name, help=summary)
    p.add_argument("store", help="the store directory")
    p.add_argument("--systems", default=None, help="comma-separated names (default: all of the store)")
    if results:
        p.add_argument("--results", default=None, help="the benchmark's results.csv (or its folder): leaderboards")
    return p


def _systems_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("systems", help="list the catalogue (name, kind, dimension, flags)")
    p.add_argument("--kind", choices=KINDS, default=None)
    p.set_defaults(func=cmd_systems)


def _info_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("info", help="all metadata of one system as JSON, or a summary of a store directory")
    p.add_argument("name", help="a system name, or the directory of a store")
    p.set_defaults(func=cmd_info)


def _generate_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("generate", help="build (or resume) a release store: sharded Zarr plus a manifest")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--preset", choices=("quick", "release"), default="quick")
    which.add_argument("--config", default=None, help="a release config (TOML), instead of a preset")
    p.add_argument("--out", required=True, help="the store directory (created; an interrupted build resumes)")
    p.add_argument("--systems", default=None, help="comma-separated names: build only these of the config")
    p.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda")
    p.add_argument("--workers", type=int, default=None,
                   help="systems built in parallel processes (one progress bar for all; default 1)")
    p.add_argument("--executor", choices=("local", "dask"), default="local",
                   help="local: processes on this machine; dask: a dask.distributed cluster")
    p.add_argument("--scheduler", default=None,
                   help="with --executor dask: the scheduler's address (default: a local cluster of --workers)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace a store built from a different config or layout (deletes its systems)")
    p.add_argument("--allow-mixed-code", action="store_true",
                   help="resume a store built by other code (versions, source, device); each system records its code")
    p.set_defaults(func=cmd_generate)


def _verify_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check a store's files and data against its manifest checksums")
    p.add_argument("dir")
    p.add_argument("--systems", default=None, help="comma-separated names (default: all)")
    p.add_argument("--files-only", action="store_true", help="compare file checksums only, do not decode")
    p.set_defaults(func=cmd_verify)


def _invariants_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("invariants", help="a system's stored invariants, beside dysts's values")
    p.add_argument("name")
    p.add_argument("--json", action="store_true", help="the whole stored entry, as JSON")
    p.set_defaults(func=cmd_invariants)


def _export_parser(sub: argparse._SubParsersAction) -> None:
    p = _store_parser(sub, "export", "write a store as Parquet or HDF5 files that `datasets` loads natively")
    p.add_argument("--format", choices=("parquet", "hdf5"), required=True)
    p.add_argument("--out", required=True, help="output folder (files go to data/... or hdf5/... inside)")
    p.set_defaults(func=cmd_export)


def _card_parser(sub: argparse._SubParsersAction) -> None:
    p = _store_parser(sub, "card", "render a store's dataset card, system pages, pictures and metadata JSON", results=True)
    p.add_argument("--out", required=True, help="output folder (README.md, cards/, metadata/ inside)")
    p.add_argument("--repo-id", default=None, help="OWNER/NAME shown in the loading examples")
    p.add_argument("--workers", type=int, default=1, help="processes drawing the pictures")
    p.set_defaults(func=cmd_card)


def _publish_parser(sub: argparse._SubParsersAction) -> None:
    p = _store_parser(sub, "publish", "stage (store + Parquet + cards), verify, upload to the Hub and tag", results=True)
    p.add_argument("--repo-id", required=True, help="the dataset repo, OWNER/NAME")
    p.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    p.add_argument("--tag", default=None, help="release tag (default: v<version>-<config>-<config hash[:12]>)")
    p.add_argument("--private", action="store_true", help="create the repo private")
    p.add_argument("--dry-run", metavar="DIR", default=None, help="stage into DIR and verify; upload nothing")
    p.add_argument("--staging", default=None, help="staging folder kept between runs (default: in the cache)")
    p.add_argument("--hdf5", action="store_true", help="also stage the HDF5 export")
    p.add_argument("--dataset-info", action="store_true",
                   help="also write `dataset_info:` (features per config) into the card's YAML; off by default: "
                        "the Parquet files embed the features, and at full scale it slows every load_dataset call")
    p.add_argument("--no-restage", action="store_true",
                   help="upload the staging folder as it is (verified again): resume an interrupted upload at once")
    p.add_argument("--workers", type=int, default=None, help="processes drawing the pictures (default 1)")
    p.set_defaults(func=cmd_publish)


def _benchmark_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("benchmark", help="run forecasters on systems under a protocol; results.csv, leaderboard, plots")
    # the options of a run default to None, so that --report-only can refuse them instead of ignoring them
    p.add_argument("--protocol", default=None,
                   help="zero-shot | dysts2021 | dysts2021-coarse | attractor | gilpin2023 | gilpin2023-long "
                        "(default: zero-shot)")
    p.add_argument("--systems", default=None, help="comma-separated names (default: all)")
    p.add_argument("--models", default=None, help=f"comma-separated forecasters (default: {DEFAULT_MODELS})")
    p.add_argument("--out", required=True, help="directory for results.csv, cached data, leaderboard and plots")
    p.add_argument("--seed", type=int, default=None, help="base seed of the data (default 0)")
    p.add_argument("--params", default=None, help='hyperparameters as JSON, e.g. \'{"esn": {"size": 200}}\'')
    p.add_argument("--metrics", default=None, help="comma-separated metric names (default: the protocol's set)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--device", default=None, help="torch device the models run on, e.g. cuda (default cpu)")
    p.add_argument("--executor", choices=("local", "dask"), default=None,
                   help="local (default): jobs in this process; dask: (system, model) jobs on a dask.distributed "
                        "cluster whose workers see --out")
    p.add_argument("--scheduler", default=None,
                   help="with --executor dask: the scheduler's address (default: a local cluster of --workers)")
    p.add_argument("--workers", type=int, default=None, help="with --executor dask: local cluster size (default 1)")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="wall-clock limit per (system, model) pair (default: none); a pair past it is killed, recorded "
                        "in failures.csv and tried again next run. The pairs then run in a worker process (local "
                        "executor only)")
    p.add_argument("--report-only", action="store_true", help="only redraw the leaderboard and plots")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_benchmark)


def _demo_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="integrate every system briefly and print a table")
    p.add_argument("--n-points", type=int, default=100)
    p.add_argument("--n-ics", type=int, default=4)
    p.add_argument("--systems", default=None, help="comma-separated names (default: all)")
    p.set_defaults(func=cmd_demo)


def build_parser() -> argparse.ArgumentParser:
    """The `chaosdata` parser: one subcommand per `_<command>_parser`, each setting its `cmd_` function."""
    parser = argparse.ArgumentParser(prog="chaosdata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_systems_parser, _info_parser, _generate_parser, _verify_parser, _invariants_parser, _export_parser,
                _card_parser, _publish_parser, _benchmark_parser, _demo_parser):
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:  # Ctrl-C: one line; what is recorded as written stays, and a rerun resumes
        print(f"chaosdata: interrupted; nothing half-written was recorded as done. Run the same `chaosdata "
              f"{args.command}` command again to finish.", file=sys.stderr)
        return 130
    except ChaosdataError as err:
        print(f"chaosdata: error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.filename is None:  # not about a path the user gave: a traceback helps more
            raise
        # a path that cannot be read or written (permissions, a missing mount): one line, not a traceback
        print(f"chaosdata: error: {err.strerror or err}: {err.filename!r}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
