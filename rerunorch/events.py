"""Listening to a sweep: one frozen payload per event, and the listeners that hear them.

Each event is one keyword-only frozen object (as stamina's ``RetryDetails``), and a
listener's method, a plugin's hook and the engine all pass that one object, so adding
a field later breaks nobody:

>>> class Printer(SweepListener):
...     async def rerun_finished(self, event: RerunFinished) -> None:
...         print(event.outcome.target, event.outcome.outcome.value)
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, ClassVar, TypeAlias

import anyio
import attrs

from rerunorch.secret import safe_error, safe_traceback

if TYPE_CHECKING:
    from rerunorch.outcome import Outcome
    from rerunorch.report.model import SweepReport
    from rerunorch.settings import SweepSettings
    from rerunorch.targets import Target

__all__ = [
    "Listeners",
    "RequestsPaused",
    "RerunFinished",
    "RerunTriggered",
    "SweepEvent",
    "SweepFinished",
    "SweepListener",
    "SweepStarted",
]

log = logging.getLogger(__name__)


@attrs.frozen(kw_only=True)
class SweepStarted:
    """The sweep is about to read its first target.

    Attributes:
        settings: How the sweep runs.
    """

    name: ClassVar[str] = "sweep_started"
    settings: SweepSettings


@attrs.frozen(kw_only=True)
class RerunTriggered:
    """A rerun exists for a target.

    Attributes:
        target: The target.
        rerun_id: The rerun's result id.
        adopted: The rerun was not this sweep's POST (found running, or recovered).
        expected: Its expected length in seconds, as the poller estimates it (the
            parent's duration scaled by the share of tests rerun), when known.
    """

    name: ClassVar[str] = "rerun_triggered"
    target: Target
    rerun_id: int
    adopted: bool
    expected: float | None = None


@attrs.frozen(kw_only=True)
class RerunFinished:
    """A target has ended, whatever the way (passed, failed, skipped, error, ...).

    Attributes:
        outcome: How it ended.
    """

    name: ClassVar[str] = "rerun_finished"
    outcome: Outcome


@attrs.frozen(kw_only=True)
class RequestsPaused:
    """The server asked to slow down: every request pauses (told as the pause starts or grows).

    Attributes:
        wait: Seconds until requests go again.
        reason: ``"retry-after"``, ``"backoff"`` or ``"quota"``.
    """

    name: ClassVar[str] = "rate_limited"
    wait: float
    reason: str


@attrs.frozen(kw_only=True)
class SweepFinished:
    """The sweep has ended.

    Attributes:
        report: The final report (notes may still be added to it).
    """

    name: ClassVar[str] = "sweep_finished"
    report: SweepReport


SweepEvent: TypeAlias = (
    SweepStarted | RerunTriggered | RerunFinished | RequestsPaused | SweepFinished
)
"""Any of the five events."""


class SweepListener:
    """Override what you need; every method does nothing by default.

    Each method takes one event object. The engine awaits each call; a pause is
    told from a task of its own as it starts, so ``rate_limited`` may overlap the
    other calls. An exception is logged and noted in the report, and never stops
    the sweep.
    """

    async def sweep_started(self, event: SweepStarted) -> None:
        """The sweep is about to read its first target."""

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        """A rerun exists for ``event.target``."""

    async def rerun_finished(self, event: RerunFinished) -> None:
        """A target has ended, whatever the way."""

    async def rate_limited(self, event: RequestsPaused) -> None:
        """The server asked to slow down; every request pauses ``event.wait`` seconds."""

    async def sweep_finished(self, event: SweepFinished) -> None:
        """The sweep has ended; ``event.report`` is final."""


async def _deliver(listener: SweepListener, event: SweepEvent) -> None:
    match event:
        case SweepStarted():
            await listener.sweep_started(event)
        case RerunTriggered():
            await listener.rerun_triggered(event)
        case RerunFinished():
            await listener.rerun_finished(event)
        case RequestsPaused():
            await listener.rate_limited(event)
        case _:  # a SweepFinished, as mypy knows: a sixth event must get its own case
            await listener.sweep_finished(event)


class Listeners:
    """A sweep's listeners, each told of every event on its own.

    A listener that raises is logged (its error without URLs, the traceback only
    at DEBUG) and noted; the others are still told.

    Args:
        listeners: Who to tell, in order.
        note: Called with one line per failure (e.g. ``report.notes.append``).
    """

    def __init__(self, listeners: Sequence[SweepListener], note: Callable[[str], None]) -> None:
        self._listeners = tuple(listeners)
        self._note = note
        # Events from sync callers, taken off only as they are told: whoever tells next
        # (the relay task or :meth:`tell`) tells them first, so they are never overtaken.
        self._queued: deque[SweepEvent] = deque()
        self._wake = anyio.Event()
        self._closing = False

    async def tell(self, event: SweepEvent) -> None:
        """Tell every listener of ``event``, after any event still queued by :meth:`tell_soon`."""
        await self._tell_queued()
        await self._tell_each(event)

    def tell_soon(self, event: SweepEvent) -> None:
        """Queue ``event`` and return at once (for sync callers, e.g. inside a request).

        While a :meth:`relaying` block runs, its task tells the event straight away;
        otherwise the next :meth:`tell` does, first.
        """
        self._queued.append(event)
        self._wake.set()

    @asynccontextmanager
    async def relaying(self) -> AsyncIterator[None]:
        """Run the task that tells the events of :meth:`tell_soon` while the block runs.

        When the block ends the task tells what is still queued, then stops. If the
        block raises, the task is cancelled (what it has not told waits for the next
        :meth:`tell`) and the exception passes through as it is, not in an exception group.
        """
        failure: BaseException | None = None
        self._closing = False
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._relay)
            try:
                yield
            except BaseException as exc:  # re-raised below, outside the task group
                failure = exc
                tg.cancel_scope.cancel()
            finally:
                self._closing = True
                self._wake.set()
        if failure is not None:
            raise failure

    async def _relay(self) -> None:
        while True:
            await self._wake.wait()
            self._wake = anyio.Event()
            await self._tell_queued()
            if self._closing:
                return

    async def _tell_queued(self) -> None:
        while self._queued:
            await self._tell_each(self._queued.popleft())

    async def _tell_each(self, event: SweepEvent) -> None:
        for listener in self._listeners:
            try:
                await _deliver(listener, event)
            except Exception as exc:
                who = type(listener).__name__
                error = safe_error(exc)
                log.warning("sweep listener %s failed on %s: %s", who, event.name, error)
                log.debug(
                    "sweep listener %s failed on %s:\n%s", who, event.name, safe_traceback(exc)
                )
                self._note(f"listener {who} failed on {event.name}: {error}")
