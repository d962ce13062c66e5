"""`chaosdata ...` subcommands: parse the arguments, call the library, print."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from chaosdata.errors import ChaosdataError
from chaosdata.systems import KINDS, get_system, list_systems


def _format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(c) for c in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def cmd_systems(args: argparse.Namespace) -> int:
    rows = []
    for name in list_systems(args.kind):
        s = get_system(name)
        flags = ",".join(
            f for f, on in (("nonautonomous", s.nonautonomous), ("hamiltonian", s.hamiltonian),
                            ("unbounded", bool(s.unbounded_indices)), ("inverse", s.has_inverse)) if on
        )
        rows.append((name, s.kind, s.dim, flags, s.description))
    print(_format_table(("name", "kind", "dim", "flags", "description"), rows))
    print(f"\n{len(rows)} systems")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    print(json.dumps(get_system(args.name).to_dict(), indent=2))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from chaosdata.demo import run_demo

    return run_demo(n_points=args.n_points, n_ics=args.n_ics, systems=args.systems)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chaosdata", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("systems", help="list the catalogue (name, kind, dimension, flags)")
    p.add_argument("--kind", choices=KINDS, default=None)
    p.set_defaults(func=cmd_systems)

    p = sub.add_parser("info", help="all metadata of one system, as JSON")
    p.add_argument("name")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="integrate every system briefly and print a table")
    p.add_argument("--n-points", type=int, default=100)
    p.add_argument("--n-ics", type=int, default=4)
    p.add_argument("--systems", default=None, help="comma-separated names (default: all)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ChaosdataError as err:
        print(f"chaosdata: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
