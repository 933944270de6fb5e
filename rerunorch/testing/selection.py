"""Which cases and iterations of a completed run a rerun request picks."""

from __future__ import annotations

from collections.abc import Sequence

from .errors import ApiError
from .model import STOPPED, SUCCESS, Case, Iteration, Run
from .validation import CaseRequest, RerunRequest

__all__ = ["Pick", "select"]

Pick = tuple[Case, tuple[Iteration, ...]]
"""A case to rerun with the iterations to rerun (empty for a case that is not data-driven)."""

_FAILED_TESTS = frozenset({"ONLY_FAILED_TESTS", "ALL_ITERATIONS"})
_FAILED_ITERATIONS = frozenset({"ONLY_FAILED_ITERATIONS", "ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS"})


def select(run: Run, results: Sequence[str], request: RerunRequest) -> list[Pick]:
    """The picks of ``request`` on ``run``, whose cases ended with ``results``.

    "Failed" is any result but ``SUCCESS``.

    Raises:
        ApiError: 400 if a picked id is not the run's, or nothing would be rerun.
    """
    kind = request.rerun_type
    if kind == "USER_PICKED":
        picks = _user_picked(run, results, request.cases)
    elif kind == "ALL_TESTS":
        picks = [(case, case.iterations) for case in run.cases]
    elif kind in _FAILED_TESTS:
        picks = [(c, c.iterations) for c, r in zip(run.cases, results, strict=True) if r != SUCCESS]
    elif kind in _FAILED_ITERATIONS:
        picks = [
            (case, _iterations(case, result, passed=False))
            for case, result in zip(run.cases, results, strict=True)
            if result != SUCCESS
        ]
    else:
        picks = []
    if not picks:
        raise ApiError(
            400, f"Nothing to rerun: reRunType {kind} selects no test of execution result {run.id}"
        )
    return picks


def _iterations(case: Case, result: str, *, passed: bool) -> tuple[Iteration, ...]:
    if not case.data_driven:
        return ()
    if result == STOPPED:  # stopped before it ran: none of its iterations passed
        return () if passed else case.iterations
    return tuple(it for it in case.iterations if (it.result == SUCCESS) == passed)


def _user_picked(
    run: Run, results: Sequence[str], requests: tuple[CaseRequest, ...] | None
) -> list[Pick]:
    if not requests:
        raise ApiError(400, "testCaseResultRequests: USER_PICKED needs at least one test case")
    index = {case.result_id: i for i, case in enumerate(run.cases)}
    picks: list[Pick] = []
    seen: set[int] = set()
    for n, request in enumerate(requests):
        where = f"testCaseResultRequests[{n}]"
        position = index.get(request.id)
        if position is None:
            raise ApiError(
                400,
                f"{where}.id: {request.id} is not a test case result of execution result {run.id}",
            )
        if request.id in seen:
            raise ApiError(400, f"{where}.id: {request.id} is listed twice")
        seen.add(request.id)
        case = run.cases[position]
        picks.append((case, _picked_iterations(case, results[position], request, where)))
    return picks


def _picked_iterations(
    case: Case, result: str, request: CaseRequest, where: str
) -> tuple[Iteration, ...]:
    kind = request.iteration_rerun_type or "ALL"
    if kind == "USER_PICKED":
        if not request.iteration_result_ids:
            raise ApiError(400, f"{where}.iterationResultIds: required with USER_PICKED")
        by_id = {it.id: it for it in case.iterations}
        for value in request.iteration_result_ids:
            if value not in by_id:
                raise ApiError(
                    400,
                    f"{where}.iterationResultIds: {value} is not an iteration of test case "
                    f"result {case.result_id}",
                )
        wanted = set(request.iteration_result_ids)
        return tuple(it for it in case.iterations if it.id in wanted)
    if not case.data_driven or kind == "ALL":
        return case.iterations
    chosen = _iterations(case, result, passed=kind == "PASSED")
    if not chosen:
        raise ApiError(
            400,
            f"{where}.iterationReRunType: {kind} selects no iteration of test case result "
            f"{case.result_id}",
        )
    return chosen
