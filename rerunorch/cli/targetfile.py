"""Targets from the command line: arguments, a file, stdin, a report, or found by the sweep.

The whole input is checked before the sweep sends anything, so that a bad line
is reported with its line number while nothing has happened yet; then it is
read again, lazily, by the sweep. Standard input is spooled to a temporary
file for that second reading. An id given more than once is swept once (the
first line with it counts) and :attr:`TargetInput.notes` says so.

With ``--plan``/``--since``/``--query`` there is nothing to read up front:
:class:`FoundTargets` hands the sweep a discovery, which lists the runs through
the sweep's client while the sweep runs.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
import tempfile
from array import array
from collections.abc import AsyncIterator, Iterator, Mapping
from itertools import groupby
from pathlib import Path
from typing import Any

import attrs

from rerunorch.api.client import TestsigmaClient
from rerunorch.discovery import Finding, RunDiscovery
from rerunorch.errors import ConfigError
from rerunorch.journal import Journal
from rerunorch.sharding import Shard
from rerunorch.targets import (
    Target,
    parse_id,
    read_report_targets,
    read_target_file,
    read_targets,
    unique,
)

__all__ = [
    "FoundTargets",
    "NothingToSweep",
    "TargetInput",
    "last_failed",
    "read_plans_file",
    "recorded_input",
]


class NothingToSweep(Exception):
    """The command has nothing to sweep and says so (``--last-failed`` when none failed)."""


class TargetInput:
    """Checked, re-readable targets from ids and/or a file (``-`` for stdin).

    Attributes:
        count: How many targets are swept (each id once).
        in_shard: How many of them are in ``shard`` (all of them without one).
        repeated: How many targets were left out because their id came earlier.
        fingerprint: A digest of the input's targets in order (a journal must
            match it to resume).
        notes: Lines for the report (the repeated ids).

    Raises:
        ConfigError: An argument or line is not a target, the file is missing,
            not UTF-8 or has an overlong line, or there are no targets.
    """

    def __init__(
        self,
        ids: tuple[str, ...],
        from_file: str | None,
        shard: Shard | None = None,
        *,
        from_report: str | None = None,
        still_failing: bool = False,
    ) -> None:
        self._ids = ids
        self._report = from_report
        self._still_failing = still_failing
        if still_failing and from_report is None:
            raise ConfigError("--still-failing needs --from-report REPORT.json")
        self._spool: tempfile._TemporaryFileWrapper[bytes] | None = None
        self._path: Path | None = None
        self._source = from_file or ""
        self._repeats: frozenset[int] = frozenset()
        self._check_arguments()
        if from_file == "-":
            self._spool = tempfile.NamedTemporaryFile("w+b", suffix=".targets")  # noqa: SIM115
            shutil.copyfileobj(sys.stdin.buffer, self._spool)
            self._spool.flush()
            self._path, self._source = Path(self._spool.name), "<stdin>"
        elif from_file is not None:
            self._path = Path(from_file)
            if not self._path.is_file():
                raise ConfigError(f"--from-file: no such file: {from_file}")
        self._read_all(shard)
        self.notes = [self._note()] if self.repeated else []

    def _check_arguments(self) -> None:
        for number, arg in enumerate(self._ids, start=1):
            if arg != arg.strip():
                raise ConfigError(
                    f"command line, argument {number}: spaces around {arg[:80]!r}; "
                    "give each id as one argument"
                )

    def _read_all(self, shard: Shard | None) -> None:
        """Check every target, digest them, and find the ids that repeat."""
        digest = hashlib.sha256()
        ids = array("q")  # 8 bytes a target: a million lines take 8 MB while checked
        try:
            for target in self._all():
                ids.append(target.id)
                digest.update(
                    f"{target.id}|{target.test_case_result_ids}|{target.iteration_result_ids}\n".encode()
                )
        except OSError as exc:
            raise ConfigError(f"--from-file: cannot read {self._source}: {exc.strerror}") from None
        self.fingerprint = digest.hexdigest()
        if not ids and self._report is not None:
            which = "still-failing results" if self._still_failing else "results"
            raise ConfigError(f"--from-report: {self._report} has no {which}: nothing to sweep")
        if not ids and self._path is not None:
            raise ConfigError(f"--from-file: {self._source} holds no targets: nothing to sweep")
        if not ids:
            raise ConfigError(
                "no targets: give execution-result ids (or run URLs), --from-file, "
                "--from-report, or --plan with --since (rerunorch sweep --help)"
            )
        counts: dict[int, int] = {}
        self.count = self.in_shard = 0
        for key, group in groupby(sorted(ids)):
            self.count += 1
            self.in_shard += shard is None or key in shard
            if (n := sum(1 for _ in group)) > 1:
                counts[key] = n
        self._repeats = frozenset(counts)
        self.repeated = len(ids) - self.count

    def _note(self) -> str:
        shown = ", ".join(map(str, sorted(self._repeats)[:3]))
        more = ", ..." if len(self._repeats) > 3 else ""
        plural = "s" if self.repeated > 1 else ""
        return (
            f"{self.repeated} repeated target{plural} skipped: each id is swept once "
            f"(repeated: {shown}{more})"
        )

    def _all(self) -> Iterator[Target]:
        yield from read_targets(self._ids, source="command line", item="argument")
        if self._path is not None:
            yield from read_target_file(self._path, source=self._source)
        if self._report is not None:
            yield from read_report_targets(self._report, still_failing=self._still_failing)

    def __iter__(self) -> Iterator[Target]:
        return unique(self._all(), self._repeats)

    def recorded(self) -> dict[str, Any]:
        """What a journal records of this input, so that ``--resume`` needs no ids:
        every target line in order, repeats too (the same fingerprint when read back)."""
        return {"targets": [_line(target) for target in self._all()]}

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def read_plans_file(path: str) -> frozenset[int]:
    """The test plan ids of ``--plans-file``: one a line, ``#`` comments and blank lines skipped.

    Raises:
        ConfigError: The file cannot be read, or a line is not a plan id (naming the line).
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        why = getattr(exc, "strerror", None) or "not UTF-8"
        raise ConfigError(f"--plans-file: cannot read {path}: {why}") from None
    plans: set[int] = set()
    for number, line in enumerate(lines, start=1):
        text = line.split("#", 1)[0].strip()
        if text:
            try:
                plans.add(parse_id(text, "a plan id"))
            except ValueError as exc:
                raise ConfigError(f"--plans-file: {path}, line {number}: {exc}") from None
    if not plans:
        raise ConfigError(f"--plans-file: {path} names no plan")
    return frozenset(plans)


