"""A small, fixed sweep report for testing notifiers and report writers."""

from __future__ import annotations

from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.model import SweepReport

__all__ = ["SAMPLE_STARTED", "sample_report"]

SAMPLE_STARTED = 1_772_330_400.0  # 2026-03-01 02:00:00 UTC


def sample_report() -> SweepReport:
    """Four targets: one passed with two flaky tests (one with markup in its name), one still
    failing, one skipped, one timed out; 57 requests, 2 rate-limited, 754 s long."""
    report = SweepReport(started_at=SAMPLE_STARTED, config={"strategy": "failed"})
    report.add(
        Outcome(
            target=1001,
            execution_id=301,
            rerun_id=2001,
            outcome=OutcomeKind.PASSED,
            result="SUCCESS",
            flaky=(TestRef(17, "Login with SSO"), TestRef(18, "Search <by> tag & filter")),
        )
    )
    report.add(
        Outcome(
            target=1002,
            execution_id=302,
            rerun_id=2002,
            outcome=OutcomeKind.FAILED,
            result="FAILURE",
            still_failing=(TestRef(41, "Checkout as guest"),),
        )
    )
    report.add(Outcome(target=1003, execution_id=303, outcome=OutcomeKind.SKIPPED))
    report.add(
        Outcome(
            target=1004,
            execution_id=304,
            rerun_id=2004,
            outcome=OutcomeKind.TIMED_OUT,
            error="not finished after 3600 s",
        )
    )
    report.summary.requests = 57
    report.summary.rate_limited = 2
    report.finished_at = SAMPLE_STARTED + 754.0
    return report
