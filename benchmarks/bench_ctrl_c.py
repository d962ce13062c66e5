"""Ctrl-C during a chaosdata command, as a terminal sends it (SIGINT to the whole process group).

    python benchmarks/bench_ctrl_c.py SECONDS card STORE --out DIR --workers 2

Starts `chaosdata ARGS...`, waits SECONDS, sends SIGINT to its process group and prints the exit
code, the seconds from the signal to stderr's first line and to the exit, and how many lines
stderr held (one is the goal: no tracebacks).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time


def main(argv: list[str]) -> int:
    delay, args = float(argv[0]), argv[1:]
    proc = subprocess.Popen([sys.executable, "-m", "chaosdata.cli", *args], stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, start_new_session=True)
    time.sleep(delay)
    if proc.poll() is not None:
        print(f"the command ended (rc {proc.returncode}) before the signal; give fewer seconds", file=sys.stderr)
        return 1
    sent = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    first = proc.stderr.readline()
    to_message = time.monotonic() - sent
    rc = proc.wait()
    to_exit = time.monotonic() - sent
    rest = proc.stderr.read()
    print(f"rc {rc}, first stderr line after {to_message:.2f} s, exit after {to_exit:.2f} s, "
          f"{1 + rest.count(chr(10))} stderr line(s): {first.strip()[:100]}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
