"""A crash-safe record of a sweep, in SQLite, so that a killed sweep resumes.

Each target's state is written *before* the step that depends on it:
``triggering`` (with the run about to be rerun) is durable before the POST is
sent, and ``triggered`` (with the rerun's id) as soon as the id is known. On
resume, a target caught ``triggering`` is reconciled by reading that run: a
child there is the rerun, adopted. So a sweep killed at any moment resumes
without triggering anything twice and without losing a target.

Writes are committed in groups off the event loop (WAL, synchronous=NORMAL:
durable against a killed process; :class:`~rerunorch.journal.writer.GroupCommit`);
the callers of :meth:`Journal.triggering` and :meth:`Journal.triggered` wait for
their commit. A write that fails (a full disk, a lock held by another program, a
value SQLite cannot hold) fails the whole sweep with
:class:`~rerunorch.errors.JournalError`.

One sweep at a time: :meth:`Journal.open` takes an exclusive lock on
``<journal>.lock`` (:class:`~rerunorch.journal.lock.HolderLock`: it names the holder's
PID and host, and a lock left by a killed sweep is taken over).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import attrs

from rerunorch.errors import ConfigError, JournalError
from rerunorch.journal.lock import HolderLock
from rerunorch.journal.writer import GroupCommit
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.sharding import Shard

__all__ = [
    "DEFAULT_JOURNAL",
    "Journal",
    "JournalEntry",
    "State",
    "default_journal_path",
]

log = logging.getLogger(__name__)

DEFAULT_JOURNAL = ".rerunorch/journal.sqlite"
"""Where a sweep keeps its journal unless told otherwise (``--journal``)."""
APPLICATION_ID = 0x52524E4F  # "RRNO": marks the file as a rerunorch journal
SCHEMA_VERSION = 3  # 2 dropped the unused ``attempts`` column; 3 added ``round``
# Schemas this version reads and resumes (1 only had an extra column, never read, with a
# default; 1 and 2 lack ``round``, added on opening with its meaning then: round 1).
READABLE_SCHEMAS = (1, 2, 3)
# Settings that must match to resume (pacing and reporting may change freely).
RESUME_KEYS = ("base_url", "strategy", "wait", "dry_run", "shard", "strategy_settings")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS targets (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,
    head_id INTEGER,
    rerun_id INTEGER,
    adopted INTEGER NOT NULL DEFAULT 0,
    round INTEGER NOT NULL DEFAULT 1,
    outcome TEXT,
    error TEXT,
    result TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""


def default_journal_path(shard: Shard | None = None) -> str:
    """Where a sweep (or one shard of it) keeps its journal unless told otherwise.

    Shards sharing a folder keep separate journals.
    """
    if shard is None:
        return DEFAULT_JOURNAL
    return f".rerunorch/journal-shard-{shard.index}-of-{shard.count}.sqlite"


class State:
    """A target's state in the journal."""

    TRIGGERING = "triggering"  # a POST may be on its way: reconcile before any other
    TRIGGERED = "triggered"  # the rerun exists: follow it, never trigger again
    DONE = "done"  # the target has its outcome (kept on resume)


@attrs.frozen
class JournalEntry:
    """What the journal knows of one target.

    Attributes:
        state: One of :class:`State`'s values.
        head_id: The run being (or that was) rerun: the newest run of the chain then.
        rerun_id: The rerun, once known.
        adopted: The rerun was found rather than triggered by this sweep.
        round: Which round of reruns of the target this is (1 the first).
    """

    state: str
    head_id: int | None = None
    rerun_id: int | None = None
    adopted: bool = False
    round: int = 1


