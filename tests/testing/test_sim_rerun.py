"""The rerun POST: what each reRunType reruns, USER_PICKED checks, one child per run, caps."""

from __future__ import annotations

from typing import Any

import pytest

from rerunorch.testing import MockClock, Simulator

from .conftest import Start
from .helpers import Api, failed

# Every key of the example response on the "Trigger a rerun" page.
SEED_KEYS = {
    "id", "execution", "executionId", "startTime", "endTime", "duration", "result", "status",
    "message", "executedBy", "buildNo", "environmentId", "totalCount", "failedCount",
    "passedCount", "stoppedCount", "notExecutedCount", "queuedCount", "runningCount",
    "visualTestResult", "environment", "childResult", "reRunParentId", "triggeredType",
    "totalRunningCount", "executionDetails", "totalQueuedCount", "mobileInspectionId",
    "environmentResultsDTO", "executionResultConfig", "isReRunEnabled", "consolidatedResult",
    "consolidatedStatus", "resultType", "consolidatedDuration", "runTestCasesInParallel",
    "runTestSuitesInParallel", "scheduledId", "testPlanHookResults",
}  # fmt: skip

Key = tuple[int, str | None]


def units(cases: list[dict[str, Any]], *, only_failed_iterations: bool = False) -> set[Key]:
    """(testCaseId, setName or None) of every test and iteration listed."""
    keys: set[Key] = set()
    for case in cases:
        if not case["isDataDrivenCase"]:
            keys.add((case["testCaseId"], None))
        for it in case["iterationResults"]:
            if not only_failed_iterations or failed(it["result"]):
                keys.add((case["testCaseId"], it["setName"]))
    return keys


async def mixed_target(sim: Simulator, api: Api) -> tuple[int, list[dict[str, Any]]]:
    """A target with a passed case and a failed data-driven case with a passed iteration."""
    for run_id in sim.target_ids:
        cases = await api.cases(run_id)
        passed = [c for c in cases if not failed(c["result"])]
        mixed = [
            c
            for c in cases
            if c["isDataDrivenCase"]
            and failed(c["result"])
            and any(not failed(it["result"]) for it in c["iterationResults"])
        ]
        if passed and mixed:
            return run_id, cases
    raise AssertionError("no target with mixed results; change the seed")


@pytest.fixture
async def mixed(start: Start) -> tuple[Simulator, Api, int, list[dict[str, Any]]]:
    sim, api = await start(targets=40, data_driven_fraction=0.5)
    run_id, cases = await mixed_target(sim, api)
    return sim, api, run_id, cases


async def test_answer_is_shaped_like_the_seed_example(start: Start) -> None:
    sim, api = await start()
    parent = sim.target_ids[0]
    reply = await api.rerun(parent)
    assert reply.status == 200
    child = reply.json()
    assert set(child) == SEED_KEYS
    assert child["status"] == "STATUS_CREATED"
    assert child["result"] == "QUEUED"
    assert child["reRunParentId"] == parent
    assert child["childResult"] is None
    assert child["triggeredType"] == "API"
    assert child["resultType"] == "ORIGINAL"
    assert child["totalCount"] is None
    assert child["passedCount"] is None
    assert child["consolidatedResult"] == "QUEUED"
    assert (await api.run(parent))["childResult"] == child["id"]
    assert sim.reruns_of(parent) == [child["id"]]
    assert sim.stats.reruns_created == 1


@pytest.mark.parametrize(
    "rerun_type",
    [
        "ALL_TESTS",
        "ONLY_FAILED_TESTS",
        "ALL_ITERATIONS",
        "ONLY_FAILED_ITERATIONS",
        "ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS",
    ],
)
async def test_each_rerun_type_reruns_the_right_tests(
    mixed: tuple[Simulator, Api, int, list[dict[str, Any]]], rerun_type: str
) -> None:
    _sim, api, run_id, cases = mixed
    failed_cases = [c for c in cases if failed(c["result"])]
    expected = {
        "ALL_TESTS": units(cases),
        "ONLY_FAILED_TESTS": units(failed_cases),
        "ALL_ITERATIONS": units(failed_cases),
        "ONLY_FAILED_ITERATIONS": units(failed_cases, only_failed_iterations=True),
        "ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS": units(failed_cases, only_failed_iterations=True),
    }[rerun_type]
    reply = await api.rerun(run_id, rerun_type)
    assert reply.status == 200, reply
    rerun_cases = await api.cases(reply.json()["id"])
    assert units(rerun_cases) == expected
    old_ids = {c["testCaseResultId"] for c in cases}
    assert not old_ids & {c["testCaseResultId"] for c in rerun_cases}


async def test_user_picked_with_iteration_choices(
    mixed: tuple[Simulator, Api, int, list[dict[str, Any]]],
) -> None:
    _sim, api, run_id, cases = mixed
    plain = next(c for c in cases if not c["isDataDrivenCase"])
    driven = next(
        c
        for c in cases
        if c["isDataDrivenCase"] and any(not failed(it["result"]) for it in c["iterationResults"])
    )
    picked_iteration = driven["iterationResults"][-1]
    reply = await api.rerun(
        run_id,
        "USER_PICKED",
        [
            {"id": plain["testCaseResultId"]},
            {
                "id": driven["testCaseResultId"],
                "iterationReRunType": "USER_PICKED",
                "iterationResultIds": [picked_iteration["iterationResultId"]],
            },
        ],
    )
    assert reply.status == 200, reply
    rerun_cases = await api.cases(reply.json()["id"])
    assert units(rerun_cases) == {
        (plain["testCaseId"], None),
        (driven["testCaseId"], picked_iteration["setName"]),
    }


