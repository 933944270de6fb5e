"""Recording a sweep's observations, so that a database lost mid-sweep never loses the sweep.

Each target's observations are written as it ends, from a worker thread. When the
database cannot be written they are kept, and tried again with the next targets
(every ``retry_every``-th) and at the end; what is still unwritten then is spooled
to a file (JSON lines) that the next :meth:`Recorder.open` writes first.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from pathlib import Path

import anyio
import anyio.to_thread
import attrs

from rerunorch.ledger.records import Observation
from rerunorch.ledger.store import LedgerStore, LedgerUnavailable, sqlite_path
from rerunorch.verdicts import Seen

__all__ = ["DEFAULT_SPOOL", "Recorder", "Unrecorded", "spool_for"]

log = logging.getLogger(__name__)

DEFAULT_SPOOL = ".rerunorch/history-unrecorded.jsonl"
"""Where a PostgreSQL ledger's unrecorded observations wait (a SQLite one's: beside it)."""


def spool_for(location: str) -> Path:
    """Where the observations a ledger could not take wait for the next sweep."""
    if "://" in location and not location.startswith("sqlite://"):
        return Path(DEFAULT_SPOOL)
    path = sqlite_path(location)
    return path.with_name(path.name + ".unrecorded.jsonl")


@attrs.frozen
class Unrecorded:
    """Observations the ledger did not take: how many, why, and where they wait."""

    count: int
    reason: str
    spool: Path | None

    def __str__(self) -> str:
        where = f"kept in {self.spool}, written by the next sweep" if self.spool else "lost"
        return f"history: {self.count} observation(s) not recorded ({self.reason}); {where}"


def _to_json(o: Observation) -> str:
    data = attrs.asdict(o, recurse=False)
    data["seen"] = o.seen.value
    return json.dumps(data, separators=(",", ":"))


def _from_json(line: str) -> Observation:
    data = json.loads(line)
    data["seen"] = Seen(data["seen"])
    return Observation(**data)


class Recorder:
    """Writes observations to ``store``; keeps what it cannot write (see the module).

    Args:
        store: The ledger.
        spool: Where unwritten observations wait for the next sweep (None: nowhere).
        retry_every: After a failed write, try again with every this-many-th target.
    """

    def __init__(
        self, store: LedgerStore, *, spool: Path | None = None, retry_every: int = 10
    ) -> None:
        self.store = store
        self.spool = spool
        self.retry_every = retry_every
        self.recorded = 0
        self._pending: list[Observation] = []
        self._problem: str | None = None
        self._since_failure = 0

    @classmethod
    def open(cls, store: LedgerStore, *, spool: Path | None = None) -> Recorder:
        """A recorder that first writes what an earlier sweep left in ``spool``."""
        recorder = cls(store, spool=spool)
        if spool is not None and spool.exists():
            with spool.open(encoding="utf-8") as lines:
                left = [_from_json(line) for line in lines if line.strip()]
            try:
                store.record(left)
            except LedgerUnavailable as exc:
                recorder._pending.extend(left)
                recorder._problem = str(exc)
            else:
                log.info("history: wrote %d observations an earlier sweep kept", len(left))
                recorder.recorded += len(left)
            spool.unlink()
        return recorder

    @property
    def pending(self) -> int:
        """Observations not yet written."""
        return len(self._pending)

    async def record(self, observations: Iterable[Observation]) -> None:
        """Write one target's observations (or keep them, if the database is lost)."""
        self._pending.extend(observations)
        if self._problem is not None:
            self._since_failure += 1
            if self._since_failure % self.retry_every:
                return
        await self._flush()

    async def _flush(self) -> bool:
        if not self._pending:
            return True
        batch = list(self._pending)
        try:
            await anyio.to_thread.run_sync(self.store.record, batch)
        except LedgerUnavailable as exc:
            if self._problem is None:
                log.warning("%s; keeping its observations", exc)
            self._problem = str(exc)
            return False
        del self._pending[: len(batch)]
        self.recorded += len(batch)
        self._problem = None
        return True

    async def close(self) -> Unrecorded | None:
        """Write what is left; what cannot be written goes to the spool. Returns that, if any."""
        if await self._flush():
            return None
        assert self._problem is not None
        count, spool = len(self._pending), self.spool
        if spool is not None:
            try:
                spool.parent.mkdir(parents=True, exist_ok=True)
                with spool.open("a", encoding="utf-8") as out:
                    out.writelines(_to_json(o) + "\n" for o in self._pending)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                log.warning("history: cannot keep unrecorded observations in %s: %s", spool, exc)
                spool = None
        self._pending.clear()
        return Unrecorded(count, self._problem, spool)
