"""``memory``: peak RSS of ``rerunorch sweep --from-file F --no-wait -q``, 10k vs 100k targets.

The sweep runs as its own process (the command a user runs) against a
``rerunorch simulate --targets 100000`` process, a fresh one per size so that
every target triggers a fresh rerun; the simulator keeps its reruns in memory,
and being another process it is not counted. The sweep's peak RSS is its
``ru_maxrss`` from ``os.wait4`` (that child alone, unlike ``RUSAGE_CHILDREN``).
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import API_KEY, emit, sim_process

__all__ = ["memory"]

_SIM_TARGETS = 100_000
_LIMIT = 900.0  # wall seconds one sweep may take


def _sweep_process(base_url: str, path: Path, limit: float) -> tuple[float, float, int]:
    """Run the sweep command; (peak RSS in MB, wall seconds, exit code)."""
    env = {**os.environ, "TESTSIGMA_API_KEY": API_KEY}
    command = [
        sys.executable,
        "-m",
        "rerunorch",
        "sweep",
        "--from-file",
        str(path),
        "--base-url",
        base_url,
        "--no-wait",
        "-q",
    ]
    start = time.perf_counter()
    # Its summary line would break the one-JSON-object-per-line output: drop it.
    quiet = [(os.POSIX_SPAWN_OPEN, 1, os.devnull, os.O_WRONLY, 0)]
    pid = os.posix_spawn(sys.executable, command, env, file_actions=quiet)
    deadline = start + limit
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.perf_counter() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.wait4(pid, 0)
            raise TimeoutError(f"the sweep took more than {limit:g}s")
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    return usage.ru_maxrss / 1024, elapsed, os.waitstatus_to_exitcode(status)


def _measure(targets: int, directory: Path) -> dict[str, Any]:
    path = directory / f"targets-{targets}.txt"
    sim_targets = targets if targets < 1000 else _SIM_TARGETS
    with sim_process(
        "--targets", str(sim_targets), "--passed-targets", "0", "--time-scale", "1000"
    ) as sim:
        ids = sim.targets()[:targets]
        path.write_text("".join(f"{i}\n" for i in ids), encoding="utf-8")
        rss, elapsed, code = _sweep_process(sim.base_url, path, _LIMIT)
        created = sim.stats()["reruns_created"]
    return {
        "targets": targets,
        "peak_rss_mb": round(rss, 1),
        "elapsed": round(elapsed, 2),
        "targets_per_second": round(targets / elapsed, 1),
        "exit_code": code,
        "reruns_created": created,
    }


async def memory(*, quick: bool) -> list[dict[str, Any]]:
    small, large = (100, 1000) if quick else (10_000, 100_000)
    with tempfile.TemporaryDirectory(prefix="rerunorch-bench-") as tmp:
        low = _measure(small, Path(tmp))
        high = _measure(large, Path(tmp))
    # The keys name the full sizes; with --quick the sizes are in "small" and "large".
    return [
        emit(
            "memory",
            **{
                "peak_rss_mb_10k": low["peak_rss_mb"],
                "peak_rss_mb_100k": high["peak_rss_mb"],
                "growth_ratio": round(high["peak_rss_mb"] / low["peak_rss_mb"], 3),
                "small": low,
                "large": high,
                "goal_peak_rss_mb": 150,
                "goal_growth_ratio": 1.3,
            },
        )
    ]
