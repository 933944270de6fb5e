"""``makespan``: how soon a night of reruns under ``--max-active 10`` ends.

About 300 targets whose reruns last from 1 minute to 2 hours (log-uniform: many short,
a few long), given in ascending order of length, so the long ones come last. The same
sweep runs twice, each against a fresh simulator of the same seed:

- ``longest-first``: this rerunorch, slots to the longest expected rerun first, 1,000
  targets read ahead;
- ``input-order``: the order before it, rebuilt: the slots ignore the priority (arrival
  order) and the window is what it was (``max(max_active, 4 * concurrency)`` = 32).

The lower bound of any schedule is ``max(sum of durations / 10, longest)``, the
durations as the simulator ran them; the makespan is from the first rerun's start to the
last one's end, by the simulator's own record (the report's ``makespan_seconds`` is
given beside it). ``lossless_ratio`` is what the same order would give if no time were
lost between reruns (no poll lag, no requests). The strategy is ``all``, so a rerun
lasts its parent's duration (within the simulator's +-20 %) and the estimate is the
parent's duration.
"""

from __future__ import annotations

import heapq
import time
from contextlib import AbstractAsyncContextManager
from typing import Any

import anyio
from common import API_KEY, emit

from rerunorch import ScaledClock, SharedLimits, Sweep, SweepReport, SweepSettings
from rerunorch.pacing.local import ActiveReruns
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["makespan"]

SHORTEST, LONGEST = 60.0, 7200.0
GOAL = 1.10
CONCURRENCY = 8


class _ArrivalOrder(ActiveReruns):
    """The slots as they were: the cap served in arrival order, whatever the priority."""

    def slot(self, priority: float = 0.0) -> AbstractAsyncContextManager[None]:
        return super().slot(0.0)


async def makespan(*, quick: bool) -> list[dict[str, Any]]:
    targets, slots, scale = (30, 3, 4000.0) if quick else (300, 10, 1500.0)
    config = SimulatorConfig(
        seed=19, targets=targets * 5, passed_targets=0, run_duration=(SHORTEST, LONGEST)
    )
    rows = []
    for order in ("longest-first", "input-order"):
        clock = ScaledClock(scale)
        limits = SharedLimits(concurrency=CONCURRENCY, max_active=slots, clock=clock)
        window = None
        if order == "input-order":
            limits.active = _ArrivalOrder(slots)
            window = max(slots, 4 * CONCURRENCY)  # the window before the start order
        async with Simulator(config, clock=clock) as sim:
            ids = _long_ones_last(sim, targets)
            settings = SweepSettings(base_url=sim.base_url, strategy="all", window=window)
            sweep = Sweep(ids, settings, api_key=API_KEY, clock=clock, limits=limits)
            started = time.perf_counter()
            with anyio.fail_after(600):
                report = await sweep.run()
            elapsed = time.perf_counter() - started
            rows.append(_figures(order, sim, ids, report, slots, scale, elapsed))
    return rows


def _long_ones_last(sim: Simulator, count: int) -> list[int]:
    """``count`` targets with durations spread log-uniformly from SHORTEST to LONGEST,
    shortest first, picked from the simulator's (uniformly spread) seeded runs."""
    pool = sorted(sim.target_ids, key=lambda run: sim.run(run)["duration"])
    durations = [sim.run(run)["duration"] / 1000 for run in pool]
    chosen: list[int] = []
    at = 0
    for k in range(count):
        wanted = SHORTEST * (LONGEST / SHORTEST) ** (k / (count - 1))
        while at < len(pool) - (count - k) and durations[at] < wanted:
            at += 1
        chosen.append(pool[at])
        at += 1
    return chosen


def _list_schedule(durations: list[float], slots: int) -> float:
    """The makespan of starting ``durations`` in this order on the first free slot, with
    no time lost between one rerun's end and the next one's start."""
    ends = [0.0] * slots
    for duration in durations:
        heapq.heapreplace(ends, ends[0] + duration)
    return max(ends)


def _figures(
    order: str,
    sim: Simulator,
    ids: list[int],
    report: SweepReport,
    slots: int,
    scale: float,
    elapsed: float,
) -> dict[str, Any]:
    reruns = [sim.run(o.rerun_id) for o in report.results if o.rerun_id is not None]
    durations = [run["duration"] / 1000 for run in reruns]
    took = {run["reRunParentId"]: run["duration"] / 1000 for run in reruns}
    if order == "longest-first":  # by the estimate: the parent's duration
        ids = sorted(ids, key=lambda target: -sim.run(target)["duration"])
    ideal = _list_schedule([took[target] for target in ids], slots)
    span = (max(r["endTime"] for r in reruns) - min(r["startTime"] for r in reruns)) / 1000
    bound = max(sum(durations) / slots, max(durations))
    summary = report.summary
    return emit(
        "makespan",
        order=order,
        targets=summary.targets,
        max_active=slots,
        reruns_created=sim.stats.reruns_created,
        duplicates=sim.stats.duplicate_rerun_attempts,
        active_runs_peak=sim.stats.active_runs_peak,
        makespan_seconds=round(span, 1),
        lower_bound_seconds=round(bound, 1),
        ratio_to_lower_bound=round(span / bound, 4),
        lossless_ratio=round(ideal / bound, 4),
        report_makespan_seconds=_rounded(summary.makespan_seconds),
        report_device_seconds=_rounded(summary.device_seconds),
        device_seconds=round(sum(durations), 1),
        duration_range=[round(min(durations), 1), round(max(durations), 1)],
        time_scale=scale,
        elapsed=round(elapsed, 2),
        goal_ratio=GOAL if order == "longest-first" else None,
    )


def _rounded(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds, 1)