@pytest.mark.parametrize("kind", ["ALL", "FAILED", "PASSED"])
async def test_user_picked_iteration_rerun_types(
    mixed: tuple[Simulator, Api, int, list[dict[str, Any]]], kind: str
) -> None:
    _sim, api, run_id, cases = mixed
    driven = next(
        c
        for c in cases
        if c["isDataDrivenCase"]
        and failed(c["result"])
        and any(not failed(it["result"]) for it in c["iterationResults"])
    )
    wanted = {
        (driven["testCaseId"], it["setName"])
        for it in driven["iterationResults"]
        if kind == "ALL" or failed(it["result"]) == (kind == "FAILED")
    }
    reply = await api.rerun(
        run_id, "USER_PICKED", [{"id": driven["testCaseResultId"], "iterationReRunType": kind}]
    )
    assert reply.status == 200, reply
    assert units(await api.cases(reply.json()["id"])) == wanted


async def test_user_picked_refuses_ids_of_other_runs(
    mixed: tuple[Simulator, Api, int, list[dict[str, Any]]],
) -> None:
    sim, api, run_id, cases = mixed
    other = next(i for i in sim.target_ids if i != run_id)
    foreign = (await api.cases(other))[0]
    driven = next(c for c in cases if c["isDataDrivenCase"])
    plain = next(c for c in cases if not c["isDataDrivenCase"])
    bad_requests: list[tuple[list[dict[str, Any]], str]] = [
        ([{"id": foreign["testCaseResultId"]}], str(foreign["testCaseResultId"])),
        ([], "testCaseResultRequests"),
        (
            [
                {
                    "id": driven["testCaseResultId"],
                    "iterationReRunType": "USER_PICKED",
                    "iterationResultIds": [plain["testCaseResultId"]],
                }
            ],
            "iterationResultIds",
        ),
        (
            [{"id": driven["testCaseResultId"], "iterationReRunType": "USER_PICKED"}],
            "iterationResultIds",
        ),
        ([{"id": plain["testCaseResultId"]}, {"id": plain["testCaseResultId"]}], "twice"),
    ]
    for picks, fragment in bad_requests:
        reply = await api.rerun(run_id, "USER_PICKED", picks)
        assert reply.status == 400, picks
        assert fragment in reply.json()["error"]
    assert (await api.run(run_id))["childResult"] is None
    assert sim.stats.invalid_bodies == 0  # well-formed bodies, wrong ids


async def test_nothing_to_rerun_is_a_400(start: Start) -> None:
    sim, api = await start()
    for rerun_type in ("ONLY_FAILED_TESTS", "ONLY_FAILED_ITERATIONS", "NONE"):
        reply = await api.rerun(sim.passed_ids[0], rerun_type)
        assert reply.status == 400
        assert "Nothing to rerun" in reply.json()["error"]
    assert (await api.rerun(sim.passed_ids[0], "ALL_TESTS")).status == 200


async def test_unknown_run_wrong_plan_and_unfinished_run(start: Start) -> None:
    sim, api = await start()
    body = {"executionId": 1, "executionResultId": 999_999_999, "isReRun": True,
            "reRunType": "ALL_TESTS"}  # fmt: skip
    reply = await api.request("POST", "/api/v1/execution_results", body=body)
    assert reply.status == 404
    assert set(reply.json()) == {"timeStamp", "error", "code", "fieldErrors", "objectErrors"}
    assert (await api.get("/api/v1/execution_results/999999999")).status == 404
    reply = await api.rerun(
        sim.target_ids[0], executionId=sim.run(sim.target_ids[1])["executionId"]
    )
    assert reply.status == 400
    assert "does not belong" in reply.json()["error"]
    child = (await api.rerun(sim.target_ids[0], "ALL_TESTS")).json()
    reply = await api.rerun(child["id"], "ALL_TESTS")
    assert reply.status == 400
    assert "before it completes" in reply.json()["error"]


async def test_second_rerun_of_a_run_is_refused(start: Start) -> None:
    sim, api = await start()
    first = await api.rerun(sim.target_ids[0])
    assert first.status == 200
    for _ in range(2):
        again = await api.rerun(sim.target_ids[0])
        assert again.status == 500
        assert again.json()["error"] == "ReRun Parent Id Already Exists"
    assert sim.stats.duplicate_rerun_attempts == 2
    assert sim.stats.reruns_created == 1
    assert sim.reruns_of(sim.target_ids[0]) == [first.json()["id"]]


async def test_at_most_max_reruns_per_chain(start: Start, clock: MockClock) -> None:
    sim, api = await start(max_reruns_per_run=2, flaky_probability=0.0)
    head = sim.target_ids[0]
    chain = []
    for _ in range(2):
        reply = await api.rerun(head)
        assert reply.status == 200, reply
        head = reply.json()["id"]
        chain.append(head)
        clock.advance(200)
    assert sim.reruns_of(sim.target_ids[0]) == chain
    assert (await api.run(head))["isReRunEnabled"] is False
    reply = await api.rerun(head)
    assert reply.status == 400
    assert "maximum of 2 reruns" in reply.json()["error"]


async def test_child_result_as_a_nested_object(start: Start) -> None:
    sim, api = await start(child_result_style="object")
    child = (await api.rerun(sim.target_ids[0])).json()
    nested = (await api.run(sim.target_ids[0]))["childResult"]
    assert isinstance(nested, dict)
    assert nested["id"] == child["id"]
    assert nested["reRunParentId"] == sim.target_ids[0]
