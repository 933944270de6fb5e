"""Which rerun starts first: the one expected to take longest (docs/scaling.md, "start order").

Under ``--max-active`` reruns wait for a slot. Serving the longest expected rerun first
(longest processing time first) keeps a two-hour rerun from starting last and running
alone while the other slots stand idle, so the night ends near
``max(sum of durations / slots, longest)``.

>>> from rerunorch.api.models import ExecutionResult
>>> parent = ExecutionResult(id=1, duration=3_600_000, total_count=10, passed_count=8)
>>> expected_rerun_seconds(parent, Selection(ReRunType.ONLY_FAILED_TESTS))
720.0
>>> start_priority(ExecutionResult(id=2), Selection(ReRunType.ALL_TESTS))
0.0
"""

from __future__ import annotations

import math

from rerunorch.api.enums import ReRunType
from rerunorch.api.models import ExecutionResult
from rerunorch.polling import expected_duration
from rerunorch.strategies.base import Selection

__all__ = ["RUNNING", "expected_rerun_seconds", "rerun_share", "start_priority"]

RUNNING = math.inf
"""The priority of a rerun already running on the server: it counts against the cap first."""


def rerun_share(parent: ExecutionResult, selection: Selection | None) -> float:
    """The fraction of the parent's tests that the rerun reruns (1.0 when unknown)."""
    total = parent.total_count or 0
    if selection is None or total <= 0:
        return 1.0
    if selection.re_run_type is ReRunType.ALL_TESTS:
        return 1.0
    if selection.re_run_type is ReRunType.USER_PICKED and selection.test_case_result_requests:
        return len(selection.test_case_result_requests) / total
    failed = total - (parent.passed_count or 0)
    return max(failed, 1) / total


def expected_rerun_seconds(parent: ExecutionResult, selection: Selection | None) -> float | None:
    """A rerun's expected length: the parent's duration times the share rerun (None: unknown)."""
    return expected_duration(parent, rerun_share(parent, selection))


def start_priority(parent: ExecutionResult, selection: Selection | None) -> float:
    """The slot priority of rerunning ``parent``: its expected seconds, 0 when unknown
    (so reruns of unknown length start after the known ones, in arrival order)."""
    return expected_rerun_seconds(parent, selection) or 0.0
