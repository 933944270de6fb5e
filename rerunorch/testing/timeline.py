"""Where a run stands at a given time: its status and each case's visible result.

A run spends the first 5 % of its duration in ``STATUS_CREATED``, up to 15 % in
``STATUS_QUEUED``, then runs its cases one after another in ``STATUS_IN_PROGRESS`` and is
``STATUS_COMPLETED`` at the end (or when stopped). Nothing runs in the background: the
view is computed from the clock whenever someone looks.
"""

from __future__ import annotations

import attrs

from .model import QUEUED, RUNNING, STOPPED, SUCCESS, Run

__all__ = ["COMPLETED", "CREATED", "IN_PROGRESS", "QUEUED_STATUS", "RunView", "view"]

CREATED = "STATUS_CREATED"
QUEUED_STATUS = "STATUS_QUEUED"
IN_PROGRESS = "STATUS_IN_PROGRESS"
COMPLETED = "STATUS_COMPLETED"

_CREATED_SHARE = 0.05
_QUEUED_SHARE = 0.15


@attrs.frozen
class RunView:
    """A run as seen at one moment.

    Attributes:
        status: ``STATUS_*``.
        result: The run's result: ``QUEUED`` until completed, then ``SUCCESS``, ``FAILURE`` or
            ``STOPPED``.
        cases: Each case's visible result (``QUEUED``/``RUNNING`` until it has run).
        end: Clock time of completion, or None while running.
    """

    status: str
    result: str
    cases: tuple[str, ...]
    end: float | None

    @property
    def completed(self) -> bool:
        """Whether the run is final."""
        return self.status == COMPLETED


def view(run: Run, now: float, stopped_at: float | None = None) -> RunView:
    """How ``run`` looks at clock time ``now`` (``stopped_at``: when it was stopped, if ever)."""
    if stopped_at is not None and stopped_at < run.end and now >= stopped_at:
        cases = _progress(run, stopped_at, unfinished=STOPPED)
        return RunView(status=COMPLETED, result=STOPPED, cases=cases, end=stopped_at)
    if now >= run.end:
        cases = tuple(case.result for case in run.cases)
        result = SUCCESS if all(r == SUCCESS for r in cases) else "FAILURE"
        return RunView(status=COMPLETED, result=result, cases=cases, end=run.end)
    elapsed = now - run.created_at
    if elapsed < _CREATED_SHARE * run.duration:
        status = CREATED
    elif elapsed < _QUEUED_SHARE * run.duration:
        status = QUEUED_STATUS
    else:
        status = IN_PROGRESS
    return RunView(status=status, result=QUEUED, cases=_progress(run, now), end=None)


def _progress(run: Run, now: float, unfinished: str | None = None) -> tuple[str, ...]:
    start = run.created_at + _QUEUED_SHARE * run.duration
    span = run.duration * (1 - _QUEUED_SHARE)
    count = len(run.cases)
    done = max(0.0, (now - start) * count / span) if span > 0 else float(count)
    finished = min(count, int(done))
    states: list[str] = [case.result for case in run.cases[:finished]]
    if finished < count:
        running = now >= start
        states.append(unfinished or (RUNNING if running else QUEUED))
        states.extend([unfinished or QUEUED] * (count - finished - 1))
    return tuple(states)
