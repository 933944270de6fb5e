"""The JSON report's keys as design.md fixes them (other programs read these)."""

from __future__ import annotations

from typing import Any

__all__ = ["RESULT_KEYS", "SUMMARY_KEYS", "SUMMARY_TIME_KEYS", "TEST_KEYS", "check_design_keys"]

SUMMARY_KEYS = {
    "targets",
    "triggered",
    "passed",
    "failed",
    "skipped",
    "errors",
    "timed_out",
    "interrupted",
    "flaky_tests",
    "failing_tests",
    "requests",
    "rate_limited",
    "broken_tests",
    "undecided_tests",
    "rounds",
}
# The summary's times (docs/scaling.md, "start order"): seconds, or null when no rerun ended.
SUMMARY_TIME_KEYS = {"device_seconds", "makespan_seconds"}
RESULT_KEYS = {
    "target",
    "execution_id",
    "rerun_id",
    "outcome",
    "result",
    "error",
    "flaky",
    "still_failing",
    "rounds",
    "tests",
}
TEST_KEYS = {
    "testCaseId",
    "testCaseName",
    "verdict",
    "runs",
    "failures",
    "p_broken",
    "bound",
    "run_ids",
    "iterations",
}
ITERATION_KEYS = {"setName", "verdict", "runs", "failures"}
VERDICTS = {"flaky", "broken", "undecided", "passed", "not_run"}
# Keys report.py adds to a result beyond design.md, only when they carry something.
RESULT_EXTRA_KEYS = {"reason", "re_run_type", "adopted", "polls"}
OUTCOMES = {"passed", "failed", "skipped", "triggered", "timed_out", "error", "interrupted"}


def check_design_keys(data: dict[str, Any], *, notes: bool) -> None:
    top = {"schema", "started_at", "finished_at", "config", "summary", "results"}
    assert set(data) == (top | {"notes"} if notes else top)
    assert data["schema"] == 2
    assert set(data["summary"]) == SUMMARY_KEYS | SUMMARY_TIME_KEYS
    counts = {key: data["summary"][key] for key in SUMMARY_KEYS}
    assert all(type(value) is int for value in counts.values())
    times = [data["summary"][key] for key in SUMMARY_TIME_KEYS]
    assert all(value is None or type(value) in (int, float) for value in times)
    for item in data["results"]:
        assert RESULT_KEYS <= set(item) <= RESULT_KEYS | RESULT_EXTRA_KEYS
        assert item["outcome"] in OUTCOMES
        for test in item["flaky"] + item["still_failing"]:
            assert set(test) == {"testCaseId", "testCaseName"}
        assert type(item["rounds"]) is int
        for record in item["tests"]:
            assert set(record) == TEST_KEYS
            assert record["verdict"] in VERDICTS
            for iteration in record["iterations"]:
                assert set(iteration) == ITERATION_KEYS
                assert iteration["verdict"] in VERDICTS
