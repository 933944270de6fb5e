"""The two databases a ledger may live in, behind one small interface (DB-API, ``?`` marks).

Both drivers are synchronous: :mod:`sqlite3` and psycopg 3 (the ``postgresql`` extra);
the store calls them from one thread at a time.
"""

from __future__ import annotations

import importlib
import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from rerunorch.errors import ConfigError, RerunorchError

__all__ = ["Backend", "LedgerError", "LedgerUnavailable", "Postgres", "Sqlite"]


class LedgerError(ConfigError):
    """The ledger cannot be used as given (a bad URL, unreachable, newer, corrupt): exit 2."""


class LedgerUnavailable(RerunorchError):
    """The ledger's database was lost while a sweep ran (its observations are kept)."""


_SCHEMA_LOCK = 0x72657275  # "reru": the advisory lock that serializes migrations


class Backend(Protocol):
    """A connection: what the store needs of it."""

    dialect: str

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]: ...
    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...
    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def lock_schema(self) -> None: ...
    def close(self) -> None: ...


class Sqlite:
    dialect = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # Used from one worker thread at a time, under the store's lock.
        self._db = sqlite3.connect(str(path), timeout=10, check_same_thread=False)
        for attempt in range(20):
            try:  # a new file's switch to WAL can meet another process making it: not waited on
                self._db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 19:
                    raise
                time.sleep(0.01 * (attempt + 1))
        self._db.execute("PRAGMA synchronous=NORMAL")

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return list(self._db.execute(sql, tuple(params)).fetchall())

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        self._db.executemany(sql, rows)

    def commit(self) -> None:
        self._db.commit()

    def rollback(self) -> None:
        self._db.rollback()

    def lock_schema(self) -> None:
        """Begin a transaction holding the write lock: one process migrates at a time."""
        self._db.execute("BEGIN IMMEDIATE")

    def close(self) -> None:
        self._db.close()


class Postgres:
    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        try:
            psycopg = importlib.import_module("psycopg")
        except ImportError as exc:
            raise LedgerError(
                f"a PostgreSQL history needs psycopg 3 ({exc}): install rerunorch with its "
                'extra, e.g. pip install "rerunorch[postgresql] @ '
                'git+https://github.com/rerunorch/rerunorch" (or ".[postgresql]" in a checkout)'
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

    def lock_schema(self) -> None:
        """Hold the ledger's advisory lock to the end of the transaction (one migrator)."""
        self.execute("SELECT pg_advisory_xact_lock(?)", (_SCHEMA_LOCK,))

    def close(self) -> None:
        self._db.close()
