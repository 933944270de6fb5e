"""The built-in selection strategies (registered as a default plugin)."""

from __future__ import annotations

import attrs

from rerunorch.api.enums import IterationReRunType, ReRunType
from rerunorch.api.models import ExecutionResult, TestCaseResultRequest, TestCaseResults
from rerunorch.strategies.base import Decision, DecisionContext, Selection, Skip, Strategy

__all__ = [
    "AllIterations",
    "AllTests",
    "FailedIterations",
    "FailedTests",
    "UserPicked",
    "builtin_strategies",
]


def _failed_tests(run: ExecutionResult) -> str:
    if run.total_count is None or run.passed_count is None:
        return "failed tests"
    return f"{max(run.total_count - run.passed_count, 0)} of {run.total_count} tests"


def _passed_skip(run: ExecutionResult, ctx: DecisionContext) -> Skip | None:
    if not run.passed:
        return None
    where = "" if run.id == ctx.original.id else f" in rerun {run.id}"
    return Skip(f"already passed{where}")


@attrs.frozen
class AllTests:
    """Rerun every test of the run (``ALL_TESTS``), passed or not."""

    name: str = "all"
    description: str = "rerun every test (ALL_TESTS)"

    async def decide(self, ctx: DecisionContext) -> Decision:
        total = ctx.run.total_count
        return Selection(ReRunType.ALL_TESTS, reason=f"all {total} tests" if total else "all tests")


@attrs.frozen
class FailedTests:
    """Rerun the failed tests (``ONLY_FAILED_TESTS``); skip a run that passed."""

    name: str = "failed"
    description: str = "rerun only the failed tests (ONLY_FAILED_TESTS); the default"

    async def decide(self, ctx: DecisionContext) -> Decision:
        skip = _passed_skip(ctx.run, ctx)
        return skip or Selection(ReRunType.ONLY_FAILED_TESTS, reason=_failed_tests(ctx.run))


@attrs.frozen
class AllIterations:
    """Rerun the failed tests with all their iterations (``ALL_ITERATIONS``)."""

    name: str = "all-iterations"
    description: str = "rerun failed tests with every iteration (ALL_ITERATIONS)"

    async def decide(self, ctx: DecisionContext) -> Decision:
        skip = _passed_skip(ctx.run, ctx)
        reason = f"{_failed_tests(ctx.run)}, all iterations"
        return skip or Selection(ReRunType.ALL_ITERATIONS, reason=reason)


@attrs.frozen
class FailedIterations:
    """Rerun only the failed iterations of failed tests (``ONLY_FAILED_ITERATIONS``)."""

    name: str = "failed-iterations"
    description: str = "rerun only failed iterations of failed tests (ONLY_FAILED_ITERATIONS)"

    async def decide(self, ctx: DecisionContext) -> Decision:
        skip = _passed_skip(ctx.run, ctx)
        reason = f"{_failed_tests(ctx.run)}, failed iterations"
        return skip or Selection(ReRunType.ONLY_FAILED_ITERATIONS, reason=reason)


def _requests_for(
    picked_cases: tuple[int, ...], picked_iterations: tuple[int, ...], tests: TestCaseResults
) -> tuple[TestCaseResultRequest, ...]:
    """USER_PICKED requests; raises ValueError naming ids the run does not have."""
    by_case = {tc.test_case_result_id: tc for tc in tests.test_cases}
    case_of_iteration: dict[int, int] = {
        it.iteration_result_id: tc.test_case_result_id
        for tc in tests.test_cases
        if tc.test_case_result_id is not None
        for it in tc.iteration_results
        if it.iteration_result_id is not None
    }
    unknown = [i for i in picked_cases if i not in by_case]
    unknown_its = [i for i in picked_iterations if i not in case_of_iteration]
    if unknown or unknown_its:
        parts = []
        if unknown:
            parts.append(f"test-case result id(s) {', '.join(map(str, unknown))}")
        if unknown_its:
            parts.append(f"iteration result id(s) {', '.join(map(str, unknown_its))}")
        raise ValueError(f"run {tests.execution_result_id} has no {' and no '.join(parts)}")
    iterations: dict[int, list[int]] = {}
    for it_id in picked_iterations:
        iterations.setdefault(case_of_iteration[it_id], []).append(it_id)
    order = list(dict.fromkeys([*picked_cases, *iterations]))
    return tuple(
        TestCaseResultRequest(
            id=case_id,
            iteration_re_run_type=IterationReRunType.USER_PICKED,
            iteration_result_ids=tuple(iterations[case_id]),
        )
        if case_id in iterations
        else TestCaseResultRequest(id=case_id)
        for case_id in order
    )


def _translate(picked: tuple[int, ...], old: TestCaseResults, new: TestCaseResults) -> list[int]:
    """Map test-case result ids of ``old`` to those of the same tests in ``new``."""
    test_of = {tc.test_case_result_id: tc.test_case_id for tc in old.test_cases}
    result_of = {tc.test_case_id: tc.test_case_result_id for tc in new.test_cases}
    mapped = []
    for case_result_id in picked:
        new_id = result_of.get(test_of.get(case_result_id))
        mapped.append(new_id if new_id is not None else case_result_id)
    return mapped


@attrs.frozen
class UserPicked:
    """Rerun the test cases (and iterations) given with each target (``USER_PICKED``).

    The ids are those of the target's own run. If the target has been rerun
    since, they are mapped to the same tests in the newest run of its chain.
    """

    name: str = "user-picked"
    description: str = "rerun the test cases / iterations listed per target (USER_PICKED)"

    async def decide(self, ctx: DecisionContext) -> Decision:
        target = ctx.target
        if not target.test_case_result_ids and not target.iteration_result_ids:
            raise ValueError(
                "user-picked needs testCaseResultIds or iterationResultIds for this target"
            )
        head_tests = await ctx.test_cases(ctx.run.id)
        cases = target.test_case_result_ids
        if ctx.run.id != ctx.original.id:
            cases = tuple(_translate(cases, await ctx.test_cases(ctx.original.id), head_tests))
        requests = _requests_for(cases, target.iteration_result_ids, head_tests)
        return Selection(
            ReRunType.USER_PICKED, requests, reason=f"{len(requests)} picked test case(s)"
        )


def builtin_strategies() -> tuple[Strategy, ...]:
    """One instance of each built-in strategy."""
    return (AllTests(), FailedTests(), AllIterations(), FailedIterations(), UserPicked())
