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
import importlib
import os
import sqlite3
import threading
from collections import defaultdict
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

from rerunorch.errors import ConfigError, RerunorchError
from rerunorch.ledger.migrations import LATEST, MIGRATIONS, TYPES
from rerunorch.ledger.model import NightTally, tally
from rerunorch.ledger.records import Observation
from rerunorch.secret import mask_url
from rerunorch.verdicts import Seen

__all__ = [
    "DEFAULT_HISTORY",
    "HISTORY_ENV",
    "LedgerError",
    "LedgerStore",
    "LedgerUnavailable",
    "history_location",
]

DEFAULT_HISTORY = ".rerunorch/history.sqlite"
HISTORY_ENV = "RERUNORCH_HISTORY"
_CHUNK = 400  # keys per IN (...) list
_SEEN = {seen.value: seen for seen in Seen}


class LedgerError(ConfigError):
    """The ledger cannot be used as given (a bad URL, unreachable, newer, corrupt): exit 2."""


class LedgerUnavailable(RerunorchError):
    """The ledger's database was lost while a sweep ran (its observations are kept)."""


def history_location(given: str | None) -> str:
    """The ledger a command uses: ``given``, else ``$RERUNORCH_HISTORY``, else the default."""
    return given or os.environ.get(HISTORY_ENV) or DEFAULT_HISTORY


def test_key(test_case_id: int | None, name: str | None) -> str:
    """The key a test is stored by: its id, or ``name:`` and its name."""
    return str(test_case_id) if test_case_id is not None else f"name:{name}"


class _Backend(Protocol):
    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def close(self) -> None: ...


class _Sqlite:
    dialect = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Used from one worker thread at a time, under the store's lock.
        self._db = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, tuple(params)).fetchall())

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def close(self) -> None:
        self._db.close()


class _Postgres:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            psycopg = importlib.import_module("psycopg")
        except ImportError as exc:
            raise LedgerError(
                f"a PostgreSQL history needs psycopg 3 ({exc}): pip install 'rerunorch[postgresql]'"
            ) from None
        self.errors: tuple[type[Exception], ...] = (psycopg.Error,)
        self._db = psycopg.connect(url, connect_timeout=5)

    @staticmethod
    def _sql(sql: str) -> str:
        return sql.replace("?", "%s")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._db.cursor() as cursor:
            cursor.execute(self._sql(sql), tuple(params))
            return list(cursor.fetchall()) if cursor.description else []

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._db.cursor() as cursor:
            cursor.executemany(self._sql(sql), [tuple(row) for row in rows])

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def close(self) -> None:
        self._db.close()


_OBSERVATION_COLUMNS = (
    "test_key, test_case_id, test_case_name, suite, plan_id, machine, set_name, target, "
    "run_id, round, result, seen, at, duration, build_no, night, verdict"
)
_TALLY_COLUMNS = (
    "test_key, test_case_id, test_case_name, plan_id, machine, night, runs, failures, first, "
    "last, tail, flips, rerun_passed, first_at, last_at, verdict"
)


def _observation_row(o: Observation) -> tuple[Any, ...]:
    return (
        test_key(o.test_case_id, o.test_case_name),
        o.test_case_id,
        o.test_case_name,
        o.suite,
        o.plan_id or 0,
        o.machine or "",
        o.set_name or "",
        o.target,
        o.run_id,
        o.round,
        o.result,
        o.seen.value,
        o.at,
        o.duration,
        o.build_no,
        o.night,
        o.verdict,
    )


def _observation(row: Sequence[Any]) -> Observation:
    return Observation(
        test_case_id=row[1],
        test_case_name=row[2],
        suite=row[3],
        plan_id=row[4] or None,
        machine=row[5] or None,
        set_name=row[6] or None,
        target=row[7],
        run_id=row[8],
        round=row[9],
        result=row[10],
        seen=Seen(row[11]),
        at=float(row[12]),
        duration=row[13],
        build_no=row[14],
        night=row[15],
        verdict=row[16],
    )


def _tally_row(t: NightTally) -> tuple[Any, ...]:
    return (
        test_key(t.test_case_id, t.test_case_name),
        t.test_case_id,
        t.test_case_name,
        t.plan_id or 0,
        t.machine or "",
        t.night,
        t.runs,
        t.failures,
        t.first.value,
        t.last.value,
        t.tail,
        t.flips,
        int(t.rerun_passed),
        t.first_at,
        t.last_at,
        t.verdict,
    )


