"""The sweep's report: a summary, the settings, and one result per target.

Results are spooled to a temporary file as they arrive rather than kept in
memory, so that a sweep of 100,000 targets costs no more memory than one of
10,000; :class:`ResultLog` reads them back as many times as needed. Whoever
creates a :class:`SweepReport` closes it (``report.close()``, or ``with report:``)
once every output is written, which frees the spool file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from types import TracebackType
from typing import IO, TYPE_CHECKING, Any, NoReturn

import attrs

from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.report.output import open_output
from rerunorch.report.text import utc_text
from rerunorch.verdicts import Verdict

__all__ = ["ResultLog", "Summary", "SweepReport", "exit_code_for"]

SCHEMA = 2  # 2: results carry "rounds" and "tests" (verdicts); the summary counts them
READABLE_SCHEMAS = (1, 2)
"""Report schemas that :meth:`Outcome.from_json` reads (schema 1 results lack the verdicts)."""
DEFAULT_FAIL_ON = ("broken", "undecided")


@attrs.define
class Summary:
    """Counts over a sweep (the report's ``summary``).

    Attributes:
        targets: Targets that ended (one outcome each).
        triggered: Reruns triggered or adopted.
        passed, failed, skipped, errors, timed_out, interrupted: Targets by outcome.
        flaky_tests: Tests that failed before and passed on rerun, over all targets.
        failing_tests: Tests that failed again, over all targets.
        requests: HTTP requests sent.
        rate_limited: 429/503 answers received.
        broken_tests, undecided_tests: Tests with that verdict, over all targets.
        rounds: Rerun rounds triggered or adopted, over all targets.
        failed_untested: Failed targets that no broken or undecided test explains
            (not in the JSON; they make the exit code 1).
        device_seconds: The device time spent: the sum of the durations of the reruns
            followed to their end (None: none was).
        makespan_seconds: From the start of the first of those reruns to the end of the
            last, by the server's times (None: none was followed to its end).
        first_start, last_end: Epoch seconds of that first start and that last end (not
            in the JSON; they merge the makespans of several sweeps).
    """

    targets: int = 0
    triggered: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    errors: int = 0
    timed_out: int = 0
    interrupted: int = 0
    flaky_tests: int = 0
    failing_tests: int = 0
    requests: int = 0
    rate_limited: int = 0
    broken_tests: int = 0
    undecided_tests: int = 0
    rounds: int = 0
    failed_untested: int = attrs.field(default=0, metadata={"json": False})
    # Not counts: in the JSON summary through timing_json(), not to_json().
    device_seconds: float | None = attrs.field(default=None, metadata={"json": False})
    first_start: float | None = attrs.field(default=None, metadata={"json": False})
    last_end: float | None = attrs.field(default=None, metadata={"json": False})

    @property
    def makespan_seconds(self) -> float | None:
        """From the first rerun's start to the last one's end (None: no rerun ended)."""
        if self.first_start is None or self.last_end is None:
            return None
        return max(self.last_end - self.first_start, 0.0)

    def rerun_ended(self, started: float, ended: float, seconds: float) -> None:
        """Count one rerun followed to its end: epoch seconds of its start and end, and
        its duration (the device time it took)."""
        self.device_seconds = (self.device_seconds or 0.0) + seconds
        self.first_start = started if self.first_start is None else min(self.first_start, started)
        self.last_end = ended if self.last_end is None else max(self.last_end, ended)

    def add(self, outcome: Outcome) -> None:
        """Count one target's outcome."""
        self.targets += 1
        if outcome.rerun_id is not None:
            self.triggered += 1
        field = _COUNTED_AS[outcome.outcome]
        if field:
            setattr(self, field, getattr(self, field) + 1)
        self.flaky_tests += len(outcome.flaky)
        self.failing_tests += len(outcome.still_failing)
        self.broken_tests += outcome.count(Verdict.BROKEN)
        self.undecided_tests += outcome.count(Verdict.UNDECIDED)
        self.rounds += outcome.rounds
        explained = outcome.count(Verdict.BROKEN) + outcome.count(Verdict.UNDECIDED)
        if outcome.outcome is OutcomeKind.FAILED and not explained:
            # No verdict says why it failed (no test records, or tests that did not run).
            self.failed_untested += 1

    def to_json(self) -> dict[str, int]:
        """The counts of the JSON summary."""
        return attrs.asdict(self, filter=lambda a, _: a.metadata.get("json", True))

    def timing_json(self) -> dict[str, float | None]:
        """The times of the JSON summary (seconds, rounded to milliseconds)."""
        times = {"device_seconds": self.device_seconds, "makespan_seconds": self.makespan_seconds}
        return {key: None if value is None else round(value, 3) for key, value in times.items()}


_COUNTED_AS = {
    OutcomeKind.PASSED: "passed",
    OutcomeKind.FAILED: "failed",
    OutcomeKind.SKIPPED: "skipped",
    OutcomeKind.TRIGGERED: "",
    OutcomeKind.TIMED_OUT: "timed_out",
    OutcomeKind.ERROR: "errors",
    OutcomeKind.INTERRUPTED: "interrupted",
}


class ResultLog:
    """Outcomes in arrival order, spooled to a temporary file (JSON lines).

    It streams: iterate it (as often as needed) and take its ``len()``; it cannot be
    indexed (``list(report.results)`` first, which holds every outcome in memory).
    """

    def __init__(self) -> None:
        self._file: IO[str] = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115
        self._count = 0
        self._reading = False

    def append(self, outcome: Outcome) -> None:
        if self._reading:
            self._file.seek(0, 2)  # back to the end after a read
            self._reading = False
        self._file.write(json.dumps(outcome.to_json(), separators=(",", ":")) + "\n")
        self._count += 1

    def __len__(self) -> int:
        return self._count

    if not TYPE_CHECKING:  # hidden from type checkers, which then flag `results[0]` at once

        def __getitem__(self, index: object) -> NoReturn:
            raise TypeError(
                "a report's results stream from a spool file and cannot be indexed: iterate "
                "them (for outcome in report.results) or make a list (list(report.results))"
            )

    def raw(self) -> Iterator[dict[str, Any]]:
        """Each result as the report's JSON object.

        Raises:
            ValueError: The log is closed.
        """
        if self._file.closed:
            raise ValueError("the report's results are closed")
        self._file.flush()
        self._file.seek(0)
        self._reading = True
        for line in self._file:
            yield json.loads(line)

    def __iter__(self) -> Iterator[Outcome]:
        return (Outcome.from_json(data) for data in self.raw())

    @property
    def closed(self) -> bool:
        return self._file.closed

    def close(self) -> None:
        """Delete the spool file; the results cannot be read afterwards. Idempotent."""
        self._file.close()


def exit_code_for(summary: Summary, fail_on: Iterable[str] = DEFAULT_FAIL_ON) -> int:
    """0 all ended well, 3 some target could not be rerun, 1 some test still fails.

    "Still fails": a test has a verdict in ``fail_on`` (``broken``, ``undecided``,
    ``flaky``), or a rerun failed with no per-test verdicts to judge by.
    """
    if summary.errors or summary.timed_out or summary.interrupted:
        return 3
    counts = {
        "broken": summary.broken_tests,
        "undecided": summary.undecided_tests,
        "flaky": summary.flaky_tests,
    }
    if any(counts.get(verdict) for verdict in fail_on) or summary.failed_untested:
        return 1
    return 0


@attrs.define
class SweepReport:
    """Everything a sweep found out.

    Its results are spooled to a temporary file: :meth:`close` it (or use it as a
    context manager) once its outputs are written.

    >>> with SweepReport(started_at=0.0, config={}) as report:
    ...     report.summary.targets
    0

    Attributes:
        started_at, finished_at: Epoch seconds.
        config: The sweep's settings, without secrets.
        summary: The counts.
        results: One :class:`Outcome` per target, in the order they ended.
        notes: Problems outside any target (e.g. a notifier that failed).
    """

    started_at: float
    config: Mapping[str, Any]
    summary: Summary = attrs.Factory(Summary)
    results: ResultLog = attrs.Factory(ResultLog)
    finished_at: float | None = None
    notes: list[str] = attrs.Factory(list)
    fail_on: tuple[str, ...] = DEFAULT_FAIL_ON

    def add(self, outcome: Outcome) -> None:
        self.summary.add(outcome)
        self.results.append(outcome)

    def close(self) -> None:
        """Free the results' spool file (idempotent); the summary and notes stay readable."""
        self.results.close()

    def __enter__(self) -> SweepReport:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    def exit_code(self) -> int:
        return exit_code_for(self.summary, self.fail_on)

    def header_json(self) -> dict[str, Any]:
        """The report without its results."""
        data: dict[str, Any] = {
            "schema": SCHEMA,
            "started_at": utc_text(self.started_at, "iso"),
            "finished_at": utc_text(self.finished_at, "iso") if self.finished_at else None,
            "config": dict(self.config),
            "summary": {**self.summary.to_json(), **self.summary.timing_json()},
        }
        if self.notes:
            data["notes"] = list(self.notes)
        return data

    def to_json(self) -> dict[str, Any]:
        """The whole report as one JSON object (results included)."""
        return {**self.header_json(), "results": list(self.results.raw())}

    def write_json(self, path: str | os.PathLike[str]) -> None:
        """Write the JSON report, streaming the results rather than building them in memory.

        ``path`` is as for :func:`~rerunorch.report.output.open_output` (``-`` is stdout).

        Raises:
            OSError: It could not be written.
        """
        with open_output(path) as fh:
            head = json.dumps(self.header_json(), indent=2)
            fh.write(head[: head.rindex("}")].rstrip() + ',\n  "results": [')
            for i, item in enumerate(self.results.raw()):
                fh.write(("," if i else "") + "\n    " + json.dumps(item))
            fh.write("\n  ]\n}\n")
