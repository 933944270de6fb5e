"""The sweep listener that passes the engine's events on to the plugins' hooks."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from rerunorch.events import SweepListener

if TYPE_CHECKING:
    from rerunorch.outcome import Outcome
    from rerunorch.plugins.manager import PluginManager
    from rerunorch.report.model import SweepReport
    from rerunorch.settings import SweepSettings
    from rerunorch.targets import Target

__all__ = ["PluginRelay"]

log = logging.getLogger(__name__)


class PluginRelay(SweepListener):
    """Calls the ``rerunorch_<event>`` hook of every plugin for each sweep event.

    Each plugin is called on its own: one raising is logged and counted, and
    the others are still called. The failures are added to the report's notes
    when the sweep finishes (one note per plugin and event, with a count).

    Attributes:
        failures: ``(plugin, event)`` -> ``(count, first error)`` so far.
    """

    def __init__(self, manager: PluginManager) -> None:
        self._manager = manager
        self.failures: dict[tuple[str, str], tuple[int, str]] = {}

    async def sweep_started(self, settings: SweepSettings) -> None:
        await self._emit("sweep_started", settings=settings)

    async def rerun_triggered(self, target: Target, rerun_id: int, adopted: bool) -> None:
        await self._emit("rerun_triggered", target=target, rerun_id=rerun_id, adopted=adopted)

    async def rerun_finished(self, outcome: Outcome) -> None:
        await self._emit("rerun_finished", outcome=outcome)

    async def rate_limited(self, wait: float, reason: str) -> None:
        await self._emit("rate_limited", wait=wait, reason=reason)

    async def sweep_finished(self, report: SweepReport) -> None:
        # Earlier failures are noted first, so that plugins reading the notes see them.
        report.notes.extend(self.notes())
        self.failures.clear()
        await self._emit("sweep_finished", report=report)
        report.notes.extend(self.notes())
        self.failures.clear()

    def notes(self) -> list[str]:
        """One line per plugin and event that failed, e.g. for ``report.notes``."""
        lines = []
        for (plugin, event), (count, error) in self.failures.items():
            times = f" ({count} times; first: {error})" if count > 1 else f": {error}"
            lines.append(f"plugin {plugin} failed on {event}{times}")
        return lines

    async def _emit(self, event: str, **arguments: Any) -> None:
        for plugin, error in await self._manager.emit(f"rerunorch_{event}", **arguments):
            count, first = self.failures.get((plugin, event), (0, error))
            self.failures[(plugin, event)] = (count + 1, first)
            if not count:
                log.warning("plugin %s failed on %s: %s", plugin, event, error)
