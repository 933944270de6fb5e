"""``pacing-known`` and ``pacing-unknown``: a server limiting at r requests/s.

The simulator keeps a token bucket (rate r, burst b) and answers 429 with a
whole-second ``Retry-After`` above it. Each contender triggers N targets
(2N requests: GET + POST each; the naive script gets fewer, see ``_FULL``)
against a fresh simulator, so its ideal time is ``2N / r``. ``requests`` counts
what was sent, 429s included; ``rate_limited_fraction`` is 429s / requests sent.

Contenders: the sweep told ``rate=r`` (known), told nothing or ``4r`` (unknown),
and the naive script (``contenders.naive_script``), which knows no rate.

Real time (no scaled clock): at 50 requests/s the client and the in-process
simulator use a few percent of a core, so sharing the event loop costs nothing
measurable, while a scaled clock would turn event-loop jitter into simulated
seconds.
"""

from __future__ import annotations

import time
from typing import Any

from common import API_KEY, emit
from contenders import naive_script
from timed import timed_sweep

from rerunorch import SweepSettings
from rerunorch.testing import Simulator, SimulatorConfig

__all__ = ["pacing_known", "pacing_unknown"]

RATE = 50.0
CONCURRENCY = 8
# (server burst, sweep targets, naive targets). b = r / 5 is the hard case for a
# pacer that honours whole-second Retry-After (a pause wastes up to r - b
# requests' worth of the server's time); b = r is the usual token-bucket default.
# The naive script is slow (10x the ideal and more), so it triggers fewer targets
# to keep the run within minutes; its ratio does not depend on the count.
_FULL = ((10, 1000, 250), (50, 1000, None))
_QUICK = ((10, 20, 20),)


def _shapes(quick: bool) -> tuple[float, tuple[tuple[int, int, int | None], ...]]:
    return (200.0, _QUICK) if quick else (RATE, _FULL)


async def _run(contender: str, told: float | None, targets: int, rate: float, burst: int) -> Any:
    config = SimulatorConfig(
        seed=3, targets=targets, passed_targets=0, rate_limit=rate, rate_burst=burst
    )
    limit = 20 * (2 * targets / rate) + 30  # wall seconds: far beyond any sane run
    async with Simulator(config) as sim:
        ids = sim.target_ids
        start = time.perf_counter()
        if contender == "naive":
            result = await naive_script(sim.base_url, API_KEY, ids, CONCURRENCY, limit=limit)
            failures = result.failures
        else:
            settings = SweepSettings(
                base_url=sim.base_url, concurrency=CONCURRENCY, wait=False, rate=told
            )
            timed = await timed_sweep(ids, settings, api_key=API_KEY, limit=limit)
            failures = timed.report.summary.errors
        elapsed = time.perf_counter() - start
        stats = sim.stats
    ideal = 2 * targets / rate
    return {
        "contender": contender,
        "told_rate": told,
        "server_rate": rate,
        "server_burst": burst,
        "targets": targets,
        "ratio_to_ideal": round(elapsed / ideal, 3),
        "rate_limited_fraction": round(stats.rate_limited / max(stats.requests, 1), 4),
        "elapsed": round(elapsed, 3),
        "ideal": round(ideal, 3),
        "requests": stats.requests,
        "rate_limited": stats.rate_limited,
        "reruns_created": stats.reruns_created,
        "duplicates": stats.duplicate_rerun_attempts,
        "failures": failures,
        "peak_requests_per_second": stats.peak_requests_per_second,
        "concurrency": CONCURRENCY,
    }


async def _scenario(
    name: str, told_factors: tuple[float | None, ...], goal: dict[str, float], quick: bool
) -> list[dict[str, Any]]:
    rate, shapes = _shapes(quick)
    rows = []
    for burst, targets, naive_targets in shapes:
        for factor in told_factors:
            told = None if factor is None else factor * rate
            row = await _run("sweep", told, targets, rate, burst)
            rows.append(emit(name, **row, **goal))
        if naive_targets:
            rows.append(emit(name, **await _run("naive", None, naive_targets, rate, burst)))
    return rows


async def pacing_known(*, quick: bool) -> list[dict[str, Any]]:
    """The sweep told the server's rate, and the naive script."""
    goal = {"goal_ratio_to_ideal": 1.05, "goal_rate_limited_fraction": 0.0}
    return await _scenario("pacing-known", (1.0,), goal, quick)


async def pacing_unknown(*, quick: bool) -> list[dict[str, Any]]:
    """The sweep told nothing, told 4x too much, and the naive script."""
    goal = {"goal_ratio_to_ideal": 1.25, "goal_rate_limited_fraction": 0.05}
    return await _scenario("pacing-unknown", (None, 4.0), goal, quick)
