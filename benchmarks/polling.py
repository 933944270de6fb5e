"""``polling``: how soon a finished rerun is noticed, and at what cost in polls.

Reruns last 10 to 120 simulated seconds (the ``all`` strategy reruns every test,
so a rerun lasts about its parent's duration, which the simulator spreads over
that range). The sweep and the in-process simulator share one
:class:`~rerunorch.ScaledClock`; a listener stamps each outcome with the shared
clock when it arrives. For each rerun, lag = (noticed - its real end, from the
simulator's ``endTime``) / its duration.

The scale is kept modest (20): a millisecond of event-loop delay is then 20 ms
of simulated time, under 0.2 % of the shortest rerun.
"""

from __future__ import annotations

import statistics
from typing import Any

from common import API_KEY, emit
from timed import timed_sweep

from rerunorch import (
    Outcome,
    OutcomeKind,
    RerunFinished,
    ScaledClock,
    SweepListener,
    SweepSettings,
)
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["polling"]

SCALE = 20.0


class _Stamps(SweepListener):
    """When (the shared clock's epoch seconds) each outcome arrived."""

    def __init__(self, clock: ScaledClock) -> None:
        self.clock = clock
        self.noticed: list[tuple[Outcome, float]] = []

    async def rerun_finished(self, event: RerunFinished) -> None:
        self.noticed.append((event.outcome, self.clock.time()))


async def polling(*, quick: bool) -> list[dict[str, Any]]:
    targets = 20 if quick else 300
    scale = 200.0 if quick else SCALE
    clock = ScaledClock(scale)
    config = SimulatorConfig(seed=5, targets=targets, passed_targets=0, run_duration=(10.0, 120.0))
    stamps = _Stamps(clock)
    async with Simulator(config, clock=clock) as sim:
        settings = SweepSettings(base_url=sim.base_url, strategy="all", concurrency=8)
        timed = await timed_sweep(
            sim.target_ids, settings, api_key=API_KEY, clock=clock, listener=stamps, limit=600
        )
        lags, polls, durations = [], [], []
        for outcome, noticed in stamps.noticed:
            if outcome.outcome not in (OutcomeKind.PASSED, OutcomeKind.FAILED):
                continue
            assert outcome.rerun_id is not None
            run = sim.run(outcome.rerun_id)
            end, duration = run["endTime"] / 1000, run["duration"] / 1000
            lags.append((noticed - end) / duration)
            polls.append(outcome.polls)
            durations.append(duration)
        requests = sim.stats.requests
    lags.sort()
    return [
        emit(
            "polling",
            targets=targets,
            followed=len(lags),
            time_scale=scale,
            mean_lag_fraction=round(statistics.fmean(lags), 4),
            p90_lag_fraction=round(lags[int(0.9 * (len(lags) - 1))], 4),
            max_lag_fraction=round(lags[-1], 4),
            min_lag_fraction=round(lags[0], 4),
            mean_polls=round(statistics.fmean(polls), 2),
            max_polls=max(polls),
            duration_range=[round(min(durations), 1), round(max(durations), 1)],
            requests=requests,
            simulated_seconds=round(timed.clock_elapsed, 1),
            elapsed=round(timed.elapsed, 3),
            goal_mean_lag_fraction=0.10,
            goal_mean_polls=8,
        )
    ]
