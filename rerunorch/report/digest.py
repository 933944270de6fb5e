"""What a notification says about a sweep, read from its report in one pass.

Notifiers (Slack, email, Teams, ...), the Markdown summary and the console all
tell the same story: a headline, the counts, the flaky and still-failing tests
(bounded lists with the total), the targets that could not be rerun, and the
duration. :func:`digest` reads it from a :class:`~rerunorch.report.model.SweepReport`
once; each renderer only lays it out.
"""

from __future__ import annotations

from typing import Generic, TypeVar

import attrs

from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.model import Summary, SweepReport
from rerunorch.report.text import duration_text, plural, utc_text

__all__ = ["Count", "Digest", "Listing", "Problem", "TestLine", "digest", "summary_counts"]

T = TypeVar("T")


@attrs.frozen
class Count:
    """One row of the counts table that every renderer shows.

    Attributes:
        key: What is counted: a :class:`~rerunorch.report.model.Summary` field
            (``targets``, ``errors``, ...) or ``not_followed``.
        label: The row's label, e.g. ``"Reruns still failing"``.
        value: The count.
    """

    key: str
    label: str
    value: int


# (key, label, shown when zero): the rows in the order every renderer shows them.
# The optional rows say what went wrong or was left open; a zero there is noise.
_ROWS = (
    ("targets", "Targets", True),
    ("triggered", "Reruns triggered", True),
    ("passed", "Reruns passed", True),
    ("failed", "Reruns still failing", True),
    ("skipped", "Skipped by the strategy", True),
    ("not_followed", "Triggered (not followed)", False),
    ("errors", "Errors", False),
    ("timed_out", "Timed out", False),
    ("interrupted", "Interrupted", False),
    ("flaky_tests", "Flaky tests", True),
    ("failing_tests", "Still-failing tests", True),
    ("requests", "Requests", True),
    ("rate_limited", "Rate-limited answers", True),
)


@attrs.frozen
class TestLine:
    """A flaky or still-failing test, and where it ran.

    Attributes:
        name: The test case's name (None if the server gave none, or the tests are not known).
        test_case_id: The test case's id.
        plan: The test plan's execution id.
        run: The execution-result id swept (the target).
        rerun: The rerun's execution-result id.
        evidence: Its verdict with the evidence, e.g. ``"broken: failed 9 of 9 runs,
            P=0.96"`` (None for a report without verdicts).
    """

    __test__ = False

    name: str | None
    test_case_id: int | None
    plan: int | None
    run: int
    rerun: int | None
    evidence: str | None = None

    @property
    def where(self) -> str:
        """``"plan 301, run 1001 → rerun 2001"`` (the plan and rerun when known)."""
        return _where(self.plan, self.run, self.rerun)


@attrs.frozen
class Problem:
    """A target that could not be rerun to its end.

    Attributes:
        run: The execution-result id swept.
        plan: The test plan's execution id.
        rerun: The rerun, if one was triggered.
        what: ``error``, ``timed out`` or ``interrupted``.
        error: What went wrong, on one line.
    """

    run: int
    plan: int | None
    rerun: int | None
    what: str
    error: str | None

    @property
    def where(self) -> str:
        """``"plan 304, run 1004 → rerun 2004"`` (the plan and rerun when known)."""
        return _where(self.plan, self.run, self.rerun)


@attrs.frozen
class Listing(Generic[T]):
    """The first items of a list, and how many there were in all.

    Attributes:
        items: At most the ``max_items`` asked for.
        total: How many there were.
    """

    items: tuple[T, ...]
    total: int

    @property
    def more(self) -> int:
        """How many were left out."""
        return self.total - len(self.items)


@attrs.frozen
class Digest:
    """A sweep's verdict, counts and lists, ready to render.

    Attributes:
        headline: E.g. ``"3 still failing, 1 error"`` or ``"all passed (2 flaky)"``.
        status: ``passed``, ``failing``, ``incomplete`` (errors, timeouts,
            interruptions and nothing failing) or ``none`` (no targets, or only
            triggered reruns).
        summary: The report's counts.
        counts: The counts table, row by row (the rows that are always there, and
            the optional ones that are not zero); see :func:`summary_counts`.
        not_followed: Reruns triggered and not followed (``--no-wait``, dry run).
        flaky: Tests that failed, then passed on rerun.
        failing: Tests that failed again on rerun.
        problems: Targets that could not be rerun to their end.
        started: When the sweep started, ``YYYY-MM-DD HH:MM:SS UTC``.
        duration: How long it took, in seconds (None if it has not finished).
        timing: ``Started <started>, took 12m 34s.`` (``Started <started>; not
            finished.`` while it runs).
        notes: The report's notes (problems outside any target).
    """

    headline: str
    status: str
    summary: Summary
    counts: tuple[Count, ...]
    not_followed: int
    flaky: Listing[TestLine]
    failing: Listing[TestLine]
    problems: Listing[Problem]
    started: str
    duration: float | None
    timing: str
    notes: tuple[str, ...]


