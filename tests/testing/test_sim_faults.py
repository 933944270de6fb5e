"""Misbehaviour on demand: rate limit, 503s, lost answers, latency, busy plans, auto-reruns."""

from __future__ import annotations

import math
from email.utils import parsedate_to_datetime

import aiohttp
import pytest

from rerunorch.testing import MockClock, Simulator, SimulatorConfig

from .conftest import Start
from .helpers import Api


async def test_rate_limit_answers_429_with_retry_after_seconds(
    start: Start, clock: MockClock
) -> None:
    sim, api = await start(rate_limit=2.0, rate_burst=3)
    path = f"/api/v1/execution_results/{sim.target_ids[0]}"
    assert [(await api.get(path)).status for _ in range(3)] == [200, 200, 200]
    limited = await api.get(path)
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "1"
    assert "RateLimit" not in limited.headers
    clock.advance(0.5)  # one token back at 2 per second
    assert (await api.get(path)).status == 200
    assert (await api.get(path)).status == 429
    assert sim.stats.rate_limited == 2
    assert sim.stats.requests == 6
    assert sim.stats.peak_requests_per_second == 4


async def test_retry_after_as_http_date(start: Start, clock: MockClock) -> None:
    sim, api = await start(rate_limit=0.25, rate_burst=1, retry_after="date")
    path = f"/api/v1/execution_results/{sim.target_ids[0]}"
    await api.get(path)
    limited = await api.get(path)
    assert limited.status == 429
    when = parsedate_to_datetime(limited.headers["Retry-After"]).timestamp()
    assert when == math.ceil(clock.time() + 4)


async def test_no_retry_after_and_ratelimit_headers(start: Start, clock: MockClock) -> None:
    sim, api = await start(rate_limit=10.0, rate_burst=2, retry_after="none",
                           ratelimit_headers=True)  # fmt: skip
    path = f"/api/v1/execution_results/{sim.target_ids[0]}"
    ok = await api.get(path)
    assert ok.headers["X-RateLimit-Limit"] == "10"
    assert ok.headers["X-RateLimit-Remaining"] == "1"
    assert ok.headers["RateLimit-Policy"] == '"default";q=10;w=1'
    assert ok.headers["RateLimit"] == '"default";r=1;t=0'
    await api.get(path)
    limited = await api.get(path)
    assert limited.status == 429
    assert "Retry-After" not in limited.headers
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    assert limited.headers["X-RateLimit-Reset"] == "1"


async def test_peak_counts_accepted_requests_per_clock_second(
    start: Start, clock: MockClock
) -> None:
    sim, api = await start()
    path = f"/api/v1/execution_results/{sim.target_ids[0]}"
    for _ in range(5):
        await api.get(path)
    clock.advance(2)
    for _ in range(3):
        await api.get(path)
    assert sim.stats.peak_requests_per_second == 5
    endpoint = "GET /api/v1/execution_results/{id}"
    assert sim.stats.requests_by_endpoint == {endpoint: 8}


async def statuses_with_503s(seed: int, clock: MockClock) -> list[int]:
    config = SimulatorConfig(seed=seed, fault_503_rate=0.3)
    async with Simulator(config, clock=clock) as sim, aiohttp.ClientSession() as session:
        api = Api(session, sim)
        path = f"/api/v1/execution_results/{sim.target_ids[0]}"
        statuses = [(await api.get(path)).status for _ in range(60)]
        assert sim.stats.faults_503 == statuses.count(503)
        return statuses


async def test_injected_503s_are_seeded(clock: MockClock) -> None:
    first = await statuses_with_503s(3, clock)
    assert set(first) == {200, 503}
    assert first == await statuses_with_503s(3, clock)
    assert first != await statuses_with_503s(4, clock)


async def test_some_503s_carry_retry_after(start: Start) -> None:
    sim, api = await start(fault_503_rate=1.0)
    replies = [await api.get(f"/api/v1/execution_results/{sim.target_ids[0]}") for _ in range(30)]
    assert {r.status for r in replies} == {503}
    with_header = [r for r in replies if "Retry-After" in r.headers]
    assert 0 < len(with_header) < 30
    assert all(r.headers["Retry-After"] in {"1", "2", "3"} for r in with_header)


