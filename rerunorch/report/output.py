"""Where a report goes: a regular file (replaced atomically), anything else, or ``-``.

Every report writer opens its destination through :func:`open_output`, and the
CLI calls :func:`check_output` for each one before the sweep sends anything:

- ``-`` is standard output;
- a regular file, or a path that does not exist yet, is written to a temporary
  file in the same folder and then renamed over the path, so a reader never sees
  half a report and a failed write leaves the old one;
- anything else (a symlink, a FIFO, ``/dev/stdout``, a device) is opened for
  writing and written in place, never replaced.

A CI job's summary file is added to, not replaced: GitHub Actions gives each step
a file in ``$GITHUB_STEP_SUMMARY`` that every command of the step may append to,
so a path naming that file (:func:`is_job_summary`) is appended to in place.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

__all__ = ["JOB_SUMMARY_VARIABLE", "STDOUT", "check_output", "is_job_summary", "open_output"]

STDOUT = "-"
"""The path that means standard output."""

JOB_SUMMARY_VARIABLE = "GITHUB_STEP_SUMMARY"
"""The environment variable that names the CI job's summary file (GitHub Actions)."""


def is_job_summary(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` is the file named by ``$GITHUB_STEP_SUMMARY`` (appended to, not replaced).

    >>> is_job_summary("-")
    False
    """
    summary = os.environ.get(JOB_SUMMARY_VARIABLE, "")
    if not summary or os.fspath(path) == STDOUT:
        return False
    if os.path.abspath(path) == os.path.abspath(summary):
        return True
    try:
        return os.path.samefile(path, summary)
    except OSError:  # one of them does not exist (yet)
        return False


def _replaceable(path: Path) -> bool:
    """True for a regular file or a missing path; False for a symlink, FIFO or device."""
    try:
        mode = path.lstat().st_mode
    except FileNotFoundError:
        return True
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "it is a folder")
    return stat.S_ISREG(mode)


def _folder(path: Path) -> Path:
    folder = path.parent
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, f"no folder {str(folder)!r}")
    return folder


def _temporary(path: Path) -> tuple[Path, int]:
    """A new file beside ``path`` (mode as for any new file), and its descriptor."""
    tmp = _folder(path) / f".{path.name}.{secrets.token_hex(4)}.tmp"
    return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def check_output(path: str | os.PathLike[str]) -> None:
    """Make sure a report can be written to ``path``, writing nothing there.

    For a path that will be replaced, a probe file is created (and removed) in
    its folder; anything else must be writable now. FIFOs are not opened, as
    that would wait for a reader.

    Raises:
        OSError: It cannot be written; ``strerror`` says why (e.g. no such folder).
    """
    if os.fspath(path) == STDOUT:
        return
    out = Path(path)
    if _replaceable(out):
        tmp, fd = _temporary(out)
        os.close(fd)
        tmp.unlink()
        return
    # A symlink to a file yet to be made is fine if that file's folder takes it.
    where = out if out.exists() else _folder(out.resolve())
    if not os.access(where, os.W_OK):
        raise PermissionError(errno.EACCES, f"{str(where)!r} is not writable")


@contextmanager
def open_output(path: str | os.PathLike[str], *, append: bool = False) -> Iterator[TextIO]:
    """A text stream (UTF-8) for a report at ``path``; see the module for what each path means.

    With ``append``, an existing file is added to in place (a CI job's summary file);
    see :func:`is_job_summary` for when a writer asks for it.

    Raises:
        OSError: The destination could not be opened or written; a regular file is
            then left as it was.
    """
    if os.fspath(path) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    out = Path(path)
    if append or not _replaceable(out):
        with out.open("a" if append else "w", encoding="utf-8") as fh:
            yield fh
        return
    tmp, fd = _temporary(out)
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            yield fh
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
