"""The report as a short Markdown summary, fit for a CI job summary.

For example GitHub's ``$GITHUB_STEP_SUMMARY``::

    ## rerunorch: 3 still failing

    | | Count |
    |---|---:|
    | Targets | 12 |
    ...

    ### Still failing (3)

    | Test | Test case | Run | Rerun |
    |---|---:|---:|---:|
    | Checkout \\| guest | 17 | 1001 | 2001 |

Each list stops after ``max_items`` rows with "... and N more"; names are
escaped so that ``|``, backticks, HTML and newlines cannot break a table.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path

import attrs

from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report import Summary, SweepReport
from rerunorch.reports._text import one_line, shorten

__all__ = ["markdown_summary", "write_markdown"]

# A cell longer than this is cut: a CI summary is for skimming, and GitHub
# refuses a step summary over 1 MiB.
_CELL_LIMIT = 200
# Backslash escapes work for any ASCII punctuation in CommonMark; these are the
# ones that start emphasis, code, links, HTML, math or headings, or end a cell.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&$#])")
# What makes a line a list item, quote or heading underline when it starts one.
_BLOCK_START = re.compile(r"^([-+=])|^(\d+)([.)])")


@attrs.define
class _Rows:
    """The first ``limit`` rows of a table, and how many there were in all."""

    limit: int
    rows: list[str] = attrs.Factory(list)
    total: int = 0

    def add(self, row: str) -> None:
        self.total += 1
        if len(self.rows) < self.limit:
            self.rows.append(row)

    def more(self) -> int:
        return self.total - len(self.rows)


def markdown_summary(report: SweepReport, *, max_items: int = 50) -> str:
    """The Markdown summary of *report*.

    Args:
        report: The sweep's report; its results are read once.
        max_items: How many rows each list (flaky tests, still-failing tests,
            targets not rerun) shows before "... and N more".

    Raises:
        ValueError: *max_items* is negative.
    """
    if max_items < 0:
        raise ValueError(f"max_items must be 0 or more, not {max_items}")
    flaky, failing, problems = _Rows(max_items), _Rows(max_items), _Rows(max_items)
    not_followed = 0
    for outcome in report.results:
        if outcome.outcome is OutcomeKind.TRIGGERED:
            not_followed += 1
        for test in outcome.flaky:
            flaky.add(_test_row(test, outcome))
        for test in outcome.still_failing:
            failing.add(_test_row(test, outcome))
        if outcome.outcome is OutcomeKind.FAILED and not outcome.still_failing:
            failing.add(_row("*(tests not known)*", "", str(outcome.target), _id(outcome.rerun_id)))
        if outcome.outcome.incomplete:
            problems.add(_problem_line(outcome))

    summary = report.summary
    lines = [f"## rerunorch: {_headline(summary, not_followed=not_followed)}", ""]
    lines += _counts_table(summary, not_followed=not_followed)
    lines += ["", _timing(report)]
    lines += _table("Flaky tests", "failed, then passed on rerun", flaky)
    lines += _table("Still failing", "failed again on rerun", failing)
    if problems.total:
        lines += ["", f"### Not rerun to the end ({problems.total})", ""]
        lines += problems.rows
        lines += _more(problems)
    if report.notes:
        lines += ["", "### Notes", ""]
        lines += [f"- {_escape(note)}" for note in report.notes]
    return "\n".join(lines) + "\n"


def write_markdown(
    report: SweepReport,
    path: str | os.PathLike[str],
    *,
    max_items: int = 50,
    append: bool = False,
) -> None:
    """Write :func:`markdown_summary` of *report* to *path* (UTF-8).

    Args:
        append: Add to the end of the file instead of replacing it (a CI job
            summary file may already hold what earlier commands wrote).

    Raises:
        OSError: The file could not be written.
        ValueError: *max_items* is negative.
    """
    text = markdown_summary(report, max_items=max_items)
    with Path(path).open("a" if append else "w", encoding="utf-8") as fh:
        fh.write(text)


def _headline(summary: Summary, *, not_followed: int) -> str:
    parts = []
    if summary.failing_tests:
        parts.append(f"{summary.failing_tests} still failing")
    elif summary.failed:
        parts.append(f"{summary.failed} {_plural(summary.failed, 'rerun')} still failing")
    for count, word in (
        (summary.errors, _plural(summary.errors, "error")),
        (summary.timed_out, "timed out"),
        (summary.interrupted, "interrupted"),
    ):
        if count:
            parts.append(f"{count} {word}")
    if parts:
        return ", ".join(parts)
    if not summary.targets:
        return "no targets"
    flaky = f" ({summary.flaky_tests} flaky)" if summary.flaky_tests else ""
    triggered = f"{not_followed} {_plural(not_followed, 'rerun')} triggered"
    if not not_followed:
        return f"all passed{flaky}"
    if summary.passed + summary.skipped:
        return f"{summary.passed + summary.skipped} passed{flaky}, {triggered}"
    return triggered


def _counts_table(summary: Summary, *, not_followed: int) -> list[str]:
    rows: list[tuple[str, int | str]] = [
        ("Targets", summary.targets),
        ("Reruns triggered", summary.triggered),
        ("Reruns passed", summary.passed),
        ("Reruns still failing", summary.failed),
        ("Skipped by the strategy", summary.skipped),
    ]
    optional = [
        ("Triggered (not followed)", not_followed),
        ("Errors", summary.errors),
        ("Timed out", summary.timed_out),
        ("Interrupted", summary.interrupted),
    ]
    rows += [(label, count) for label, count in optional if count]
    rows += [
        ("Flaky tests", summary.flaky_tests),
        ("Still-failing tests", summary.failing_tests),
        ("Requests (rate-limited)", f"{summary.requests} ({summary.rate_limited})"),
    ]
    return ["| | Count |", "|---|---:|"] + [f"| {label} | {count} |" for label, count in rows]


def _table(title: str, meaning: str, rows: _Rows) -> list[str]:
    if not rows.total:
        return []
    lines = ["", f"### {title} ({rows.total})", "", f"Tests that {meaning}.", ""]
    if rows.rows:
        lines += ["| Test | Test case | Run | Rerun |", "|---|---:|---:|---:|", *rows.rows]
    return lines + _more(rows)


def _more(rows: _Rows) -> list[str]:
    return ["", f"... and {rows.more()} more"] if rows.more() else []


def _test_row(test: TestRef, outcome: Outcome) -> str:
    name = _escape(test.test_case_name) if test.test_case_name else "*(no name)*"
    return _row(name, _id(test.test_case_id), str(outcome.target), _id(outcome.rerun_id))


def _row(*cells: str) -> str:
    return "| " + " | ".join(cells) + " |"


def _problem_line(outcome: Outcome) -> str:
    rerun = f", rerun {outcome.rerun_id}" if outcome.rerun_id is not None else ""
    what = outcome.outcome.value.replace("_", " ")
    detail = f": {_escape(outcome.error)}" if outcome.error else ""
    return f"- run {outcome.target}{rerun}: {what}{detail}"


def _timing(report: SweepReport) -> str:
    started = dt.datetime.fromtimestamp(report.started_at, tz=dt.timezone.utc)
    start = started.strftime("%Y-%m-%d %H:%M:%S UTC")
    if report.finished_at is None:
        return f"Started {start}; not finished."
    return f"Started {start}, took {_duration(report.finished_at - report.started_at)}."


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{secs}s"


def _escape(text: str) -> str:
    """*text* as one line of inline Markdown that shows literally, even in a table cell."""
    escaped = _MARKDOWN.sub(r"\\\1", shorten(one_line(text), _CELL_LIMIT))
    return _BLOCK_START.sub(_escape_block_start, escaped)


def _escape_block_start(match: re.Match[str]) -> str:
    if match[1]:
        return "\\" + match[1]
    return match[2] + "\\" + match[3]


def _id(value: int | None) -> str:
    return "" if value is None else str(value)


def _plural(count: int, word: str) -> str:
    return word if count == 1 else word + "s"
