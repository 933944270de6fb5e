"""Discovery: the run index page by page, and what is taken or left out (unit and simulator)."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

import pytest

from rerunorch.api.client import TestsigmaClient
from rerunorch.api.models import RunSummary
from rerunorch.api.transport import MockTransport, Request, Response
from rerunorch.discovery import Query, RunDiscovery, Window, decide
from rerunorch.engine import Sweep
from rerunorch.errors import ConfigError
from rerunorch.outcome import OutcomeKind
from rerunorch.pacing.local import Pacer
from rerunorch.settings import SweepSettings
from rerunorch.testing import MockClock, Simulator

DAY = 86400.0
NOW = datetime(2026, 11, 28, 8, tzinfo=timezone.utc).timestamp()  # the fake clock's time


def _run(**fields: Any) -> RunSummary:
    return RunSummary(**{"id": 517, "test_plan_id": 420, **fields})


# -- decide: one run taken or left out ----------------------------------------------------------


@pytest.mark.parametrize(
    ("result", "taken"),
    [
        ("FAILURE", True),
        ("FAILED", True),
        ("ABORTED", True),
        ("NOT_EXECUTED", True),
        ("STOPPED", True),
        ("SUCCESS", False),
        ("PASSED", False),
        ("QUEUED", False),
        ("RUNNING", False),
        (None, False),
    ],
)
def test_only_finished_runs_that_did_not_pass_are_taken(result: str | None, taken: bool) -> None:
    from rerunorch.api.enums import Result

    finding = decide(_run(result=Result(result) if result else None), None, (None, None))
    assert finding.taken is taken, finding.why


def test_a_rerun_is_not_an_original_run() -> None:
    from rerunorch.api.enums import Result

    finding = decide(_run(result=Result.FAILURE, re_run_parent_id=516), None, (None, None))
    assert not finding.taken
    assert "a rerun (of 516)" in finding.why


def test_the_window_is_exact_though_the_server_takes_whole_days() -> None:
    from rerunorch.api.enums import Result

    window = (NOW - 12 * 3600, NOW)
    inside = _run(result=Result.FAILURE, start_time="2026-11-28T00:00:00Z")
    same_day_before = _run(result=Result.FAILURE, start_time="2026-11-27T01:00:00Z")
    epoch_ms = _run(result=Result.FAILURE, start_time=int((NOW - 60) * 1000))
    assert decide(inside, None, window).taken
    assert decide(epoch_ms, None, window).taken  # v1's epoch milliseconds
    left = decide(same_day_before, None, window)
    assert not left.taken
    assert "before the window" in left.why
    unknown = decide(_run(result=Result.FAILURE, start_time="yesterday"), None, window)
    assert not unknown.taken
    assert "start time is not known" in unknown.why


def test_an_id_out_of_range_is_left_out() -> None:
    from rerunorch.api.enums import Result

    assert not decide(_run(id=0, result=Result.FAILURE), None, (None, None)).taken


def test_a_plan_not_asked_for_is_left_out() -> None:
    from rerunorch.api.enums import Result

    finding = decide(_run(result=Result.FAILURE, test_plan_id=9), frozenset({420}), (None, None))
    assert not finding.taken
    assert "plan 9 was not asked for" in finding.why
    v1 = RunSummary(id=5, execution_id=420, result=Result.FAILURE)
    assert decide(v1, frozenset({420}), (None, None)).taken  # v1 names the plan executionId


# -- pages through a mock transport -------------------------------------------------------------


def _items(first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": 1 + first + i, "testPlanId": 420, "result": "FAILURE"} for i in range(count)]


Pages = Callable[[int, int], dict[str, Any]]


async def _discover(pages: Pages, **options: Any) -> tuple[list[int], list[Request], RunDiscovery]:
    def answer(request: Request) -> Response:
        page = int(request.url.query["page"])
        size = int(request.url.query["pageSize"])
        return Response(200, {}, json.dumps(pages(page, size)).encode())

    transport = MockTransport(answer)
    clock = MockClock(start=NOW)
    client = TestsigmaClient("k" * 20, "https://ts.example", transport=transport, clock=clock)
    discovery = RunDiscovery.of(plans=frozenset({420}), query=Query(()), **options)
    ids = [target.id async for target in discovery(client)]
    return ids, transport.requests, discovery


@pytest.mark.parametrize(
    "shape",
    [
        lambda page, size, last: {
            "data": _items(page * size, size),
            "pagination": {"page": page, "pageSize": size, "isLast": last},
        },
        lambda page, size, last: {"content": _items(page * size, size), "last": last},
    ],
    ids=["testsigma-pagination", "spring-page"],
)
async def test_pages_end_on_the_last_flag(shape: Callable[[int, int, bool], Any]) -> None:
    ids, requests, _ = await _discover(lambda page, size: shape(page, size, page == 2), page_size=3)
    assert ids == list(range(1, 10))
    assert [r.url.query["page"] for r in requests] == ["0", "1", "2"]  # from 0


def _endless(page: int, size: int) -> dict[str, Any]:
    return {"content": _items(page * size, size)}


def _five_in_all(page: int, size: int) -> dict[str, Any]:
    return {"content": _items(page * size, size), "totalElements": 5}


def _empty_third(page: int, size: int) -> dict[str, Any]:
    return {"content": _items(page * size, size if page < 2 else 0)}


def _last_and_empty(page: int, size: int) -> dict[str, Any]:
    return {"content": [], "last": True}


async def test_pages_end_on_the_total_or_an_empty_page() -> None:
    ids, requests, _ = await _discover(_five_in_all, page_size=3)
    assert len(requests) == 2
    assert ids == list(range(1, 7))  # the server's page is taken whole
    ids, requests, _ = await _discover(_empty_third, page_size=3)
    assert (len(requests), len(ids)) == (3, 6)


async def test_a_hard_cap_on_pages_is_noted() -> None:
    ids, requests, discovery = await _discover(_endless, page_size=2, max_pages=4)
    assert (len(requests), len(ids)) == (4, 8)
    assert any("stopped after 4 pages" in note for note in discovery.notes())


async def test_the_query_is_sent_encoded_with_the_page_size_in_both_names() -> None:
    _, requests, _ = await _discover(
        _last_and_empty, page_size=7, index_path="/api/v1/test_plan_results"
    )
    url = requests[0].url
    assert url.path == "/api/v1/test_plan_results"
    assert url.query["query"] == "testPlanId@420"
    assert (url.query["pageSize"], url.query["size"]) == ("7", "7")
    assert "%40" in url.raw_query_string  # '@' and '#' never reach the server raw


async def test_a_page_that_is_not_a_page_is_an_error() -> None:
    from rerunorch.errors import UnexpectedResponse

    with pytest.raises(UnexpectedResponse, match="no list under content or data"):
        await _discover(lambda page, size: {"items": []})


def test_unknown_item_fields_survive() -> None:
    from rerunorch.api.converter import structure, unstructure

    data = {"id": 1, "testPlanId": 2, "startTime": "2024-05-29T07:29:19Z", "newField": [1]}
    run = structure(data, RunSummary)
    assert run.extra == {"newField": [1]}
    assert unstructure(run)["newField"] == [1]


def test_a_discovery_needs_something_to_look_for() -> None:
    with pytest.raises(ConfigError, match="needs --plan, --since or --query"):
        RunDiscovery.of()
    with pytest.raises(ConfigError, match="--index-path"):
        RunDiscovery.of(plans=frozenset({1}), index_path="api/v2?x=1")


# -- against the simulator ----------------------------------------------------------------------

NIGHTLY = {"targets": 30, "passed_targets": 6, "plans": 3, "nights": 3}


@pytest.mark.simulator(**NIGHTLY)
async def test_a_sweep_of_two_plans_since_24h_takes_exactly_their_failed_runs(
    rerunorch_simulator: Simulator,
) -> None:
    simulator = rerunorch_simulator
    plan_a, plan_b, _ = simulator.plan_ids
    pacer = Pacer(clock=simulator.clock, max_in_flight=4)
    client = TestsigmaClient(
        simulator.api_key, simulator.base_url, pacer=pacer, clock=simulator.clock
    )
    discovery = RunDiscovery.of(
        plans=frozenset({plan_a, plan_b}), window=Window.parse("24h", None), page_size=4
    )
    since = simulator.clock.time() - DAY
    truth = simulator.failed_runs([plan_a, plan_b], since=since)
    assert truth
    assert len(truth) < NIGHTLY["targets"]  # other plans and older nights exist
    sweep = Sweep(discovery, SweepSettings(dry_run=True), client=client)
    report = await sweep.run()
    assert sorted(o.target for o in report.results) == truth
    assert all(o.outcome is OutcomeKind.TRIGGERED for o in report.results)  # a dry run's plan
    assert pacer.stats.requests == client.counters.requests == simulator.stats.requests
    assert simulator.stats.requests_by_endpoint["GET /api/v2/test_runs"] >= 2  # several pages
