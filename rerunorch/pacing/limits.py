"""Limits shared by several sweeps in one process: one rate, one set of pauses, one cap.

>>> limits = SharedLimits(rate=5.0, burst=2, max_active=10)
>>> async def both(key: str) -> None:                                  # doctest: +SKIP
...     async with anyio.create_task_group() as tg:
...         tg.start_soon(Sweep([467, 468], api_key=key, limits=limits).run)
...         tg.start_soon(Sweep([469, 470], api_key=key, limits=limits).run)

Every sweep given the same :class:`SharedLimits` paces its requests through its one
:class:`~rerunorch.pacing.local.Pacer` and holds its reruns in its one
:class:`~rerunorch.pacing.local.ActiveReruns`, so together they keep to the rate, all
pause when the server asks any one of them to, and run at most ``max_active`` reruns
at once. A pause is told to every sweep watching (:meth:`SharedLimits.watch`). Between
processes, :mod:`rerunorch.pacing.shared` does the same through Redis.
"""

from __future__ import annotations

import contextlib
import logging
import random
from collections.abc import Callable, Iterator

from rerunorch.clock import Clock, SystemClock
from rerunorch.pacing.local import ActiveReruns, Pacer
from rerunorch.secret import safe_error

__all__ = ["SharedLimits"]

log = logging.getLogger(__name__)

OnWait = Callable[[float, str], None]


class SharedLimits:
    """The rate, the pauses and the active-rerun cap of several sweeps in one process.

    Give it to each sweep (``Sweep(..., limits=limits)``); a client the sweeps share is
    made with ``pacer=limits.pacer``. The sweeps then take these limits, not the rate,
    burst, concurrency and ``max_active`` of their settings.

    Args:
        rate: Requests per second over all the sweeps (None: adapt to the server).
        burst: Requests that may go at once after a quiet spell.
        concurrency: Requests in flight at most, over all the sweeps.
        max_active: Reruns running on the server at once at most, over all the sweeps
            (None: no cap).
        clock: The time source of every wait (tests share a scaled one with the simulator).
        rng: Randomness for the pauses' jitter.

    Attributes:
        pacer: The one :class:`~rerunorch.pacing.local.Pacer` of every request.
        active: The one :class:`~rerunorch.pacing.local.ActiveReruns` of every rerun.

    Raises:
        ValueError: A rate that is not positive, a burst, concurrency or max_active below 1.
    """

    def __init__(
        self,
        *,
        rate: float | None = None,
        burst: int = 5,
        concurrency: int = 8,
        max_active: int | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._watchers: list[OnWait] = []
        self.pacer = Pacer(
            rate=rate,
            burst=burst,
            max_in_flight=concurrency,
            clock=self.clock,
            rng=rng,
            on_wait=self._tell,
        )
        self.active = ActiveReruns(max_active)
        self._described = {
            "rate": rate,
            "burst": burst,
            "concurrency": concurrency,
            "max_active": max_active,
        }

    def __repr__(self) -> str:
        shown = ", ".join(f"{key}={value!r}" for key, value in self._described.items())
        return f"SharedLimits({shown})"

    def to_json(self) -> dict[str, float | int | None]:
        """The limits as given (for a report's config)."""
        return dict(self._described)

    @contextlib.contextmanager
    def watch(self, on_wait: OnWait) -> Iterator[None]:
        """Have ``on_wait(seconds, reason)`` called for each pause while the block runs.

        It is called inside a request, so it must return at once (queue, never wait);
        one that raises is logged and the others are still called.
        """
        self._watchers.append(on_wait)
        try:
            yield
        finally:
            self._watchers.remove(on_wait)

    def _tell(self, wait: float, reason: str) -> None:
        for on_wait in tuple(self._watchers):
            try:
                on_wait(wait, reason)
            except Exception as exc:
                log.warning("a pause watcher failed: %s", safe_error(exc))
