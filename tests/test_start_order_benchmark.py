"""The makespan benchmark still runs and prints its keys (no timing is asserted here).

The figures come from ``python benchmarks/run.py makespan`` at full size; see
docs/performance.md ("Start order").
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"


def test_makespan_runs_both_orders_once_each_and_prints_their_keys() -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "makespan", "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = [json.loads(line) for line in done.stdout.splitlines()]  # one JSON object a line
    assert [row["order"] for row in rows] == ["longest-first", "input-order"]
    for row in rows:
        assert {"makespan_seconds", "lower_bound_seconds", "ratio_to_lower_bound"} <= row.keys()
        # Correctness, not speed: each target rerun once, never more than the cap at once.
        assert row["reruns_created"] == row["targets"]
        assert row["duplicates"] == 0
        assert row["active_runs_peak"] <= row["max_active"]
        assert abs(row["report_device_seconds"] - row["device_seconds"]) < 0.2
