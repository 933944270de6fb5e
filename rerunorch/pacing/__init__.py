"""Pacing: what the engine and the client need of a limiter, whichever back end provides it.

The room holds :mod:`~rerunorch.pacing.local` (one process),
:mod:`~rerunorch.pacing.adaptive` (learning an unknown limit),
:mod:`~rerunorch.pacing.headers` (what a server says of its limits),
:mod:`~rerunorch.pacing.limits` (limits shared by the sweeps of one process) and
:mod:`~rerunorch.pacing.shared` (limits shared through Redis).

The in-process back end is :class:`~rerunorch.pacing.local.Pacer` with
:class:`~rerunorch.pacing.local.ActiveReruns`; :mod:`rerunorch.pacing.shared` shares the
same limits between processes through Redis.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

import attrs

from rerunorch.pacing.headers import RateLimitInfo

__all__ = ["PacingStats", "RequestPacer", "RerunSlots"]


@attrs.frozen(kw_only=True)
class PacingStats:
    """What a pacer has done so far.

    Attributes:
        requests: Requests let through.
        rate_limited: Throttled answers reported (429/503).
        pauses: Times every task was paused (one per episode of throttling, or per
            hold for an exhausted quota), however many answers were throttled.
        paused_seconds: Time spent paused in all.
        current_rate: The effective rate now (None: unlimited).
    """

    requests: int
    rate_limited: int
    pauses: int
    paused_seconds: float
    current_rate: float | None


class RequestPacer(Protocol):
    """Paces every request of a sweep (see :class:`~rerunorch.pacing.local.Pacer`)."""

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
    """Caps reruns running on the server at once (see :class:`~.local.ActiveReruns`)."""

    def slot(self, priority: float = 0.0) -> AbstractAsyncContextManager[None]:
        """Held from just before a trigger until the rerun completes.

        Among those waiting, a higher ``priority`` (the rerun's expected seconds) is
        served first and equal ones in arrival order; an implementation may ignore it
        (and the engine still takes one whose ``slot()`` has no ``priority``).
        """
        ...

    @property
    def active(self) -> int:
        """Slots this process holds now."""
        ...
