"""An exclusive lock between processes that names its holder (``PID n on HOST``).

It is the operating system's lock (``flock``), so it goes with its process however
that ends: a lock left by a killed process is simply taken over. POSIX only
(Linux, macOS; on NFS as far as the server supports locks).
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path

from rerunorch.errors import ConfigError

__all__ = ["HolderLock"]


class HolderLock:
    """An exclusive hold on a lock file, which says who holds it. Use :meth:`acquire`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def __repr__(self) -> str:
        return f"HolderLock({str(self.path)!r})"

    @classmethod
    def acquire(cls, path: Path, *, what: str, hint: str) -> HolderLock:
        """Take the lock at ``path`` (created if need be) for this process, without waiting.

        Args:
            what: What the lock guards, for messages (``"the journal j.sqlite"``).
            hint: What to do when it is held, for messages.

        Raises:
            ConfigError: Another process holds it (``{what} is in use by PID n on HOST:
                {hint}``), or the file cannot be opened or locked.
        """
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise ConfigError(f"cannot lock {what}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd) or "another process"
            os.close(fd)
            raise ConfigError(f"{what} is in use by {holder}: {hint}") from None
        except OSError as exc:
            os.close(fd)
            raise ConfigError(f"cannot lock {what}: {exc.strerror}") from None
        # Ours now (a dead holder's lock went with its process): say who holds it.
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {socket.gethostname()}\n".encode(), 0)
        return cls(path, fd)

    def release(self) -> None:
        """Let the next process in (the file stays: removing it would race with a new holder)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the only descriptor drops the flock


def _holder(fd: int) -> str | None:
    """``PID n on HOST`` from a lock file's content, if it has any yet."""
    try:
        text = os.pread(fd, 300, 0).decode("utf-8", "replace")
    except OSError:
        return None
    pid, _, host = text.strip().partition(" ")
    return f"PID {pid} on {host}" if pid.isdigit() and host else None
