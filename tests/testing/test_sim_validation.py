"""Strict bodies: exact names, JSON types and enum values, or 400 with the JSON error body."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Start

ERROR_KEYS = {"timeStamp", "error", "code", "fieldErrors", "objectErrors"}


def rerun_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "executionId": 1000,
        "executionResultId": 2000,
        "isReRun": True,
        "reRunType": "USER_PICKED",
        "testCaseResultRequests": [{"id": 8000}],
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (rerun_body(executionResultId="2000"), "executionResultId"),
        (rerun_body(executionResultId=True), "executionResultId"),
        (rerun_body(executionId=1000.0), "executionId"),
        (rerun_body(executionId=...), "executionId"),
        (rerun_body(isReRun="true"), "isReRun"),
        (rerun_body(reRunType="FAILED_ONLY"), "reRunType"),
        (rerun_body(reRunType=...), "reRunType"),
        (rerun_body(rerunType="ALL_TESTS"), "rerunType"),
        (rerun_body(testCaseResultRequests={"id": 8000}), "testCaseResultRequests"),
        (rerun_body(testCaseResultRequests=[8000]), "testCaseResultRequests[0]"),
        (rerun_body(testCaseResultRequests=[{"id": "8000"}]), "testCaseResultRequests[0].id"),
        (rerun_body(testCaseResultRequests=[{"testCaseResultId": 8000}]), "testCaseResultId"),
        (
            rerun_body(testCaseResultRequests=[{"id": 8000, "iterationReRunType": "SOME"}]),
            "iterationReRunType",
        ),
        (
            rerun_body(testCaseResultRequests=[{"id": 8000, "iterationResultIds": ["1"]}]),
            "iterationResultIds[0]",
        ),
        ({"executionId": 1000, "executionResultId": 2000}, "executionResultId"),
        ({"executionId": 1000, "buildNo": 7}, "buildNo"),
        ([rerun_body()], "request body"),
    ],
)
async def test_bad_bodies_get_400_naming_the_field(start: Start, body: Any, field: str) -> None:
    sim, api = await start()
    assert sim.target_ids[0] == 2000  # the bodies above use the seeded ids
    reply = await api.request("POST", "/api/v1/execution_results", body=body)
    assert reply.status == 400
    error = reply.json()
    assert set(error) == ERROR_KEYS
    assert field in error["error"]
    assert sim.stats.invalid_bodies == 1
    assert (await api.run(2000))["childResult"] is None


async def test_malformed_json_is_counted(start: Start) -> None:
    sim, api = await start()
    reply = await api.request("POST", "/api/v1/execution_results", data="{not json")
    assert reply.status == 400
    assert "malformed" in reply.json()["error"]
    reply = await api.request("PUT", "/api/v1/execution_results/2000", data="")
    assert reply.status == 400
    assert sim.stats.invalid_bodies == 2


async def test_a_valid_body_passes(start: Start) -> None:
    sim, api = await start()
    reply = await api.request("POST", "/api/v1/execution_results", body=rerun_body())
    assert reply.status == 200, reply
    assert sim.stats.invalid_bodies == 0
