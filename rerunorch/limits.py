"""What the engine and the client need of a limiter, whichever back end provides it.

The in-process back end is :class:`~rerunorch.pacing.Pacer` with
:class:`~rerunorch.pacing.ActiveReruns`; :mod:`rerunorch.redis_limit` shares the
same limits between processes through Redis.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from rerunorch.pacing import PacingStats
from rerunorch.ratelimit import RateLimitInfo

__all__ = ["RequestPacer", "RerunSlots"]


class RequestPacer(Protocol):
    """Paces every request of a sweep (see :class:`~rerunorch.pacing.Pacer`)."""

    def request(self) -> AbstractAsyncContextManager[None]:
        """Held around one HTTP request: waits for a pause to end, a slot and a token."""
        ...

    def rate_limited(self, retry_after: float | None, *, cut: bool = True) -> float:
        """A 429/503 came: pause every request; returns the wait."""
        ...

    def succeeded(self, info: RateLimitInfo | None = None) -> None:
        """An answer that was not throttled, with the server's rate-limit headers if any."""
        ...

    @property
    def rate(self) -> float | None:
        """The rate now in force (None: no limit)."""
        ...

    @property
    def stats(self) -> PacingStats:
        """What the pacer has done so far."""
        ...


class RerunSlots(Protocol):
    """Caps reruns running on the server at once (see :class:`~rerunorch.pacing.ActiveReruns`)."""

    def slot(self) -> AbstractAsyncContextManager[None]:
        """Held from just before a trigger until the rerun completes."""
        ...

    @property
    def active(self) -> int:
        """Slots this process holds now."""
        ...
