"""The API's JSON (and JUnit XML) views of the simulator's runs."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from .config import SimulatorConfig
from .model import ABORTED, FAILURE, NOT_EXECUTED, QUEUED, STOPPED, SUCCESS, Run
from .state import SimState
from .timeline import COMPLETED, CREATED, IN_PROGRESS, QUEUED_STATUS, RunView

__all__ = ["junit_xml", "run_json", "test_case_results_json"]

_EXECUTION_DETAILS = {
    "page_timeout": 30,
    "element_timeout": 30,
    "recovery_action": "Run_Next_Testcase",
    "on_aborted_action": "Reuse_Session",
    "screenshot_option": "ALL_TYPES",
    "group_prerequisite_fail": "Abort",
    "test_case_prerequisite_fail": "Abort",
    "test_step_prerequisite_fail": "Run_Next_Testcase",
    "global_param_name": None,
}
_MESSAGES = {
    CREATED: "Test Plan execution is initiated and waiting to be queued",
    QUEUED_STATUS: "Test Plan execution is queued",
    IN_PROGRESS: "Test Plan execution is in progress",
    SUCCESS: "Test Plan execution completed successfully",
    "FAILURE": "Test Plan execution completed with failures",
    STOPPED: "Test Plan execution was stopped",
}


def _ms(seconds: float | None) -> int | None:
    return None if seconds is None else round(seconds * 1000)


def _counts(current: RunView) -> dict[str, int | None]:
    names = (
        "totalCount",
        "failedCount",
        "passedCount",
        "stoppedCount",
        "notExecutedCount",
        "queuedCount",
        "runningCount",
        "totalRunningCount",
        "totalQueuedCount",
    )
    if current.status == CREATED:  # as right after a trigger: nothing counted yet
        return dict.fromkeys(names, None)
    results = current.cases
    running = results.count("RUNNING")
    queued = results.count(QUEUED)
    return {
        "totalCount": len(results),
        "failedCount": results.count(FAILURE) + results.count(ABORTED),
        "passedCount": results.count(SUCCESS),
        "stoppedCount": results.count(STOPPED),
        "notExecutedCount": results.count(NOT_EXECUTED),
        "queuedCount": queued,
        "runningCount": running,
        "totalRunningCount": running,
        "totalQueuedCount": queued,
    }


def _consolidated(state: SimState, run: Run, now: float) -> tuple[str, str, int]:
    """(status, result, duration ms) across ``run``'s chain: it passes when every test's latest
    result passes."""
    latest: dict[tuple[int, str | None], str] = {}
    duration = 0.0
    current: RunView | None = None
    for member in state.chain(run, now):
        current = state.view(member, now)
        if not current.completed:
            break
        duration += (current.end or member.end) - member.created_at
        for case, result in zip(member.cases, current.cases, strict=True):
            if case.data_driven and result != STOPPED:
                for it in case.iterations:
                    latest[case.test_case_id, it.set_name] = it.result
            elif case.data_driven:
                for it in case.iterations:
                    latest[case.test_case_id, it.set_name] = STOPPED
            else:
                latest[case.test_case_id, None] = result
    assert current is not None
    if not current.completed:
        return current.status, QUEUED, round(duration * 1000)
    passed = all(result == SUCCESS for result in latest.values())
    return COMPLETED, SUCCESS if passed else "FAILURE", round(duration * 1000)


def run_json(state: SimState, config: SimulatorConfig, run: Run, now: float) -> dict[str, Any]:
    """The execution-result object of ``run`` at ``now``."""
    current = state.view(run, now)
    child_id = state.child_of(run, now)
    child: object = child_id
    if child_id is not None and config.child_result_style == "object":
        child = run_json(state, config, state.require(child_id), now)
    status, result, duration = _consolidated(state, run, now)
    message = _MESSAGES[current.result if current.completed else current.status]
    counts = _counts(current)
    return {
        "id": run.id,
        "execution": None,
        "executionId": run.execution_id,
        "startTime": _ms(run.created_at),
        "endTime": _ms(current.end),
        "duration": _ms(None if current.end is None else current.end - run.created_at),
        "result": current.result,
        "status": current.status,
        "message": message,
        "executedBy": 10,
        "buildNo": run.build_no,
        "environmentId": None,
        "totalCount": counts["totalCount"],
        "failedCount": counts["failedCount"],
        "passedCount": counts["passedCount"],
        "stoppedCount": counts["stoppedCount"],
        "notExecutedCount": counts["notExecutedCount"],
        "queuedCount": counts["queuedCount"],
        "runningCount": counts["runningCount"],
        "visualTestResult": None,
        "environment": None,
        "childResult": child,
        "reRunParentId": run.parent_id,
        "triggeredType": run.triggered_type,
        "totalRunningCount": counts["totalRunningCount"],
        "executionDetails": dict(_EXECUTION_DETAILS),
        "totalQueuedCount": counts["totalQueuedCount"],
        "mobileInspectionId": None,
        "environmentResultsDTO": None,
        "executionResultConfig": None,
        "isReRunEnabled": run.depth < config.max_reruns_per_run,
        "consolidatedResult": result,
        "consolidatedStatus": status,
        "resultType": "ORIGINAL",
        "consolidatedDuration": duration if current.completed else None,
        "runTestCasesInParallel": False,
        "runTestSuitesInParallel": False,
        "scheduledId": None,
        "testPlanHookResults": None,
    }


def test_case_results_json(state: SimState, run: Run, now: float) -> dict[str, Any]:
    """The ``test_case_results`` answer of ``run`` at ``now``."""
    current = state.view(run, now)
    cases = []
    for case, result in zip(run.cases, current.cases, strict=True):
        suite = run.suites[case.suite]
        finished = result not in (QUEUED, "RUNNING", STOPPED)
        cases.append(
            {
                "testCaseId": case.test_case_id,
                "testCaseName": case.name,
                "testCaseResultId": case.result_id,
                "result": result,
                "isDataDrivenCase": case.data_driven,
                "iterationResults": [
                    {
                        "iterationResultId": it.id,
                        "setName": it.set_name,
                        "result": it.result if finished else result,
                    }
                    for it in case.iterations
                ],
                "testSuiteId": suite.id,
                "testSuiteName": suite.name,
                "testSuiteResultId": suite.result_id,
                "machineId": run.machine_id,
                "machineTitle": run.machine_title,
                "machineResultId": run.machine_result_id,
            }
        )
    return {
        "executionId": run.execution_id,
        "executionResultId": run.id,
        "result": current.result,
        "status": current.status,
        "testCases": cases,
    }


def junit_xml(run: Run, current: RunView) -> str:
    """A JUnit XML report of a completed run (one ``testcase`` per iteration of a data-driven
    case)."""
    root = ElementTree.Element("testsuites", name=f"Execution result {run.id}")
    each_case = max(0.001, run.duration / max(1, len(run.cases)))
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0}
    for index, suite in enumerate(run.suites):
        node = ElementTree.SubElement(root, "testsuite", name=suite.name, id=str(suite.result_id))
        counts = dict.fromkeys(totals, 0)
        for case, result in zip(run.cases, current.cases, strict=True):
            if case.suite != index:
                continue
            entries = [(f"{case.name} [{it.set_name}]", it.result) for it in case.iterations]
            if not entries or result == STOPPED:
                entries = [(case.name, result)]
            for name, outcome in entries:
                test = ElementTree.SubElement(
                    node,
                    "testcase",
                    name=name,
                    classname=suite.name,
                    time=f"{each_case / len(entries):.3f}",
                )
                counts["tests"] += 1
                if outcome == FAILURE:
                    counts["failures"] += 1
                    ElementTree.SubElement(test, "failure", message=outcome, type=outcome)
                elif outcome == ABORTED:
                    counts["errors"] += 1
                    ElementTree.SubElement(test, "error", message=outcome, type=outcome)
                elif outcome != SUCCESS:
                    counts["skipped"] += 1
                    ElementTree.SubElement(test, "skipped", message=outcome)
        for key, value in counts.items():
            node.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    body = ElementTree.tostring(root, encoding="unicode")
    return f'<?xml version="1.0" encoding="UTF-8"?>\n{body}\n'
