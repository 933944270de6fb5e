"""When to look at a running rerun again.

Polling too often wastes the request budget; too seldom, and a finished rerun
waits to be noticed. The interval grows with the time already waited (so the
lag stays a fixed fraction of a rerun's length), and when the rerun's length
can be estimated (from its parent's duration, or from how fast its tests are
finishing) the first polls jump most of the way to the expected end.
"""

from __future__ import annotations

import random

import attrs

from rerunorch.api.models import ExecutionResult

__all__ = ["PollPolicy", "PollTimer", "expected_duration"]


@attrs.frozen(kw_only=True)
class PollPolicy:
    """How a rerun is polled (all times in seconds of the sweep's clock).

    Attributes:
        initial: The first wait when nothing is known about the rerun's length.
        minimum: No two polls of one rerun come closer than this.
        cap: No wait is longer than this.
        growth: Each wait is at least this fraction of the time already waited,
            which bounds the lag to about this fraction of the rerun's length.
        jump: With an estimate of the time left, wait this fraction of it.
        jitter: Each wait is spread by up to this fraction either way.
    """

    initial: float = 5.0
    minimum: float = 2.0
    cap: float = 60.0
    growth: float = 0.08
    jump: float = 0.6
    jitter: float = 0.1


_DONE_COUNTS = ("passed_count", "failed_count", "stopped_count", "not_executed_count")


class PollTimer:
    """The poll schedule of one rerun.

    Args:
        policy: The policy.
        started: When the rerun was triggered (clock seconds).
        expected: The rerun's expected length in seconds, if known.
    """

    def __init__(
        self,
        policy: PollPolicy,
        started: float,
        expected: float | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy
        self.started = started
        self.expected = expected
        self._rng = rng or random.Random()
        self._progress_origin: tuple[float, int] | None = None
        self.polls = 0

    def observe(self, run: ExecutionResult, now: float) -> None:
        """Note what a poll showed (progress counts refine the estimate)."""
        self.polls += 1
        total = run.total_count or 0
        done = sum(getattr(run, name) or 0 for name in _DONE_COUNTS)
        if total <= 0:
            return
        if self._progress_origin is None:
            self._progress_origin = (now, done)
            return
        t0, done0 = self._progress_origin
        if done > done0 and now > t0:
            rate = (done - done0) / (now - t0)
            self.expected = (now - self.started) + (total - done) / rate

    def next_delay(self, now: float) -> float:
        """Seconds to wait before the next poll."""
        policy = self.policy
        waited = max(0.0, now - self.started)
        step = max(policy.minimum, policy.growth * waited)
        if self.expected is not None and self.expected - waited > step:
            delay = max(step, policy.jump * (self.expected - waited))
        elif self.polls == 0 and self.expected is None:
            delay = max(step, policy.initial)
        else:
            delay = step
        delay = min(delay, policy.cap)
        spread = policy.jitter * delay
        return max(policy.minimum * 0.5, delay + self._rng.uniform(-spread, spread))


def expected_duration(parent: ExecutionResult, share: float) -> float | None:
    """A rerun's expected length: ``share`` of its parent's duration, in seconds."""
    millis = parent.duration
    if millis is None and parent.start_time is not None and parent.end_time is not None:
        millis = parent.end_time - parent.start_time
    if not millis or millis <= 0:
        return None
    return millis / 1000.0 * max(share, 0.05)
