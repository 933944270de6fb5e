"""TestsigmaClient against aioresponses: every endpoint, every way the server says no.

No test sleeps: the client and its pacer run on :class:`FakeClock`, whose ``sleep``
moves time forward at once and records how long it was asked to wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import inspect
import json
import logging
import random
import traceback
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import aiohttp
import pytest
import yarl
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses
from aioresponses import core as aioresponses_core
from aioresponses.core import RequestCall

from rerunorch._version import __version__
from rerunorch.api.client import TestsigmaClient, normalize_base_url
from rerunorch.api.enums import IterationReRunType, ReRunType, Result, Status
from rerunorch.api.models import RerunRequest, TestCaseResultRequest
from rerunorch.errors import (
    ApiError,
    AuthError,
    BadRequest,
    ConfigError,
    NotFound,
    OutcomeUnknown,
    PlanBusy,
    RateLimited,
    RequestNotSent,
    RerunAlreadyExists,
    ResponseError,
    ServerError,
    UnexpectedResponse,
)
from rerunorch.pacing.local import Pacer
from rerunorch.secret import Secret

KEY = "tsk_live_7f3a9c1e5b2d4a6f8e0c"
HOST = "testsigma.example"
BASE = f"https://{HOST}"
RESULTS = f"{BASE}/api/v1/execution_results"
MAX_ATTEMPTS = 3
DATA = Path(__file__).parent / "data"
SEED_RESPONSE: dict[str, Any] = json.loads((DATA / "seed_response.json").read_text())
JSON_TYPE = "application/json"

TEST_CASE_RESULTS = {
    "executionId": 336,
    "executionResultId": 467,
    "result": "FAILURE",
    "status": "STATUS_COMPLETED",
    "testCases": [
        {
            "testCaseId": 11,
            "testCaseName": "login",
            "testCaseResultId": 2880,
            "result": "FAILURE",
            "isDataDrivenCase": True,
            "iterationResults": [
                {"iterationResultId": 91, "setName": "admin", "result": "SUCCESS"},
                {"iterationResultId": 92, "setName": "guest", "result": "FAILURE"},
            ],
            "testSuiteId": 5,
            "testSuiteName": "smoke",
            "testSuiteResultId": 700,
            "machineId": 3,
            "machineTitle": "Chrome",
            "machineResultId": 800,
        }
    ],
}
JUNIT_XML = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    '<testsuites tests="1" failures="0"><testsuite name="smoke">'
    '<testcase name="login"/></testsuite></testsuites>\n'
)
HTML_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>\n"
    "<body><center><h1>502 Bad Gateway</h1></center>\n"
    "<hr><center>nginx/1.25.3</center>\n"
    + "<p>The upstream server did not answer in time.</p>\n" * 20
    + "</body></html>\n"
)


class FakeClock:
    """A clock whose ``sleep`` returns at once after moving time forward."""

    def __init__(self, wall: float = 1_700_000_000.0) -> None:
        self.now = 0.0
        self.wall = wall
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall + self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)


class RecordingPacer(Pacer):
    """A real pacer that also remembers what it was told."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__(clock=clock, rng=random.Random(1))
        self.throttles: list[float | None] = []
        self.cuts: list[bool] = []

    def rate_limited(self, retry_after: float | None, *, cut: bool = True) -> float:
        self.throttles.append(retry_after)
        self.cuts.append(cut)
        return super().rate_limited(retry_after, cut=cut)


