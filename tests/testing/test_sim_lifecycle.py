"""Runs over time: statuses, progressive counts, results, consolidation, stop, JUnit, fresh runs."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from rerunorch.testing import MockClock

from .conftest import Start
from .helpers import failed

STATUSES = ["STATUS_CREATED", "STATUS_QUEUED", "STATUS_IN_PROGRESS", "STATUS_COMPLETED"]


async def test_statuses_advance_and_counts_move(start: Start, clock: MockClock) -> None:
    sim, api = await start(tests_per_run=(6, 10), data_driven_fraction=0.0)
    child = (await api.rerun(sim.target_ids[0], "ALL_TESTS")).json()
    seen: list[dict[str, Any]] = []
    for _ in range(400):
        run = await api.run(child["id"])
        seen.append(run)
        if run["status"] == "STATUS_COMPLETED":
            break
        clock.advance(0.5)
    statuses = [run["status"] for run in seen]
    assert sorted(set(statuses), key=STATUSES.index) == STATUSES
    assert statuses == sorted(statuses, key=STATUSES.index)  # never goes back
    running = [run for run in seen if run["status"] == "STATUS_IN_PROGRESS"]
    assert all(run["result"] == "QUEUED" and run["endTime"] is None for run in running)
    assert len({run["queuedCount"] for run in running}) > 2  # tests finish progressively
    done = [run["passedCount"] + run["failedCount"] + run["notExecutedCount"] for run in running]
    assert done == sorted(done)
    final = seen[-1]
    assert final["endTime"] is not None
    assert final["duration"] == final["endTime"] - final["startTime"]
    assert final["queuedCount"] == final["runningCount"] == 0
    total = final["passedCount"] + final["failedCount"] + final["notExecutedCount"]
    assert total == final["totalCount"]


async def test_rerun_results_follow_the_truth(start: Start, clock: MockClock) -> None:
    sim, api = await start(targets=15)
    children = {}
    for run_id in sim.target_ids:
        children[run_id] = (await api.rerun(run_id, "ALL_TESTS")).json()["id"]
    cases_running = await api.cases(children[sim.target_ids[0]])
    assert {c["result"] for c in cases_running} <= {"QUEUED", "RUNNING"}
    clock.advance(200)
    for parent, child in children.items():
        truth = sim.truth(parent)
        before = {c["testCaseId"]: c for c in await api.cases(parent)}
        after = await api.cases(child)
        for case in after:
            kind = truth[case["testCaseId"]]
            if kind in ("passed", "flaky"):
                assert case["result"] == "SUCCESS"
            elif case["isDataDrivenCase"]:  # the same failures again, iteration by iteration
                assert failed(case["result"])
                old = {
                    it["setName"]: it["result"]
                    for it in before[case["testCaseId"]]["iterationResults"]
                }
                for it in case["iterationResults"]:
                    assert it["result"] in ("SUCCESS", old[it["setName"]])
            else:
                assert case["result"] == before[case["testCaseId"]]["result"]
            assert case["testCaseName"] == before[case["testCaseId"]]["testCaseName"]
        run = await api.run(child)
        all_pass = all(kind != "broken" for kind in truth.values())
        assert run["result"] == ("SUCCESS" if all_pass else "FAILURE")
        assert set(sim.truth(child).values()) <= {"passed", "broken"}


async def test_consolidated_result_across_the_chain(start: Start, clock: MockClock) -> None:
    sim, api = await start(flaky_probability=1.0)
    parent = sim.target_ids[0]
    assert (await api.run(parent))["consolidatedResult"] == "FAILURE"
    child = (await api.rerun(parent, "ONLY_FAILED_TESTS")).json()["id"]
    assert (await api.run(parent))["consolidatedStatus"] == "STATUS_CREATED"
    clock.advance(200)
    for run_id in (parent, child):
        run = await api.run(run_id)
        assert run["consolidatedResult"] == "SUCCESS"
        assert run["consolidatedStatus"] == "STATUS_COMPLETED"
    assert (await api.run(parent))["result"] == "FAILURE"  # its own result stays


async def test_consolidated_failure_when_a_test_still_fails(start: Start, clock: MockClock) -> None:
    sim, api = await start(flaky_probability=0.0)
    child = (await api.rerun(sim.target_ids[0], "ONLY_FAILED_TESTS")).json()["id"]
    clock.advance(200)
    assert (await api.run(child))["consolidatedResult"] == "FAILURE"


async def test_data_driven_case_passes_when_its_rerun_iterations_pass(
    start: Start, clock: MockClock
) -> None:
    sim, api = await start(data_driven_fraction=1.0, flaky_probability=1.0)
    child = (await api.rerun(sim.target_ids[0], "ONLY_FAILED_ITERATIONS")).json()["id"]
    clock.advance(200)
    cases = await api.cases(child)
    assert cases
    assert all(c["result"] == "SUCCESS" for c in cases)
    assert all(it["result"] == "SUCCESS" for c in cases for it in c["iterationResults"])


async def test_stop_by_path_and_by_body(start: Start, clock: MockClock) -> None:
    sim, api = await start(tests_per_run=(8, 12))
    first = (await api.rerun(sim.target_ids[0], "ALL_TESTS")).json()["id"]
    second = (await api.rerun(sim.target_ids[1], "ALL_TESTS")).json()["id"]
    clock.advance(0.5 * sim.config.run_duration[0])
    stop = {"canStopAll": True, "result": "STOPPED"}
    reply = await api.request("PUT", f"/api/v1/execution_results/{first}", body=stop)
    assert reply.status == 200
    reply = await api.request("PUT", "/api/v1/execution_results", body={**stop, "id": second})
    assert reply.status == 200
    clock.advance(500)
    for run_id in (first, second):
        run = await api.run(run_id)
        assert run["status"] == "STATUS_COMPLETED"
        assert run["result"] == "STOPPED"
        assert run["stoppedCount"] > 0
        cases = await api.cases(run_id)
        assert "STOPPED" in {c["result"] for c in cases}
    # Stopping a completed run changes nothing; bad bodies and unknown ids are refused.
    again = await api.request("PUT", f"/api/v1/execution_results/{first}", body=stop)
    assert again.json()["result"] == "STOPPED"
    reply = await api.request("PUT", f"/api/v1/execution_results/{first}", body={"result": "X"})
    assert reply.status == 400
    reply = await api.request("PUT", "/api/v1/execution_results", body=stop)
    assert reply.status == 400
    assert "id" in reply.json()["error"]
    reply = await api.request("PUT", "/api/v1/execution_results/999999999", body=stop)
    assert reply.status == 404
    # A stopped run can be rerun; what was stopped counts as failed.
    rerun = await api.rerun(first, "ONLY_FAILED_TESTS")
    assert rerun.status == 200


async def test_junit_refuses_in_plain_text_until_completed(start: Start, clock: MockClock) -> None:
    sim, api = await start()
    child = (await api.rerun(sim.target_ids[0], "ALL_TESTS")).json()["id"]
    path = f"/api/v1/reports/junit/{child}"
    early = await api.get(path, headers={"Accept": "application/xml"})
    assert early.status == 200
    assert early.headers["Content-Type"].startswith("text/plain")
    assert "not available" in early.text
    clock.advance(200)
    late = await api.get(path, headers={"Accept": "application/xml"})
    assert late.status == 200
    assert late.headers["Content-Type"].startswith("application/xml")
    root = ElementTree.fromstring(late.text)
    cases = await api.cases(child)
    expected = sum(max(1, len(c["iterationResults"])) for c in cases)
    assert int(root.get("tests", "0")) == expected
    assert len(root.findall(".//testcase")) == expected
    bad = sum(failed(it["result"]) for c in cases for it in c["iterationResults"] or [c])
    assert (
        int(root.get("failures", "0"))
        + int(root.get("errors", "0"))
        + int(root.get("skipped", "0"))
        == bad
    )
    assert (await api.get("/api/v1/reports/junit/999999999")).status == 404


async def test_fresh_run_of_a_plan_and_busy_plan(start: Start, clock: MockClock) -> None:
    sim, api = await start()
    plan = sim.run(sim.target_ids[0])["executionId"]
    body = {"executionId": plan, "buildNo": "build-7"}
    first = await api.request("POST", "/api/v1/execution_results", body=body)
    assert first.status == 200
    run = first.json()
    assert run["reRunParentId"] is None
    assert run["buildNo"] == "build-7"
    assert run["status"] == "STATUS_CREATED"
    busy = await api.request("POST", "/api/v1/execution_results", body={"executionId": plan})
    assert busy.status == 500
    assert busy.json()["error"].startswith("The specified Test Plan is currently running")
    clock.advance(200)
    again = await api.request(
        "POST", "/api/v1/execution_results", body={"executionId": plan, "isReRun": False}
    )
    assert again.status == 200
    assert sim.stats.runs_created == 2
    missing = await api.request("POST", "/api/v1/execution_results", body={"executionId": 1})
    assert missing.status == 404


async def test_cap_on_active_runs(start: Start, clock: MockClock) -> None:
    sim, api = await start(max_active_runs=2)
    assert (await api.rerun(sim.target_ids[0])).status == 200
    assert (await api.rerun(sim.target_ids[1])).status == 200
    refused = await api.rerun(sim.target_ids[2])
    assert refused.status == 500
    assert "Parallel execution limit" in refused.json()["error"]
    assert (await api.run(sim.target_ids[2]))["childResult"] is None
    clock.advance(200)
    assert (await api.rerun(sim.target_ids[2])).status == 200
    assert sim.stats.active_runs_peak == 2
