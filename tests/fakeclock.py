"""Clocks for tests: time moves only when the test (or idleness) says so.

Two ways to use them, both free of real sleeping:

- :class:`ManualClock` in an ordinary async test: ``sleep`` returns only once the
  test calls :meth:`ManualClock.advance` past its deadline, so the test decides
  what happens when. :meth:`ManualClock.settle` lets woken tasks run.
- :class:`VirtualClock` for whole scenarios: ``clock.run(main)`` runs ``main`` on
  an event loop whose time is the clock's, and which jumps straight to the next
  timer whenever every task is waiting. Timeouts (``anyio.fail_after``) and plain
  ``anyio.sleep`` are virtual too. Only for code that does no real I/O.

>>> clock = VirtualClock()
>>> async def main() -> float:
...     await clock.sleep(3600)
...     return clock.monotonic()
>>> clock.run(main)
3600.0
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import selectors
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

import anyio

__all__ = ["WALL_ORIGIN", "ManualClock", "VirtualClock"]

T = TypeVar("T")

# Wall time at monotonic 0 (2023-11-14T22:13:20Z): far from the epoch, as in life.
WALL_ORIGIN = 1_700_000_000.0


class ManualClock:
    """A :class:`~rerunorch.clock.Clock` whose time moves only through :meth:`advance`.

    Attributes:
        now: The monotonic reading.
        wall_origin: Wall time when ``now`` is 0.
    """

    def __init__(self, start: float = 0.0, *, wall_origin: float = WALL_ORIGIN) -> None:
        self.now = start
        self.wall_origin = wall_origin
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall_origin + self.now

    async def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        event = anyio.Event()
        heapq.heappush(self._sleepers, (self.now + seconds, next(self._order), event))
        await event.wait()

    @property
    def sleepers(self) -> int:
        """Tasks sleeping on this clock now."""
        return len(self._sleepers)

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or None if nobody sleeps."""
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, seconds: float) -> None:
        """Move time forward and wake (in deadline order) every sleeper now due."""
        if seconds < 0:
            raise ValueError("time does not go back")
        self.now += seconds
        while self._sleepers and self._sleepers[0][0] <= self.now:
            heapq.heappop(self._sleepers)[2].set()

    def advance_to_next(self) -> bool:
        """Jump to the earliest deadline and wake its sleepers; False if none."""
        deadline = self.next_deadline
        if deadline is None:
            return False
        self.advance(max(deadline - self.now, 0.0))
        return True

    async def settle(self, rounds: int = 50) -> None:
        """Let tasks that can run, run (yields to the event loop ``rounds`` times)."""
        for _ in range(rounds):
            await anyio.lowlevel.checkpoint()

    def __repr__(self) -> str:
        return f"ManualClock(now={self.now!r}, sleepers={self.sleepers})"


class VirtualClock:
    """A :class:`~rerunorch.clock.Clock` that jumps over idle time; see :meth:`run`.

    Attributes:
        now: The monotonic reading (the event loop's time inside :meth:`run`).
        wall_origin: Wall time when ``now`` is 0.
    """

    def __init__(self, start: float = 0.0, *, wall_origin: float = WALL_ORIGIN) -> None:
        self.now = start
        self.wall_origin = wall_origin

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall_origin + self.now

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(seconds, 0.0))

    def run(self, main: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``main(*args)`` to the end on a loop driven by this clock's time.

        Raises:
            RuntimeError: If every task waits with no timer set (a deadlock).
        """
        loop = _VirtualLoop(self)
        try:
            return loop.run_until_complete(_as_coroutine(main, *args))
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def __repr__(self) -> str:
        return f"VirtualClock(now={self.now!r})"


async def _as_coroutine(main: Callable[..., Awaitable[T]], *args: Any) -> T:
    return await main(*args)


class _VirtualSelector(selectors.BaseSelector):
    """A selector that, instead of blocking until the next timer, moves time there."""

    def __init__(self, clock: VirtualClock) -> None:
        self._clock = clock
        self._real = selectors.DefaultSelector()

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = self._real.select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:
            # Nothing scheduled and nothing ready: every task waits on no timer.
            raise RuntimeError("deadlock: every task is waiting and no timer is set")
        self._clock.now += timeout
        return []

    def get_map(self) -> Mapping[Any, selectors.SelectorKey]:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()


class _VirtualLoop(asyncio.SelectorEventLoop):
    def __init__(self, clock: VirtualClock) -> None:
        self._virtual_clock = clock
        super().__init__(_VirtualSelector(clock))

    def time(self) -> float:
        return self._virtual_clock.now
