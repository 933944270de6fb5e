"""Running a sweep under a stopwatch and a time limit."""

from __future__ import annotations

import time
from collections.abc import Sequence

import anyio
import attrs

from rerunorch import Clock, Sweep, SweepListener, SweepReport, SweepSettings

__all__ = ["TimedSweep", "timed_sweep"]


@attrs.frozen
class TimedSweep:
    """A finished sweep and what it cost.

    Attributes:
        report: The sweep's report.
        elapsed: Wall seconds.
        cpu: CPU seconds of this process meanwhile.
        clock_elapsed: Seconds of the sweep's clock (simulated seconds for a ScaledClock).
    """

    report: SweepReport
    elapsed: float
    cpu: float
    clock_elapsed: float


async def timed_sweep(
    ids: Sequence[int],
    settings: SweepSettings,
    *,
    api_key: str,
    limit: float,
    clock: Clock | None = None,
    listener: SweepListener | None = None,
) -> TimedSweep:
    """Run one sweep; cancel it (and raise TimeoutError) after ``limit`` wall seconds."""
    sweep = Sweep(ids, settings, api_key=api_key, clock=clock, listener=listener)
    start, cpu, clock_start = time.perf_counter(), time.process_time(), sweep.clock.monotonic()
    with anyio.fail_after(limit):
        report = await sweep.run()
    return TimedSweep(
        report=report,
        elapsed=time.perf_counter() - start,
        cpu=time.process_time() - cpu,
        clock_elapsed=sweep.clock.monotonic() - clock_start,
    )
