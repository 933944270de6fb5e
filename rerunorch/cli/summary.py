"""What the console says when a sweep has ended: counts of runs apart from counts of
tests, a verdict in one sentence with what the exit code means, and the files written.

A *run* is one execution result swept (a target, with its rerun); a *test* is one
test case of a run. One still-failing run may hold many still-failing tests, so
the two are never counted in one list.

The tests named are grouped by run, each run with a link to its page in
Testsigma (``--app-url``/``app_url``, a pattern with ``{id}``; the default is the
run page of app.testsigma.com).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import attrs

from rerunorch.errors import ConfigError
from rerunorch.report.digest import Count, TestLine
from rerunorch.report.model import Summary, exit_code_for
from rerunorch.report.text import plural

__all__ = [
    "DEFAULT_APP_URL",
    "EXIT_MEANINGS",
    "CountGroup",
    "RunGroup",
    "by_run",
    "check_app_url",
    "count_groups",
    "plain_counts",
    "run_link",
    "verdict",
    "written_line",
]

DEFAULT_APP_URL = "https://app.testsigma.com/ui/td/runs/{id}"
"""Where Testsigma shows a run (``{id}``: its execution-result id)."""

EXIT_MEANINGS = {
    0: "nothing still fails",
    1: "some rerun still fails",
    2: "nothing was sent",
    3: "some run could not be rerun to its end",
}
"""What each exit code of ``sweep`` means, as the verdict says it."""

_TESTS = {"flaky_tests": "flaky", "failing_tests": "still failing"}
_TRAFFIC = frozenset({"requests", "rate_limited"})
_KINDS = {"--report": "JSON", "--junit": "JUnit", "--markdown": "Markdown"}


@attrs.frozen
class CountGroup:
    """Some rows of the counts table that count one kind of thing.

    Attributes:
        title: ``"runs"``, ``"tests"`` or ``"requests"``.
        counts: Its rows, in the digest's order.
    """

    title: str
    counts: tuple[Count, ...]


@attrs.frozen
class RunGroup:
    """The tests named of one run (in the digest's order).

    Attributes:
        where: ``"plan 301, run 1001 → rerun 2001"``.
        page: The id of the run whose page is linked (the rerun, else the run).
        tests: Its tests.
    """

    where: str
    page: int
    tests: tuple[TestLine, ...]


def by_run(tests: Iterable[TestLine]) -> Iterator[RunGroup]:
    """``tests`` grouped by the run they are of (the digest lists a run's tests together);
    in a run, broken tests first, then undecided ones, then those never run."""
    group: list[TestLine] = []
    for test in tests:
        if group and (group[0].run, group[0].rerun) != (test.run, test.rerun):
            yield _group(group)
            group = []
        group.append(test)
    if group:
        yield _group(group)


# A run's tests by what matters most: broken, then undecided, then never run.
_RANK = {"broken": 0, "undecided": 1, "not_run": 2}


def _group(tests: list[TestLine]) -> RunGroup:
    first = tests[0]
    page = first.rerun if first.rerun is not None else first.run
    ranked = sorted(tests, key=lambda t: _RANK.get((t.evidence or "").split(":", 1)[0], 3))
    return RunGroup(first.where, page, tuple(ranked))


def check_app_url(pattern: str, where: str = "--app-url") -> str:
    """``pattern`` if it makes a web address of a run id, else a :class:`ConfigError`.

    >>> check_app_url("https://t.example/runs/{id}")
    'https://t.example/runs/{id}'
    """
    try:
        link = pattern.format(id=1)
    except (KeyError, IndexError, ValueError):
        link = ""
    if "{id}" not in pattern or not link.startswith(("https://", "http://")):
        raise ConfigError(
            f"{where}: {pattern!r} is not a web address with {{id}} (e.g. {DEFAULT_APP_URL})"
        )
    return pattern


def run_link(pattern: str, run_id: int) -> str:
    """The page of run ``run_id`` in Testsigma.

    >>> run_link(DEFAULT_APP_URL, 2001)
    'https://app.testsigma.com/ui/td/runs/2001'
    """
    return pattern.format(id=run_id)


def count_groups(counts: Iterable[Count]) -> tuple[CountGroup, ...]:
    """The digest's counts in three groups: runs, tests and requests (empty ones left out)."""
    rows = tuple(counts)
    groups = (
        CountGroup("runs", tuple(c for c in rows if c.key not in _TESTS and c.key not in _TRAFFIC)),
        CountGroup("tests", tuple(c for c in rows if c.key in _TESTS)),
        CountGroup("requests", tuple(c for c in rows if c.key in _TRAFFIC)),
    )
    return tuple(group for group in groups if group.counts)


def plain_counts(counts: Iterable[Count]) -> str:
    """The counts on one line, runs apart from tests.

    >>> from rerunorch.report.digest import summary_counts
    >>> plain_counts(summary_counts(Summary(targets=2, triggered=2, failed=2, failing_tests=5)))
    '2 targets, 2 reruns triggered, 0 reruns passed, 2 reruns still failing, 0 skipped by the \
strategy; tests: 0 flaky, 5 still failing; 0 requests, 0 rate-limited answers'
    """
    parts = []
    for group in count_groups(counts):
        if group.title == "tests":
            tests = ", ".join(f"{c.value} {_TESTS[c.key]}" for c in group.counts)
            parts.append(f"tests: {tests}")
        else:
            parts.append(", ".join(f"{c.value} {c.label.lower()}" for c in group.counts))
    return "; ".join(parts)


def verdict(summary: Summary, *, dry_run: bool = False) -> str:
    """The sweep's verdict in one sentence, ending with its exit code and what it means.

    >>> verdict(Summary(targets=3, passed=3, flaky_tests=2))
    'All 3 runs passed on rerun (2 flaky tests): exit 0, nothing still fails.'
    """
    code = exit_code_for(summary)
    if code == 3:
        sentence = _unfinished(summary)
    elif code == 1:
        sentence = _still_failing(summary)
    else:
        sentence = _passed(summary, dry_run=dry_run)
    return f"{sentence}: exit {code}, {EXIT_MEANINGS[code]}."


def written_line(written: Sequence[tuple[str, str]]) -> str | None:
    """``"reports: JSON r.json, JUnit j.xml"`` for the reports written to files, or None."""
    files = [f"{_KINDS.get(flag, flag)} {path}" for flag, path in written if path != "-"]
    return f"reports: {', '.join(files)}" if files else None


def _unfinished(summary: Summary) -> str:
    broken = summary.errors + summary.timed_out + summary.interrupted
    kinds = [
        plural(count, word) if word == "error" else f"{count} {word}"
        for count, word in (
            (summary.errors, "error"),
            (summary.timed_out, "timed out"),
            (summary.interrupted, "interrupted"),
        )
        if count
    ]
    sentence = (
        f"{broken} of {plural(summary.targets, 'run')} could not be rerun to the end "
        f"({', '.join(kinds)})"
    )
    if summary.failed:
        sentence += f", and {_failing_part(summary)}"
    return sentence


def _still_failing(summary: Summary) -> str:
    sentence = _failing_part(summary)
    return sentence[0].upper() + sentence[1:] + _flaky_part(summary)


def _failing_part(summary: Summary) -> str:
    runs = f"{summary.failed} of {plural(summary.targets, 'run')}"
    if summary.failing_tests:
        tests = plural(summary.failing_tests, "test")
        return f"{tests} still {'fails' if summary.failing_tests == 1 else 'fail'} in {runs}"
    return f"{runs} still {'fails' if summary.failed == 1 else 'fail'} on rerun"


def _flaky_part(summary: Summary) -> str:
    if not summary.flaky_tests:
        return ""
    return f" ({plural(summary.flaky_tests, 'flaky test')})"


def _passed(summary: Summary, *, dry_run: bool) -> str:
    ended = summary.passed + summary.skipped + summary.failed
    not_followed = summary.targets - ended - summary.errors - summary.timed_out
    not_followed -= summary.interrupted
    if not summary.targets:
        return "No targets were swept"
    if dry_run:
        return f"Dry run: {plural(not_followed, 'run')} would be rerun, nothing was triggered"
    if not_followed:
        return (
            f"{plural(not_followed, 'rerun')} triggered and not followed, so not known yet; "
            f"{summary.passed + summary.skipped} of {plural(summary.targets, 'run')} ended well"
        )
    runs, flaky = plural(summary.targets, "run"), _flaky_part(summary)
    if not summary.passed:
        return f"All {runs} were skipped by the strategy"
    if summary.skipped:
        return f"All {runs} ended well: {summary.passed} passed on rerun{flaky}, the rest skipped"
    return f"All {runs} passed on rerun{flaky}"
