"""``faults``: 1,000 targets against 10 % 503s, 5 % ambiguous faults and 429 bursts.

The simulator (in-process, sharing a :class:`~rerunorch.ScaledClock`) answers
10 % of requests 503, loses the answer of 5 % of rerun POSTs after creating the
rerun (connection reset, 500 or 502: ``mixed``), and rate-limits at 30 simulated
requests/s (burst 10) so that the sweep, told no rate, meets bursts of 429s.
The sweep follows every rerun to its end (``wait=True``).
"""

from __future__ import annotations

from typing import Any

from common import API_KEY, emit
from timed import timed_sweep

from rerunorch import ScaledClock, SweepSettings
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["faults"]


async def faults(*, quick: bool) -> list[dict[str, Any]]:
    targets = 40 if quick else 1000
    scale = 200.0 if quick else 10.0
    clock = ScaledClock(scale)
    config = SimulatorConfig(
        seed=7,
        targets=targets,
        passed_targets=0,
        fault_503_rate=0.10,
        ambiguous_fault_rate=0.05,
        ambiguous_mode="mixed",
        rate_limit=30.0,
        rate_burst=10,
    )
    async with Simulator(config, clock=clock) as sim:
        settings = SweepSettings(base_url=sim.base_url, concurrency=16)
        timed = await timed_sweep(sim.target_ids, settings, api_key=API_KEY, clock=clock, limit=600)
        stats = sim.stats
        report = timed.report
        ended = {outcome.target for outcome in report.results}
        summary = report.summary
        return [
            emit(
                "faults",
                targets=targets,
                reruns_created=stats.reruns_created,
                duplicates=stats.duplicate_rerun_attempts,
                missing_outcomes=len(set(sim.target_ids) - ended),
                outcomes=summary.targets,
                errors=summary.errors,
                timed_out=summary.timed_out,
                requests=stats.requests,
                rate_limited=stats.rate_limited,
                faults_503=stats.faults_503,
                ambiguous_faults=stats.ambiguous_faults,
                time_scale=scale,
                simulated_seconds=round(timed.clock_elapsed, 1),
                elapsed=round(timed.elapsed, 3),
                goal=f"reruns_created == {targets}, duplicates == 0, missing_outcomes == 0",
            )
        ]
