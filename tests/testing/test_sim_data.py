"""The seeded data set: ids, failures, flakiness, repeatability and lazy start-up."""

from __future__ import annotations

import time
from collections import Counter

import aiohttp
import pytest

from rerunorch.testing import MockClock, Simulator, SimulatorConfig

from .conftest import Start
from .helpers import Api, failed


async def test_targets_fail_and_passed_runs_pass(start: Start) -> None:
    sim, api = await start(targets=8, passed_targets=3)
    assert len(sim.target_ids) == 8
    assert len(sim.passed_ids) == 3
    for run_id in sim.target_ids:
        run = await api.run(run_id)
        assert run["status"] == "STATUS_COMPLETED"
        assert run["result"] == "FAILURE"
        assert any(failed(case["result"]) for case in await api.cases(run_id))
    for run_id in sim.passed_ids:
        assert (await api.run(run_id))["result"] == "SUCCESS"
        assert set(sim.truth(run_id).values()) == {"passed"}
    listed = (await api.get("/_simulator/targets", auth=None)).json()
    assert listed == {"targets": sim.target_ids, "passed": sim.passed_ids}


async def test_failures_are_mixed_and_some_cases_are_data_driven(start: Start) -> None:
    sim, api = await start(targets=40, data_driven_fraction=0.4)
    results: Counter[str] = Counter()
    data_driven = 0
    for run_id in sim.target_ids:
        for case in await api.cases(run_id):
            results[case["result"]] += 1
            if case["isDataDrivenCase"]:
                data_driven += 1
                assert len(case["iterationResults"]) >= 2
                if failed(case["result"]):
                    assert any(failed(it["result"]) for it in case["iterationResults"])
            else:
                assert case["iterationResults"] == []
    assert {"SUCCESS", "FAILURE", "ABORTED", "NOT_EXECUTED"} <= set(results)
    assert data_driven > 0


async def test_ids_are_unique_across_kinds(start: Start) -> None:
    sim, api = await start(targets=15, passed_targets=5)
    seen: list[int] = []
    for run_id in sim.target_ids + sim.passed_ids:
        run = await api.run(run_id)
        seen += [run["id"], run["executionId"]]
        for case in await api.cases(run_id):
            seen += [case["testCaseResultId"], case["machineResultId"], case["testSuiteResultId"]]
            seen += [it["iterationResultId"] for it in case["iterationResults"]]
    rerun = (await api.rerun(sim.target_ids[0], "ALL_TESTS")).json()
    seen.append(rerun["id"])
    for case in await api.cases(rerun["id"]):
        seen += [case["testCaseResultId"], case["machineResultId"], case["testSuiteResultId"]]
        seen += [it["iterationResultId"] for it in case["iterationResults"]]
    # Suite and machine result ids repeat across the cases of one run, nothing else does.
    counts = Counter(seen)
    repeated = {i for i, n in counts.items() if n > 1}
    suite_or_machine = set()
    for run_id in [*sim.target_ids, *sim.passed_ids, rerun["id"]]:
        for case in await api.cases(run_id):
            suite_or_machine |= {case["machineResultId"], case["testSuiteResultId"]}
    assert repeated <= suite_or_machine


async def test_same_seed_same_data_other_seed_other_data(clock: MockClock) -> None:
    async def snapshot(seed: int) -> list[object]:
        config = SimulatorConfig(seed=seed, targets=5)
        async with Simulator(config, clock=clock) as sim, aiohttp.ClientSession() as session:
            api = Api(session, sim)
            return [await api.cases(i) for i in sim.target_ids] + [
                sim.truth(i) for i in sim.target_ids
            ]

    assert await snapshot(7) == await snapshot(7)
    assert await snapshot(7) != await snapshot(8)


@pytest.mark.parametrize(("probability", "kind"), [(0.0, "broken"), (1.0, "flaky")])
async def test_flaky_probability_decides_every_failure(
    start: Start, probability: float, kind: str
) -> None:
    sim, _ = await start(flaky_probability=probability)
    for run_id in sim.target_ids:
        assert set(sim.truth(run_id).values()) <= {"passed", kind}
        assert kind in sim.truth(run_id).values()


async def test_hundred_thousand_targets_start_at_once(clock: MockClock) -> None:
    config = SimulatorConfig(targets=100_000, passed_targets=1_000)
    began = time.perf_counter()
    async with Simulator(config, clock=clock) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        last = (await api.run(sim.target_ids[-1]))["id"]
        elapsed = time.perf_counter() - began
        assert last == sim.target_ids[-1]
        assert len(sim.target_ids) == 100_000
        assert len(set(sim.target_ids) | set(sim.passed_ids)) == 101_000
        assert (await api.run(sim.passed_ids[-1]))["result"] == "SUCCESS"
    assert elapsed < 1.0  # nothing is generated up front
