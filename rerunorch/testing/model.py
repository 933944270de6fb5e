"""The simulator's records of runs, test cases and iterations, and the result words."""

from __future__ import annotations

import attrs

__all__ = [
    "ABORTED",
    "FAILURE",
    "NOT_EXECUTED",
    "QUEUED",
    "RUNNING",
    "STOPPED",
    "SUCCESS",
    "Case",
    "Iteration",
    "Run",
    "Suite",
]

SUCCESS = "SUCCESS"
FAILURE = "FAILURE"
ABORTED = "ABORTED"
NOT_EXECUTED = "NOT_EXECUTED"
STOPPED = "STOPPED"
QUEUED = "QUEUED"
RUNNING = "RUNNING"


@attrs.frozen
class Iteration:
    """One data set of a data-driven case in one run.

    Attributes:
        id: The iteration result id (unique to this run).
        set_name: The data set's name (the same across the chain).
        result: Its final result in this run.
        base: Its result in the chain's first run, which decides what every rerun gives.
    """

    id: int
    set_name: str
    result: str
    base: str


@attrs.frozen
class Case:
    """One test case in one run.

    Attributes:
        test_case_id: The test case (the same across the chain).
        name: The test case's name.
        result_id: The test-case result id (unique to this run).
        suite: Index of its suite in :attr:`Run.suites`.
        data_driven: Whether it runs iterations.
        iterations: Its iterations in this run (empty unless data-driven).
        result: Its final result in this run.
        base: Its result in the chain's first run (for cases that are not data-driven).
    """

    test_case_id: int
    name: str
    result_id: int
    suite: int
    data_driven: bool
    iterations: tuple[Iteration, ...]
    result: str
    base: str


@attrs.frozen
class Suite:
    """A test suite as one run reports it.

    Attributes:
        id: The suite's id.
        name: The suite's name.
        result_id: The suite result id (unique to this run).
    """

    id: int
    name: str
    result_id: int


@attrs.frozen(kw_only=True)
class Run:
    """An execution result whose outcome is fixed at creation; time only reveals it.

    Attributes:
        id: The execution-result id.
        execution_id: The test plan's id.
        created_at: Clock time (epoch seconds) of its creation (its ``startTime``).
        duration: Seconds from creation to completion.
        cases: Its test cases, in the order they run.
        suites: The suites its cases belong to.
        machine_id: The machine (environment) id.
        machine_title: The machine's title.
        machine_result_id: The machine result id (unique to this run).
        parent_id: The run it reruns, or None.
        root_id: The first run of its chain.
        depth: Number of reruns between it and the chain's first run.
        triggered_type: ``API``, ``MANUAL`` or ``SCHEDULED``.
        build_no: The build number given at trigger.
        auto: Created by the server's auto-rerun.
        night: The night it belongs to (with ``SimulatorConfig.nightly``), else None.
    """

    id: int
    execution_id: int
    created_at: float
    duration: float
    cases: tuple[Case, ...]
    suites: tuple[Suite, ...]
    machine_id: int
    machine_title: str
    machine_result_id: int
    parent_id: int | None = None
    root_id: int
    depth: int = 0
    triggered_type: str = "API"
    build_no: str | None = None
    auto: bool = False
    night: int | None = None

    @property
    def end(self) -> float:
        """Clock time at which it completes (unless stopped before)."""
        return self.created_at + self.duration
