"""Learning a server's rate limit from its 429s: cut on throttling, regrow slowly.

Used by :class:`~rerunorch.pacing.local.Pacer` when no rate is known or the one it was
given proves too high. Time is whatever monotonic clock the caller uses.

Why it works this way, against a server token bucket of rate r and burst b
(constants tuned with a virtual-time simulation over r = 5..100, b = 1..3r,
Retry-After in whole seconds or absent; see ``tests/test_pacing.py``):

- Between two episodes of throttling the server's bucket went from empty to
  empty, so what it accepted meanwhile, over that time (``L``), is r less what
  overflowed while the bucket was full: a lower bound on r, exact when the pause
  did not overfill it (b >= r x pause). The same count over the time since the
  pause ended (``L'``) is an upper bound: r plus what the pause banked. A cut sets
  the rate to ``CUT`` (0.9) x their mean, never above the rate it had. The
  configured rate, or our own sending rate, is no guide: told 4x too much,
  cutting from it would take a dozen episodes, each a pause.
- Answers that come back after the cut to requests sent before it still count
  toward its measurement (concurrent answers arrive in any order).
- The first episode cannot measure: it counts the server's initial burst, often
  within milliseconds. It reads that count over ``MIN_SPAN`` (1 s), which is
  about r when b is about r (the common default) but far too low when b << r,
  so it then *probes*: the rate grows by half every second (``PROBE_GROWTH``)
  until the next 429, and 0.9 x the lesser of the rate at that moment and what
  the server accepted in the last second is the next estimate (the 429 comes
  only once the excess has drained the bucket, so the rate then overshoots r,
  by half for b = r / 5; the accepted count is r plus at most b). With a large b
  the estimate is still high, and the next episode, which measures, corrects
  it. An over-estimate costs one more short episode; an under-estimate costs
  the slow regrowth below, so the floors err high.
- After a measured cut the rate regrows by ``GROWTH`` (2%) of the cut rate per
  second without a 429: from 0.9 r it is back at r in about 5.6 s, losing about
  0.28 s of r's work. Above r it drains the server's bucket by 0.02 r t^2 / 2
  after t s, so the next 429 comes sqrt(2 b / (0.02 r)) s later (10 s for b = r,
  4.5 s for b = r / 5): one pause per 10-20 s, whose 429s (the requests in flight
  at that moment) stay far under 5% of the requests. The pause costs little when
  b >= r x pause, since the bucket refills meanwhile, but up to a whole second of
  r's work when b is small and ``Retry-After`` is in whole seconds, so fewer
  episodes matter more than a quick return to r. 3% (the first tuning) paused
  about 1.3x as often; in the virtual-time model of the benchmark server (r = 50,
  b = 10) 2% took about 2% less time, and on the whole grid (r = 5..100,
  b = 1..3r) every case was as fast or faster except r = 10, b = 30, still under
  the ideal. Faster growth
  finds a raised limit sooner but pauses more often; slower growth recovers too
  slowly from an under-estimate.
- A later episode at most halves the rate (``MAX_DECREASE``): what one process
  measures is its own share, near zero when other sweeps share the account, and
  cutting to that would starve it for minutes (seen with four processes on one
  quota). Several processes on one quota should share a limit
  (:mod:`rerunorch.pacing.shared`); this only keeps them from stalling.
- Where it falls short: with b much smaller than r x Retry-After (say b = 1 and
  whole-second Retry-After), each episode wastes a second of the server's rate,
  and 30 s sweeps take about 1.3-1.45x the ideal (about 1.2x for b = r / 5).
  The first few seconds (the probe and its correction) cost one to three
  seconds whatever the sweep's length, so short sweeps pay relatively more;
  see ``docs/performance.md``.
"""

from __future__ import annotations

import logging
from collections import deque

__all__ = ["AdaptiveRate"]

log = logging.getLogger(__name__)

CUT = 0.9
GROWTH = 0.02
PROBE_GROWTH = 1.5
WINDOW = 5.0
MIN_SPAN = 1.0
MIN_ACTIVE_SPAN = 0.25
MIN_RATE = 0.01
MAX_DECREASE = 0.5


