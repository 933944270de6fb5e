"""What happened to one target: an :class:`Outcome`, and the tests it names."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any

import attrs

from rerunorch.verdicts import TestVerdict, Verdict

__all__ = ["Outcome", "OutcomeKind", "TestRef"]


class OutcomeKind(str, enum.Enum):
    """How a target ended (the report's ``outcome`` values)."""

    PASSED = "passed"  # the rerun finished and passed
    FAILED = "failed"  # the rerun finished and still fails
    SKIPPED = "skipped"  # the strategy chose not to rerun (e.g. it already passed)
    TRIGGERED = "triggered"  # rerun started; not followed (--no-wait) or dry run planned
    TIMED_OUT = "timed_out"  # the rerun did not finish before the deadline
    ERROR = "error"  # the target could not be rerun
    INTERRUPTED = "interrupted"  # the sweep was stopped before this target ended

    @property
    def ended_well(self) -> bool:
        """Whether this outcome lets the sweep exit 0."""
        return self in (OutcomeKind.PASSED, OutcomeKind.SKIPPED, OutcomeKind.TRIGGERED)

    @property
    def incomplete(self) -> bool:
        """Whether the target could not be rerun to its end (exit code 3)."""
        return self in (OutcomeKind.ERROR, OutcomeKind.TIMED_OUT, OutcomeKind.INTERRUPTED)


@attrs.frozen
class TestRef:
    """A test case named in an outcome (flaky or still failing).

    Attributes:
        test_case_id: The test case's id (stable across reruns).
        test_case_name: Its name, when the server gave one.
    """

    __test__ = False

    test_case_id: int | None
    test_case_name: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"testCaseId": self.test_case_id, "testCaseName": self.test_case_name}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TestRef:
        return cls(data.get("testCaseId"), data.get("testCaseName"))


@attrs.frozen(kw_only=True)
class Outcome:
    """The end of one target.

    Attributes:
        target: The execution-result id the sweep was given.
        outcome: How it ended.
        execution_id: The test plan's execution id, when known.
        rerun_id: The rerun that was triggered or adopted, if any.
        result: The server's result for the rerun (e.g. ``SUCCESS``), if it finished.
        error: What went wrong (``error``, ``timed_out``, ``interrupted``).
        reason: Why it was skipped, or what the strategy chose to rerun (a dry run: would).
        re_run_type: The ``reRunType`` the strategy chose (e.g. ``ONLY_FAILED_TESTS``), if any.
        flaky: Tests that failed before and passed in the rerun.
        still_failing: Tests that failed again in the rerun.
        adopted: The rerun already existed (auto-rerun, an earlier sweep, a lost answer).
        polls: How many times the rerun was polled.
        rounds: Rerun rounds this sweep triggered or adopted for the target.
        tests: Each test's verdict with its evidence (docs/verdicts.md).
        quarantined: Tests that did not pass but are quarantined (the ledger): their
            verdicts count for no exit code, and they are in neither ``flaky`` nor
            ``still_failing``.
    """

    target: int
    outcome: OutcomeKind
    execution_id: int | None = None
    rerun_id: int | None = None
    result: str | None = None
    error: str | None = None
    reason: str | None = None
    re_run_type: str | None = None
    flaky: tuple[TestRef, ...] = ()
    still_failing: tuple[TestRef, ...] = ()
    adopted: bool = False
    polls: int = 0
    rounds: int = 0
    tests: tuple[TestVerdict, ...] = ()
    quarantined: tuple[TestRef, ...] = ()

    def count(self, verdict: Verdict) -> int:
        """How many of its tests have ``verdict`` (the quarantined ones left out)."""
        held = {(t.test_case_id, t.test_case_name) for t in self.quarantined}
        return sum(
            1
            for test in self.tests
            if test.verdict is verdict and (test.test_case_id, test.test_case_name) not in held
        )

    def to_json(self) -> dict[str, Any]:
        """The report's ``results[]`` entry."""
        data: dict[str, Any] = {
            "target": self.target,
            "execution_id": self.execution_id,
            "rerun_id": self.rerun_id,
            "outcome": self.outcome.value,
            "result": self.result,
            "error": self.error,
            "flaky": [t.to_json() for t in self.flaky],
            "still_failing": [t.to_json() for t in self.still_failing],
            "rounds": self.rounds,
            "tests": [t.to_json() for t in self.tests],
        }
        if self.reason is not None:
            data["reason"] = self.reason
        if self.re_run_type is not None:
            data["re_run_type"] = self.re_run_type
        if self.adopted:
            data["adopted"] = True
        if self.polls:
            data["polls"] = self.polls
        if self.quarantined:
            data["quarantined"] = [t.to_json() for t in self.quarantined]
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Outcome:
        """Read back a ``results[]`` entry (from a report or a journal)."""
        return cls(
            target=int(data["target"]),
            outcome=OutcomeKind(data["outcome"]),
            execution_id=data.get("execution_id"),
            rerun_id=data.get("rerun_id"),
            result=data.get("result"),
            error=data.get("error"),
            reason=data.get("reason"),
            re_run_type=data.get("re_run_type"),
            flaky=tuple(TestRef.from_json(t) for t in data.get("flaky") or ()),
            still_failing=tuple(TestRef.from_json(t) for t in data.get("still_failing") or ()),
            adopted=bool(data.get("adopted", False)),
            polls=int(data.get("polls", 0)),
            # A schema-1 result has neither: its one rerun was round 1.
            rounds=int(data.get("rounds", 1 if data.get("rerun_id") is not None else 0)),
            tests=tuple(TestVerdict.from_json(t) for t in data.get("tests") or ()),
            quarantined=tuple(TestRef.from_json(t) for t in data.get("quarantined") or ()),
        )
