"""The console's verdict sentence, its counts line and the files it names."""

from __future__ import annotations

import pytest

from rerunorch.cli.summary import plain_counts, verdict, written_line
from rerunorch.report.digest import summary_counts
from rerunorch.report.model import Summary


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        (
            Summary(
                targets=12,
                triggered=12,
                passed=3,
                failed=9,
                failing_tests=24,
                flaky_tests=4,
                broken_tests=20,
                undecided_tests=4,
            ),
            "24 tests still fail in 9 of 12 runs (4 flaky tests): exit 1, some rerun still fails.",
        ),
        (
            Summary(targets=2, triggered=2, passed=1, failed=1, failing_tests=1, broken_tests=1),
            "1 test still fails in 1 of 2 runs: exit 1, some rerun still fails.",
        ),
        (
            Summary(targets=3, triggered=3, passed=2, failed=1, failed_untested=1),
            "1 of 3 runs still fails on rerun: exit 1, some rerun still fails.",
        ),
        (
            Summary(targets=5, triggered=5, passed=2, errors=2, interrupted=1, failed=0),
            "3 of 5 runs could not be rerun to the end (2 errors, 1 interrupted): "
            "exit 3, some run could not be rerun to its end.",
        ),
        (
            Summary(targets=4, triggered=4, failed=2, timed_out=1, passed=1, failing_tests=6),
            "1 of 4 runs could not be rerun to the end (1 timed out), and 6 tests still fail "
            "in 2 of 4 runs: exit 3, some run could not be rerun to its end.",
        ),
        (
            Summary(targets=3, triggered=3, passed=3, flaky_tests=1),
            "All 3 runs passed on rerun (1 flaky test): exit 0, nothing still fails.",
        ),
        (
            Summary(targets=3, triggered=2, passed=2, skipped=1),
            "All 3 runs ended well: 2 passed on rerun, the rest skipped: exit 0, "
            "nothing still fails.",
        ),
        (
            Summary(targets=2, skipped=2),
            "All 2 runs were skipped by the strategy: exit 0, nothing still fails.",
        ),
        (Summary(), "No targets were swept: exit 0, nothing still fails."),
        (
            Summary(targets=3, triggered=2, skipped=1),
            "2 reruns triggered and not followed, so not known yet; 1 of 3 runs ended well: "
            "exit 0, nothing still fails.",
        ),
    ],
)
def test_the_verdict_says_runs_and_tests_and_the_exit_code(summary: Summary, expected: str) -> None:
    assert verdict(summary) == expected


def test_a_dry_run_verdict_says_nothing_was_triggered() -> None:
    summary = Summary(targets=3, triggered=0, skipped=1)
    assert verdict(summary, dry_run=True) == (
        "Dry run: 2 runs would be rerun, nothing was triggered: exit 0, nothing still fails."
    )


def test_the_counts_line_keeps_runs_and_tests_apart() -> None:
    counts = summary_counts(
        Summary(
            targets=4, triggered=4, passed=1, failed=3, flaky_tests=2, failing_tests=7, errors=0
        )
    )
    runs, tests, requests = plain_counts(counts).split("; ")
    assert runs.startswith("4 targets, 4 reruns triggered, 1 reruns passed, 3 reruns still failing")
    assert tests == "tests: 2 flaky, 7 still failing"
    assert requests == "0 requests, 0 rate-limited answers"


def test_the_files_written_are_named_and_stdout_is_not() -> None:
    written = [("--report", "-"), ("--junit", "out/j.xml"), ("--markdown", "/tmp/summary.md")]
    assert written_line(written) == "reports: JUnit out/j.xml, Markdown /tmp/summary.md"
    assert written_line([("--report", "-")]) is None
    assert written_line([]) is None
