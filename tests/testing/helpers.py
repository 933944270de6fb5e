"""Shared helpers for the simulator's tests: a small HTTP client."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import attrs

from rerunorch.testing import Simulator


@attrs.frozen
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text)


class Api:
    """Requests to one simulator, authenticated unless told otherwise."""

    def __init__(self, session: aiohttp.ClientSession, sim: Simulator) -> None:
        self.session = session
        self.sim = sim

    async def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        data: str | None = None,
        auth: str | None = "default",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(headers or {})
        if auth == "default":
            sent["Authorization"] = f"Bearer {self.sim.api_key}"
        elif auth is not None:
            sent["Authorization"] = auth
        if body is not None:
            data = json.dumps(body)
            sent["Content-Type"] = "application/json"
        url = self.sim.base_url + path
        async with self.session.request(method, url, data=data, headers=sent) as response:
            return Reply(response.status, dict(response.headers), await response.text())

    async def get(self, path: str, **kwargs: Any) -> Reply:
        return await self.request("GET", path, **kwargs)

    async def run(self, run_id: int) -> dict[str, Any]:
        reply = await self.get(f"/api/v1/execution_results/{run_id}")
        assert reply.status == 200, reply
        return reply.json()  # type: ignore[no-any-return]

    async def cases(self, run_id: int) -> list[dict[str, Any]]:
        reply = await self.get(f"/api/v1/execution_results/{run_id}/test_case_results")
        assert reply.status == 200, reply
        return reply.json()["testCases"]  # type: ignore[no-any-return]

    async def rerun(
        self,
        run_id: int,
        rerun_type: str = "ONLY_FAILED_TESTS",
        cases: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> Reply:
        body: dict[str, Any] = {
            "executionId": self.sim.run(run_id)["executionId"],
            "executionResultId": run_id,
            "isReRun": True,
            "reRunType": rerun_type,
        }
        if cases is not None:
            body["testCaseResultRequests"] = cases
        body.update(extra)
        return await self.request("POST", "/api/v1/execution_results", body=body)


def failed(result: str) -> bool:
    return result != "SUCCESS"
