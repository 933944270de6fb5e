"""The sweep's ledger: opened before anything is sent, read into a history, recorded as it goes.

:func:`open_ledger` opens the store (a bad URL, an unreachable server, a newer or
corrupt ledger: :class:`~rerunorch.ledger.store.LedgerError`, exit 2, before any
rerun), reads each test's history, and gives the listener that records every
target's observations and, at the end, notes what was quarantined or not recorded.
"""

from __future__ import annotations

import datetime as dt
import time

import attrs

from rerunorch.events import RerunFinished, SweepFinished, SweepListener
from rerunorch.ledger.advice import SweepHistory
from rerunorch.ledger.overrides import DEFAULT_QUARANTINE_FILE, read_overrides
from rerunorch.ledger.recorder import Recorder, spool_for
from rerunorch.ledger.store import LedgerStore
from rerunorch.outcome import TestRef

__all__ = ["Ledger", "LedgerListener", "open_ledger"]


class LedgerListener(SweepListener):
    """Records each target's observations; at the end, notes the quarantined and unrecorded."""

    def __init__(self, recorder: Recorder | None) -> None:
        self.recorder = recorder
        self.quarantined: dict[TestRef, None] = {}

    async def rerun_finished(self, event: RerunFinished) -> None:
        self.quarantined.update(dict.fromkeys(event.outcome.quarantined))
        if self.recorder is not None:
            await self.recorder.record(event.observations)

    async def sweep_finished(self, event: SweepFinished) -> None:
        report = event.report
        if self.quarantined:
            names = ", ".join(str(t.test_case_name or t.test_case_id) for t in self.quarantined)
            report.notes.append(
                f"quarantined: {len(self.quarantined)} test(s) did not pass and count for no "
                f"exit code: {_shorten(names)}"
            )
        if self.recorder is not None:
            unrecorded = await self.recorder.close()
            if unrecorded is not None:
                report.summary.unrecorded_observations = unrecorded.count
                report.notes.append(str(unrecorded))


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@attrs.frozen
class Ledger:
    """An open ledger for one sweep: its store, the history read, its listener."""

    store: LedgerStore
    history: SweepHistory
    listener: LedgerListener
    notes: tuple[str, ...] = ()

    def close(self) -> None:
        self.store.close()


def open_ledger(
    location: str,
    *,
    record: bool = True,
    rerun_broken: bool = False,
    quarantine_file: str | None = None,
    now: float | None = None,
) -> Ledger:
    """Open the ledger at ``location`` and read its history as of ``now``.

    Raises:
        LedgerError: The ledger cannot be used (exit 2: nothing has been sent).
        ConfigError: The quarantine file is malformed.
    """
    now = time.time() if now is None else now
    today = dt.datetime.fromtimestamp(now, dt.timezone.utc).date()
    overrides = read_overrides(quarantine_file or DEFAULT_QUARANTINE_FILE, today=today)
    store = LedgerStore.open(location)
    try:
        recorder = Recorder.open(store, spool=spool_for(store.location)) if record else None
        history = SweepHistory.of_flakes(
            store.summaries(now=now), rerun_broken=rerun_broken, overrides=overrides
        )
    except BaseException:
        store.close()
        raise
    return Ledger(
        store=store,
        history=history,
        listener=LedgerListener(recorder),
        notes=tuple(f"quarantine file: {line}: ignored" for line in overrides.expired),
    )
