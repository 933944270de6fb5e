"""A fake clock for tests: time moves only when the test, or idleness, says so.

:class:`MockClock` is a :class:`~rerunorch.clock.Clock` whose ``sleep`` returns once
time reaches the sleeper's deadline. Time moves only through :meth:`MockClock.advance`
(or :meth:`MockClock.advance_to_next`) or, with ``autojump=True``, by itself: whenever
every task of the event loop is waiting, it jumps to the earliest sleeper's deadline.
Nothing waits in real time, and simulated hours take microseconds.

>>> import anyio
>>> clock = MockClock(autojump=True)
>>> async def main() -> float:
...     await clock.sleep(3600)
...     return clock.monotonic()
>>> anyio.run(main)
3600.0

Limits of autojump (asyncio only): only waits on this clock are sleepers
(``anyio.sleep`` and timeouts keep real time), and idleness is judged inside the event
loop. I/O between tasks of one loop (a simulator or fake server on a loopback socket)
counts as work; an answer from a thread or another process is not seen, so the clock
may jump while it is on its way. Give such tests a
:class:`~rerunorch.clock.ScaledClock` instead.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools

import anyio
import anyio.lowlevel

__all__ = ["WALL_ORIGIN", "MockClock"]

# Wall time at monotonic 0 (2023-11-14T22:13:20Z): far from the epoch, as in life.
WALL_ORIGIN = 1_700_000_000.0

# Loop turns in a row with nothing to run before autojump calls the loop idle. Each turn
# polls the sockets, so data already written on loopback is seen before a jump.
_IDLE_TURNS = 3


class MockClock:
    """A :class:`~rerunorch.clock.Clock` that moves only when told, or when all wait.

    Args:
        start: The first monotonic reading.
        wall_origin: Wall time (:meth:`time`) when the monotonic reading is 0.
        autojump: Jump to the next deadline whenever every task waits.

    Attributes:
        wall_origin: As given.
        autojump: As given; switching it on takes effect from the next sleep.
        sleeps: Every duration passed to :meth:`sleep`, in call order.
    """

    def __init__(
        self, start: float = 0.0, *, wall_origin: float = WALL_ORIGIN, autojump: bool = False
    ) -> None:
        self._now = float(start)
        self.wall_origin = wall_origin
        self.autojump = autojump
        self.sleeps: list[float] = []
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()
        self._watched: asyncio.AbstractEventLoop | None = None

    @property
    def now(self) -> float:
        """The monotonic reading."""
        return self._now

    def monotonic(self) -> float:
        return self._now

    def time(self) -> float:
        return self.wall_origin + self._now

    async def sleep(self, seconds: float) -> None:
        """Return once time has moved ``seconds`` on (at once, after a checkpoint, if <= 0)."""
        self.sleeps.append(seconds)
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        sleeper = (self._now + seconds, next(self._order), anyio.Event())
        heapq.heappush(self._sleepers, sleeper)
        if self.autojump:
            self._watch(asyncio.get_running_loop())
        try:
            await sleeper[2].wait()
        finally:
            if not sleeper[2].is_set():  # cancelled: a dead deadline must not be jumped to
                self._sleepers.remove(sleeper)
                heapq.heapify(self._sleepers)

    @property
    def sleepers(self) -> int:
        """Tasks sleeping on this clock now."""
        return len(self._sleepers)

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes, or None if nobody sleeps."""
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, seconds: float) -> None:
        """Move time ``seconds`` forward and wake, in deadline order, every sleeper due.

        Raises:
            ValueError: If ``seconds`` is negative.
        """
        if seconds < 0:
            raise ValueError(f"time does not go back (advance by {seconds!r})")
        self._move_to(self._now + seconds)

    def advance_to_next(self) -> bool:
        """Jump to the earliest deadline and wake its sleepers; False if nobody sleeps."""
        deadline = self.next_deadline
        if deadline is None:
            return False
        self._move_to(max(deadline, self._now))
        return True

    async def settle(self, rounds: int = 50) -> None:
        """Let the tasks that can run, run (yields to the event loop ``rounds`` times)."""
        for _ in range(rounds):
            await anyio.lowlevel.checkpoint()

    def _move_to(self, now: float) -> None:
        self._now = now
        while self._sleepers and self._sleepers[0][0] <= now:
            heapq.heappop(self._sleepers)[2].set()

    def _watch(self, loop: asyncio.AbstractEventLoop) -> None:
        if self._watched is not loop:
            self._watched = loop
            loop.call_soon(self._look, loop, 0)

    def _look(self, loop: asyncio.AbstractEventLoop, idle_turns: int) -> None:
        """Once a loop turn: jump after ``_IDLE_TURNS`` turns with nothing else to run."""
        if not (self.autojump and self._sleepers):
            self._watched = None
            return
        # CPython's loops keep the callbacks due this turn in ``_ready``; without it
        # (another loop implementation) only the count of turns is left to go by.
        ready = getattr(loop, "_ready", ())
        idle_turns = 0 if ready else idle_turns + 1
        if idle_turns >= _IDLE_TURNS:
            self.advance_to_next()
            idle_turns = 0
        loop.call_soon(self._look, loop, idle_turns)

    def __repr__(self) -> str:
        return f"MockClock(now={self._now!r}, sleepers={self.sleepers}, autojump={self.autojump})"
