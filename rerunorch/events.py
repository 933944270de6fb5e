"""Listening to a sweep: the events the engine reports as it goes."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rerunorch.outcome import Outcome
    from rerunorch.report.model import SweepReport
    from rerunorch.settings import SweepSettings
    from rerunorch.targets import Target

__all__ = ["SweepListener"]


class SweepListener:
    """Override what you need; every method does nothing by default.

    The engine awaits each call; an exception is logged and noted in the
    report, and never stops the sweep.
    """

    async def sweep_started(self, settings: SweepSettings) -> None:
        """The sweep is about to read its first target."""

    async def rerun_triggered(self, target: Target, rerun_id: int, adopted: bool) -> None:
        """A rerun exists for ``target`` (``adopted``: it was not this sweep's POST)."""

    async def rerun_finished(self, outcome: Outcome) -> None:
        """A target has ended, whatever the way."""

    async def rate_limited(self, wait: float, reason: str) -> None:
        """The server asked to slow down; every request pauses ``wait`` seconds."""

    async def sweep_finished(self, report: SweepReport) -> None:
        """The sweep has ended; ``report`` is final."""
