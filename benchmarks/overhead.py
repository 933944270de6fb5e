"""``overhead``: a trigger-only sweep vs a bare aiohttp loop making the same requests.

Each contender gets a fresh simulator (same seed and size), so each triggers
fresh reruns, and the two alternate over several rounds; the medians are
compared. The simulator runs in a separate process by default: on a 2-core
machine an in-process simulator shares the client's event loop and one core, so
its own cost (the same for both contenders) is added to both times and dilutes
the ratio toward 1. ``in_process=True`` measures that variant too.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
from common import API_KEY, emit, sim_process
from contenders import LoopResult, bare_loop
from timed import timed_sweep

from rerunorch import SweepSettings
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["overhead"]

_LIMIT = 300.0  # wall seconds any one contender may take


@attrs.frozen
class _Round:
    elapsed: float
    cpu: float
    requests: int


async def _sweep(base_url: str, ids: list[int], concurrency: int) -> _Round:
    settings = SweepSettings(base_url=base_url, concurrency=concurrency, wait=False)
    timed = await timed_sweep(ids, settings, api_key=API_KEY, limit=_LIMIT)
    summary = timed.report.summary
    if summary.targets != len(ids) or summary.triggered != len(ids):
        raise RuntimeError(f"the sweep did not trigger every target: {summary}")
    return _Round(timed.elapsed, timed.cpu, summary.requests)


async def _bare(base_url: str, ids: list[int], concurrency: int) -> _Round:
    result: LoopResult = await bare_loop(base_url, API_KEY, ids, concurrency, limit=_LIMIT)
    return _Round(result.elapsed, result.cpu, result.requests)


Contender = Callable[[str, list[int], int], Awaitable[_Round]]


async def _one(contender: Contender, targets: int, concurrency: int, in_process: bool) -> _Round:
    if in_process:
        async with Simulator(SimulatorConfig(seed=1, targets=targets, passed_targets=0)) as sim:
            result = await contender(sim.base_url, sim.target_ids, concurrency)
            created = sim.stats.reruns_created
    else:
        with sim_process("--seed", "1", "--targets", str(targets), "--passed-targets", "0") as sim:
            result = await contender(sim.base_url, sim.targets(), concurrency)
            created = sim.stats()["reruns_created"]
    if created != targets:
        raise RuntimeError(f"{targets} reruns expected, the simulator created {created}")
    return result


async def overhead(*, quick: bool) -> list[dict[str, Any]]:
    """Rows: one per (simulator placement, concurrency)."""
    targets, rounds = (100, 1) if quick else (2000, 5)
    cases = [(False, 8)] if quick else [(False, 8), (False, 32), (True, 8)]
    rows = []
    for in_process, concurrency in cases:
        sweeps: list[_Round] = []
        bares: list[_Round] = []
        for index in range(rounds):
            # Alternate who goes first, so neither always meets a warmer machine.
            order = [("bare", _bare), ("sweep", _sweep)]
            if index % 2:
                order.reverse()
            for name, contender in order:
                result = await _one(contender, targets, concurrency, in_process)
                (bares if name == "bare" else sweeps).append(result)
        sweep_time = statistics.median(r.elapsed for r in sweeps)
        bare_time = statistics.median(r.elapsed for r in bares)
        sweep_cpu = statistics.median(r.cpu for r in sweeps)
        bare_cpu = statistics.median(r.cpu for r in bares)
        rows.append(
            emit(
                "overhead",
                simulator="in-process" if in_process else "separate process",
                targets=targets,
                concurrency=concurrency,
                rounds=rounds,
                ratio=round(sweep_time / bare_time, 3),
                sweep_seconds=round(sweep_time, 3),
                bare_seconds=round(bare_time, 3),
                sweep_requests_per_second=round(sweeps[0].requests / sweep_time, 1),
                bare_requests_per_second=round(bares[0].requests / bare_time, 1),
                sweep_requests=sweeps[0].requests,
                bare_requests=bares[0].requests,
                cpu_ratio=round(sweep_cpu / bare_cpu, 3),
                sweep_cpu_seconds=round(sweep_cpu, 3),
                bare_cpu_seconds=round(bare_cpu, 3),
                goal_ratio=1.15,
            )
        )
    return rows
