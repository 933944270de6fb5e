"""Small helpers shared by the engine and journal tests."""

from __future__ import annotations

from rerunorch import RerunTriggered, Sweep, SweepListener

__all__ = ["StopAfter"]


class StopAfter(SweepListener):
    """Asks its sweep to stop once ``count`` reruns exist."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.sweep: Sweep | None = None

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        assert self.sweep is not None
        if self.sweep.progress.triggered >= self.count:
            self.sweep.stop()