class FoundTargets:
    """The targets a sweep finds itself (``--plan``, ``--since``, ``--query``).

    The sweep calls it with its client (so every page goes through its pacer); a
    dry run keeps the line of every run found, to say why each was taken or left out.

    Attributes:
        count, in_shard: 0: not known before the sweep.
        fingerprint: A digest of the discovery (a journal must match it to resume).
        notes: Nothing up front; see :meth:`found_notes`.
    """

    count = in_shard = repeated = 0

    def __init__(
        self,
        discovery: RunDiscovery,
        *,
        explain: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._options = dict(options or {})
        self._lines: list[str] = []
        on_finding = self._explain if explain else None
        self.discovery = attrs.evolve(discovery, on_finding=on_finding)
        self.fingerprint = hashlib.sha256(discovery.fingerprint().encode()).hexdigest()
        self.notes: list[str] = []

    def _explain(self, finding: Finding) -> None:
        self._lines.append(finding.line())

    def __call__(self, client: TestsigmaClient) -> AsyncIterator[Target]:
        return self.discovery(client)

    def recorded(self) -> dict[str, Any]:
        """What a journal records of this discovery: the options that made it."""
        return {"discovery": self._options}

    def found_notes(self) -> list[str]:
        """What the report says after the sweep: each run found (a dry run), then the counts."""
        return [*self._lines, *self.discovery.notes()]

    def close(self) -> None:
        """Nothing to close (the same surface as :class:`TargetInput`)."""


def _line(target: Target) -> str:
    """A targets line for ``target`` (its id, or JSON with the test-case results)."""
    if not (target.test_case_result_ids or target.iteration_result_ids):
        return str(target.id)
    data: dict[str, Any] = {"id": target.id}
    if target.test_case_result_ids:
        data["testCaseResultIds"] = list(target.test_case_result_ids)
    if target.iteration_result_ids:
        data["iterationResultIds"] = list(target.iteration_result_ids)
    return json.dumps(data, separators=(",", ":"))


def last_failed(path: str) -> list[str]:
    """``--last-failed``: the targets of the last sweep (its journal at ``path``) that did
    not end well, read before the new sweep replaces the journal.

    Raises:
        ConfigError: No journal at ``path``, or its sweep did not finish.
        NothingToSweep: Every target of that sweep ended well.
    """
    journal = _reading(path, "--last-failed")
    try:
        if not journal.finished_sweep:
            raise ConfigError(
                f"--last-failed: the sweep recorded in {path} did not finish: "
                "continue it with --resume first"
            )
        failed = journal.failed_targets()
    finally:
        journal.close(finished=False)
    if not failed:
        raise NothingToSweep(f"--last-failed: no target failed in the last sweep ({path})")
    return [str(target) for target in failed]


def recorded_input(path: str) -> dict[str, Any]:
    """``--resume`` without ids: where the targets of the sweep in ``path`` came from.

    Raises:
        ConfigError: No journal at ``path``, or it does not record its targets.
    """
    journal = _reading(path, "--resume")
    try:
        recorded = journal.recorded_input()
    finally:
        journal.close(finished=False)
    if not recorded:
        raise ConfigError(
            f"--resume: the journal at {path} does not record its targets (an older "
            "rerunorch wrote it): give them again"
        )
    return recorded


def _reading(path: str, flag: str) -> Journal:
    try:
        return Journal.reading(path)
    except ConfigError as exc:
        raise ConfigError(f"{flag}: {exc} (a sweep writes one; --journal names another)") from None
