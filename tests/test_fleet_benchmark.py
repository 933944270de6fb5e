"""The ``fleet`` benchmark still runs and prints its keys (no timing is asserted here).

In a file of its own, in tests/test_benchmarks_smoke.py's style; the figures come from
``python benchmarks/run.py fleet`` at full size (docs/performance.md).
"""

from __future__ import annotations

from redis_server import redis_server_or_skip
from test_benchmarks_smoke import MACHINE_KEYS, run_quick


def test_fleet_runs_and_loses_nothing_when_a_worker_is_killed() -> None:
    redis_server_or_skip()  # the benchmark starts its own (CI requires it)
    rows = {row["case"]: row for row in run_quick("fleet")}
    assert set(rows) == {"one-worker-killed", "long-shard"}
    killed, long_shard = rows["one-worker-killed"], rows["long-shard"]
    assert killed.keys() >= MACHINE_KEYS | {"makespan_ratio", "no_loss", "one_killed"}
    # Correctness, not speed: these hold at any size.
    assert killed["duplicates"] == 0
    assert killed["missing_outcomes"] == 0
    assert isinstance(killed["one_killed"], dict)
    assert killed["one_killed"]["reruns_created"] == killed["targets"]
    assert long_shard["duplicates"] == 0
    assert long_shard["fleet_outcomes"] == long_shard["targets"]
    assert {"static_shards_makespan_simulated", "fleet_makespan_simulated"} <= long_shard.keys()