class _Collect(Generic[T]):
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.items: list[T] = []
        self.total = 0

    def add(self, item: T) -> None:
        self.total += 1
        if len(self.items) < self.limit:
            self.items.append(item)

    def listing(self) -> Listing[T]:
        return Listing(tuple(self.items), self.total)


def digest(report: SweepReport, *, max_items: int = 50) -> Digest:
    """Read ``report`` (its results once) into a :class:`Digest`.

    Args:
        report: The sweep's report.
        max_items: How many items each list keeps; the rest are only counted.

    Raises:
        ValueError: ``max_items`` is negative.
    """
    if max_items < 0:
        raise ValueError(f"max_items must be 0 or more, not {max_items}")
    flaky: _Collect[TestLine] = _Collect(max_items)
    failing: _Collect[TestLine] = _Collect(max_items)
    problems: _Collect[Problem] = _Collect(max_items)
    not_followed = 0
    for outcome in report.results:
        if outcome.outcome is OutcomeKind.TRIGGERED:
            not_followed += 1
        for test in outcome.flaky:
            flaky.add(_line(test, outcome))
        for test in outcome.still_failing:
            failing.add(_line(test, outcome))
        if outcome.outcome is OutcomeKind.FAILED and not outcome.still_failing:
            failing.add(_line(TestRef(None), outcome))
        if outcome.outcome.incomplete:
            problems.add(_problem(outcome))
    summary = report.summary
    started = utc_text(report.started_at)
    duration = None if report.finished_at is None else report.finished_at - report.started_at
    headline, status = _headline(summary, not_followed)
    return Digest(
        headline=headline,
        status=status,
        summary=summary,
        counts=summary_counts(summary, not_followed=not_followed),
        not_followed=not_followed,
        flaky=flaky.listing(),
        failing=failing.listing(),
        problems=problems.listing(),
        started=started,
        duration=duration,
        timing=_timing(started, duration, summary),
        notes=tuple(report.notes),
    )


def summary_counts(summary: Summary, *, not_followed: int = 0) -> tuple[Count, ...]:
    """The counts table of ``summary``: every row that is always shown, and the optional
    ones (``not_followed``, ``errors``, ``timed_out``, ``interrupted``) that are not zero.

    >>> [c.label for c in summary_counts(Summary(targets=1, passed=1))][:3]
    ['Targets', 'Reruns triggered', 'Reruns passed']
    """
    values = {**summary.to_json(), "not_followed": not_followed}
    return tuple(
        Count(key, label, values[key]) for key, label, always in _ROWS if always or values[key]
    )


def _where(plan: int | None, run: int, rerun: int | None) -> str:
    plan_part = f"plan {plan}, " if plan is not None else ""
    rerun_part = f" → rerun {rerun}" if rerun is not None else ""
    return f"{plan_part}run {run}{rerun_part}"


def _timing(started: str, duration: float | None, summary: Summary) -> str:
    text = (
        f"Started {started}; not finished."
        if duration is None
        else f"Started {started}, took {duration_text(duration)}."
    )
    if summary.device_seconds is not None and summary.makespan_seconds is not None:
        text += (
            f" Reruns: {duration_text(summary.device_seconds)} of device time,"
            f" {duration_text(summary.makespan_seconds)} from the first start to the last end."
        )
    return text


def _line(test: TestRef, outcome: Outcome) -> TestLine:
    judged = (
        t
        for t in outcome.tests
        if (t.test_case_id, t.test_case_name) == (test.test_case_id, test.test_case_name)
    )
    verdict = next(judged, None)
    return TestLine(
        name=test.test_case_name,
        test_case_id=test.test_case_id,
        plan=outcome.execution_id,
        run=outcome.target,
        rerun=outcome.rerun_id,
        evidence=verdict.evidence_text if verdict is not None else None,
    )


def _problem(outcome: Outcome) -> Problem:
    return Problem(
        run=outcome.target,
        plan=outcome.execution_id,
        rerun=outcome.rerun_id,
        what=outcome.outcome.value.replace("_", " "),
        error=outcome.error,
    )


def _headline(summary: Summary, not_followed: int) -> tuple[str, str]:
    parts = []
    if summary.failing_tests:
        parts.append(f"{summary.failing_tests} still failing")
    elif summary.failed:
        parts.append(f"{plural(summary.failed, 'rerun')} still failing")
    for count, word in (
        (summary.errors, plural(summary.errors, "error")),
        (summary.timed_out, f"{summary.timed_out} timed out"),
        (summary.interrupted, f"{summary.interrupted} interrupted"),
    ):
        if count:
            parts.append(word)
    if parts:
        failing = summary.failing_tests or summary.failed
        return ", ".join(parts), "failing" if failing else "incomplete"
    if not summary.targets:
        return "no targets", "none"
    flaky = f" ({summary.flaky_tests} flaky)" if summary.flaky_tests else ""
    if not not_followed:
        return f"all passed{flaky}", "passed"
    triggered = f"{plural(not_followed, 'rerun')} triggered"
    if summary.passed + summary.skipped:
        return f"{summary.passed + summary.skipped} passed{flaky}, {triggered}", "passed"
    return triggered, "none"
