"""One limiter for every request a sweep sends, and a cap on reruns active at once.

>>> pacer = Pacer(rate=5.0, burst=2, max_in_flight=8)
>>> async def get(client):                                     # doctest: +SKIP
...     async with pacer.request():
...         answer = await client.send()
...     if answer.status in (429, 503):
...         pacer.rate_limited(answer.retry_after)
...     else:
...         pacer.succeeded(answer.rate_limit_info)

:class:`Pacer` keeps to a rate (a token bucket scheduled by time, so ``N``
requests take ``(N - burst) / rate`` seconds, not more), a cap on requests in
flight, and pauses *every* task when the server says "slow down". When the limit
is unknown, or the one it was given proves too high, it adapts: see
:mod:`rerunorch.pacing.adaptive` for how and why.
"""

from __future__ import annotations

import contextvars
import heapq
import itertools
import logging
import math
import random
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import anyio
import anyio.lowlevel

from rerunorch.clock import Clock, SystemClock
from rerunorch.pacing import PacingStats
from rerunorch.pacing.adaptive import AdaptiveRate
from rerunorch.pacing.headers import RateLimitInfo

__all__ = ["ActiveReruns", "Pacer"]

log = logging.getLogger(__name__)

# A rate we were told (by the user or the server's headers) is kept 2% under: the
# server counts arrivals, which network jitter bunches together.
_MARGIN = 0.98
# Backoff without Retry-After: full jitter over [0, min(max_backoff, base * 2**(n-1))].
_BACKOFF_BASE = 0.5
# Jitter added to a Retry-After: up to 10% of it, at least 50 ms, at most 0.5 s.
_JITTER_SHARE = 0.1
_JITTER_MIN = 0.05
_JITTER_MAX = 0.5
# A hold for remaining == 0 waits at most this long, whatever the reset says.
_MAX_HOLD = 600.0
# Scheduling slack: a token due within this many seconds is taken now.
_EPSILON = 1e-9


