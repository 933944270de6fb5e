"""A fleet worker's journal: a sweep journal whose every record also goes to the fleet.

The worker's own file is scratch (a new one each run); what lasts is in Redis.
``triggering`` is written to Redis first (and waits for it), then to the file,
before the POST; ``triggered`` and outcomes go to the file, then to Redis. The
state a target had in the fleet when it was claimed is this journal's entry for
it, so the lifecycle resumes it as after a crash: a rerun found is adopted,
never triggered twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rerunorch.journal import Journal, JournalEntry, State
from rerunorch.outcome import Outcome, OutcomeKind

if TYPE_CHECKING:
    from rerunorch.fleet.worker import FleetWorker

__all__ = ["FleetJournal"]


class FleetJournal(Journal):
    """Open it with :meth:`Journal.open`; a :class:`FleetWorker` attaches itself."""

    worker: FleetWorker | None = None

    def _fleet(self) -> FleetWorker:
        if self.worker is None:
            raise RuntimeError("a FleetJournal writes through its FleetWorker: make one first")
        return self.worker

    def take_entry(self, target: int, entry: JournalEntry) -> None:
        """What the fleet knew of ``target`` when it was claimed: its entry from now on."""
        self._entries[target] = entry

    async def triggering(self, target: int, head_id: int, round: int = 1) -> None:
        await self._fleet().triggering(target, head_id, round)
        await super().triggering(target, head_id, round)

    async def triggered(
        self, target: int, head_id: int, rerun_id: int, adopted: bool, round: int = 1
    ) -> None:
        await super().triggered(target, head_id, rerun_id, adopted, round)
        entry = JournalEntry(State.TRIGGERED, head_id, rerun_id, adopted, round)
        await self._fleet().triggered(target, entry)

    async def finished(self, outcome: Outcome) -> None:
        await super().finished(outcome)
        if outcome.outcome is not OutcomeKind.INTERRUPTED:  # left for another worker
            await self._fleet().finished(outcome)
