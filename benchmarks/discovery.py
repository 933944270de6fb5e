"""``discovery``: peak RSS of discovering 100,000 runs over 1,000 pages vs 1,000 runs over 10.

A child process lists the runs of ``rerunorch simulate --plans 10`` through
:class:`~rerunorch.discovery.RunDiscovery` (``--plan`` x 10, ``--since 24h``,
100 runs a page, every page through the client's pacer) and takes each target
as the sweep's fan-out would; its peak RSS is its ``ru_maxrss`` (``os.wait4``).
The simulator is another process and is not counted. The goal: the 100k
discovery within 1.2x the 1k one's peak (discovery streams: a page at a time).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import urllib.request
from typing import Any

from common import API_KEY, emit, sim_process

__all__ = ["discovery"]

_PLANS = 10
_PAGE = 100
_LIMIT = 900.0

_CHILD = """
import sys, anyio
from rerunorch.api.client import TestsigmaClient
from rerunorch.discovery import RunDiscovery, Window

async def main(base_url: str, key: str, first_plan: int, count: int, page: int) -> None:
    plans = frozenset(range(first_plan, first_plan + count))
    found = RunDiscovery.of(plans=plans, window=Window.parse("24h", None), page_size=page)
    async with TestsigmaClient(key, base_url) as client:
        taken = 0
        async for _ in found(client):
            taken += 1
        print(taken, client.counters.requests, client.pacer.stats.requests)

base_url, key, *numbers = sys.argv[1:]
anyio.run(main, base_url, key, *map(int, numbers))
"""


def _discover(base_url: str, first_plan: int) -> tuple[float, float, list[int]]:
    """Run the child; (peak RSS in MB, wall seconds, [taken, client requests, paced])."""
    read, write = os.pipe()
    actions = [(os.POSIX_SPAWN_DUP2, write, 1), (os.POSIX_SPAWN_CLOSE, read)]
    numbers = (first_plan, _PLANS, _PAGE)
    command = [sys.executable, "-c", _CHILD, base_url, API_KEY, *map(str, numbers)]
    start = time.perf_counter()
    pid = os.posix_spawn(sys.executable, command, dict(os.environ), file_actions=actions)
    os.close(write)
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() - start > _LIMIT:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise TimeoutError(f"discovery took more than {_LIMIT:g}s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    with os.fdopen(read) as out:
        line = out.read().split()
    if os.waitstatus_to_exitcode(status) != 0 or len(line) != 3:
        raise RuntimeError(f"the discovery child failed (status {status}): {line}")
    return usage.ru_maxrss / 1024, elapsed, [int(n) for n in line]


def _first_plan(base_url: str) -> int:
    """The simulator's first plan, from a page of its index (its newest runs)."""
    request = urllib.request.Request(
        f"{base_url}/api/v2/test_runs?page=0&pageSize=1000",
        headers={"Authorization": f"Bearer {API_KEY}"},
    )
    with urllib.request.urlopen(request, timeout=300) as answer:
        return min(item["testPlanId"] for item in json.loads(answer.read())["data"])


def _measure(runs: int) -> dict[str, Any]:
    options = ("--targets", str(runs), "--passed-targets", "0", "--plans", str(_PLANS))
    with sim_process(*options) as sim:
        first_plan = _first_plan(sim.base_url)
        rss, elapsed, (taken, requests, paced) = _discover(sim.base_url, first_plan)
        served = sim.stats()["requests"]
    return {
        "runs": runs,
        "pages": requests,
        "taken": taken,
        "peak_rss_mb": round(rss, 1),
        "elapsed": round(elapsed, 2),
        "runs_per_second": round(runs / elapsed, 1),
        "requests_outside_pacer": requests - paced,
        "requests_served": served - 1,  # _first_plan's request was the benchmark's
    }


async def discovery(*, quick: bool) -> list[dict[str, Any]]:
    small, large = (200, 2_000) if quick else (1_000, 100_000)
    low, high = _measure(small), _measure(large)
    return [
        emit(
            "discovery",
            **{
                "peak_rss_mb_1k": low["peak_rss_mb"],
                "peak_rss_mb_100k": high["peak_rss_mb"],
                "growth_ratio": round(high["peak_rss_mb"] / low["peak_rss_mb"], 3),
                "small": low,
                "large": high,
                "goal_growth_ratio": 1.2,
            },
        )
    ]