class _CompatResponse(aiohttp.ClientResponse):
    """A ClientResponse that aioresponses 0.7.9 can build under aiohttp >= 3.14.

    aiohttp 3.14 added a required ``stream_writer`` argument that aioresponses
    does not pass yet (pnuckowski/aioresponses#289); a finished request only needs
    its ``output_size``.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("stream_writer", SimpleNamespace(output_size=0))
        super().__init__(*args, **kwargs)


_NEEDS_STREAM_WRITER = "stream_writer" in inspect.signature(aiohttp.ClientResponse).parameters


@pytest.fixture
def mocked(monkeypatch: pytest.MonkeyPatch) -> Iterator[aioresponses]:
    if _NEEDS_STREAM_WRITER:
        monkeypatch.setattr(aioresponses_core, "ClientResponse", _CompatResponse)
    with aioresponses() as m:
        yield m


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def pacer(clock: FakeClock) -> RecordingPacer:
    return RecordingPacer(clock)


@pytest.fixture
async def client(clock: FakeClock, pacer: RecordingPacer) -> AsyncIterator[TestsigmaClient]:
    async with TestsigmaClient(
        KEY,
        BASE,
        pacer=pacer,
        clock=clock,
        max_attempts=MAX_ATTEMPTS,
        rng=random.Random(0),
    ) as c:
        yield c


def calls(m: aioresponses, method: str, url: str) -> list[RequestCall]:
    return list(m.requests.get((method, yarl.URL(url)), []))


def only_call(m: aioresponses, method: str, url: str) -> RequestCall:
    sent = calls(m, method, url)
    assert len(sent) == 1, f"expected one {method} {url}, got {len(sent)}"
    return sent[0]


def sent_json(call: RequestCall) -> Any:
    return json.loads(call.kwargs["data"])


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey(HOST, 443, True, True, None, None, None, HOST)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


def assert_no_key(*texts: str) -> None:
    for text in texts:
        assert KEY not in text, f"the API key leaked into {text!r}"


# -- endpoints --------------------------------------------------------------------------------


async def test_trigger_rerun_posts_exactly_the_camelcase_body(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.post(RESULTS, payload={**SEED_RESPONSE, "id": 488})
    request = RerunRequest(
        execution_id=336,
        execution_result_id=467,
        re_run_type=ReRunType.USER_PICKED,
        test_case_result_requests=(
            TestCaseResultRequest(id=2880),
            TestCaseResultRequest(
                id=2874,
                iteration_re_run_type=IterationReRunType.USER_PICKED,
                iteration_result_ids=(91, 92),
            ),
        ),
    )

    run = await client.trigger_rerun(request)

    assert run.id == 488
    call = only_call(mocked, "POST", RESULTS)
    assert call.kwargs["data"] == json.dumps(sent_json(call)).encode(), "compact JSON bytes"
    assert sent_json(call) == {
        "executionId": 336,
        "executionResultId": 467,
        "isReRun": True,
        "reRunType": "USER_PICKED",
        "testCaseResultRequests": [
            {"id": 2880},
            {"id": 2874, "iterationReRunType": "USER_PICKED", "iterationResultIds": [91, 92]},
        ],
    }
    assert call.kwargs["headers"]["Content-Type"] == JSON_TYPE


async def test_every_request_carries_the_key_and_user_agent(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/467", payload=SEED_RESPONSE)

    await client.get_run(467)

    headers = only_call(mocked, "GET", f"{RESULTS}/467").kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
    assert headers["User-Agent"] == f"rerunorch/{__version__}"
    assert headers["Accept"] == JSON_TYPE


async def test_trigger_run_posts_the_plan_and_build(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.post(RESULTS, payload={"id": 500, "executionId": 336, "status": "STATUS_CREATED"})
    mocked.post(RESULTS, payload={"id": 501, "executionId": 336})

    first = await client.trigger_run(336, build_no="build-42")
    second = await client.trigger_run(336)

    assert (first.id, first.status) == (500, Status.STATUS_CREATED)
    assert second.id == 501
    bodies = [sent_json(c) for c in calls(mocked, "POST", RESULTS)]
    assert bodies == [{"executionId": 336, "buildNo": "build-42"}, {"executionId": 336}]


async def test_get_run_parses_the_execution_result(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/487", payload={**SEED_RESPONSE, "childResult": {"id": 490}})

    run = await client.get_run(487)

    assert run.id == 487
    assert run.re_run_parent_id == 469
    assert run.result is Result.QUEUED
    assert run.child_id == 490
    assert not run.completed


async def test_get_test_case_results_parses_cases_and_iterations(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/467/test_case_results", payload=TEST_CASE_RESULTS)

    results = await client.get_test_case_results(467)

    assert results.execution_result_id == 467
    (case,) = results.test_cases
    assert case.test_case_result_id == 2880
    assert not case.passed
    assert [(i.iteration_result_id, i.result) for i in case.iteration_results] == [
        (91, Result.SUCCESS),
        (92, Result.FAILURE),
    ]


async def test_stop_run_puts_the_stop_body(mocked: aioresponses, client: TestsigmaClient) -> None:
    mocked.put(
        f"{RESULTS}/487",
        payload={"id": 487, "result": "STOPPED", "status": "STATUS_COMPLETED"},
    )

    run = await client.stop_run(487)

    assert run.result is Result.STOPPED
    assert run.completed
    call = only_call(mocked, "PUT", f"{RESULTS}/487")
    assert sent_json(call) == {"canStopAll": True, "result": "STOPPED"}
    assert call.kwargs["headers"]["Content-Type"] == JSON_TYPE


async def test_junit_report_returns_the_xml(mocked: aioresponses, client: TestsigmaClient) -> None:
    url = f"{BASE}/api/v1/reports/junit/487"
    mocked.get(url, body=JUNIT_XML, content_type="application/xml")

    assert await client.junit_report(487) == JUNIT_XML
    assert only_call(mocked, "GET", url).kwargs["headers"]["Accept"] == "application/xml"


async def test_junit_report_is_none_while_the_server_refuses(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(
        f"{BASE}/api/v1/reports/junit/487",
        body="Report can be generated only after execution completes",
        content_type="text/plain",
    )

    assert await client.junit_report(487) is None


async def test_junit_report_rejects_an_html_page(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{BASE}/api/v1/reports/junit/487", body=HTML_PAGE, content_type="text/html")

    with pytest.raises(UnexpectedResponse, match="502 Bad Gateway"):
        await client.junit_report(487)


async def test_a_base_url_prefix_is_kept(mocked: aioresponses, clock: FakeClock) -> None:
    mocked.get(f"{BASE}/testsigma/api/v1/execution_results/1", payload={"id": 1})

    async with TestsigmaClient(KEY, f"{BASE}/testsigma/api/v1/", clock=clock) as c:
        assert (await c.get_run(1)).id == 1


# -- errors -----------------------------------------------------------------------------------


def error_body(message: str) -> dict[str, Any]:
    return {
        "timeStamp": None,
        "error": message,
        "code": None,
        "fieldErrors": None,
        "objectErrors": None,
    }


@pytest.mark.parametrize(
    ("status", "body", "expected", "message"),
    [
        pytest.param(401, "Incorrect API Key", AuthError, "Incorrect API Key", id="401-text"),
        pytest.param(
            401,
            "No API Key Found In Request Headers",
            AuthError,
            "No API Key Found In Request Headers",
            id="401-no-key",
        ),
        pytest.param(403, error_body("Access denied"), AuthError, "Access denied", id="403"),
        pytest.param(
            400, error_body("executionId must not be null"), BadRequest, "executionId", id="400"
        ),
        pytest.param(422, error_body("reRunType is invalid"), BadRequest, "reRunType", id="422"),
        pytest.param(
            404, error_body("Execution Result Not Found"), NotFound, "Not Found", id="404"
        ),
        pytest.param(
            500,
            error_body("ReRun Parent Id Already Exists"),
            RerunAlreadyExists,
            "ReRun Parent Id Already Exists",
            id="500-already-exists",
        ),
        pytest.param(
            500,
            error_body("The specified Test Plan is currently running. Please try again later"),
            PlanBusy,
            "currently running",
            id="500-busy",
        ),
        pytest.param(500, error_body("NullPointerException"), ServerError, "NullPointer", id="500"),
        pytest.param(504, "", ServerError, "empty answer", id="504-empty"),
        pytest.param(
            502, HTML_PAGE, ServerError, "an HTML page instead of an API answer", id="502-html"
        ),
        pytest.param(409, error_body("Conflict"), ResponseError, "Conflict", id="409"),
    ],
)
async def test_error_answers_to_a_post_map_to_errors(
    mocked: aioresponses,
    client: TestsigmaClient,
    status: int,
    body: str | dict[str, Any],
    expected: type[ResponseError],
    message: str,
) -> None:
    # A JSON content type even for plain text and HTML: that is what Testsigma sends for 401s.
    if isinstance(body, dict):
        mocked.post(RESULTS, status=status, payload=body)
    else:
        mocked.post(RESULTS, status=status, body=body, content_type=JSON_TYPE)
    mocked.post(RESULTS, payload={"id": 999})  # must never be reached

    with pytest.raises(ResponseError) as caught:
        await client.trigger_run(336)

    error = caught.value
    assert type(error) is expected
    assert message in error.message
    assert (error.method, error.path, error.status) == ("POST", "/api/v1/execution_results", status)
    assert f"POST /api/v1/execution_results -> {status}: " in str(error)
    assert len(calls(mocked, "POST", RESULTS)) == 1, "an error answer to a POST is never re-sent"


async def test_plain_text_401_keeps_the_whole_text(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(
        f"{RESULTS}/1", status=401, body="Invalid JWT token", content_type="application/json"
    )

    with pytest.raises(AuthError) as caught:
        await client.get_run(1)

    assert caught.value.message == "Invalid JWT token"
    assert client.counters.requests == 1, "an auth failure is not retried"


async def test_html_page_is_quoted_briefly(mocked: aioresponses, client: TestsigmaClient) -> None:
    mocked.post(RESULTS, status=502, body=HTML_PAGE, content_type="text/html")

    with pytest.raises(ServerError) as caught:
        await client.trigger_run(336)

    message = caught.value.message
    assert "502 Bad Gateway" in message
    assert "<" not in message.split(":", 1)[1], "tags are stripped from the quote"
    assert len(message) < 300 < len(HTML_PAGE)


async def test_html_page_with_status_200_is_unexpected(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/1", body=HTML_PAGE, content_type="text/html")

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert "HTML" in caught.value.message
    assert "502 Bad Gateway" in caught.value.message
    assert caught.value.status == 200


async def test_non_json_200_is_unexpected(mocked: aioresponses, client: TestsigmaClient) -> None:
    mocked.get(f"{RESULTS}/1", body="OK, queued", content_type=JSON_TYPE)

    with pytest.raises(UnexpectedResponse, match="not JSON: 'OK, queued'"):
        await client.get_run(1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        pytest.param({"executionId": 1}, "answer.id", id="missing-id"),
        pytest.param({"id": "four"}, "answer.id", id="id-not-int"),
        pytest.param({"id": 1, "totalCount": "many"}, "answer.total_count", id="bad-count"),
        pytest.param({"id": 1, "childResult": "x"}, "answer.child_result", id="bad-child"),
        pytest.param([{"id": 1}], "JSON object", id="a-list"),
    ],
)
async def test_json_of_the_wrong_shape_names_the_field(
    mocked: aioresponses, client: TestsigmaClient, payload: Any, field: str
) -> None:
    mocked.get(f"{RESULTS}/1", payload=payload)

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert field in caught.value.message
    assert "ExecutionResult" in caught.value.message
    assert (caught.value.method, caught.value.path) == ("GET", "/api/v1/execution_results/1")


async def test_test_case_results_of_the_wrong_shape_name_the_nested_field(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/1/test_case_results", payload={"testCases": [{"testCaseResultId": "x"}]})

    with pytest.raises(UnexpectedResponse, match=r"test_cases\[0\]\.test_case_result_id"):
        await client.get_test_case_results(1)


async def test_a_5xx_on_a_read_is_retried(mocked: aioresponses, client: TestsigmaClient) -> None:
    mocked.get(f"{RESULTS}/1", status=500, payload=error_body("boom"))
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    assert (await client.get_run(1)).id == 1
    assert client.counters.requests == 2


async def test_a_5xx_on_a_read_gives_up_after_max_attempts(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/1", status=500, payload=error_body("boom"), repeat=True)

    with pytest.raises(ServerError, match="boom"):
        await client.get_run(1)
    assert len(calls(mocked, "GET", f"{RESULTS}/1")) == MAX_ATTEMPTS


# -- throttling -------------------------------------------------------------------------------


async def test_429_with_retry_after_seconds_pauses_and_retries(
    mocked: aioresponses, client: TestsigmaClient, clock: FakeClock, pacer: RecordingPacer
) -> None:
    mocked.get(f"{RESULTS}/1", status=429, body="", headers={"Retry-After": "7"})
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    run = await client.get_run(1)

    assert run.id == 1
    assert pacer.throttles == [7.0]
    assert 7.0 <= clock.now <= 7.5, "waited Retry-After plus a little jitter"
    assert (client.counters.requests, client.counters.rate_limited) == (2, 1)
    assert len(calls(mocked, "GET", f"{RESULTS}/1")) == 2


async def test_503_with_retry_after_date_pauses_and_retries(
    mocked: aioresponses, client: TestsigmaClient, clock: FakeClock, pacer: RecordingPacer
) -> None:
    when = email.utils.formatdate(clock.time() + 30, usegmt=True)
    mocked.get(f"{RESULTS}/1", status=503, body="busy", headers={"Retry-After": when})
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    assert (await client.get_run(1)).id == 1
    assert pacer.throttles == [30.0]
    assert pacer.cuts == [False], "a 503 pauses but does not cut the adaptive rate"
    assert 30.0 <= clock.now <= 30.5
    assert (client.counters.requests, client.counters.rate_limited) == (2, 1)


async def test_429_without_retry_after_backs_off(
    mocked: aioresponses, client: TestsigmaClient, pacer: RecordingPacer
) -> None:
    mocked.get(f"{RESULTS}/1", status=429, payload=error_body("Too Many Requests"))
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    assert (await client.get_run(1)).id == 1
    assert pacer.throttles == [None]
    assert pacer.cuts == [True]
    assert client.counters.rate_limited == 1


async def test_a_throttled_post_is_sent_again(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.post(RESULTS, status=429, body="slow down", headers={"Retry-After": "1"})
    mocked.post(RESULTS, payload={"id": 488})

    run = await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert run.id == 488
    posts = calls(mocked, "POST", RESULTS)
    assert len(posts) == 2
    assert sent_json(posts[0]) == sent_json(posts[1])


async def test_throttling_gives_up_after_max_attempts(
    mocked: aioresponses, client: TestsigmaClient, clock: FakeClock
) -> None:
    mocked.get(f"{RESULTS}/1", status=429, body="", headers={"Retry-After": "5"}, repeat=True)

    with pytest.raises(RateLimited) as caught:
        await client.get_run(1)

    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429
    assert (client.counters.requests, client.counters.rate_limited) == (3, 3)
    assert clock.now >= 10.0, "paused before each of the two retries"


# -- connection failures ----------------------------------------------------------------------


async def test_connection_refused_is_retried(
    mocked: aioresponses, client: TestsigmaClient, clock: FakeClock
) -> None:
    mocked.post(RESULTS, exception=refused())
    mocked.post(RESULTS, payload={"id": 488})

    run = await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert run.id == 488
    assert len(calls(mocked, "POST", RESULTS)) == 2, "never sent, so safe to send again"
    assert clock.sleeps, "backed off before retrying"


async def test_connection_refused_gives_up_naming_the_host(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/1", exception=refused(), repeat=True)

    with pytest.raises(RequestNotSent) as caught:
        await client.get_run(1)

    assert HOST in str(caught.value)
    assert caught.value.status is None
    assert client.counters.requests == MAX_ATTEMPTS


async def test_connect_timeout_means_not_sent(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.post(RESULTS, exception=aiohttp.ConnectionTimeoutError("connect timed out"))
    mocked.post(RESULTS, payload={"id": 488})

    assert (await client.trigger_run(336)).id == 488
    assert len(calls(mocked, "POST", RESULTS)) == 2


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(asyncio.TimeoutError(), id="timeout"),
        pytest.param(aiohttp.SocketTimeoutError("read timed out"), id="read-timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), id="disconnected"),
        pytest.param(aiohttp.ClientOSError(104, "Connection reset by peer"), id="reset"),
    ],
)
async def test_a_post_whose_fate_is_unknown_is_never_sent_again(
    mocked: aioresponses, client: TestsigmaClient, failure: Exception
) -> None:
    mocked.post(RESULTS, exception=failure)
    mocked.post(RESULTS, payload={"id": 488})  # must never be reached

    with pytest.raises(OutcomeUnknown) as caught:
        await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert len(calls(mocked, "POST", RESULTS)) == 1
    assert (caught.value.method, caught.value.status) == ("POST", None)


@pytest.mark.parametrize(
    "failure",
    [
        pytest.param(asyncio.TimeoutError(), id="timeout"),
        pytest.param(aiohttp.ServerDisconnectedError(), id="disconnected"),
    ],
)
async def test_a_read_whose_fate_is_unknown_is_retried(
    mocked: aioresponses, client: TestsigmaClient, failure: Exception
) -> None:
    mocked.get(f"{RESULTS}/1", exception=failure)
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    assert (await client.get_run(1)).id == 1
    assert len(calls(mocked, "GET", f"{RESULTS}/1")) == 2


async def test_a_read_that_keeps_timing_out_gives_up(
    mocked: aioresponses, client: TestsigmaClient
) -> None:
    mocked.get(f"{RESULTS}/1", exception=asyncio.TimeoutError(), repeat=True)

    with pytest.raises(OutcomeUnknown, match="timeout"):
        await client.get_run(1)
    assert client.counters.requests == MAX_ATTEMPTS


# -- the key stays secret ---------------------------------------------------------------------


def test_the_key_is_not_in_the_client_repr() -> None:
    client = TestsigmaClient(KEY, BASE)

    assert_no_key(repr(client), str(client), repr(vars(client)))
    assert HOST in repr(client)


def echoing(text: str) -> str:
    return text.replace("{key}", KEY)


@pytest.mark.parametrize(
    ("status", "body", "content_type", "quoted"),
    [
        pytest.param(401, "Incorrect API Key {key}", JSON_TYPE, True, id="401-text"),
        pytest.param(
            400, json.dumps(error_body("bad header Bearer {key}")), JSON_TYPE, True, id="400"
        ),
        pytest.param(
            500,
            json.dumps(error_body("{key}: ReRun Parent Id Already Exists")),
            JSON_TYPE,
            True,
            id="500",
        ),
        pytest.param(429, "quota for {key} exhausted", "text/plain", True, id="429"),
        pytest.param(
            502, "<html><body><h1>Bad key {key}</h1></body></html>", "text/html", True, id="html"
        ),
        pytest.param(
            200, "<html><body>Login {key}</body></html>", "text/html", True, id="html-200"
        ),
        pytest.param(200, "key={key}", JSON_TYPE, True, id="non-json-200"),
        pytest.param(200, json.dumps("Invalid key {key}"), JSON_TYPE, True, id="json-string"),
        pytest.param(200, json.dumps({"id": "{key}"}), JSON_TYPE, False, id="wrong-shape"),
        pytest.param(
            200, json.dumps({"id": 1, "childResult": "{key}"}), JSON_TYPE, False, id="child"
        ),
    ],
)
async def test_the_key_echoed_by_the_server_never_reaches_an_error(
    mocked: aioresponses,
    client: TestsigmaClient,
    status: int,
    body: str,
    content_type: str,
    quoted: bool,
) -> None:
    mocked.post(RESULTS, status=status, body=echoing(body), content_type=content_type, repeat=True)

    with pytest.raises(ApiError) as caught:
        await client.trigger_run(336)

    error = caught.value
    if quoted:
        assert "***" in error.message, "the echoed key was replaced, not the message dropped"
    assert_no_key(
        str(error),
        repr(error),
        repr(error.args),
        error.message,
        "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )


async def test_the_key_never_reaches_a_log_record(
    mocked: aioresponses,
    client: TestsigmaClient,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"{RESULTS}/1"
    mocked.get(url, status=429, body=f"slow down {KEY}", headers={"Retry-After": "1"})
    mocked.get(url, exception=refused())
    mocked.get(url, status=500, payload=error_body(f"boom {KEY}"))
    mocked.get(url, exception=aiohttp.ServerDisconnectedError(f"bye {KEY}"))
    mocked.get(url, status=401, body=f"Incorrect API Key {KEY}", content_type=JSON_TYPE)
    client._max_attempts = 10

    with pytest.raises(AuthError):
        await client.get_run(1)

    assert len(caplog.records) >= 4, "the retries were logged"
    for record in caplog.records:
        assert_no_key(record.getMessage(), repr(record.args), record.msg)


# -- configuration ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("https://host/api/v1/", "https://host/"),
        ("https://host/api/v1", "https://host/"),
        ("https://host", "https://host/"),
        ("  https://host/  ", "https://host/"),
        ("http://127.0.0.1:8080/api/v1/", "http://127.0.0.1:8080/"),
        ("https://host/testsigma/api/v1/", "https://host/testsigma"),
        ("https://host/?x=1#top", "https://host/"),
    ],
)
def test_base_url_is_normalised(given: str, expected: str) -> None:
    assert str(normalize_base_url(given)) == expected


@pytest.mark.parametrize(
    "base_url", ["ftp://host", "host.example", "https://", "", "file:///etc/passwd"]
)
def test_a_non_http_base_url_is_a_config_error(base_url: str) -> None:
    with pytest.raises(ConfigError, match="base URL"):
        TestsigmaClient(KEY, base_url)


@pytest.mark.parametrize("key", ["", Secret("")])
def test_an_empty_key_is_a_config_error(key: str | Secret) -> None:
    with pytest.raises(ConfigError, match="API key"):
        TestsigmaClient(key, BASE)


async def test_a_secret_key_is_accepted(mocked: aioresponses, clock: FakeClock) -> None:
    mocked.get(f"{RESULTS}/1", payload={"id": 1})

    async with TestsigmaClient(Secret(KEY), BASE, clock=clock) as c:
        await c.get_run(1)

    headers = only_call(mocked, "GET", f"{RESULTS}/1").kwargs["headers"]
    assert headers["Authorization"] == f"Bearer {KEY}"
