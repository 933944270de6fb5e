"""Where the ledger lives: SQLite by default, PostgreSQL for teams (docs/verdicts.md).

``.rerunorch/history.sqlite`` (WAL) unless ``--history`` (config ``history``, env
``RERUNORCH_HISTORY``) names a path, ``sqlite:///PATH`` or ``postgresql://...``.

The drivers are the plain DB-API ones, both synchronous: :mod:`sqlite3` from the
standard library and psycopg 3 (the ``postgresql`` extra). One SQL text serves
both (``?`` placeholders, ``ON CONFLICT``); a sweep calls the store from a worker
thread, so neither blocks the event loop, and the commands call it directly.

Each observation is kept once (a run, a test, an iteration); its test's tally for
that night (:class:`~rerunorch.ledger.model.NightTally`) is folded again from the
observations, so a chain recorded twice (a resumed sweep) counts once, and
``rerunorch flaky`` reads tallies: a few rows per test and night, however many
observations there are.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

from rerunorch.ledger import rollup
from rerunorch.ledger.backends import Backend, LedgerError, LedgerUnavailable, Postgres, Sqlite
from rerunorch.ledger.migrations import LATEST, MIGRATIONS, TYPES
from rerunorch.ledger.model import FlakeModel
from rerunorch.ledger.records import Observation, TestFlake
from rerunorch.ledger.rows import (
    OBSERVATION_COLUMNS,
    TALLY_COLUMNS,
    observation,
    observation_row,
    stored_key,
    tally_row,
    where,
)
from rerunorch.ledger.rows import tally as stored_tally
from rerunorch.ledger.tallies import NightTally, tally
from rerunorch.secret import mask_url

__all__ = [
    "DEFAULT_HISTORY",
    "HISTORY_ENV",
    "LedgerError",
    "LedgerStore",
    "LedgerUnavailable",
    "history_location",
    "sqlite_path",
]

DEFAULT_HISTORY = ".rerunorch/history.sqlite"
HISTORY_ENV = "RERUNORCH_HISTORY"
_CHUNK = 400  # keys per IN (...) list


def sqlite_path(location: str) -> Path:
    """The file of a SQLite ledger: a path, or ``sqlite:///relative`` / ``sqlite:////absolute``."""
    return Path(location[len("sqlite:///") :] if location.startswith("sqlite:///") else location)


def history_location(given: str | None) -> str:
    """The ledger a command uses: ``given``, else ``$RERUNORCH_HISTORY``, else the default."""
    return given or os.environ.get(HISTORY_ENV) or DEFAULT_HISTORY


