"""Time as rerunorch sees it.

Every wait in rerunorch (pacing, backoff, polling, deadlines) goes through a
:class:`Clock`, so that tests and benchmarks can run simulated hours in real
seconds: :class:`ScaledClock` makes one simulated second last ``1 / scale``
real seconds, and the simulator and the engine share it.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

import anyio

__all__ = ["Clock", "ScaledClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """What rerunorch needs of time: a monotonic reading, a wall reading, a sleep."""

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin; never goes back."""

    def time(self) -> float:
        """Seconds since the Unix epoch (for HTTP dates and report stamps)."""

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""


class SystemClock:
    """Real time."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds))

    def __repr__(self) -> str:
        return "SystemClock()"


class ScaledClock:
    """Time that runs ``scale`` times faster than real time.

    Attributes:
        scale: Simulated seconds per real second (100 makes a minute last 0.6 s).
    """

    def __init__(self, scale: float) -> None:
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale!r}")
        self.scale = scale
        self._real_origin = time.monotonic()
        self._wall_origin = time.time()

    def monotonic(self) -> float:
        return (time.monotonic() - self._real_origin) * self.scale

    def time(self) -> float:
        return self._wall_origin + self.monotonic()

    async def sleep(self, seconds: float) -> None:
        await anyio.sleep(max(0.0, seconds) / self.scale)

    def __repr__(self) -> str:
        return f"ScaledClock(scale={self.scale!r})"
