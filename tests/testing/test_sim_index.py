"""The simulator's run index: pages, filters and the nightly data set behind --plans."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pytest

from rerunorch.testing import Simulator

NIGHTLY = {"targets": 12, "passed_targets": 3, "plans": 3, "nights": 3}


async def _get(sim: Simulator, path: str, key: str | None = None, **params: str) -> Any:
    headers = {"Authorization": f"Bearer {key or sim.api_key}"}
    async with (
        aiohttp.ClientSession() as session,
        session.get(sim.base_url + path, params=params, headers=headers) as answer,
    ):
        text = await answer.text()
        return answer.status, json.loads(text) if text.startswith(("{", "[")) else text


async def _all_ids(sim: Simulator, query: str, size: int = 4) -> list[int]:
    ids, page = [], 0
    while True:
        status, body = await _get(
            sim, "/api/v2/test_runs", query=query, page=str(page), pageSize=str(size)
        )
        assert status == 200, body
        ids += [item["id"] for item in body["data"]]
        if body["pagination"]["isLast"]:
            return ids
        page += 1


@pytest.mark.simulator(**NIGHTLY)
async def test_v2_pages_from_0_newest_first_with_testsigma_pagination(
    rerunorch_simulator: Simulator,
) -> None:
    sim = rerunorch_simulator
    status, body = await _get(sim, "/api/v2/test_runs", page="0", pageSize="5")
    assert status == 200
    assert body["pagination"] == {"page": 0, "pageSize": 5, "isLast": False, "totalElements": 15}
    starts = [item["startTime"] for item in body["data"]]
    assert starts == sorted(starts, reverse=True)
    item = body["data"][0]
    assert {"id", "testPlanId", "result", "startTime", "endTime", "duration", "metrics"} <= set(
        item
    )
    assert item["startTime"].endswith("Z")  # ISO, as v2 answers
    assert item["triggeredType"] == "SCHEDULED"
    everything = await _all_ids(sim, "")
    assert sorted(everything) == sorted(sim.target_ids + sim.passed_ids)


@pytest.mark.simulator(**NIGHTLY)
async def test_v1_is_a_spring_page_with_epoch_milliseconds(rerunorch_simulator: Simulator) -> None:
    sim = rerunorch_simulator
    status, body = await _get(sim, "/api/v1/test_plan_results", page="3", size="4")
    assert status == 200
    assert (body["last"], body["number"], body["totalElements"], body["totalPages"]) == (
        True,
        3,
        15,
        4,
    )
    assert len(body["content"]) == 3
    assert isinstance(body["content"][0]["startTime"], int)
    assert "executionId" in body["content"][0]


@pytest.mark.simulator(**NIGHTLY)
async def test_filters_by_plan_result_and_start_time(rerunorch_simulator: Simulator) -> None:
    sim = rerunorch_simulator
    a, b, _ = sim.plan_ids
    failed = await _all_ids(sim, f"testPlanId@{a}#{b},result:FAILURE")
    assert sorted(failed) == sim.failed_runs([a, b])
    since = sim.clock.time() - 86400
    day = datetime.fromtimestamp(since, tz=timezone.utc).strftime("%Y-%m-%d")
    whole_day = await _all_ids(sim, f"testPlanId:{a},startTime>{day}")
    exact = datetime.fromtimestamp(since, tz=timezone.utc).isoformat()
    in_window = await _all_ids(sim, f"testPlanId:{a},startTime>{exact}")
    day_start = datetime.fromisoformat(day).replace(tzinfo=timezone.utc).timestamp()
    assert sorted(whole_day) == sorted(
        sim.failed_runs([a], since=day_start) + _passed(sim, a, day_start)
    )
    assert set(in_window) <= set(whole_day)
    assert sorted(r for r in in_window if r in sim.target_ids) == sim.failed_runs([a], since)


def _passed(sim: Simulator, plan: int, since: float) -> list[int]:
    return [
        run_id
        for run_id in sim.passed_ids
        if sim.run(run_id)["executionId"] == plan and sim.run(run_id)["startTime"] >= since * 1000
    ]


@pytest.mark.simulator(**NIGHTLY)
@pytest.mark.parametrize(
    ("query", "message"),
    [("testPlanId", "malformed criterion"), ("nosuch:1", "unknown field"), ("id:x", "numbers")],
)
async def test_a_malformed_query_is_a_400(
    rerunorch_simulator: Simulator, query: str, message: str
) -> None:
    status, body = await _get(rerunorch_simulator, "/api/v2/test_runs", query=query)
    assert status == 400
    assert message in body["error"]


@pytest.mark.simulator(**NIGHTLY)
async def test_the_index_is_behind_the_gateway(rerunorch_simulator: Simulator) -> None:
    sim = rerunorch_simulator
    status, _ = await _get(sim, "/api/v2/test_runs", key="wrong")
    assert status == 401
    assert sim.stats.requests_by_endpoint == {"GET /api/v2/test_runs": 1}


@pytest.mark.simulator(targets=5, passed_targets=1)
async def test_without_plans_the_data_set_is_as_before(rerunorch_simulator: Simulator) -> None:
    sim = rerunorch_simulator
    runs = [sim.run(run_id) for run_id in sim.target_ids]
    assert [run["executionId"] for run in runs] == [sim.plan_ids[i] for i in range(5)]
    assert {run["triggeredType"] for run in runs} == {"MANUAL"}
    assert all(run["startTime"] > (sim.clock.time() - 3600) * 1000 for run in runs)
