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

import os
import re

from rerunorch.report.digest import Count, Listing, Problem, TestLine, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.output import STDOUT, is_job_summary, open_output
from rerunorch.report.text import one_line

__all__ = ["markdown_summary", "write_markdown"]

# A cell longer than this is cut: a CI summary is for skimming, and GitHub
# refuses a step summary over 1 MiB.
_CELL_LIMIT = 200
# Backslash escapes work for any ASCII punctuation in CommonMark; these are the
# ones that start emphasis, code, links, HTML, math or headings, or end a cell.
_MARKDOWN = re.compile(r"([\\`*_\[\]<>|~&$#])")
# What makes a line a list item, quote or heading underline when it starts one.
_BLOCK_START = re.compile(r"^([-+=])|^(\d+)([.)])")


def markdown_summary(report: SweepReport, *, max_items: int = 50) -> str:
    """The Markdown summary of *report*.

    Args:
        report: The sweep's report; its results are read once (see :func:`~rerunorch.digest`).
        max_items: How many rows each list (flaky tests, still-failing tests,
            targets not rerun) shows before "... and N more".

    Raises:
        ValueError: *max_items* is negative.
    """
    story = digest(report, max_items=max_items)
    lines = [f"## rerunorch: {story.headline}", ""]
    lines += _counts_table(story.counts)
    lines += ["", story.timing]
    lines += _table("Flaky tests", "failed, then passed on rerun", story.flaky)
    lines += _table("Still failing", "failed again on rerun", story.failing)
    if story.problems.total:
        lines += ["", f"### Not rerun to the end ({story.problems.total})", ""]
        lines += [_problem_line(problem) for problem in story.problems.items]
        lines += _more(story.problems)
    if story.notes:
        lines += ["", "### Notes", ""]
        lines += [f"- {_escape(note)}" for note in story.notes]
    return "\n".join(lines) + "\n"


def write_markdown(
    report: SweepReport,
    path: str | os.PathLike[str],
    *,
    max_items: int = 50,
    append: bool | None = None,
) -> None:
    """Write :func:`markdown_summary` of *report* to *path* (UTF-8).

    *path* is as for :func:`~rerunorch.report.output.open_output`: a regular
    file is replaced atomically, ``-`` is stdout, anything else is written in place.

    Args:
        append: Add to the end of the file (on a line of its own) instead of
            replacing it. None, the default, appends only to the CI job's summary
            file, ``$GITHUB_STEP_SUMMARY``, which earlier commands of the step may
            have written to (:func:`~rerunorch.report.output.is_job_summary`).

    Raises:
        OSError: The file could not be written.
        ValueError: *max_items* is negative.
    """
    text = markdown_summary(report, max_items=max_items)
    if append is None:
        append = is_job_summary(path)
    if append and not _ends_a_line(path):
        text = "\n" + text  # the heading must start a line of its own
    with open_output(path, append=append) as fh:
        fh.write(text)


def _ends_a_line(path: str | os.PathLike[str]) -> bool:
    """True unless ``path`` is a regular file whose last character is not a newline."""
    if os.fspath(path) == STDOUT or not os.path.isfile(path):
        return True  # never opened for reading: a FIFO would wait for a writer
    try:
        with open(path, "rb") as fh:
            if fh.seek(0, os.SEEK_END) == 0:
                return True
            fh.seek(-1, os.SEEK_END)
            return fh.read(1) == b"\n"
    except OSError:
        return True


def _counts_table(counts: tuple[Count, ...]) -> list[str]:
    return ["| | Count |", "|---|---:|"] + [f"| {c.label} | {c.value} |" for c in counts]


def _table(title: str, meaning: str, tests: Listing[TestLine]) -> list[str]:
    if not tests.total:
        return []
    lines = ["", f"### {title} ({tests.total})", "", f"Tests that {meaning}.", ""]
    if tests.items and any(test.evidence for test in tests.items):
        lines += ["| Test | Verdict | Test case | Run | Rerun |", "|---|---|---:|---:|---:|"]
        lines += [_test_row(test, verdict=True) for test in tests.items]
    elif tests.items:
        lines += ["| Test | Test case | Run | Rerun |", "|---|---:|---:|---:|"]
        lines += [_test_row(test) for test in tests.items]
    return lines + _more(tests)


def _more(listing: Listing[TestLine] | Listing[Problem]) -> list[str]:
    return ["", f"... and {listing.more} more"] if listing.more else []


def _test_row(test: TestLine, *, verdict: bool = False) -> str:
    if test.name is None and test.test_case_id is None:
        name = "*(tests not known)*"  # a failed rerun whose test cases could not be read
    else:
        name = _escape(test.name) if test.name else "*(no name)*"
    cells = [name, _id(test.test_case_id), str(test.run), _id(test.rerun)]
    if verdict:
        cells.insert(1, _escape(test.evidence) if test.evidence else "")
    return "| " + " | ".join(cells) + " |"


def _problem_line(problem: Problem) -> str:
    rerun = f", rerun {problem.rerun}" if problem.rerun is not None else ""
    detail = f": {_escape(problem.error)}" if problem.error else ""
    return f"- run {problem.run}{rerun}: {problem.what}{detail}"


def _escape(text: str) -> str:
    """*text* as one line of inline Markdown that shows literally, even in a table cell."""
    escaped = _MARKDOWN.sub(r"\\\1", one_line(text, _CELL_LIMIT))
    return _BLOCK_START.sub(_escape_block_start, escaped)


def _escape_block_start(match: re.Match[str]) -> str:
    if match[1]:
        return "\\" + match[1]
    return match[2] + "\\" + match[3]


def _id(value: int | None) -> str:
    return "" if value is None else str(value)
