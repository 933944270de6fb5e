"""The simulator's nights: the same plans and tests night after night, with true rates."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path

import aiohttp
import anyio
import pytest

from rerunorch.testing import (
    MockClock,
    NightlyConfig,
    Outage,
    RateChange,
    Simulator,
    SimulatorConfig,
)

DAY = 86400.0


@contextlib.asynccontextmanager
async def _nights(clock: MockClock | None = None, **fields: object) -> AsyncIterator[Simulator]:
    config = SimulatorConfig(seed=3, nightly=NightlyConfig(**fields))  # type: ignore[arg-type]
    async with Simulator(config, clock=clock or MockClock()) as sim:
        yield sim


def _results(sim: Simulator, run_id: int) -> dict[int, str]:
    return {case["testCaseId"]: case["result"] for case in sim.cases(run_id)}


async def _index(sim: Simulator, query: str) -> list[int]:
    ids, page = [], 0
    headers = {"Authorization": f"Bearer {sim.api_key}"}
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            params = {"query": query, "page": str(page), "pageSize": "3"}
            async with session.get(sim.base_url + "/api/v2/test_runs", params=params) as answer:
                assert answer.status == 200, await answer.text()
                body = await answer.json()
            ids += [item["id"] for item in body["data"]]
            if body["pagination"]["isLast"]:
                return ids
            page += 1


async def test_every_night_runs_the_same_tests_in_new_runs_a_day_apart() -> None:
    async with _nights(plans=2, machines=2, tests=8, nights=4) as sim:
        assert sim.night_count == 4
        tests = sim.night_tests()
        assert len(tests) == 16
        assert len(set(tests.values())) == 16  # names tell tests apart
        seen_runs: set[int] = set()
        starts = []
        for night in range(4):
            runs = sim.night_runs(night)
            assert len(runs) == 4  # 2 plans x 2 machines
            assert not seen_runs & set(runs)
            seen_runs |= set(runs)
            cases = [case for run in runs for case in sim.cases(run)]
            assert {c["testCaseId"]: c["testCaseName"] for c in cases}.items() <= tests.items()
            assert {c["testCaseId"] for c in cases} == set(tests)
            assert {sim.night_of(run) for run in runs} == {night}
            assert {sim.run(run)["executionId"] for run in runs} == set(sim.plan_ids)
            starts.append([sim.run(run)["startTime"] / 1000 for run in runs])
        now = sim.clock.time()
        for night, times in enumerate(starts):
            # night 3 (the newest) started in the last day, each older one a day before
            low, high = now - (4 - night) * DAY, now - (3 - night) * DAY
            assert all(low < t < high for t in times), (night, times)
        machines = [{c["machineId"] for c in sim.cases(run)} for run in sim.night_runs(0)]
        assert machines == [{sim.cases(run)[0]["machineId"]} for run in sim.night_runs(3)]
        assert len(set.union(*machines)) == 4  # each plan's two machines, the same every night


async def test_results_follow_each_tests_true_rate() -> None:
    async with _nights(plans=1, tests=60, nights=40, flaky_fraction=0.3) as sim:
        rates = sim.true_rates()
        assert set(rates) == set(sim.night_tests())
        assert set(rates) == set(sim.true_rates(0))
        failures = dict.fromkeys(rates, 0)
        for night in range(40):
            for run in sim.night_runs(night):
                for test, result in _results(sim, run).items():
                    failures[test] += result != "SUCCESS"
        kinds = {"healthy": 0, "flaky": 0, "broken": 0}
        for test, rate in rates.items():
            share = failures[test] / 40
            if rate == 0:
                kinds["healthy"] += 1
                assert share == 0
            elif rate == 1:
                kinds["broken"] += 1
                assert share == 1
            else:
                kinds["flaky"] += 1
                assert abs(share - rate) < 0.25, (test, rate, share)  # 3.5 sd at 0.5
        assert all(kinds.values()), kinds


async def test_a_rerun_of_a_nights_failure_fails_at_that_nights_rate() -> None:
    clock = MockClock(autojump=True)
    fields = {"plans": 1, "tests": 30, "nights": 2, "flaky_fraction": 0.6}
    async with _nights(clock, **fields) as sim:
        (run_id,) = sim.target_ids
        failed = [t for t, r in _results(sim, run_id).items() if r != "SUCCESS"]
        rates = sim.true_rates()
        assert sim.fail_rates(run_id) == {t: rates[t] if t in failed else 0.0 for t in rates}
        truth = sim.truth(run_id)
        assert {t for t, kind in truth.items() if kind == "broken"} == {
            t for t in failed if rates[t] == 1
        }
        plan = sim.run(run_id)["executionId"]
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        body = {"executionId": plan, "executionResultId": run_id, "isReRun": True}
        body["reRunType"] = "ONLY_FAILED_TESTS"
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.post(sim.base_url + "/api/v1/execution_results", json=body) as answer,
        ):
            assert answer.status in (200, 201), await answer.text()
            rerun = (await answer.json())["id"]
        clock.advance(4 * 3600)
        assert sim.night_of(rerun) == 1
        again = _results(sim, rerun)
        assert set(again) == set(failed)
        assert all(rates[test] > 0 for test in failed)  # no outage: only flaky or broken fail
        assert all(again[test] != "SUCCESS" for test in failed if rates[test] == 1)
        assert any(again[test] == "SUCCESS" for test in failed if rates[test] < 1)


async def test_drift_a_test_becomes_flaky_and_another_is_fixed() -> None:
    changes = [RateChange(test=0, night=2, rate=0.5), RateChange(test=1, night=3, rate=0.0)]
    async with _nights(
        plans=1, tests=5, nights=5, flaky_fraction=0, broken_fraction=0, changes=changes
    ) as sim:
        first, second = list(sim.night_tests())[:2]
        assert [sim.true_rates(n)[first] for n in range(5)] == [0, 0, 0.5, 0.5, 0.5]
        assert [sim.true_rates(n)[second] for n in range(5)] == [0] * 5  # fixed: was healthy

    changes = [RateChange(test=3, night=0, rate=1.0), RateChange(test=3, night=2, rate=0.0)]
    async with _nights(plans=1, tests=5, nights=4, broken_fraction=0, changes=changes) as sim:
        broken = list(sim.night_tests())[3]
        seen = [_results(sim, sim.night_runs(n)[0])[broken] for n in range(4)]
        assert seen == ["FAILURE", "FAILURE", "SUCCESS", "SUCCESS"]


async def test_seeded_drift_changes_some_rates_once() -> None:
    async with _nights(plans=2, tests=100, nights=10, drift=0.2) as sim:
        first, last = sim.true_rates(0), sim.true_rates(9)
        changed = [t for t in first if first[t] != last[t]]
        assert 20 <= len(changed) <= 60  # about 0.2 x 200
        assert any(first[t] == 0 < last[t] for t in changed)  # became flaky
        assert any(first[t] > 0 == last[t] for t in changed)  # got fixed
    clock = MockClock()
    async with _nights(clock, plans=2, tests=100, nights=1, drift=0.2, drift_nights=10) as sim:
        assert sim.true_rates(0) == first  # the same tests, the same seed
        for _ in range(9):
            clock.advance(DAY)
            sim.new_night()
        assert sim.true_rates(9) == last  # drifted over the nights to come


async def test_an_outage_night_fails_most_of_one_plans_tests_but_not_its_reruns() -> None:
    clock = MockClock(autojump=True)
    outage = Outage(night=1, plan=0, share=0.9)
    fields = {"plans": 2, "tests": 40, "nights": 3, "outages": [outage], "flaky_fraction": 0}
    async with _nights(clock, **fields, broken_fraction=0) as sim:
        (hit,) = sim.outage_runs(1)
        assert sim.outage_runs(0) == sim.outage_runs(2) == []
        assert sim.run(hit)["executionId"] == sim.plan_ids[0]
        failed = sum(r != "SUCCESS" for r in _results(sim, hit).values())
        assert failed >= 30  # ~0.9 of 40
        other = next(run for run in sim.night_runs(1) if run != hit)
        assert set(_results(sim, other).values()) == {"SUCCESS"}
        assert set(sim.truth(hit).values()) <= {"flaky", "passed"}  # every test is healthy


async def test_discovery_finds_the_nights_failed_runs_and_new_night_makes_the_next() -> None:
    clock = MockClock(autojump=True)
    async with _nights(clock, plans=3, tests=15, nights=2, flaky_fraction=0.3) as sim:
        plans = "#".join(map(str, sim.plan_ids))

        async def last_day() -> list[int]:
            since = datetime.fromtimestamp(sim.clock.time() - DAY, tz=timezone.utc).isoformat()
            return sorted(await _index(sim, f"testPlanId@{plans},result:FAILURE,startTime>{since}"))

        found = await last_day()
        assert found == sim.failed_runs(sim.plan_ids, since=sim.clock.time() - DAY)
        assert found == sorted(sim.target_ids)
        assert set(found) <= set(sim.night_runs(-1))
        assert len(await _index(sim, "")) == 6  # two nights of three plans
        with pytest.raises(RuntimeError, match="move its clock a day on first"):
            sim.new_night()
        assert sim.night_count == 2
        clock.advance(DAY)
        new = sim.new_night()
        assert new == sim.night_runs(2)
        assert not set(new) & set(sim.night_runs(1))
        found = await last_day()
        assert found == sorted(sim.target_ids)
        assert set(found) <= set(new)
        assert len(await _index(sim, "")) == 9


async def test_a_fresh_run_of_a_nights_plan_runs_its_tests_at_the_newest_rates() -> None:
    clock = MockClock(autojump=True)
    async with _nights(clock, plans=2, tests=10, nights=2, broken_fraction=0.3) as sim:
        plan = sim.plan_ids[1]
        headers = {"Authorization": f"Bearer {sim.api_key}"}
        body = {"executionId": plan, "buildNo": "b-9"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.post(sim.base_url + "/api/v1/execution_results", json=body) as answer,
        ):
            assert answer.status == 200, await answer.text()
            run = (await answer.json())["id"]
        assert run not in sim.night_runs(-1)
        assert sim.night_of(run) is None  # not one of the nights' runs...
        clock.advance(4 * 3600)
        results = _results(sim, run)
        newest = sim.night_runs(-1)[1]
        assert set(results) == set(_results(sim, newest))  # ...but the plan's tests
        rates = sim.true_rates()
        assert all(results[t] != "SUCCESS" for t in results if rates[t] == 1)
        assert sim.run(run)["buildNo"] == "b-9"


async def test_the_seeded_simulator_has_no_nights() -> None:
    async with Simulator(SimulatorConfig(targets=2), clock=MockClock()) as sim:
        assert sim.night_count == 0
        assert sim.night_of(sim.target_ids[0]) is None
        with pytest.raises(RuntimeError, match="nightly="):
            sim.new_night()
        with pytest.raises(RuntimeError, match="nightly="):
            sim.true_rates()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"flaky_fraction": 0.8, "broken_fraction": 0.3}, "at most 1"),
        ({"changes": [RateChange(test=60, night=1, rate=0.1)]}, "test 60 does not exist"),
        ({"outages": [Outage(night=1, plan=3)]}, "plan 3 does not exist"),
        ({"outages": [Outage(night=1, machine=1)]}, "machine 1 does not exist"),
        ({"tests": 0}, "tests"),
        ({"flaky_rate": (0, 1)}, "flaky_rate"),
    ],
)
def test_bad_nights_are_refused_naming_the_field(fields: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        NightlyConfig(**{"plans": 3, "tests": 20, **fields})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="share must be within"):
        Outage(night=0, share=2)


async def test_a_sweep_of_plans_since_24h_reruns_the_newest_nights_failed_runs(
    tmp_path: Path,
) -> None:
    from rerunorch.clock import ScaledClock

    config = SimulatorConfig(
        seed=5, nightly=NightlyConfig(plans=2, tests=12, nights=3, flaky_fraction=0.3)
    )
    async with Simulator(config, clock=ScaledClock(100)) as sim:
        env = {
            **os.environ,
            "TESTSIGMA_API_KEY": sim.api_key,
            "TESTSIGMA_BASE_URL": sim.base_url,
        }
        report = tmp_path / "r.json"
        plans = [arg for plan in sim.plan_ids for arg in ("--plan", str(plan))]
        command = [sys.executable, "-m", "rerunorch", "sweep", "--time-scale", "100", *plans]
        command += ["--since", "24h", "--no-wait", "--report", str(report)]
        command += ["--journal", str(tmp_path / "j.sqlite")]
        with anyio.fail_after(60):
            done = await anyio.run_process(command, env=env, check=False)
        assert done.returncode == 0, done.stderr.decode()
        targets = sorted(item["target"] for item in json.loads(report.read_text())["results"])
        assert targets == sorted(sim.target_ids)
        assert set(targets) <= set(sim.night_runs(-1))