def _tally(row: Sequence[Any]) -> NightTally:
    return NightTally(
        test_case_id=row[1],
        test_case_name=row[2],
        plan_id=row[3] or None,
        machine=row[4] or None,
        night=row[5],
        runs=row[6],
        failures=row[7],
        first=_SEEN[row[8]],
        last=_SEEN[row[9]],
        tail=row[10],
        flips=row[11],
        rerun_passed=bool(row[12]),
        first_at=float(row[13]),
        last_at=float(row[14]),
        verdict=row[15],
    )


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
        self._backend: _Backend | None = None
        self._lock = threading.Lock()

    def _connect(self) -> _Backend:
        if self.dialect == "postgresql":
            backend = _Postgres(self.location)
            self._errors = (sqlite3.Error, *backend.errors)
            return backend
        location = self.location
        path = Path(location[len("sqlite://") :] if location.startswith("sqlite://") else location)
        if path.is_dir():
            raise LedgerError(f"history {self.where} is a folder, not a ledger file")
        return _Sqlite(path)

    def _db(self) -> _Backend:
        """The connection, made again after one was lost."""
        if self._backend is None:
            self._backend = self._connect()
        return self._backend

    @classmethod
    def open(cls, location: str | None = None) -> LedgerStore:
        """Open (and create or migrate) the ledger at ``location`` (see :func:`history_location`).

        Raises:
            LedgerError: An unknown URL scheme, psycopg missing, the database unreachable
                or refusing the login, a file that is no SQLite database, or a ledger of a
                newer schema; the message names the ledger (its password masked).
        """
        store = cls(history_location(location))
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
        backend = self._db()
        backend.execute(MIGRATIONS[0][0])
        backend.commit()
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
            backend.commit()

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
            f"INSERT INTO observations ({_OBSERVATION_COLUMNS}) VALUES ({placeholders}) "
            "ON CONFLICT (run_id, test_key, set_name) DO UPDATE SET verdict = "
            "COALESCE(excluded.verdict, observations.verdict)",
            [_observation_row(o) for o in rows],
        )
        touched: dict[str, set[str]] = defaultdict(set)
        for o in rows:
            touched[o.night].add(test_key(o.test_case_id, o.test_case_name))
        for night, keys in touched.items():
            for chunk in _chunks(sorted(keys)):
                marks = ", ".join("?" * len(chunk))
                found = backend.execute(
                    f"SELECT {_OBSERVATION_COLUMNS} FROM observations "
                    f"WHERE night = ? AND set_name = '' AND test_key IN ({marks})",
                    (night, *chunk),
                )
                backend.execute(
                    f"DELETE FROM tallies WHERE night = ? AND test_key IN ({marks})",
                    (night, *chunk),
                )
                backend.executemany(
                    f"INSERT INTO tallies ({_TALLY_COLUMNS}) VALUES ({', '.join('?' * 16)})",
                    [_tally_row(t) for t in tally(_observation(row) for row in found)],
                )

    # -- reading ----------------------------------------------------------------------------

    def tallies(
        self, *, since: str | None = None, plans: Collection[int] | None = None
    ) -> list[NightTally]:
        """The tallies of the nights from ``since`` (``YYYY-MM-DD``) on, of ``plans`` if given."""
        sql = f"SELECT {_TALLY_COLUMNS} FROM tallies WHERE night >= ?"
        params: list[Any] = [since or ""]
        if plans:
            sql += f" AND plan_id IN ({', '.join('?' * len(plans))})"
            params += sorted(plans)
        with self._lock:
            return [_tally(row) for row in self._db().execute(sql, params)]

    def timeline(self, test: str) -> list[Observation]:
        """Every observation of a test (its id, or its exact name), oldest first."""
        sql = f"SELECT {_OBSERVATION_COLUMNS} FROM observations WHERE "
        if test.strip().isdigit():
            sql, params = sql + "test_key = ?", [str(int(test))]
        else:
            sql, params = sql + "test_case_name = ?", [test]
        with self._lock:
            rows = self._db().execute(sql + " ORDER BY at, round, run_id, set_name", params)
        return [_observation(row) for row in rows]

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