class Journal:
    """A sweep's journal file. Open it with :meth:`open`; :meth:`close` it when done.

    Raises (from :meth:`open`):
        ConfigError: A corrupt or foreign file; a journal in use by another sweep;
            an unfinished journal without ``resume``; resuming with other targets or
            settings without ``force``.
    """

    def __init__(
        self,
        path: Path,
        conn: sqlite3.Connection,
        lock: HolderLock | None = None,
        *,
        busy_timeout: float = 5.0,
    ) -> None:
        self.path = path
        self._conn = conn
        self._lock = lock
        self._writes = GroupCommit(conn, what=f"the journal {path}", busy_timeout=busy_timeout)
        self._entries: dict[int, JournalEntry] = {}
        self.resumed = False

    def __repr__(self) -> str:
        return f"Journal({str(self.path)!r})"

    @property
    def failure(self) -> JournalError | None:
        """Why the journal could not be written, once a write has failed."""
        return self._writes.failure

    # -- opening -----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        settings: Mapping[str, Any],
        fingerprint: str = "",
        resume: bool = False,
        force: bool = False,
        busy_timeout: float = 5.0,
    ) -> Journal:
        """Create a journal, or reopen one to resume; either way it is locked for this process.

        Args:
            busy_timeout: Seconds a write waits for a lock that another program holds on
                the file before it fails (and fails the sweep).
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        lock = HolderLock.acquire(
            Path(f"{path}.lock"),
            what=f"the journal {path}",
            hint="wait for that sweep to end, or use --journal to use another file",
        )
        try:
            return cls._open_locked(
                path, lock, settings, fingerprint, resume=resume, force=force, timeout=busy_timeout
            )
        except BaseException:
            lock.release()
            raise

    @classmethod
    def _open_locked(
        cls,
        path: Path,
        lock: HolderLock,
        settings: Mapping[str, Any],
        fingerprint: str,
        *,
        resume: bool,
        force: bool,
        timeout: float,
    ) -> Journal:
        if path.exists() and not resume:
            cls._replace_finished(path, timeout)
        existed = path.exists()
        journal = cls(path, cls._connect(path, timeout), lock, busy_timeout=timeout)
        try:
            if existed:
                journal._check_resumable(settings, fingerprint, force)
                journal._upgrade()
                journal._load()
                journal.resumed = True
            else:
                journal._create(settings, fingerprint)
        except BaseException:
            journal._conn.close()
            raise
        return journal

    @classmethod
    def _replace_finished(cls, path: Path, timeout: float) -> None:
        """Remove the finished journal at ``path``; refuse an unfinished one."""
        old = cls._connect(path, timeout)
        try:
            unfinished = cls._meta(old, path).get("finished") != "1" and cls._any_target(old)
        finally:
            old.close()
        if unfinished:
            raise ConfigError(
                f"an unfinished sweep's journal is at {path}: add --resume to continue it, "
                "or --journal to use another file"
            )
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)

    def _create(self, settings: Mapping[str, Any], fingerprint: str) -> None:
        with self._conn as conn:
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
            conn.executemany(
                "INSERT INTO meta VALUES (?, ?)",
                [
                    ("settings", json.dumps(dict(settings), sort_keys=True)),
                    ("fingerprint", fingerprint),
                    ("started_at", repr(time.time())),
                    ("finished", "0"),
                ],
            )

    @staticmethod
    def _connect(path: Path, timeout: float) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(
                path, timeout=timeout, check_same_thread=False, isolation_level=None
            )
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path} is not a rerunorch journal ({exc})") from None
        return conn

    @staticmethod
    def _meta(conn: sqlite3.Connection, path: Path) -> dict[str, str]:
        try:
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if app_id != APPLICATION_ID:
                raise ConfigError(f"{path} is not a rerunorch journal")
            if version not in READABLE_SCHEMAS:
                raise ConfigError(
                    f"{path} is a journal of schema {version}, which this rerunorch cannot "
                    f"read (it reads schemas {', '.join(map(str, READABLE_SCHEMAS))}): "
                    "use the rerunorch that wrote it, or --journal to use another file"
                )
            return dict(conn.execute("SELECT key, value FROM meta").fetchall())
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path} is not a rerunorch journal ({exc})") from None

    @staticmethod
    def _any_target(conn: sqlite3.Connection) -> bool:
        return conn.execute("SELECT 1 FROM targets LIMIT 1").fetchone() is not None

    def _check_resumable(self, settings: Mapping[str, Any], fingerprint: str, force: bool) -> None:
        meta = self._meta(self._conn, self.path)
        if force:
            return
        if meta.get("fingerprint") != fingerprint:
            raise ConfigError(
                f"{self.path} is the journal of a sweep over other targets; "
                "resume with the same targets, or add --force"
            )
        old = json.loads(meta.get("settings", "{}"))
        changed = [k for k in RESUME_KEYS if old.get(k) != settings.get(k)]
        if changed:
            what = ", ".join(f"{k} {old.get(k)!r} -> {settings.get(k)!r}" for k in changed)
            raise ConfigError(
                f"{self.path} was written with other settings ({what}); "
                "resume with the same ones, or add --force"
            )

    def _upgrade(self) -> None:
        """Bring a schema 1 or 2 journal to schema 3 (their reruns were all round 1)."""
        if self._conn.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        try:
            with self._conn as conn:
                conn.execute("ALTER TABLE targets ADD COLUMN round INTEGER NOT NULL DEFAULT 1")
                conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{self.path}: could not upgrade the journal ({exc})") from None

    def _load(self) -> None:
        rows = self._conn.execute(
            "SELECT id, state, head_id, rerun_id, adopted, round FROM targets"
        )
        for target, state, head_id, rerun_id, adopted, round_ in rows:
            self._entries[target] = JournalEntry(
                state, head_id, rerun_id, bool(adopted), int(round_)
            )

    # -- reading -----------------------------------------------------------------------------

    def entry(self, target: int) -> JournalEntry | None:
        """What the journal held for ``target`` when it was opened."""
        return self._entries.get(target)

    def outcome(self, target: int) -> Outcome | None:
        """The recorded outcome of a target that is done."""
        row = self._conn.execute(
            "SELECT outcome FROM targets WHERE id = ? AND state = ?", (target, State.DONE)
        ).fetchone()
        return Outcome.from_json(json.loads(row[0])) if row and row[0] else None

    def meta(self) -> dict[str, str]:
        return self._meta(self._conn, self.path)

    def outcomes(self) -> Iterator[Outcome]:
        """Every target's outcome; one not done is ``interrupted``."""
        rows = self._conn.execute(
            "SELECT id, state, rerun_id, adopted, outcome FROM targets ORDER BY updated_at"
        )
        for target, state, rerun_id, adopted, outcome in rows:
            if state == State.DONE and outcome:
                yield Outcome.from_json(json.loads(outcome))
            else:
                yield Outcome(
                    target=target,
                    outcome=OutcomeKind.INTERRUPTED,
                    rerun_id=rerun_id,
                    adopted=bool(adopted),
                    error=f"the sweep ended while this target was {state}",
                )

    # -- writing -----------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Journal]:
        """Run the writer for the duration of a sweep; flush on the way out.

        Raises:
            JournalError: A write failed; the block was cancelled, and this is raised
                once it has unwound.
        """
        async with self._writes.running():
            yield self

    async def _write(self, sql: str, params: tuple[Any, ...], *, durable: bool) -> None:
        await self._writes.write(sql, params, durable=durable)

    async def triggering(self, target: int, head_id: int, round: int = 1) -> None:
        """Record, durably, that round ``round``'s rerun of ``head_id`` is about to be POSTed."""
        now = time.time()
        await self._write(
            "INSERT INTO targets (id, state, head_id, round, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET state = excluded.state, "
            "head_id = excluded.head_id, rerun_id = NULL, round = excluded.round, "
            "updated_at = excluded.updated_at",
            (target, State.TRIGGERING, head_id, round, now, now),
            durable=True,
        )

    async def triggered(
        self, target: int, head_id: int, rerun_id: int, adopted: bool, round: int = 1
    ) -> None:
        """Record, durably, round ``round``'s rerun of ``target`` (a rerun of ``head_id``)."""
        now = time.time()
        await self._write(
            "INSERT INTO targets (id, state, head_id, rerun_id, adopted, round, created_at, "
            "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO UPDATE SET "
            "state = excluded.state, head_id = excluded.head_id, rerun_id = excluded.rerun_id, "
            "adopted = excluded.adopted, round = excluded.round, updated_at = excluded.updated_at",
            (target, State.TRIGGERED, head_id, rerun_id, int(adopted), round, now, now),
            durable=True,
        )

    async def finished(self, outcome: Outcome) -> None:
        """Record a target's outcome (an ``interrupted`` one leaves it to be resumed)."""
        if outcome.outcome is OutcomeKind.INTERRUPTED:
            return
        now = time.time()
        data = json.dumps(outcome.to_json(), separators=(",", ":"))
        await self._write(
            "INSERT INTO targets (id, state, rerun_id, adopted, outcome, error, result, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO "
            "UPDATE SET state = excluded.state, rerun_id = excluded.rerun_id, "
            "outcome = excluded.outcome, error = excluded.error, result = excluded.result, "
            "updated_at = excluded.updated_at",
            (
                outcome.target,
                State.DONE,
                outcome.rerun_id,
                int(outcome.adopted),
                data,
                outcome.error,
                outcome.result,
                now,
                now,
            ),
            durable=False,
        )

    def close(self, *, finished: bool) -> None:
        """Close the file and release its lock; ``finished`` marks a sweep that ran to its end.

        Raises:
            JournalError: The end could not be recorded (the file is closed all the same).
        """
        try:
            if finished and self.failure is None:
                self._writes.commit_now(
                    [
                        ("UPDATE meta SET value = '1' WHERE key = 'finished'", ()),
                        (
                            "INSERT OR REPLACE INTO meta VALUES ('finished_at', ?)",
                            (repr(time.time()),),
                        ),
                    ]
                )
        finally:
            self._conn.close()
            if self._lock is not None:
                self._lock.release()

    # -- the last sweep's targets (``--last-failed``, ``--resume`` without ids) ---------------

    @classmethod
    def reading(cls, path: str | Path) -> Journal:
        """An existing journal opened to read only (no lock, nothing replaced); :meth:`close`
        it with ``finished=False``.

        Raises:
            ConfigError: There is no file at ``path``, or it is not a rerunorch journal.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"no journal at {path}")
        try:
            conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        except sqlite3.DatabaseError as exc:
            raise ConfigError(f"{path} is not a rerunorch journal ({exc})") from None
        journal = cls(path, conn)
        try:
            journal.meta()
        except BaseException:
            conn.close()
            raise
        return journal

    @property
    def finished_sweep(self) -> bool:
        """The sweep that wrote it ran to its end."""
        return self.meta().get("finished") == "1"

    def failed_targets(self) -> list[int]:
        """The targets that did not end well (failed, timed out, error), in the order begun."""
        rows = self._conn.execute(
            "SELECT id, outcome FROM targets WHERE state = ? ORDER BY created_at, id", (State.DONE,)
        )
        return [
            target
            for target, data in rows
            if data and not OutcomeKind(json.loads(data)["outcome"]).ended_well
        ]

    def record_input(self, recorded: Mapping[str, Any]) -> None:
        """Record where the targets came from (read back by :meth:`recorded_input`)."""
        text = json.dumps(dict(recorded), separators=(",", ":"))
        self._writes.commit_now([("INSERT OR REPLACE INTO meta VALUES ('input', ?)", (text,))])

    def recorded_input(self) -> dict[str, Any] | None:
        """Where the targets came from, as :meth:`record_input` recorded it (None: not recorded)."""
        text = self.meta().get("input")
        return None if text is None else dict(json.loads(text))