class LedgerStore:
    """The ledger's database: observations in, tallies and timelines out.

    Open it with :meth:`open`; it is a context manager. Its methods may be called from
    any one thread at a time (a sweep calls them from a worker thread).
    """

    def __init__(self, location: str) -> None:
        self.location = location
        self.where = mask_url(location)
        scheme = location.partition("://")[0].lower() if "://" in location else ""
        if scheme not in ("postgresql", "postgres", "sqlite", ""):
            raise LedgerError(
                f"history {self.where}: unknown scheme {scheme!r} "
                "(use a path, sqlite:///PATH or postgresql://USER@HOST/DB)"
            )
        self.dialect = "sqlite" if scheme in ("sqlite", "") else "postgresql"
        self._errors: tuple[type[Exception], ...] = (sqlite3.Error,)
        self._backend: Backend | None = None
        self._lock = threading.Lock()
        self._create = True

    def _connect(self) -> Backend:
        if self.dialect == "postgresql":
            backend = Postgres(self.location)
            self._errors = (sqlite3.Error, *backend.errors)
            return backend
        path = sqlite_path(self.location)
        if path.is_dir():
            raise LedgerError(f"history {self.where} is a folder, not a ledger file")
        if not self._create and not path.exists():
            raise LedgerError(
                f"no history at {self.where} yet (a sweep records one; --history names another)"
            )
        return Sqlite(path)

    def _db(self) -> Backend:
        """The connection, made again after one was lost."""
        if self._backend is None:
            self._backend = self._connect()
        return self._backend

    @classmethod
    def open(cls, location: str | None = None, *, create: bool = True) -> LedgerStore:
        """Open (and create or migrate) the ledger at ``location`` (see :func:`history_location`);
        with ``create=False`` a SQLite file that is not there is an error (the commands that
        only read).

        Raises:
            LedgerError: An unknown URL scheme, psycopg missing, the database unreachable
                or refusing the login, a file that is no SQLite database, or a ledger of a
                newer schema; the message names the ledger (its password masked).
        """
        store = cls(history_location(location))
        store._create = create
        try:
            store._db()
            store._migrate()
        except LedgerError:
            store.close()
            raise
        except Exception as exc:
            connected = store._backend is not None
            store.close()
            if not connected and not isinstance(exc, sqlite3.DatabaseError):
                raise LedgerError(
                    f"cannot open the history {store.where}: {_first_line(exc)}"
                ) from None
            raise LedgerError(
                f"history {store.where} is not a rerunorch ledger or is damaged: {_first_line(exc)}"
            ) from None
        return store

    def __enter__(self) -> LedgerStore:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        backend, self._backend = self._backend, None
        if backend is not None:
            with contextlib.suppress(*self._errors):  # already lost
                backend.close()

    # -- schema -----------------------------------------------------------------------------

    @property
    def version(self) -> int:
        """The ledger's schema version."""
        rows = self._db().execute("SELECT value FROM ledger_meta WHERE key = 'schema'")
        return int(rows[0][0]) if rows else 0

    def _migrate(self) -> None:
        """Bring the schema to :data:`LATEST` in one transaction, under a lock: of sweeps
        opening a new ledger at once, one creates it and the others find it made."""
        backend = self._db()
        backend.lock_schema()
        try:
            self._migrate_locked(backend)
        except BaseException:
            backend.rollback()
            raise
        backend.commit()

    def _migrate_locked(self, backend: Backend) -> None:
        backend.execute(MIGRATIONS[0][0])
        current = self.version
        if current > LATEST:
            raise LedgerError(
                f"history {self.where} has schema {current}, newer than this rerunorch "
                f"knows ({LATEST}): upgrade rerunorch, or use another --history"
            )
        types = TYPES[backend.dialect]
        for number in range(current + 1, LATEST + 1):
            for statement in MIGRATIONS[number - 1]:
                backend.execute(statement.format(**types))
            backend.execute(
                "INSERT INTO ledger_meta (key, value) VALUES ('schema', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (str(number),),
            )
            if number == 2:
                rollup.rebuild(backend)
            if number == 3:
                rollup.rebuild_rollup(backend)

    # -- writing ----------------------------------------------------------------------------

    def record(self, observations: Iterable[Observation]) -> int:
        """Keep ``observations`` (each once) and fold their tests' nights again.

        Returns how many were given. Raises :class:`LedgerUnavailable` when the database
        cannot be written; nothing of the call is kept then (one transaction).
        """
        rows = [o for o in observations if o.test_case_id is not None or o.test_case_name]
        if not rows:
            return 0
        with self._lock:
            try:
                self._record(rows)
                self._db().commit()
            except self._errors as exc:
                self._lost()
                raise LedgerUnavailable(
                    f"history {self.where} could not be written: {_first_line(exc)}"
                ) from exc
        return len(rows)

    def _lost(self) -> None:
        """Undo the write; a connection that cannot even do that is made again next time."""
        try:
            if self._backend is not None:
                self._backend.rollback()
        except self._errors:
            self.close()

    def _record(self, rows: Sequence[Observation]) -> None:
        backend = self._db()
        placeholders = ", ".join("?" * 17)
        backend.executemany(
            f"INSERT INTO observations ({OBSERVATION_COLUMNS}) VALUES ({placeholders}) "
            "ON CONFLICT (run_id, test_key, set_name) DO UPDATE SET verdict = "
            "COALESCE(excluded.verdict, observations.verdict)",
            [observation_row(o) for o in rows],
        )
        touched: dict[str, set[str]] = defaultdict(set)
        for o in rows:
            touched[o.night].add(stored_key(o.test_case_id, o.test_case_name))
        rollup.refresh(backend, self._fold(backend, touched))

    @staticmethod
    def _fold(backend: Backend, touched: dict[str, set[str]]) -> rollup.Changes:
        """Fold the tallies of the tests ``touched`` each night again, and their totals;
        the tallies each test had before and has now."""
        changes: rollup.Changes = defaultdict(lambda: ([], []))
        for night, keys in touched.items():
            for chunk in _chunks(sorted(keys)):
                marks = ", ".join("?" * len(chunk))
                found = backend.execute(
                    f"SELECT {OBSERVATION_COLUMNS} FROM observations "
                    f"WHERE night = ? AND set_name = '' AND test_key IN ({marks})",
                    (night, *chunk),
                )
                old = backend.execute(
                    f"SELECT {TALLY_COLUMNS} FROM tallies "
                    f"WHERE night = ? AND test_key IN ({marks})",
                    (night, *chunk),
                )
                backend.execute(
                    f"DELETE FROM tallies WHERE night = ? AND test_key IN ({marks})",
                    (night, *chunk),
                )
                new = tally(observation(row) for row in found)
                backend.executemany(
                    f"INSERT INTO tallies ({TALLY_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                    [tally_row(t) for t in new],
                )
                before = [stored_tally(row) for row in old]
                rollup.update(backend, before, new)
                for index, tallies in enumerate((before, new)):
                    for t in tallies:
                        changes[stored_key(t.test_case_id, t.test_case_name)][index].append(t)
        return changes

    # -- reading ----------------------------------------------------------------------------

    def tallies(
        self, *, since: str | None = None, plans: Collection[int] | None = None
    ) -> list[NightTally]:
        """The tallies of the nights from ``since`` (``YYYY-MM-DD``) on, of ``plans`` if given."""
        clause, params = where(since, plans)
        with self._lock:
            rows = self._db().execute(f"SELECT {TALLY_COLUMNS} FROM tallies WHERE {clause}", params)
        return [stored_tally(row) for row in rows]

    def summaries(
        self,
        *,
        now: float,
        model: FlakeModel | None = None,
        since: str | None = None,
        plans: Collection[int] | None = None,
    ) -> list[TestFlake]:
        """:func:`~rerunorch.ledger.model.summarize` of :meth:`tallies`, without reading
        every tally (:mod:`rerunorch.ledger.rollup`): what ``rerunorch flaky`` shows."""
        with self._lock:
            return rollup.summaries(
                self._db(), now=now, model=model or FlakeModel(), since=since, plans=plans
            )

    def nights(
        self, *, since: str | None = None, plans: Collection[int] | None = None
    ) -> list[str]:
        """The nights recorded (from ``since`` on, of ``plans`` if given), oldest first."""
        clause, params = where(since, plans)
        sql = f"SELECT DISTINCT night FROM tallies WHERE {clause} ORDER BY night"
        with self._lock:
            return [row[0] for row in self._db().execute(sql, params)]

    def timeline(self, test: str) -> list[Observation]:
        """Every observation of a test (its id, or its exact name), oldest first."""
        sql = f"SELECT {OBSERVATION_COLUMNS} FROM observations WHERE "
        if test.strip().isdigit():
            sql, params = sql + "test_key = ?", [str(int(test))]
        else:
            sql, params = sql + "test_case_name = ?", [test]
        with self._lock:
            rows = self._db().execute(sql + " ORDER BY at, round, run_id, set_name", params)
        return [observation(row) for row in rows]

    def count(self) -> int:
        """How many observations the ledger holds."""
        with self._lock:
            return int(self._db().execute("SELECT COUNT(*) FROM observations")[0][0])


def _chunks(keys: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(keys), _CHUNK):
        yield keys[start : start + _CHUNK]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
