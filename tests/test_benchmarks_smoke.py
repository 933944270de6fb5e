"""The benchmarks still run and print their keys (no timing is asserted here).

The figures themselves come from ``python benchmarks/run.py SCENARIO`` at full
size; see docs/performance.md.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

RUN = Path(__file__).resolve().parent.parent / "benchmarks" / "run.py"

MACHINE_KEYS = {"scenario", "cpu_count", "cpu_model", "python"}


def run_quick(*scenarios: str) -> list[dict[str, object]]:
    done = subprocess.run(
        [sys.executable, str(RUN), *scenarios, "--quick"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines, done.stderr
    return [json.loads(line) for line in lines]  # every line is one JSON object


def test_faults_and_polling_run_and_print_their_keys() -> None:
    rows = run_quick("faults", "polling")
    by_scenario = {row["scenario"]: row for row in rows}
    assert set(by_scenario) == {"faults", "polling"}
    faults, polling = by_scenario["faults"], by_scenario["polling"]
    assert faults.keys() >= MACHINE_KEYS
    assert {"targets", "reruns_created", "duplicates", "missing_outcomes"} <= faults.keys()
    # Correctness, not speed: these hold at any size.
    assert faults["reruns_created"] == faults["targets"]
    assert faults["duplicates"] == 0
    assert faults["missing_outcomes"] == 0
    assert {"mean_lag_fraction", "mean_polls"} <= polling.keys()


def test_an_unknown_scenario_is_refused() -> None:
    done = subprocess.run(
        [sys.executable, str(RUN), "no-such-scenario"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert "invalid choice" in done.stderr


def test_discovery_runs_and_takes_every_run_through_the_pacer() -> None:
    (row,) = run_quick("discovery")
    assert {"peak_rss_mb_1k", "peak_rss_mb_100k", "growth_ratio"} <= row.keys()
    for size in (row["small"], row["large"]):
        assert isinstance(size, dict)
        assert size["taken"] == size["runs"]
        assert size["requests_outside_pacer"] == 0
        assert size["requests_served"] == size["pages"]


def test_verdicts_compares_three_policies_on_one_truth() -> None:
    rows = run_quick("verdicts")
    summary = {row["policy"]: row for row in rows if row["scenario"] == "verdicts-summary"}
    assert set(summary) == {"one-rerun", "until-pass-3", "adaptive"}
    # One truth (the same seeds) for all three; a broken test never passes, so never "flaky".
    assert len({(row["failing_tests"], row["truly_broken"]) for row in summary.values()}) == 1
    assert all(row["broken_labeled_flaky"] == 0 and row["duplicates"] == 0 for row in rows)
    # The same draws at the same depth: more rounds prove at least the flaky tests fewer did.
    proven = [summary[name]["flaky_proven"] for name in ("one-rerun", "until-pass-3", "adaptive")]
    assert proven == sorted(proven)