class AdaptiveRate:
    """A rate (requests per second) that adapts to throttling.

    Args:
        ceiling: The rate never goes above this (None: no ceiling). Until the first
            episode of throttling the rate *is* the ceiling (None: unlimited).
    """

    def __init__(self, ceiling: float | None = None) -> None:
        self.ceiling = ceiling
        self._base: float | None = None
        self._grow_from = 0.0
        self._probing = False
        self._accepted: deque[float] = deque()
        self._first: float | None = None
        self._episode = float("-inf")
        self._pause_end = float("-inf")
        # What the last cut counted, to count late answers to requests sent before it.
        self._counts: tuple[int, float, int, float] | None = None
        self._cap: float | None = None

    def __repr__(self) -> str:
        return f"AdaptiveRate(base={self._base!r}, ceiling={self.ceiling!r})"

    def rate_at(self, now: float) -> float | None:
        """The rate at ``now`` (None: unlimited)."""
        if self._base is None:
            return self.ceiling
        elapsed = max(now - self._grow_from, 0.0)
        if self._probing:
            grown = self._base * float(PROBE_GROWTH ** min(elapsed, 60.0))
        else:
            grown = self._base * (1.0 + GROWTH * elapsed)
        return grown if self.ceiling is None else min(grown, self.ceiling)

    def sent(self, now: float) -> None:
        """Note a request leaving (the first one starts the clock)."""
        if self._first is None:
            self._first = now

    def accepted(self, now: float, *, sent_before_cut: bool = False) -> None:
        """Note an answer that was not throttled.

        ``sent_before_cut``: the request left before the last episode began, so it
        belongs to the count that episode's cut was based on.
        """
        if self._first is None:
            self._first = now
        self._accepted.append(now)
        while self._accepted and self._accepted[0] < now - WINDOW:
            self._accepted.popleft()
        if sent_before_cut and self._counts is not None:
            total, span, active, active_span = self._counts
            self._counts = (total + 1, span, active + 1, active_span)
            self._base = self._cut_rate()

    def throttled(self, now: float, *, resume_at: float) -> None:
        """A new episode of throttling began at ``now``; growth resumes at ``resume_at``."""
        rate = self.rate_at(now)
        start = max(self._first if self._first is not None else now, self._episode, now - WINDOW)
        active_start = max(start, self._pause_end)
        span, active_span = now - start, now - active_start
        total = sum(1 for t in self._accepted if t > start)
        active = sum(1 for t in self._accepted if t > active_start)
        was_probing, first = self._probing, self._episode == float("-inf")
        self._episode, self._pause_end, self._grow_from = now, resume_at, resume_at
        self._cap = rate
        if was_probing and rate is not None:
            # The rate just crossed r (see the module docstring).
            self._counts = None
            self._probing = False
            recent = sum(1 for t in self._accepted if t > now - MIN_SPAN) / MIN_SPAN
            self._base = max(CUT * min(rate, recent), MIN_RATE)
        elif total == 0:
            self._counts = None
            self._probing = False
            self._base = max(CUT * rate, MIN_RATE) if rate is not None else None
        else:
            # Only the first episode probes: later ones have a measurement behind them.
            self._probing = first and span < MIN_SPAN
            # Only a count that includes the server's initial burst needs the long floor.
            floor = MIN_SPAN if first else MIN_ACTIVE_SPAN
            self._counts = (total, max(span, floor), active, active_span)
            self._base = self._cut_rate()
            if not first and rate is not None and self._base is not None:
                # A measurement is what *this* process got accepted: when others
                # share the quota it can be near zero, and a cut to it would starve
                # the sweep for minutes. So a later episode at most halves the rate.
                self._base = max(self._base, MAX_DECREASE * rate)
        log.debug("adaptive rate: %r at %.3f, probing=%s", self._base, now, self._probing)

    def resume_at(self, when: float) -> None:
        """The pause after the last episode now ends at ``when``: grow from then."""
        if when > self._grow_from:
            self._grow_from = self._pause_end = when

    def _cut_rate(self) -> float | None:
        assert self._counts is not None
        total, span, active, active_span = self._counts
        lower = total / span
        upper = active / max(active_span, MIN_ACTIVE_SPAN)
        if self._cap is not None:
            upper = min(upper, self._cap)
        new = CUT * (lower + max(upper, lower)) / 2
        if self._cap is not None:
            new = min(new, self._cap)
        return max(new, MIN_RATE)