@pytest.mark.parametrize(("mode", "status"), [("500", 500), ("502", 502), ("reset", None)])
async def test_ambiguous_fault_creates_the_rerun_and_loses_the_answer(
    start: Start, mode: str, status: int | None
) -> None:
    sim, api = await start(ambiguous_fault_rate=1.0, ambiguous_mode=mode)
    target = sim.target_ids[0]
    if status is None:
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await api.rerun(target)
    else:
        assert (await api.rerun(target)).status == status
    child = (await api.run(target))["childResult"]
    assert isinstance(child, int)
    assert (await api.run(child))["reRunParentId"] == target
    assert sim.stats.ambiguous_faults == 1
    assert sim.stats.reruns_created == 1
    again = await api.rerun(target)
    assert again.json()["error"] == "ReRun Parent Id Already Exists"
    assert sim.stats.duplicate_rerun_attempts == 1


async def test_mixed_ambiguous_faults_use_every_mode(start: Start) -> None:
    sim, api = await start(targets=30, ambiguous_fault_rate=1.0, ambiguous_mode="mixed")
    outcomes = set()
    for target in sim.target_ids:
        try:
            outcomes.add((await api.rerun(target)).status)
        except aiohttp.ServerDisconnectedError:
            outcomes.add("reset")
    assert outcomes == {500, 502, "reset"}
    assert sim.stats.reruns_created == 30


async def test_plan_busy_refuses_without_creating(start: Start) -> None:
    sim, api = await start(plan_busy_rate=1.0)
    reply = await api.rerun(sim.target_ids[0])
    assert reply.status == 500
    assert reply.json()["error"].startswith("The specified Test Plan is currently running")
    assert sim.reruns_of(sim.target_ids[0]) == []


async def test_latency_is_clock_time_per_request(start: Start, clock: MockClock) -> None:
    sim, api = await start(latency=2.5)
    before = clock.monotonic()
    await api.get(f"/api/v1/execution_results/{sim.target_ids[0]}")
    await api.get("/_simulator/stats")  # not the API: no latency
    assert clock.monotonic() - before == 2.5


async def test_auto_rerun_creates_the_child_and_races_the_post(
    start: Start, clock: MockClock
) -> None:
    sim, api = await start(auto_rerun=True, auto_rerun_delay=30.0)
    clock.advance(30)  # every seeded failure ended less than 60 s before the start
    target = sim.target_ids[0]
    child_id = (await api.run(target))["childResult"]
    assert isinstance(child_id, int)
    child = await api.run(child_id)
    assert child["reRunParentId"] == target
    assert child["triggeredType"] == "SCHEDULED"
    reply = await api.rerun(sim.target_ids[1])  # never read before: the POST still sees it
    assert reply.json()["error"] == "ReRun Parent Id Already Exists"
    assert sim.stats.duplicate_rerun_attempts == 1
    assert sim.stats.auto_reruns_created == 2
    assert sim.stats.reruns_created == 0
    assert (await api.run(sim.passed_ids[0]))["childResult"] is None
    assert sim.reruns_of(target) == [child_id]  # auto children are not auto-rerun


async def test_auto_rerun_follows_a_failed_api_rerun(start: Start, clock: MockClock) -> None:
    sim, api = await start(auto_rerun=True, auto_rerun_delay=1000.0, flaky_probability=0.0)
    # Seeded failures ended up to 2 delays ago: some have an auto child already, some not.
    fresh = [t for t in sim.target_ids if (await api.run(t))["childResult"] is None]
    assert 0 < len(fresh) < len(sim.target_ids)
    rerun = (await api.rerun(fresh[0])).json()["id"]
    clock.advance(130)
    assert (await api.run(rerun))["childResult"] is None  # not yet: 1000 s after completion
    clock.advance(1000)
    assert isinstance((await api.run(rerun))["childResult"], int)
