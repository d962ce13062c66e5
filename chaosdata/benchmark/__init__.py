"""`chaosdata benchmark`: protocols, the resumable runner, and the reports derived from its results.

    from chaosdata.benchmark import run_benchmark, write_reports
    run_benchmark("zero-shot", ["Lorenz", "Henon"], ["naive", "nvar", "esn", "oracle"], "bench")
    write_reports("bench")   # leaderboard.md, per_system.csv (write_plots for the figures)
"""

from chaosdata.benchmark.leaderboard import markdown, write_reports
from chaosdata.benchmark.plots import write_plots
from chaosdata.benchmark.protocols import PROTOCOLS, Protocol, SkipSystem, Task, get_protocol, make_task
from chaosdata.benchmark.runner import Dispatch, RunSummary, run_benchmark

__all__ = ["PROTOCOLS", "Dispatch", "Protocol", "RunSummary", "SkipSystem", "Task", "get_protocol", "make_task", "markdown",
           "run_benchmark", "write_plots", "write_reports"]
