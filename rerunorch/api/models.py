"""The Testsigma execution-results contract as frozen attrs classes.

Field names are the API's camelCase names in snake_case; :mod:`rerunorch.api.converter`
maps between the two. Every response field is optional (the API leaves fields
out or sends null, e.g. counts right after a trigger), and fields the API adds
later land in ``extra`` so that they survive a round trip.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from rerunorch.api.enums import (
    IterationReRunType,
    ReRunType,
    Result,
    ResultType,
    Status,
    TriggeredType,
    result_passed,
)

__all__ = [
    "ExecutionResult",
    "IterationResult",
    "PlanRunRequest",
    "RerunRequest",
    "RunPage",
    "RunSummary",
    "StopRequest",
    "TestCaseResult",
    "TestCaseResultRequest",
    "TestCaseResults",
]

# The JSON name of a field whose name does not follow the camelCase rule.
JSON_NAME = "json_name"


def _extra() -> Any:
    return attrs.field(factory=dict, repr=False, kw_only=True)


@attrs.frozen(kw_only=True)
class ExecutionResult:
    """One run of a test plan (an original run or a rerun).

    Attributes:
        id: The execution-result id (a rerun's id is its own).
        execution_id: The test plan's execution id.
        result: The run's result; meaningful once ``status`` is final.
        status: Where the run is; only ``STATUS_COMPLETED`` is final.
        child_result: This run's rerun: None, its id, or the nested object.
        re_run_parent_id: The run this one reruns, if it is a rerun.
        consolidated_result: The verdict across the whole chain of reruns.
        extra: Fields this version of rerunorch does not know, kept as sent.
    """

    id: int
    execution_id: int | None = None
    execution: Mapping[str, Any] | None = None
    start_time: int | None = None
    end_time: int | None = None
    duration: int | None = None
    result: Result | None = None
    status: Status | None = None
    message: str | None = None
    executed_by: int | None = None
    build_no: str | None = None
    environment_id: int | None = None
    total_count: int | None = None
    failed_count: int | None = None
    passed_count: int | None = None
    stopped_count: int | None = None
    not_executed_count: int | None = None
    queued_count: int | None = None
    running_count: int | None = None
    visual_test_result: Any = None
    environment: Any = None
    child_result: int | ExecutionResult | None = None
    re_run_parent_id: int | None = None
    triggered_type: TriggeredType | None = None
    total_running_count: int | None = None
    execution_details: Mapping[str, Any] | None = None
    total_queued_count: int | None = None
    mobile_inspection_id: Any = None
    environment_results_dto: Any = attrs.field(
        default=None, metadata={JSON_NAME: "environmentResultsDTO"}
    )
    execution_result_config: Any = None
    is_re_run_enabled: bool | None = None
    consolidated_result: Result | None = None
    consolidated_status: Status | None = None
    result_type: ResultType | None = None
    consolidated_duration: int | None = None
    run_test_cases_in_parallel: bool | None = None
    run_test_suites_in_parallel: bool | None = None
    scheduled_id: int | None = None
    test_plan_hook_results: Any = None
    extra: Mapping[str, Any] = _extra()

    @property
    def child_id(self) -> int | None:
        """The id of this run's rerun, whichever form ``childResult`` took."""
        child = self.child_result
        return child.id if isinstance(child, ExecutionResult) else child

    @property
    def completed(self) -> bool:
        """Whether the run has finished (``STATUS_COMPLETED``)."""
        return self.status is not None and self.status.final

    @property
    def passed(self) -> bool:
        """Whether the run has finished and its own result is a pass."""
        return self.completed and result_passed(self.result)


@attrs.frozen(kw_only=True)
class IterationResult:
    """One iteration (data set) of a data-driven test case."""

    iteration_result_id: int | None = None
    set_name: str | None = None
    result: Result | None = None
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TestCaseResult:
    """One test case's result within a run.

    Attributes:
        test_case_id: The test case (the same across a chain of reruns).
        test_case_result_id: This result (what ``USER_PICKED`` sends).
        iteration_results: The iterations of a data-driven case.
    """

    __test__ = False  # not a pytest test class

    test_case_id: int | None = None
    test_case_name: str | None = None
    test_case_result_id: int | None = None
    result: Result | None = None
    is_data_driven_case: bool | None = None
    iteration_results: tuple[IterationResult, ...] = ()
    test_suite_id: int | None = None
    test_suite_name: str | None = None
    test_suite_result_id: int | None = None
    machine_id: int | None = None
    machine_title: str | None = None
    machine_result_id: int | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def passed(self) -> bool:
        """Whether this test case's result is a pass."""
        return result_passed(self.result)


@attrs.frozen(kw_only=True)
class TestCaseResults:
    """The test-case results of one run."""

    __test__ = False

    execution_id: int | None = None
    execution_result_id: int | None = None
    result: Result | None = None
    status: Status | None = None
    test_cases: tuple[TestCaseResult, ...] = ()
    extra: Mapping[str, Any] = _extra()


@attrs.frozen(kw_only=True)
class TestCaseResultRequest:
    """One test case to rerun, by its test-case result id.

    Attributes:
        id: The test-case result id in the run being rerun.
        iteration_re_run_type: For data-driven cases, which iterations.
        iteration_result_ids: With ``USER_PICKED`` iterations, which ones.
    """

    __test__ = False

    id: int
    iteration_re_run_type: IterationReRunType | None = None
    iteration_result_ids: tuple[int, ...] | None = None


@attrs.frozen(kw_only=True)
class RerunRequest:
    """The body of ``POST /api/v1/execution_results`` that reruns a run."""

    execution_id: int
    execution_result_id: int
    is_re_run: bool = True
    re_run_type: ReRunType = ReRunType.ONLY_FAILED_TESTS
    test_case_result_requests: tuple[TestCaseResultRequest, ...] | None = None


@attrs.frozen(kw_only=True)
class PlanRunRequest:
    """The body of ``POST /api/v1/execution_results`` that starts a fresh run."""

    execution_id: int
    build_no: str | None = None


@attrs.frozen(kw_only=True)
class StopRequest:
    """The body of ``PUT /api/v1/execution_results/{id}`` that stops a run."""

    can_stop_all: bool = True
    result: Result = Result.STOPPED


@attrs.frozen(kw_only=True)
class RunSummary:
    """One run as the run index lists it (``GET /api/v2/test_runs``).

    Attributes:
        id: The execution-result id (what a sweep reruns).
        test_plan_id: The test plan (v2's name; v1's index says ``executionId``).
        result: The run's result (SUCCESS/PASSED, FAILURE/FAILED, ABORTED, ...).
        start_time, end_time: ISO text (v2) or epoch milliseconds (v1), as sent.
        duration: Milliseconds.
        re_run_parent_id: Set when the run is a rerun, not an original run.
        metrics: The counts (``totalCount``, ``failedCount``, ``latestResult``, ...).
        extra: Fields this version of rerunorch does not know, kept as sent.
    """

    id: int
    test_plan_id: int | None = None
    execution_id: int | None = None
    build_no: str | None = None
    result: Result | None = None
    status: Status | None = None
    start_time: Any = None
    end_time: Any = None
    duration: int | None = None
    executor: Any = None
    triggered_type: TriggeredType | None = None
    re_run_parent_id: int | None = None
    result_type: ResultType | None = None
    metrics: Mapping[str, Any] | None = None
    extra: Mapping[str, Any] = _extra()

    @property
    def plan_id(self) -> int | None:
        """The test plan, by whichever name the index gave it."""
        return self.test_plan_id if self.test_plan_id is not None else self.execution_id


@attrs.frozen(kw_only=True)
class RunPage:
    """One page of the run index.

    Attributes:
        number: The page's number (from 0).
        runs: Its runs, in the server's order.
        last: The server says no page follows (``isLast`` or Spring's ``last``).
        total: How many runs the whole index holds, if the server says.
    """

    number: int
    runs: tuple[RunSummary, ...]
    last: bool = False
    total: int | None = None


_MODELS: tuple[type, ...] = (
    ExecutionResult,
    IterationResult,
    TestCaseResult,
    TestCaseResults,
    TestCaseResultRequest,
    RerunRequest,
    PlanRunRequest,
    StopRequest,
    RunSummary,
)
for _model in _MODELS:
    attrs.resolve_types(_model)
