"""The sweep listener that passes the engine's events on to the plugins' hooks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rerunorch.events import (
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    SweepEvent,
    SweepFinished,
    SweepListener,
    SweepStarted,
)
from rerunorch.plugins.rounds import Picks, RoundsStrategy

if TYPE_CHECKING:
    from rerunorch.plugins.manager import PluginManager
    from rerunorch.strategies.base import Strategy
    from rerunorch.verdicts import RoundContext

__all__ = ["PluginRelay"]

log = logging.getLogger(__name__)


class PluginRelay(SweepListener):
    """Calls the matching ``rerunorch_*`` hook of every plugin for each sweep event.

    Each plugin is called on its own: one raising is logged and counted, and
    the others are still called. The failures are added to the report's notes
    when the sweep finishes (one note per plugin and event, with a count).

    Attributes:
        failures: ``(plugin, event)`` -> ``(count, first error)`` so far.
    """

    def __init__(self, manager: PluginManager) -> None:
        self._manager = manager
        self.failures: dict[tuple[str, str], tuple[int, str]] = {}

    async def sweep_started(self, event: SweepStarted) -> None:
        self._count(event, await self._manager.sweep_started(event))

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self._count(event, await self._manager.rerun_triggered(event))

    async def rerun_finished(self, event: RerunFinished) -> None:
        self._count(event, await self._manager.rerun_finished(event))

    async def rate_limited(self, event: RequestsPaused) -> None:
        self._count(event, await self._manager.rate_limited(event))

    async def sweep_finished(self, event: SweepFinished) -> None:
        # Earlier failures are noted first, so that plugins reading the notes see them.
        report = event.report
        report.notes.extend(self.notes())
        self.failures.clear()
        self._count(event, await self._manager.sweep_finished(event))
        report.notes.extend(self.notes())
        self.failures.clear()

    def with_rounds(self, strategy: Strategy) -> Strategy:
        """``strategy`` with the plugins' ``rerunorch_next_round`` hooks asked about each later
        round after its own ``next_round`` (``strategy`` itself when no plugin has the hook).
        Their failures are noted like the event hooks' (event ``next_round``)."""
        if not self._manager.decides_rounds():
            return strategy
        return RoundsStrategy(strategy, self._next_round)

    async def _next_round(self, ctx: RoundContext) -> Picks | None:
        picks, failures = await self._manager.next_round(ctx)
        self._note("next_round", failures)
        return picks

    def notes(self) -> list[str]:
        """One line per plugin and event that failed, e.g. for ``report.notes``."""
        lines = []
        for (plugin, event), (count, error) in self.failures.items():
            times = f" ({count} times; first: {error})" if count > 1 else f": {error}"
            lines.append(f"plugin {plugin} failed on {event}{times}")
        return lines

    def _count(self, event: SweepEvent, failures: list[tuple[str, str]]) -> None:
        self._note(event.name, failures)

    def _note(self, name: str, failures: list[tuple[str, str]]) -> None:
        for plugin, error in failures:
            count, first = self.failures.get((plugin, name), (0, error))
            self.failures[(plugin, name)] = (count + 1, first)
            if not count:
                log.warning("plugin %s failed on %s: %s", plugin, name, error)
