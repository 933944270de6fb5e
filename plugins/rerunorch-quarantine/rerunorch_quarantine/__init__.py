"""rerunorch-quarantine: rerun the failed tests except the quarantined ones.

A rerunorch plugin (entry point ``quarantine`` in the group ``rerunorch``)
that registers the strategy ``quarantine``. It uses only rerunorch's public API.
The file may be named in the config file (or with ``-o file=PATH``)::

    [strategy.quarantine]
    file = "ci/quarantine.txt"

Installed, it also keeps quarantined tests out of every later round, whatever the
strategy (hook ``rerunorch_next_round``; the file of ``$RERUNORCH_QUARANTINE_FILE``,
else ``quarantine.txt`` if there is one).
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from rerunorch import (
    Decision,
    DecisionContext,
    ReRunType,
    RoundContext,
    Selection,
    Skip,
    Strategy,
    TestCaseResult,
    TestCaseResultRequest,
    hookimpl,
    read_settings,
)

__all__ = [
    "DEFAULT_FILE",
    "ENV_FILE",
    "Quarantine",
    "QuarantineList",
    "QuarantineSettings",
    "read_quarantine",
]
__version__ = "0.1.0"

ENV_FILE = "RERUNORCH_QUARANTINE_FILE"
DEFAULT_FILE = "quarantine.txt"


@dataclasses.dataclass(frozen=True)
class QuarantineList:
    """The quarantined test cases.

    Attributes:
        ids: Test case ids (``testCaseId``, the same across reruns).
        names: Test case names, matched exactly (surrounding spaces aside).
    """

    ids: frozenset[int] = frozenset()
    names: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> QuarantineList:
        """One test case a line, by id or name; blank lines and lines starting with ``#`` are
        ignored (a ``#`` inside a line is part of the name: test names often hold one)."""
        ids: set[int] = set()
        names: set[str] = set()
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.isdigit():
                ids.add(int(line))
            else:
                names.add(line)
        return cls(frozenset(ids), frozenset(names))

    def holds(self, test: TestCaseResult) -> bool:
        """Whether ``test`` is quarantined."""
        return self.holds_case(test.test_case_id, test.test_case_name)

    def holds_case(self, test_case_id: int | None, name: str | None) -> bool:
        """Whether the test case of this id or name is quarantined."""
        if test_case_id is not None and test_case_id in self.ids:
            return True
        return name is not None and name.strip() in self.names

    def __len__(self) -> int:
        return len(self.ids) + len(self.names)


def read_quarantine(path: str | os.PathLike[str] | None = None) -> QuarantineList:
    """Read the quarantine file: ``path``, else ``$RERUNORCH_QUARANTINE_FILE``, else
    ``quarantine.txt`` (which may be missing: then nothing is quarantined).

    Raises:
        ValueError: A file given by argument or environment cannot be read.
    """
    named = path if path is not None else os.environ.get(ENV_FILE) or None
    file = Path(named if named is not None else DEFAULT_FILE)
    try:
        return QuarantineList.parse(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        if named is None:
            return QuarantineList()
        raise ValueError(
            f"quarantine file {file} not found (from {ENV_FILE} or the strategy)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read quarantine file {file}: {exc}") from None


@dataclasses.dataclass(frozen=True)
class QuarantineSettings:
    """The ``[strategy.quarantine]`` table.

    Attributes:
        file: The quarantine file (default ``$RERUNORCH_QUARANTINE_FILE`` or ``quarantine.txt``).
    """

    file: str | None = None


class Quarantine:
    """Rerun the failed tests not in quarantine, with ``USER_PICKED``.

    Args:
        path: The quarantine file; default ``$RERUNORCH_QUARANTINE_FILE`` or
            ``quarantine.txt``. It is read once, at the first decision.
    """

    name = "quarantine"
    description = "rerun failed tests except those in the quarantine file (USER_PICKED)"

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = path
        self._list: QuarantineList | None = None

    def configure(self, options: Mapping[str, Any]) -> Quarantine:
        """A quarantine strategy with its file read now, before the sweep sends anything.

        Raises:
            rerunorch.ConfigError: An unknown key, or ``file`` not a string.
            ValueError: The file named cannot be read.
        """
        settings = read_settings(QuarantineSettings, options, table="strategy.quarantine")
        configured = Quarantine(settings.file if settings.file is not None else self._path)
        configured.quarantined()
        return configured

    def quarantined(self) -> QuarantineList:
        """The quarantine list (read on first use)."""
        if self._list is None:
            self._list = read_quarantine(self._path)
        return self._list

    async def decide(self, ctx: DecisionContext) -> Decision:
        run = ctx.run
        if run.passed:
            where = "" if run.id == ctx.original.id else f" in rerun {run.id}"
            return Skip(f"already passed{where}")
        quarantine = self.quarantined()
        tests = await ctx.test_cases(run.id)
        failed = [t for t in tests.test_cases if not t.passed and t.test_case_result_id is not None]
        if not failed:
            return Skip("no failed test to rerun")
        keep = [t.test_case_result_id for t in failed if not quarantine.holds(t)]
        if not keep:
            return Skip(f"all {len(failed)} failed test(s) are quarantined")
        requests = tuple(TestCaseResultRequest(id=i) for i in keep if i is not None)
        held = len(failed) - len(keep)
        reason = f"{len(keep)} failed test(s)" + (f", {held} quarantined" if held else "")
        return Selection(ReRunType.USER_PICKED, requests, reason=reason)

    def next_round(self, ctx: RoundContext) -> tuple[TestCaseResultRequest, ...] | None:
        """Its own file's quarantined tests are left out of later rounds too."""
        return _without(ctx, self.quarantined())


def _without(
    ctx: RoundContext, quarantine: QuarantineList
) -> tuple[TestCaseResultRequest, ...] | None:
    held = {
        pick_id
        for pick_id, test in ctx.picked.items()
        if quarantine.holds_case(test.test_case_id, test.test_case_name)
    }
    return tuple(p for p in ctx.picks if p.id not in held) if held else None


_read: dict[tuple[str, int, int], QuarantineList] = {}


def _current() -> QuarantineList:
    """The quarantine file as it is now (read again when it changes)."""
    named = os.environ.get(ENV_FILE) or None
    file = Path(named if named is not None else DEFAULT_FILE)
    try:
        stat = file.stat()
    except OSError:
        return read_quarantine(named)  # none, or the error that names the file
    key = (str(file.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _read:
        _read.clear()
        _read[key] = read_quarantine(named)
    return _read[key]


@hookimpl
def rerunorch_register_strategies(register: Callable[[Strategy], None]) -> None:
    """Register the ``quarantine`` strategy."""
    register(Quarantine())


@hookimpl
def rerunorch_next_round(ctx: RoundContext) -> tuple[TestCaseResultRequest, ...] | None:
    """Never rerun a quarantined test in a later round, whatever the strategy."""
    return _without(ctx, _current())
