"""What every notifier says of the tests, whatever its layout: the lists in one order, and each
test's row with its verdict and evidence ("broken: failed 6 of 6 runs, P=0.96").

The still-failing tests come first (broken, then undecided, then not run), then the flaky
ones, then the targets not rerun to their end; each list is cut at the notifier's
``max_items`` and ends with "... and N more".
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from rerunorch.report.digest import Digest, Listing, Problem, TestLine
from rerunorch.report.text import one_line

__all__ = ["CaseList", "case_detail", "case_lists", "case_name", "problem_text"]

_RANK = {"broken": 0, "undecided": 1, "not_run": 2}
_NAME_LIMIT = 150


@attrs.frozen
class CaseList:
    """One list of tests, as every notifier heads and fills it.

    Attributes:
        key: ``still_failing`` or ``flaky``.
        title: ``"Still failing (3)"`` or ``"Flaky tests (2)"``.
        meaning: What the list holds, e.g. ``"broken, undecided or not run"``.
        items: The tests shown, still-failing ones broken first.
        total: How many there were in all.
    """

    key: str
    title: str
    meaning: str
    items: tuple[TestLine, ...]
    total: int

    @property
    def heading(self) -> str:
        """``"Still failing (3): broken, undecided or not run"``."""
        return f"{self.title}: {self.meaning}"

    @property
    def more(self) -> int:
        """How many were left out."""
        return self.total - len(self.items)


def case_lists(d: Digest) -> tuple[CaseList, ...]:
    """The lists that have tests: still failing first, then flaky."""
    lists = (
        CaseList(
            key="still_failing",
            title=f"Still failing ({d.failing.total})",
            meaning="broken, undecided or not run",
            items=_worst_first(d.failing),
            total=d.failing.total,
        ),
        CaseList(
            key="flaky",
            title=f"Flaky tests ({d.flaky.total})",
            meaning="failed, then passed on a rerun",
            items=d.flaky.items,
            total=d.flaky.total,
        ),
    )
    return tuple(found for found in lists if found.total)


def case_name(
    test: TestLine,
    *,
    escape: Callable[[str], str] = str,
    blank: Callable[[str], str] = str,
    limit: int = _NAME_LIMIT,
) -> str:
    """``"Login with SSO (case 4102)"``; ``escape`` makes the name safe for the layout,
    ``blank`` styles ``"(no name)"`` and ``"(tests not known)"``."""
    if test.name is None and test.test_case_id is None:
        return blank("(tests not known)")
    name = escape(one_line(test.name, limit)) if test.name else blank("(no name)")
    if test.test_case_id is not None:
        name += f" (case {test.test_case_id})"
    return name


def case_detail(test: TestLine) -> str:
    """``"broken: failed 6 of 6 runs, P=0.96 · plan 301, run 1001 → rerun 2001"`` (the
    evidence first, when the report has verdicts)."""
    return f"{test.evidence} · {test.where}" if test.evidence else test.where


def problem_text(problem: Problem, *, escape: Callable[[str], str] = str, limit: int = 200) -> str:
    """``"timed out: rerun 2004 still RUNNING after 3600s"``."""
    error = f": {escape(one_line(problem.error, limit))}" if problem.error else ""
    return f"{problem.what}{error}"


def _worst_first(listing: Listing[TestLine]) -> tuple[TestLine, ...]:
    """Broken, then undecided, then not-run tests (each in the report's order)."""
    return tuple(sorted(listing.items, key=lambda test: _RANK.get(_verdict(test), len(_RANK))))


def _verdict(test: TestLine) -> str:
    """The verdict that starts the evidence (``TestVerdict.evidence_text``), or ``""``."""
    return (test.evidence or "").partition(":")[0]
