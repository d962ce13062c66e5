"""Test-only forecasters that misbehave as third-party models have: one hangs (darts' ARIMA did,
20 minutes on one system) ignoring SIGTERM, as a thread stuck in a C extension may, so that a
benchmark time limit must stop it from outside; one kills its own process, as a crash in native
code does. In an importable module so that a spawned worker process registers them too."""

from __future__ import annotations

import os
import signal
import time

import torch

from chaosdata.baselines.base import Forecaster, register

HANG_SECONDS = "CHAOSDATA_TEST_HANG_SECONDS"  # how long each fit hangs (default 60 s; 0: not at all)
HANG_STARTED = "CHAOSDATA_TEST_HANG_STARTED"  # a file the fit writes its process id to as it starts hanging


@register("hang-test")
class Hang(Forecaster):
    """Forecasts zeros after hanging `$CHAOSDATA_TEST_HANG_SECONDS` seconds in each fit, SIGTERM ignored."""

    def _fit(self, series, *, dt, system):
        seconds = float(os.environ.get(HANG_SECONDS, "60"))
        if seconds > 0:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if started := os.environ.get(HANG_STARTED):
                with open(started, "w") as f:
                    f.write(str(os.getpid()))
            time.sleep(seconds)
        self.dim_ = series[0].shape[-1]

    def _predict(self, context, horizon):
        return torch.zeros(context.shape[0], horizon, self.dim_, dtype=torch.float64)


@register("crash-test")
class Crash(Forecaster):
    """Kills its own process in each fit (SIGKILL), as a segfault or the out-of-memory killer would."""

    def _fit(self, series, *, dt, system):
        os.kill(os.getpid(), signal.SIGKILL)

    def _predict(self, context, horizon):
        raise AssertionError("unreachable: the fit killed the process")
