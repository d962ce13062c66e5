"""Shape of the code, before -> after: the measures the solve-spec issue set targets for.

    python benchmarks/code_metrics.py                 # the working tree
    python benchmarks/code_metrics.py --before REV    # REV beside the working tree, with the change

Measures (all on `chaosdata/`, read with `ast`, nothing imported):
- package lines: non-blank lines of the package's Python files;
- longest function: lines from `def` to its last statement (name and file);
- widest public signature: parameters of a public function or method (self/cls not counted; the
  system modules' equations, whose parameters are the system's declared by name, left out);
- duplicate pairs outside the per-system declarations: rows of the `duplicates` tool on the package
  whose two sides are not both system modules (`chaosdata/systems/*.py` but `base.py`);
- inline type checks outside `validate.py`: an `if` whose test calls `isinstance` and whose body raises;
- function-local imports of chaosdata outside `cli.py`;
- `except Exception` (or `BaseException`, or bare) whose handler does not re-raise;
- test files named after history rather than a unit (`test_review_*`, `test_leftovers*`, ...).
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

HISTORY_TESTS = re.compile(r"test_(review_.*|leftovers.*|silent_paths|store_v2)\.py$")
SYSTEM_MODULE = re.compile(r"chaosdata/systems/(?!base\.py)[a-z_]+\.py")


@dataclass
class Metrics:
    package_lines: int
    longest_function: tuple[int, str]
    widest_signature: tuple[int, str]
    duplicate_pairs: int | None
    inline_type_checks: int
    local_imports: int
    swallowed_exceptions: int
    history_test_files: int

    def rows(self) -> list[tuple[str, str]]:
        dup = "n/a (no `duplicates` tool)" if self.duplicate_pairs is None else str(self.duplicate_pairs)
        return [
            ("package lines", str(self.package_lines)),
            ("longest function (lines)", f"{self.longest_function[0]} ({self.longest_function[1]})"),
            ("widest public signature (parameters)", f"{self.widest_signature[0]} ({self.widest_signature[1]})"),
            ("duplicate pairs outside system declarations", dup),
            ("inline type checks outside validate.py", str(self.inline_type_checks)),
            ("function-local chaosdata imports outside cli.py", str(self.local_imports)),
            ("except Exception without re-raise", str(self.swallowed_exceptions)),
            ("test files named after history", str(self.history_test_files)),
        ]


def _functions(tree: ast.AST):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node


def _raises(body: list[ast.stmt]) -> bool:
    return any(isinstance(n, ast.Raise) for stmt in body for n in ast.walk(stmt))


def _calls_isinstance(test: ast.expr) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "isinstance"
               for n in ast.walk(test))


def _broad(handler: ast.ExceptHandler) -> bool:
    names = [handler.type] if not isinstance(handler.type, ast.Tuple) else list(handler.type.elts)
    return handler.type is None or any(isinstance(n, ast.Name) and n.id in ("Exception", "BaseException")
                                       for n in names)


def _count_duplicates(package: Path) -> int | None:
    if shutil.which("duplicates") is None:
        return None
    out = subprocess.run(["duplicates", "--repo", str(package), "--most", "200", "--seconds", "60"],
                         capture_output=True, text=True, check=False).stdout
    count = 0
    for line in out.splitlines():
        m = re.match(r"D\d+ (\S+?):\d+-\d+ ~ (\S+?):\d+-\d+", line.strip())
        if m and not all(SYSTEM_MODULE.search("chaosdata/" + p.split("chaosdata/")[-1]) for p in m.groups()):
            count += 1
    return count


def measure(root: Path) -> Metrics:
    package = root / "chaosdata"
    lines = 0
    longest, widest = (0, ""), (0, "")
    checks = local = swallowed = 0
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        text = path.read_text()
        lines += sum(1 for line in text.splitlines() if line.strip())
        tree = ast.parse(text)
        for fn in _functions(tree):
            span = fn.end_lineno - fn.lineno + 1
            if span > longest[0]:
                longest = (span, f"{rel}:{fn.name}")
            if (not fn.name.startswith("_") or fn.name == "__init__") and not SYSTEM_MODULE.search(rel):
                params = [a.arg for a in fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
                          if a.arg not in ("self", "cls")]
                if len(params) > widest[0]:
                    widest = (len(params), f"{rel}:{fn.name}")
            if not rel.endswith("chaosdata/cli.py"):
                for node in ast.walk(fn):
                    if isinstance(node, ast.ImportFrom) and (node.level > 0 or (node.module or "").startswith("chaosdata")):
                        local += 1
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and not rel.endswith("validate.py") and _calls_isinstance(node.test) \
                    and _raises(node.body):
                checks += 1
            if isinstance(node, ast.ExceptHandler) and _broad(node) and not _raises(node.body):
                swallowed += 1
    history = sum(1 for p in (root / "tests").glob("test_*.py") if HISTORY_TESTS.search(p.name))
    return Metrics(lines, longest, widest, _count_duplicates(package), checks, local, swallowed, history)


def checkout(rev: str, into: Path) -> Path:
    """The package and tests of `rev` extracted under `into` (no worktree, nothing of ours touched)."""
    data = subprocess.run(["git", "archive", rev, "chaosdata", "tests"], capture_output=True, check=True).stdout
    with tarfile.open(fileobj=BytesIO(data)) as tar:
        tar.extractall(into, filter="data")
    return into


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="a git revision to measure beside the working tree")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parents[1]
    after = measure(root)
    if args.before is None:
        for name, value in after.rows():
            print(f"{name:50s} {value}")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(args.before, Path(tmp)))
    print(f"{'measure':50s} {'before (' + args.before + ')':40s} after (working tree)")
    for (name, old), (_, new) in zip(before.rows(), after.rows()):
        print(f"{name:50s} {old:40s} {new}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
