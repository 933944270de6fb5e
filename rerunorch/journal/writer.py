"""Statements to one SQLite connection, committed in groups by one writer task, off the loop.

A statement may be ``durable``: its caller waits until it is committed. If a
commit fails (a full disk, a lock another program holds for longer than
``busy_timeout``, a value SQLite cannot store), every waiter is released with
:class:`~rerunorch.errors.JournalError`, the block of :meth:`GroupCommit.running`
is cancelled, and the error is raised from it: no wait outlives the writer. A
block cancelled from outside (a stop at once) gives up, within a quarter of a
second, a commit that waits for another program's lock.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from rerunorch.errors import JournalError

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)

_SQLITE_INT = range(-(2**63), 2**63)  # what an INTEGER column holds
_STOP_AT_ONCE = 0.25  # real seconds the writer may go on after a stop at once
_BUSY_STEP_MS = 50  # a commit waits for another program's lock in steps this long


class _Write:
    """One statement for the writer; a durable one is waited for through ``done``."""

    __slots__ = ("committed", "done", "params", "sql")

    def __init__(self, sql: str, params: tuple[Any, ...], durable: bool) -> None:
        self.sql = sql
        self.params = params
        self.done = anyio.Event() if durable else None
        self.committed = False

    def release(self) -> None:
        if self.done is not None:
            self.done.set()


class GroupCommit:
    """The writer of one connection (opened with ``isolation_level=None``).

    Args:
        conn: The connection; from here on, its own waits for a lock are short steps.
        what: What is written, for messages (``"the journal j.sqlite"``).
        busy_timeout: Seconds a commit waits for another program's lock before it fails.
    """

    def __init__(self, conn: sqlite3.Connection, *, what: str, busy_timeout: float) -> None:
        self._conn = conn
        self._what = what
        self._busy_timeout = busy_timeout
        self._send: MemoryObjectSendStream[_Write] | None = None
        self._scope: anyio.CancelScope | None = None
        self._failure: JournalError | None = None
        self._giving_up = False
        conn.execute(f"PRAGMA busy_timeout = {_BUSY_STEP_MS}")  # so that a stop can cut in

    @property
    def failure(self) -> JournalError | None:
        """Why a commit failed, once one has."""
        return self._failure

    def commit_now(self, statements: list[tuple[str, tuple[Any, ...]]]) -> None:
        """Commit ``statements`` at once, in the calling thread (not while running).

        Raises:
            JournalError: The commit failed.
        """
        try:
            self._apply([_Write(sql, params, durable=False) for sql, params in statements])
        except sqlite3.Error as exc:
            raise JournalError(f"{self._what} could not be written: {exc}") from None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """Run the writer for the duration of the block; flush on the way out.

        If a write fails, the block is cancelled and :class:`JournalError` is raised
        from here once it has unwound (and to every later writer).
        """
        send, receive = anyio.create_memory_object_stream[_Write](max_buffer_size=10_000)
        self._send = send
        ended = anyio.Event()
        error: Exception | None = None
        cancelled = False
        try:
            async with anyio.create_task_group() as tg:
                self._scope = tg.cancel_scope
                tg.start_soon(self._writer, receive, ended)
                try:
                    yield
                except anyio.get_cancelled_exc_class():
                    cancelled = True
                    raise
                except Exception as exc:
                    error = exc  # raised below, not wrapped in the task group's group
                finally:
                    self._send = None
                    with anyio.CancelScope(shield=True):
                        await send.aclose()
                        if cancelled:
                            await self._give_up_on_stuck_writes(ended)
        finally:
            self._scope = None
        if error is not None:
            raise error
        if self._failure is not None:
            raise self._failure

    async def _give_up_on_stuck_writes(self, ended: anyio.Event) -> None:
        """Stopped at once: let the writer finish what it has, unless it is stuck on a lock."""
        with anyio.move_on_after(_STOP_AT_ONCE):
            await ended.wait()
        if not ended.is_set():
            self._giving_up = True
            self._conn.interrupt()  # the commit fails at once; its writes are not recorded

    async def _writer(self, receive: MemoryObjectReceiveStream[_Write], ended: anyio.Event) -> None:
        """Commit what comes, in groups, until the stream ends or a commit fails.

        Shielded, so that it commits what it was given even when the sweep is cancelled;
        on the way out it releases every waiter, committed or not.
        """
        with receive, anyio.CancelScope(shield=True):
            try:
                async for first in receive:
                    batch = [first]
                    while len(batch) < 1000:
                        try:
                            batch.append(receive.receive_nowait())
                        except (anyio.WouldBlock, anyio.EndOfStream):
                            break
                    try:
                        await anyio.to_thread.run_sync(self._apply, batch)
                        for write in batch:
                            write.committed = True
                    finally:
                        for write in batch:
                            write.release()
            except Exception as exc:
                if self._giving_up:
                    self._fail(f"{self._what}: writes given up on a stop ({exc})")
                else:
                    self._fail(f"{self._what} could not be written: {exc}")
            finally:
                self._release_pending(receive)
                ended.set()

    def _release_pending(self, receive: MemoryObjectReceiveStream[_Write]) -> None:
        """Release the writes still queued (none of them was committed)."""
        while True:
            try:
                receive.receive_nowait().release()
            except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
                return

    def _apply(self, batch: list[_Write]) -> None:
        """Commit ``batch``, again while another program holds the file's lock, until
        ``busy_timeout`` has passed or the sweep is stopped at once (in a worker thread)."""
        deadline = time.monotonic() + self._busy_timeout
        while True:
            try:
                return self._commit(batch)
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or self._giving_up or time.monotonic() >= deadline:
                    raise

    def _commit(self, batch: list[_Write]) -> None:
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            for write in batch:
                self._conn.execute(write.sql, write.params)

    def _fail(self, message: str) -> None:
        """Note the first failure and cancel the sweep (it ends with :class:`JournalError`)."""
        if self._failure is None:
            log.error("%s", message)
            self._failure = JournalError(message)
        if self._scope is not None:
            self._scope.cancel()

    def _refused(self) -> JournalError:
        """The error for a write that cannot be committed (a fresh one for each waiter)."""
        failure = self._failure or JournalError(f"{self._what} stopped writing")
        return JournalError(*failure.args)

    async def write(self, sql: str, params: tuple[Any, ...], *, durable: bool) -> None:
        """Queue one statement; a ``durable`` one returns once it is committed.

        Raises:
            JournalError: The writer has failed, or failed before committing this.
            RuntimeError: The writer is not running.
        """
        if self._send is None:
            raise RuntimeError("the journal is not running (use `async with journal.running()`)")
        if self._failure is not None:
            raise self._refused()
        for value in params:
            if isinstance(value, int) and value not in _SQLITE_INT:
                shown = value if value.bit_length() <= 128 else "a number"  # bounded
                self._fail(f"cannot record {shown} in {self._what}: not a 64-bit id")
                raise self._refused()
        write = _Write(sql, params, durable)
        try:
            await self._send.send(write)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            raise self._refused() from None
        if write.done is not None:
            # Not shielded: a waiter cancelled here never goes on to what needed the record
            # (the POST), and the journal is consistent whether or not the write lands.
            # The writer releases every waiter on its way out, so none can outlive it.
            await write.done.wait()
            if not write.committed:
                raise self._refused()
