"""``fleet``: four ``rerunorch sweep --fleet`` worker processes on a real redis-server.

One simulator process (runs of 1 minute to 2 hours, on a scaled clock) and one
redis-server; every worker is told the fleet's ``--max-active`` (one cap for all,
through Redis). Three configurations of the same targets:

- ``no-loss``: four workers, none lost: the reference makespan;
- ``one-killed``: four workers, one SIGKILLed once it has triggered a few reruns;
  the others reclaim its claims after the lease (``--fleet-lease``) and adopt the
  reruns it had triggered: 0 duplicate rerun attempts, 0 targets without an outcome,
  and the makespan within 1.2x of ``no-loss``;
- ``static-shards`` against ``fleet``, on a target list where shard 1 of 4 drew the
  long runs: four ``--shard I/4`` processes without Redis, each with a quarter of the
  cap (what a team without Redis does), against four fleet workers sharing the cap.

The makespan is wall time from the first worker's start to the last one's end, in
simulated seconds (wall seconds times the time scale: process start-up and the
publisher's reads included); ``server_makespan_seconds`` is the merged report's, by the
server's times, from the first rerun's start to the last one's end (of the reruns the
surviving workers followed). The lower bound is ``max(sum of expected reruns / cap,
longest)``, the expected rerun being the run's duration times its share of tests that
did not pass (the simulator adds +-20 % noise, so a run may beat it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import redis
from common import API_KEY, SimProcess, emit, sim_process
from shared import _redis as redis_server

from rerunorch.sharding import Shard

__all__ = ["fleet"]

WORKERS = 4
_LIMIT = 900.0  # wall seconds one configuration may take
_KILL_AFTER = 6  # reruns the victim triggers before it is killed (2 with --quick)
_RERUNORCH = (sys.executable, "-m", "rerunorch")


def _expected(sim: SimProcess, ids: list[int]) -> dict[int, float]:
    """Each target's expected rerun length (its duration times the share of its tests that
    did not pass), read from the simulator before anything is swept."""
    found = {}
    for target in ids:
        request = urllib.request.Request(
            f"{sim.base_url}/api/v1/execution_results/{target}",
            headers={"Authorization": f"Bearer {API_KEY}"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            run = json.loads(answer.read())
        total = max(run["totalCount"] or 1, 1)
        found[target] = run["duration"] / 1000 * (total - (run["passedCount"] or 0)) / total
    return found


def _worker(
    sim: SimProcess, targets: Path, scale: float, extra: list[str], *, loud: bool = False
) -> subprocess.Popen[str]:
    command = [
        *_RERUNORCH,
        "sweep",
        "--from-file",
        str(targets),
        "--base-url",
        sim.base_url,
        "--time-scale",
        str(scale),
        "--max-rounds",
        "1",
        "--rate",
        "50",
        "--concurrency",
        "8",
        *extra,
        *([] if loud else ["-q"]),
    ]
    return subprocess.Popen(
        command,
        env={**os.environ, "TESTSIGMA_API_KEY": API_KEY},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE if loud else subprocess.DEVNULL,
        text=True,
    )


def _wait_all(procs: list[subprocess.Popen[str]], started: float) -> float:
    try:
        for proc in procs:
            proc.wait(timeout=max(1.0, _LIMIT - (time.monotonic() - started)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
    return time.monotonic() - started


def _fleet_report(redis_url: str, name: str) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [
                *_RERUNORCH,
                "report",
                "--fleet",
                redis_url,
                "--fleet-name",
                name,
                "--report",
                out.name,
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        data: dict[str, Any] = json.loads(Path(out.name).read_text() or "{}")
    return data


def _fleet_run(
    sim: SimProcess,
    targets: Path,
    scale: float,
    redis_url: str,
    name: str,
    cap: int,
    *,
    kill: bool,
    lease: float,
    kill_after: int = _KILL_AFTER,
) -> dict[str, Any]:
    fleet = ["--fleet", redis_url, "--fleet-name", name, "--fleet-lease", str(lease)]
    fleet += ["--max-active", str(cap)]
    started = time.monotonic()
    procs = [_worker(sim, targets, scale, fleet, loud=kill and i == 0) for i in range(WORKERS)]
    killed_at = None
    if kill:
        victim = procs[0]
        assert victim.stderr is not None
        triggered = 0
        for line in victim.stderr:  # its own word that reruns run: no polling
            triggered += " rerun " in line and "finished" not in line
            if triggered >= kill_after:
                break
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        victim.stderr.close()
        killed_at = time.monotonic() - started
    elapsed = _wait_all(procs, started)
    report = _fleet_report(redis_url, name)
    results = report.get("results", [])
    stats = sim.stats()
    client = redis.Redis.from_url(redis_url)
    reclaimed = int(client.get(f"rerunorch:fleet:{name}:reclaimed") or 0)
    client.close()
    summary = report.get("summary", {})
    return {
        "makespan_simulated": round(elapsed * scale, 1),
        "server_makespan_seconds": summary.get("makespan_seconds"),
        "device_seconds": summary.get("device_seconds"),
        "elapsed": round(elapsed, 2),
        "killed_after": round(killed_at, 2) if killed_at is not None else None,
        "outcomes": len(results),
        "missing_outcomes": sum(r["outcome"] in ("interrupted",) for r in results),
        "claims_taken_over": reclaimed,
        "duplicates": stats["duplicate_rerun_attempts"],
        "reruns_created": stats["reruns_created"],
    }


def _shards_run(sim: SimProcess, targets: Path, scale: float, cap: int, work: Path) -> float:
    started = time.monotonic()
    procs = [
        _worker(
            sim,
            targets,
            scale,
            [
                *("--shard", f"{i}/{WORKERS}", "--max-active", str(max(1, cap // WORKERS))),
                *("--journal", str(work / f"shard-{i}.sqlite")),
            ],
        )
        for i in range(1, WORKERS + 1)
    ]
    return _wait_all(procs, started)


def _sim_options(count: int, scale: float) -> list[str]:
    return [
        *("--targets", str(count), "--passed-targets", "0", "--time-scale", str(scale)),
        *("--run-duration", "60", "7200", "--seed", "11"),
    ]


async def fleet(*, quick: bool) -> list[dict[str, Any]]:
    """Rows: a worker lost against none; static shards against the fleet."""
    count, scale, cap, lease = (12, 4000.0, 4, 1.0) if quick else (160, 400.0, 12, 2.0)
    rows = []
    with redis_server() as redis_url, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        runs: dict[str, dict[str, Any]] = {}
        bound = 0.0
        for kill in (False, True):
            with sim_process(*_sim_options(count, scale)) as sim:
                targets = work / "targets.txt"
                ids = sim.targets()
                targets.write_text("\n".join(map(str, ids)) + "\n")
                expected = _expected(sim, ids)
                bound = max(sum(expected.values()) / cap, max(expected.values()))
                name = f"bench-{'killed' if kill else 'whole'}"
                runs[name] = _fleet_run(
                    sim,
                    targets,
                    scale,
                    redis_url,
                    name,
                    cap,
                    kill=kill,
                    lease=lease,
                    kill_after=2 if quick else _KILL_AFTER,
                )
        whole, killed = runs["bench-whole"], runs["bench-killed"]
        rows.append(
            emit(
                "fleet",
                case="one-worker-killed",
                workers=WORKERS,
                targets=count,
                max_active=cap,
                lease_seconds=lease,
                time_scale=scale,
                no_loss=whole,
                one_killed=killed,
                lower_bound_simulated=round(bound, 1),
                makespan_ratio=round(killed["makespan_simulated"] / whole["makespan_simulated"], 3),
                duplicates=killed["duplicates"],
                missing_outcomes=killed["missing_outcomes"] + count - killed["outcomes"],
            )
        )
        rows.append(_long_shard(count, scale, cap, lease, redis_url, work))
    return rows


def _long_shard(
    count: int, scale: float, cap: int, lease: float, redis_url: str, work: Path
) -> dict[str, Any]:
    """Static shards against the fleet when shard 1 drew the long runs."""
    pool = count * 2
    with sim_process(*_sim_options(pool, scale)) as sim:
        expected = _expected(sim, sim.targets())
    middle = sorted(expected.values())[len(expected) // 2]
    first = Shard(1, WORKERS)
    chosen = [
        t for t, seconds in expected.items() if (t in first) == (seconds >= middle)
    ]  # shard 1: the long half; shards 2-4: the short half
    targets = work / "long-shard.txt"
    targets.write_text("\n".join(map(str, chosen)) + "\n")
    by_shard = [
        sum(expected[t] for t in chosen if t in Shard(i, WORKERS)) for i in range(1, WORKERS + 1)
    ]
    with sim_process(*_sim_options(pool, scale)) as sim:
        shards = _shards_run(sim, targets, scale, cap, work)
        shard_dups = sim.stats()["duplicate_rerun_attempts"]
    with sim_process(*_sim_options(pool, scale)) as sim:
        fleet_run = _fleet_run(
            sim, targets, scale, redis_url, "bench-long", cap, kill=False, lease=lease
        )
    total = sum(expected[t] for t in chosen)
    bound = max(total / cap, max(expected[t] for t in chosen))
    return emit(
        "fleet",
        case="long-shard",
        workers=WORKERS,
        targets=len(chosen),
        max_active=cap,
        time_scale=scale,
        expected_rerun_seconds_by_shard=[round(s) for s in by_shard],
        lower_bound_simulated=round(bound, 1),
        static_shards_makespan_simulated=round(shards * scale, 1),
        fleet_makespan_simulated=fleet_run["makespan_simulated"],
        fleet_over_shards=round(fleet_run["makespan_simulated"] / (shards * scale), 3),
        duplicates=fleet_run["duplicates"] + shard_dups,
        fleet_outcomes=fleet_run["outcomes"],
    )