class Pacer:
    """The limiter shared by every request of a sweep.

    Args:
        rate: Requests per second, or None for none known. A given rate is kept
            2% under; with ``adaptive`` it is lowered after 429s and regrows up to it.
        burst: Requests that may go at once after a quiet spell.
        max_in_flight: Requests sent and not yet answered, at most.
        adaptive: Learn the rate from 429s and from the server's rate-limit headers.
        clock: Time source for every wait.
        rng: Randomness for jitter (seed it for repeatable runs).
        max_backoff: Longest pause for a throttled answer without ``Retry-After``.
        on_wait: Called as ``on_wait(seconds, reason)`` when a pause starts or grows;
            ``reason`` is ``"retry-after"``, ``"backoff"`` or ``"quota"``.

    Raises:
        ValueError: For a rate that is not positive, a burst or max_in_flight below 1.
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int = 1,
        max_in_flight: int = 8,
        adaptive: bool = True,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        max_backoff: float = 120.0,
        on_wait: Callable[[float, str], None] | None = None,
    ) -> None:
        if rate is not None and not rate > 0:
            raise ValueError(f"rate must be positive, not {rate!r}")
        if burst < 1 or max_in_flight < 1:
            raise ValueError("burst and max_in_flight must be at least 1")
        self._clock: Clock = clock or SystemClock()
        self._rng = rng or random.Random()
        self._burst = burst
        self._adaptive = adaptive
        self._max_backoff = max_backoff
        self._on_wait = on_wait
        # fast_acquire: an uncontended acquire need not yield (each request awaits I/O anyway).
        self._in_flight = anyio.Semaphore(max_in_flight, fast_acquire=True)
        self._lock = anyio.Lock(fast_acquire=True)
        self._given = rate * _MARGIN if rate is not None else None
        self._rate = AdaptiveRate(self._given)
        # GCRA's "theoretical arrival time": when the bucket will be full again.
        self._tat = float("-inf")
        self._paused_until = float("-inf")
        self._episode_start = float("-inf")
        self._consecutive = 0
        self._requests = 0
        self._rate_limited = 0
        self._pauses = 0
        self._paused_seconds = 0.0
        # When this task's last request left, to tell throttled answers to requests
        # sent before the current pause (same episode) from new ones.
        self._sent_at: contextvars.ContextVar[float | None] = contextvars.ContextVar(
            f"rerunorch_pacer_sent_at_{id(self)}", default=None
        )

    def __repr__(self) -> str:
        return f"Pacer(rate={self.rate!r}, burst={self._burst!r})"

    @property
    def rate(self) -> float | None:
        """The effective rate now, in requests per second (None: unlimited)."""
        return self._rate_at(self._clock.monotonic())

    @property
    def stats(self) -> PacingStats:
        """Counters so far (a snapshot)."""
        return PacingStats(
            requests=self._requests,
            rate_limited=self._rate_limited,
            pauses=self._pauses,
            paused_seconds=self._paused_seconds,
            current_rate=self.rate,
        )

    def request(self) -> AbstractAsyncContextManager[None]:
        """Wait for a turn to send one request; hold it while the request is out.

        Use as ``async with pacer.request(): ...`` around one HTTP request. It waits
        while the pacer is paused, then for an in-flight slot, then for a token of
        the rate; a pause that starts meanwhile holds it too.
        """
        return _Turn(self)

    async def _enter(self) -> None:
        """Wait for the turn of :meth:`request` (see :class:`_Turn`)."""
        await self._wait_for_pause()
        await self._in_flight.acquire()
        try:
            await self._take_token()
        except BaseException:
            self._in_flight.release()
            raise
        now = self._clock.monotonic()
        self._rate.sent(now)
        self._requests += 1
        self._sent_at.set(now)

    def rate_limited(self, retry_after: float | None, *, cut: bool = True) -> float:
        """Report a throttled answer (429/503); pause every task.

        Args:
            retry_after: Seconds the server asked for, or None if it did not say.
            cut: Whether the answer speaks of the rate (a 429) and so should cut the
                adaptive rate; a 503 says the service is unavailable, not that the
                sweep is too fast, so it pauses without teaching the rate.

        Returns:
            Seconds until the pause ends. Throttled answers to requests sent before
            the current pause belong to the same episode: they extend the pause to
            the later end, but count (and cut the rate) once.
        """
        now = self._clock.monotonic()
        self._rate_limited += 1
        sent_at = self._sent_at.get()
        new_episode = now >= self._paused_until and (
            sent_at is None or sent_at >= self._episode_start
        )
        if new_episode:
            self._consecutive += 1
            self._episode_start = now
        if retry_after is not None:
            ceiling = min(max(_JITTER_SHARE * retry_after, _JITTER_MIN), _JITTER_MAX)
            wait, reason = max(retry_after, 0.0) + self._rng.uniform(0, ceiling), "retry-after"
        elif new_episode:
            ceiling = min(self._max_backoff, _BACKOFF_BASE * 2 ** (self._consecutive - 1))
            wait, reason = self._rng.uniform(0, ceiling), "backoff"
        else:
            wait, reason = 0.0, "backoff"
        extended = self._pause(now, now + wait, new=new_episode)
        if new_episode and self._adaptive and cut:
            self._rate.throttled(now, resume_at=self._paused_until)
        elif extended:
            self._rate.resume_at(self._paused_until)
        remaining = max(self._paused_until - now, 0.0)
        if new_episode:
            log.info(
                "throttled (%d in a row): pausing all requests for %.2fs (%s); rate now %s",
                self._consecutive,
                remaining,
                reason,
                _fmt(self._rate_at(now)),
            )
        if (new_episode or extended) and self._on_wait is not None:
            self._on_wait(remaining, reason)
        return remaining

    def succeeded(self, info: RateLimitInfo | None = None) -> None:
        """Report an answer that was not throttled, with its rate-limit headers if any.

        It ends a run of throttled answers, feeds the adaptive rate, adopts a limit
        the server states (``limit`` per ``window``), and holds every task until the
        window resets when the server says no requests remain.
        """
        now = self._clock.monotonic()
        sent_at = self._sent_at.get()
        late = sent_at is not None and sent_at < self._episode_start
        if not late:
            self._consecutive = 0
        self._rate.accepted(now, sent_before_cut=late)
        if info is None:
            return
        server_rate = info.rate
        if self._adaptive and server_rate is not None and server_rate > 0:
            told = server_rate * _MARGIN
            ceiling = told if self._given is None else min(self._given, told)
            if ceiling != self._rate.ceiling:
                log.info("server states %s; pacing at %s", _fmt(server_rate), _fmt(ceiling))
                self._rate.ceiling = ceiling
        if info.remaining == 0 and info.reset is not None and info.reset > 0:
            hold = min(info.reset, _MAX_HOLD)
            hold += self._rng.uniform(0, min(max(_JITTER_SHARE * hold, _JITTER_MIN), _JITTER_MAX))
            if self._pause(now, now + hold, new=now >= self._paused_until):
                log.info("server quota exhausted: holding all requests for %.2fs", hold)
                if self._on_wait is not None:
                    self._on_wait(self._paused_until - now, "quota")

    def _pause(self, now: float, until: float, *, new: bool) -> bool:
        """Pause every task until ``until`` (never shortening a pause); True if it grew."""
        if new:
            self._pauses += 1
        start = max(self._paused_until, now)
        if until <= start:
            return False
        self._paused_seconds += until - start
        self._paused_until = until
        return True

    def _rate_at(self, now: float) -> float | None:
        return self._rate.rate_at(now)

    async def _wait_for_pause(self) -> None:
        while (now := self._clock.monotonic()) < self._paused_until:
            await self._clock.sleep(self._paused_until - now)

    async def _take_token(self) -> None:
        # No rate, no pause and nobody queued for a token: nothing to wait for (the
        # common case of an unlimited sweep), so no lock; but still the lock's check for
        # a cancelled scope: a cancelled sweep sends nothing more (a 401 cancels it).
        if not self._lock.locked():
            now = self._clock.monotonic()
            if now >= self._paused_until and self._rate_at(now) is None:
                await anyio.lowlevel.checkpoint_if_cancelled()
                return
        # FIFO through the lock; the holder sleeps until its token is due, so tokens
        # go out on schedule with no polling. Loop: a pause or a cut may come meanwhile.
        async with self._lock:
            while True:
                now = self._clock.monotonic()
                if now < self._paused_until:
                    await self._clock.sleep(self._paused_until - now)
                    continue
                rate = self._rate_at(now)
                if rate is None:
                    return
                interval = 1.0 / rate
                due = self._tat - (self._burst - 1) * interval
                if due - now > _EPSILON:
                    await self._clock.sleep(due - now)
                    continue
                self._tat = max(self._tat, now) + interval
                return


class _Turn:
    """One request's turn in a :class:`Pacer`: an in-flight slot held for the block.

    A plain class rather than a generator-based context manager: it is entered once
    for every request a sweep sends.
    """

    __slots__ = ("_pacer",)

    def __init__(self, pacer: Pacer) -> None:
        self._pacer = pacer

    async def __aenter__(self) -> None:
        await self._pacer._enter()

    async def __aexit__(self, *exc_info: object) -> None:
        self._pacer._in_flight.release()


def _fmt(rate: float | None) -> str:
    return "unlimited" if rate is None else f"{rate:.3g}/s"


class ActiveReruns:
    """A cap on reruns running on the server at once (accounts cap parallel runs).

    Args:
        limit: Reruns at most, or None for no cap.

    Hold ``async with active.slot(priority):`` from just before the trigger until the
    rerun completes (or is known to have failed to start). While every slot is taken,
    the waiters are served by ``priority``, highest first (the engine gives a rerun's
    expected seconds, so the longest starts first), equal ones in arrival order; a
    freed slot goes straight to the next waiter, so a newcomer never jumps the queue.
    """

    def __init__(self, limit: int | None) -> None:
        if limit is not None and limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit!r}")
        self._limit = limit
        self._active = 0
        self._waiting = 0
        # (-priority, arrival, waiter): a heap, so the first is the longest, then the oldest.
        self._queue: list[tuple[float, int, _Waiter]] = []
        self._arrivals = itertools.count()

    def __repr__(self) -> str:
        return (
            f"ActiveReruns(limit={self._limit!r}, active={self._active}, waiting={self._waiting})"
        )

    @property
    def active(self) -> int:
        """Slots held now."""
        return self._active

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot now."""
        return self._waiting

    @property
    def next_priority(self) -> float | None:
        """The priority of the waiter a freed slot goes to (None: nobody waits)."""
        while self._queue and self._queue[0][2].cancelled:
            heapq.heappop(self._queue)
        return -self._queue[0][0] if self._queue else None

    def slot(self, priority: float = 0.0) -> AbstractAsyncContextManager[None]:
        """Wait for a free slot (higher ``priority`` first) and hold it for the block.

        Raises:
            ValueError: ``priority`` is NaN.
        """
        if math.isnan(priority):
            raise ValueError("a slot's priority must be a number, not NaN")
        return _Slot(self, priority)

    async def _acquire(self, priority: float) -> None:
        if self._limit is None or (self._active < self._limit and not self._waiting):
            self._active += 1  # uncontended: no trip through the event loop
            return
        waiter = _Waiter()
        heapq.heappush(self._queue, (-priority, next(self._arrivals), waiter))
        self._waiting += 1
        try:
            await waiter.granted.wait()
        except BaseException:
            if waiter.granted.is_set():
                self._release()  # handed a slot as it was cancelled: pass it on
            else:
                waiter.cancelled = True  # left in the heap, skipped when it comes up
                self._waiting -= 1
            raise

    def _release(self) -> None:
        while self._queue:
            _, _, waiter = heapq.heappop(self._queue)
            if not waiter.cancelled:
                self._waiting -= 1
                waiter.granted.set()  # the slot passes on: ``active`` stays the same
                return
        self._active -= 1


class _Slot:
    """One holder's slot of :class:`ActiveReruns` (a plain class: one per rerun)."""

    __slots__ = ("_priority", "_slots")

    def __init__(self, slots: ActiveReruns, priority: float) -> None:
        self._slots = slots
        self._priority = priority

    async def __aenter__(self) -> None:
        await self._slots._acquire(self._priority)

    async def __aexit__(self, *exc_info: object) -> None:
        self._slots._release()


class _Waiter:
    __slots__ = ("cancelled", "granted")

    def __init__(self) -> None:
        self.cancelled = False
        self.granted = anyio.Event()
