"""TestsigmaClient through a MockTransport: every endpoint, every way the server says no.

No sockets and no patching: the client is handed a :class:`MockTransport` whose
handler plays the server from a script. The aiohttp transport's own mapping of
aiohttp's failures is checked with aioresponses (raising is all it must do); its
reading of real answers is in test_client_hostile.py, over loopback sockets.

No test sleeps: the client and its pacer run on the shared :class:`MockClock` with
autojump (time jumps to the next deadline once every task waits), which records how
long each sleep was asked to be.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
import traceback
from collections import defaultdict, deque
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest
import yarl
from aiohttp.client_reqrep import ConnectionKey
from aioresponses import aioresponses

from rerunorch._version import __version__
from rerunorch.api import MockTransport, Request, Response
from rerunorch.api.client import TestsigmaClient, normalize_base_url
from rerunorch.api.enums import IterationReRunType, ReRunType, Result, Status
from rerunorch.api.models import RerunRequest, TestCaseResultRequest
from rerunorch.api.transport import AiohttpTransport, ConnectError, ReadError, TransportError
from rerunorch.clock import ScaledClock
from rerunorch.engine import Sweep
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
from rerunorch.settings import SweepSettings
from rerunorch.testing import MockClock

KEY = "tsk_live_7f3a9c1e5b2d4a6f8e0c"
HOST = "testsigma.example"
BASE = f"https://{HOST}"
RESULTS = "/api/v1/execution_results"
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


class RecordingPacer(Pacer):
    """A real pacer that also remembers what it was told."""

    def __init__(self, clock: MockClock) -> None:
        super().__init__(clock=clock, rng=random.Random(1))
        self.throttles: list[float | None] = []
        self.cuts: list[bool] = []

    def rate_limited(self, retry_after: float | None, *, cut: bool = True) -> float:
        self.throttles.append(retry_after)
        self.cuts.append(cut)
        return super().rate_limited(retry_after, cut=cut)


Answer = Response | TransportError


class Script:
    """The server's part: answers per (method, path), in order; the last may repeat.

    A request nobody scripted gets a 599, so that a test sees it rather than hangs.
    """

    def __init__(self) -> None:
        self._answers: dict[tuple[str, str], deque[Answer]] = defaultdict(deque)
        self._repeat: set[tuple[str, str]] = set()

    def on(self, method: str, path: str, *answers: Answer, repeat: bool = False) -> None:
        self._answers[method, path].extend(answers)
        if repeat:
            self._repeat.add((method, path))

    def __call__(self, request: Request) -> Response:
        route = (request.method, request.url.path)
        queue = self._answers.get(route)
        if not queue:
            return Response(599, body=b"not scripted")
        answer = queue[0] if route in self._repeat and len(queue) == 1 else queue.popleft()
        if isinstance(answer, TransportError):
            raise answer
        return answer


def payload(data: Any, status: int = 200, **headers: str) -> Response:
    return Response(status, {"Content-Type": JSON_TYPE, **headers}, json.dumps(data).encode())


def text(body: str, status: int = 200, content_type: str = JSON_TYPE, **headers: str) -> Response:
    return Response(status, {"Content-Type": content_type, **headers}, body.encode())


@pytest.fixture
def script() -> Script:
    return Script()


@pytest.fixture
def transport(script: Script) -> MockTransport:
    return MockTransport(script)


@pytest.fixture
def clock() -> MockClock:
    return MockClock(wall_origin=1_700_000_000.0, autojump=True)


@pytest.fixture
def pacer(clock: MockClock) -> RecordingPacer:
    return RecordingPacer(clock)


@pytest.fixture
async def client(
    clock: MockClock, pacer: RecordingPacer, transport: MockTransport
) -> AsyncIterator[TestsigmaClient]:
    async with TestsigmaClient(
        KEY,
        BASE,
        pacer=pacer,
        transport=transport,
        clock=clock,
        max_attempts=MAX_ATTEMPTS,
        rng=random.Random(0),
    ) as c:
        yield c


def sent(transport: MockTransport, method: str, path: str) -> list[Request]:
    return [r for r in transport.requests if (r.method, r.url.path) == (method, path)]


def only_request(transport: MockTransport, method: str, path: str) -> Request:
    requests = sent(transport, method, path)
    assert len(requests) == 1, f"expected one {method} {path}, got {len(requests)}"
    return requests[0]


def sent_json(request: Request) -> Any:
    assert request.body is not None
    return json.loads(request.body)


def assert_no_key(*texts: str) -> None:
    for value in texts:
        assert KEY not in value, f"the API key leaked into {value!r}"


# -- endpoints --------------------------------------------------------------------------------


async def test_trigger_rerun_posts_exactly_the_camelcase_body(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, payload({**SEED_RESPONSE, "id": 488}))
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
    post = only_request(transport, "POST", RESULTS)
    assert post.url == yarl.URL(BASE + RESULTS)
    assert post.body == json.dumps(sent_json(post)).encode(), "compact JSON bytes"
    assert sent_json(post) == {
        "executionId": 336,
        "executionResultId": 467,
        "isReRun": True,
        "reRunType": "USER_PICKED",
        "testCaseResultRequests": [
            {"id": 2880},
            {"id": 2874, "iterationReRunType": "USER_PICKED", "iterationResultIds": [91, 92]},
        ],
    }
    assert post.headers["Content-Type"] == JSON_TYPE


async def test_every_request_carries_the_key_user_agent_and_limits(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/467", payload(SEED_RESPONSE))

    await client.get_run(467)

    request = only_request(transport, "GET", f"{RESULTS}/467")
    assert request.headers["Authorization"] == f"Bearer {KEY}"
    assert request.headers["User-Agent"] == f"rerunorch/{__version__}"
    assert request.headers["Accept"] == JSON_TYPE
    assert (request.timeout, request.max_body) == (client.timeout, client.max_response_bytes)
    assert_no_key(repr(request))


async def test_the_timeout_and_size_cap_are_the_clients(
    script: Script, transport: MockTransport, clock: MockClock
) -> None:
    script.on("GET", f"{RESULTS}/1", payload({"id": 1}))
    client = TestsigmaClient(
        KEY, BASE, transport=transport, clock=clock, timeout=2.5, max_response_bytes=4096
    )

    await client.get_run(1)

    assert (transport.requests[0].timeout, transport.requests[0].max_body) == (2.5, 4096)


async def test_trigger_run_posts_the_plan_and_build(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on(
        "POST",
        RESULTS,
        payload({"id": 500, "executionId": 336, "status": "STATUS_CREATED"}),
        payload({"id": 501, "executionId": 336}),
    )

    first = await client.trigger_run(336, build_no="build-42")
    second = await client.trigger_run(336)

    assert (first.id, first.status) == (500, Status.STATUS_CREATED)
    assert second.id == 501
    bodies = [sent_json(r) for r in sent(transport, "POST", RESULTS)]
    assert bodies == [{"executionId": 336, "buildNo": "build-42"}, {"executionId": 336}]


async def test_get_run_parses_the_execution_result(script: Script, client: TestsigmaClient) -> None:
    script.on("GET", f"{RESULTS}/487", payload({**SEED_RESPONSE, "childResult": {"id": 490}}))

    run = await client.get_run(487)

    assert run.id == 487
    assert run.re_run_parent_id == 469
    assert run.result is Result.QUEUED
    assert run.child_id == 490
    assert not run.completed


async def test_get_test_case_results_parses_cases_and_iterations(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/467/test_case_results", payload(TEST_CASE_RESULTS))

    results = await client.get_test_case_results(467)

    assert results.execution_result_id == 467
    (case,) = results.test_cases
    assert case.test_case_result_id == 2880
    assert not case.passed
    assert [(i.iteration_result_id, i.result) for i in case.iteration_results] == [
        (91, Result.SUCCESS),
        (92, Result.FAILURE),
    ]


async def test_stop_run_puts_the_stop_body(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on(
        "PUT",
        f"{RESULTS}/487",
        payload({"id": 487, "result": "STOPPED", "status": "STATUS_COMPLETED"}),
    )

    run = await client.stop_run(487)

    assert run.result is Result.STOPPED
    assert run.completed
    request = only_request(transport, "PUT", f"{RESULTS}/487")
    assert sent_json(request) == {"canStopAll": True, "result": "STOPPED"}
    assert request.headers["Content-Type"] == JSON_TYPE


async def test_junit_report_returns_the_xml(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    path = "/api/v1/reports/junit/487"
    script.on("GET", path, text(JUNIT_XML, content_type="application/xml"))

    assert await client.junit_report(487) == JUNIT_XML
    assert only_request(transport, "GET", path).headers["Accept"] == "application/xml"


async def test_junit_report_is_none_while_the_server_refuses(
    script: Script, client: TestsigmaClient
) -> None:
    refusal = text(
        "Report can be generated only after execution completes", content_type="text/plain"
    )
    script.on("GET", "/api/v1/reports/junit/487", refusal)

    assert await client.junit_report(487) is None


async def test_junit_report_rejects_an_html_page(script: Script, client: TestsigmaClient) -> None:
    script.on("GET", "/api/v1/reports/junit/487", text(HTML_PAGE, content_type="text/html"))

    with pytest.raises(UnexpectedResponse, match="502 Bad Gateway"):
        await client.junit_report(487)


async def test_a_base_url_prefix_is_kept(script: Script, transport: MockTransport) -> None:
    script.on("GET", "/testsigma/api/v1/execution_results/1", payload({"id": 1}))

    async with TestsigmaClient(KEY, f"{BASE}/testsigma/api/v1/", transport=transport) as c:
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
        pytest.param(304, "", ResponseError, "empty answer", id="304-no-location"),
    ],
)
async def test_error_answers_to_a_post_map_to_errors(
    script: Script,
    transport: MockTransport,
    client: TestsigmaClient,
    status: int,
    body: str | dict[str, Any],
    expected: type[ResponseError],
    message: str,
) -> None:
    # A JSON content type even for plain text and HTML: that is what Testsigma sends for 401s.
    answer = payload(body, status) if isinstance(body, dict) else text(body, status)
    script.on("POST", RESULTS, answer, payload({"id": 999}))  # the second must never be reached

    with pytest.raises(ResponseError) as caught:
        await client.trigger_run(336)

    error = caught.value
    assert type(error) is expected
    assert message in error.message
    assert (error.method, error.path, error.status) == ("POST", RESULTS, status)
    assert f"POST {RESULTS} -> {status}: " in str(error)
    assert len(sent(transport, "POST", RESULTS)) == 1, "an error answer to a POST is never re-sent"


async def test_plain_text_401_keeps_the_whole_text(script: Script, client: TestsigmaClient) -> None:
    script.on("GET", f"{RESULTS}/1", text("Invalid JWT token", 401))

    with pytest.raises(AuthError) as caught:
        await client.get_run(1)

    assert caught.value.message == "Invalid JWT token"
    assert client.counters.requests == 1, "an auth failure is not retried"


async def test_html_page_is_quoted_briefly(script: Script, client: TestsigmaClient) -> None:
    script.on("POST", RESULTS, text(HTML_PAGE, 502, "text/html"))

    with pytest.raises(ServerError) as caught:
        await client.trigger_run(336)

    message = caught.value.message
    assert "502 Bad Gateway" in message
    assert "<" not in message.split(":", 1)[1], "tags are stripped from the quote"
    assert len(message) < 300 < len(HTML_PAGE)


async def test_html_page_with_status_200_is_unexpected(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", text(HTML_PAGE, content_type="text/html"))

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert "HTML" in caught.value.message
    assert "502 Bad Gateway" in caught.value.message
    assert caught.value.status == 200


async def test_non_json_200_is_unexpected(script: Script, client: TestsigmaClient) -> None:
    script.on("GET", f"{RESULTS}/1", text("OK, queued"))

    with pytest.raises(UnexpectedResponse, match="not JSON: 'OK, queued'"):
        await client.get_run(1)


async def test_deeply_nested_json_is_unexpected_not_a_crash(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", text("[" * 200_000))

    with pytest.raises(UnexpectedResponse, match="not JSON"):
        await client.get_run(1)


@pytest.mark.parametrize(
    ("payload_", "field"),
    [
        pytest.param({"executionId": 1}, "answer.id", id="missing-id"),
        pytest.param({"id": "four"}, "answer.id", id="id-not-int"),
        pytest.param({"id": 1, "totalCount": "many"}, "answer.total_count", id="bad-count"),
        pytest.param({"id": 1, "childResult": "x"}, "answer.child_result", id="bad-child"),
        pytest.param([{"id": 1}], "JSON object", id="a-list"),
        pytest.param({"id": 2**63}, "answer.id", id="id-above-int64"),
        pytest.param({"id": 1, "childResult": 2**64}, "answer.child_result", id="child-above"),
    ],
)
async def test_json_of_the_wrong_shape_names_the_field(
    script: Script, client: TestsigmaClient, payload_: Any, field: str
) -> None:
    script.on("GET", f"{RESULTS}/1", payload(payload_))

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert field in caught.value.message
    assert "ExecutionResult" in caught.value.message
    assert (caught.value.method, caught.value.path) == ("GET", f"{RESULTS}/1")


async def test_an_id_above_int64_is_refused_clearly(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, payload({"id": 2**63, "executionId": 336}))

    with pytest.raises(UnexpectedResponse, match="outside the API's 64-bit range"):
        await client.trigger_run(336)


async def test_test_case_results_of_the_wrong_shape_name_the_nested_field(
    script: Script, client: TestsigmaClient
) -> None:
    script.on(
        "GET", f"{RESULTS}/1/test_case_results", payload({"testCases": [{"testCaseResultId": "x"}]})
    )

    with pytest.raises(UnexpectedResponse, match=r"test_cases\[0\]\.test_case_result_id"):
        await client.get_test_case_results(1)


async def test_a_5xx_on_a_read_is_retried(script: Script, client: TestsigmaClient) -> None:
    script.on("GET", f"{RESULTS}/1", payload(error_body("boom"), 500), payload({"id": 1}))

    assert (await client.get_run(1)).id == 1
    assert client.counters.requests == 2


async def test_a_5xx_on_a_read_gives_up_after_max_attempts(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", payload(error_body("boom"), 500), repeat=True)

    with pytest.raises(ServerError, match="boom"):
        await client.get_run(1)
    assert len(sent(transport, "GET", f"{RESULTS}/1")) == MAX_ATTEMPTS


# -- bounded answers --------------------------------------------------------------------------


async def test_an_answer_over_the_cap_is_refused_clearly(
    script: Script, transport: MockTransport, clock: MockClock
) -> None:
    script.on("GET", f"{RESULTS}/1", payload({"id": 1, "message": "x" * 5000}))
    client = TestsigmaClient(KEY, BASE, transport=transport, clock=clock, max_response_bytes=1000)

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert "longer than 1000 bytes" in caught.value.message
    assert "max_response_bytes" in caught.value.message
    assert client.counters.requests == 1, "a too-long answer is not asked for again"


async def test_an_error_answer_over_the_cap_keeps_its_meaning(
    script: Script, transport: MockTransport, clock: MockClock
) -> None:
    script.on("GET", f"{RESULTS}/1", text("Incorrect API Key " + "!" * 5000, 401))
    client = TestsigmaClient(KEY, BASE, transport=transport, clock=clock, max_response_bytes=100)

    with pytest.raises(AuthError, match="Incorrect API Key"):
        await client.get_run(1)


async def test_a_non_utf8_answer_is_refused_clearly(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", Response(200, {}, b'{"id": 1, "message": "caf\xe9"}'))

    with pytest.raises(UnexpectedResponse, match=r"not UTF-8 text \(byte 0xe9 at 25\)"):
        await client.get_run(1)


async def test_a_non_utf8_error_answer_keeps_its_class(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", Response(404, {}, b"no such run \xff\xfe"))

    with pytest.raises(NotFound, match="no such run"):
        await client.get_run(1)


async def test_a_long_server_message_is_cut(script: Script, client: TestsigmaClient) -> None:
    script.on("POST", RESULTS, payload(error_body("NullPointerException " + "at x.y " * 2000), 500))

    with pytest.raises(ServerError) as caught:
        await client.trigger_run(336)

    assert len(caught.value.message) <= 200
    assert caught.value.message.endswith("...")


# -- redirects --------------------------------------------------------------------------------


async def test_a_redirect_within_the_origin_is_followed(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", Response(301, {"Location": "/v2/runs/1"}))
    script.on("GET", "/v2/runs/1", payload({"id": 1}))

    assert (await client.get_run(1)).id == 1
    assert [str(r.url) for r in transport.requests] == [f"{BASE}{RESULTS}/1", f"{BASE}/v2/runs/1"]
    assert transport.requests[1].headers["Authorization"] == f"Bearer {KEY}"


@pytest.mark.parametrize(
    "location",
    [
        pytest.param("https://collector.example/steal", id="other-host"),
        pytest.param(f"https://{HOST}:8443/api", id="other-port"),
        pytest.param(f"http://{HOST}/api", id="other-scheme"),
        pytest.param("//collector.example/steal", id="scheme-relative"),
    ],
)
async def test_a_redirect_to_another_origin_is_not_followed(
    script: Script, transport: MockTransport, client: TestsigmaClient, location: str
) -> None:
    script.on("GET", f"{RESULTS}/1", Response(302, {"Location": location}), repeat=True)

    with pytest.raises(UnexpectedResponse) as caught:
        await client.get_run(1)

    assert "another origin" in caught.value.message
    assert caught.value.status == 302
    assert all(r.url.origin() == yarl.URL(BASE) for r in transport.requests)
    assert len(transport.requests) == 1, "not retried either"


async def test_a_post_is_not_turned_into_a_get(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, Response(303, {"Location": "/elsewhere"}))

    with pytest.raises(UnexpectedResponse, match="303"):
        await client.trigger_run(336)
    assert len(transport.requests) == 1


async def test_a_307_re_sends_the_post_with_its_body(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, Response(307, {"Location": "/v2/results"}))
    script.on("POST", "/v2/results", payload({"id": 488}))

    assert (await client.trigger_run(336)).id == 488
    first, second = transport.requests
    assert second.body == first.body


async def test_endless_redirects_end(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", Response(302, {"Location": f"{RESULTS}/1"}), repeat=True)

    with pytest.raises(UnexpectedResponse, match="redirects"):
        await client.get_run(1)
    assert len(transport.requests) == 6


# -- throttling -------------------------------------------------------------------------------


async def test_429_with_retry_after_seconds_pauses_and_retries(
    script: Script,
    transport: MockTransport,
    client: TestsigmaClient,
    clock: MockClock,
    pacer: RecordingPacer,
) -> None:
    script.on("GET", f"{RESULTS}/1", text("", 429, **{"Retry-After": "7"}), payload({"id": 1}))

    run = await client.get_run(1)

    assert run.id == 1
    assert pacer.throttles == [7.0]
    assert 7.0 <= clock.now <= 7.5, "waited Retry-After plus a little jitter"
    assert (client.counters.requests, client.counters.rate_limited) == (2, 1)
    assert len(transport.requests) == 2


async def test_503_with_retry_after_date_pauses_and_retries(
    script: Script, client: TestsigmaClient, clock: MockClock, pacer: RecordingPacer
) -> None:
    when = email.utils.formatdate(clock.time() + 30, usegmt=True)
    script.on("GET", f"{RESULTS}/1", text("busy", 503, **{"retry-after": when}), payload({"id": 1}))

    assert (await client.get_run(1)).id == 1
    assert pacer.throttles == [30.0], "header names are matched in any case"
    assert pacer.cuts == [False], "a 503 pauses but does not cut the adaptive rate"
    assert 30.0 <= clock.now <= 30.5
    assert (client.counters.requests, client.counters.rate_limited) == (2, 1)


async def test_429_without_retry_after_backs_off(
    script: Script, client: TestsigmaClient, pacer: RecordingPacer
) -> None:
    script.on(
        "GET", f"{RESULTS}/1", payload(error_body("Too Many Requests"), 429), payload({"id": 1})
    )

    assert (await client.get_run(1)).id == 1
    assert pacer.throttles == [None]
    assert pacer.cuts == [True]
    assert client.counters.rate_limited == 1


async def test_a_throttled_post_is_sent_again(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, text("slow down", 429, **{"Retry-After": "1"}), payload({"id": 488}))

    run = await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert run.id == 488
    posts = sent(transport, "POST", RESULTS)
    assert len(posts) == 2
    assert sent_json(posts[0]) == sent_json(posts[1])


async def test_throttling_gives_up_after_max_attempts(
    script: Script, client: TestsigmaClient, clock: MockClock
) -> None:
    script.on("GET", f"{RESULTS}/1", text("", 429, **{"Retry-After": "5"}), repeat=True)

    with pytest.raises(RateLimited) as caught:
        await client.get_run(1)

    assert caught.value.retry_after == 5.0
    assert caught.value.status == 429
    assert (client.counters.requests, client.counters.rate_limited) == (3, 3)
    assert clock.now >= 10.0, "paused before each of the two retries"


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(text("", 429, **{"Retry-After": "30"}), id="server-requested-pause"),
        pytest.param(ConnectError("refused"), id="retry-backoff"),
    ],
)
async def test_a_pause_or_a_retry_ends_at_once_when_cancelled(
    script: Script, transport: MockTransport, answer: Answer
) -> None:
    # Real time, slowed down: a shielded sleep would hold this test for 3000 s (the
    # pause) or 42 s (the first backoff, with this seed) instead of ending it at once.
    script.on("GET", f"{RESULTS}/1", answer, repeat=True)
    answered = anyio.Event()

    def handler(request: Request) -> Response:
        answered.set()
        return script(request)

    client = TestsigmaClient(
        KEY,
        BASE,
        transport=MockTransport(handler),
        clock=ScaledClock(0.01),
        rng=random.Random(0),
        max_attempts=50,
    )
    started = time.monotonic()
    async with anyio.create_task_group() as tg:
        tg.start_soon(client.get_run, 1)
        await answered.wait()
        await anyio.wait_all_tasks_blocked()  # the client is asleep now
        tg.cancel_scope.cancel()

    assert time.monotonic() - started < 0.25


# -- connection failures ----------------------------------------------------------------------


async def test_connection_refused_is_retried(
    script: Script, transport: MockTransport, client: TestsigmaClient, clock: MockClock
) -> None:
    script.on("POST", RESULTS, ConnectError("cannot connect: refused"), payload({"id": 488}))

    run = await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert run.id == 488
    assert len(sent(transport, "POST", RESULTS)) == 2, "never sent, so safe to send again"
    assert clock.sleeps, "backed off before retrying"


async def test_connection_refused_gives_up_naming_the_host(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", ConnectError("cannot connect: refused"), repeat=True)

    with pytest.raises(RequestNotSent) as caught:
        await client.get_run(1)

    assert HOST in str(caught.value)
    assert "cannot connect: refused" in str(caught.value)
    assert caught.value.status is None
    assert client.counters.requests == MAX_ATTEMPTS


async def test_a_post_whose_fate_is_unknown_is_never_sent_again(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("POST", RESULTS, ReadError("no answer before the timeout"), payload({"id": 488}))

    with pytest.raises(OutcomeUnknown) as caught:
        await client.trigger_rerun(RerunRequest(execution_id=336, execution_result_id=467))

    assert len(sent(transport, "POST", RESULTS)) == 1
    assert (caught.value.method, caught.value.status) == ("POST", None)
    assert caught.value.message == "no answer before the timeout"


async def test_a_read_whose_fate_is_unknown_is_retried(
    script: Script, transport: MockTransport, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", ReadError("the connection broke"), payload({"id": 1}))

    assert (await client.get_run(1)).id == 1
    assert len(transport.requests) == 2


async def test_a_read_that_keeps_timing_out_gives_up(
    script: Script, client: TestsigmaClient
) -> None:
    script.on("GET", f"{RESULTS}/1", ReadError("no answer before the timeout"), repeat=True)

    with pytest.raises(OutcomeUnknown, match="timeout"):
        await client.get_run(1)
    assert client.counters.requests == MAX_ATTEMPTS


# -- the aiohttp transport's failures (aioresponses only raises here) --------------------------


def refused() -> aiohttp.ClientConnectorError:
    key = ConnectionKey(HOST, 443, True, True, None, None, None, HOST)
    return aiohttp.ClientConnectorError(key, ConnectionRefusedError(111, "Connection refused"))


@pytest.fixture
def mocked() -> Iterator[aioresponses]:
    with aioresponses() as m:
        yield m


@pytest.mark.parametrize(
    ("failure", "expected", "message"),
    [
        pytest.param(refused(), ConnectError, "cannot connect: Connection refused", id="refused"),
        pytest.param(
            aiohttp.ConnectionTimeoutError("slow"), ConnectError, "timed out connecting", id="ct"
        ),
        pytest.param(asyncio.TimeoutError(), ReadError, "no answer before the timeout", id="to"),
        pytest.param(
            aiohttp.SocketTimeoutError("read"), ReadError, "no answer before the timeout", id="rt"
        ),
        pytest.param(
            aiohttp.ServerDisconnectedError(), ReadError, "ServerDisconnectedError", id="gone"
        ),
        pytest.param(aiohttp.ClientOSError(104, "reset"), ReadError, "ClientOSError", id="reset"),
    ],
)
async def test_the_aiohttp_transport_sorts_failures_into_not_sent_and_unknown(
    mocked: aioresponses,
    failure: Exception,
    expected: type[TransportError],
    message: str,
) -> None:
    url = f"{BASE}{RESULTS}/1"
    mocked.get(url, exception=failure)
    transport = AiohttpTransport()

    with pytest.raises(TransportError) as caught:
        await transport.send(Request("GET", yarl.URL(url), {}))
    await transport.aclose()

    assert type(caught.value) is expected
    assert message in str(caught.value)


async def test_the_aiohttp_transport_never_follows_redirects(mocked: aioresponses) -> None:
    url = f"{BASE}{RESULTS}/1"
    mocked.get(url, exception=aiohttp.ServerDisconnectedError())
    transport = AiohttpTransport()

    with pytest.raises(ReadError):
        await transport.send(Request("GET", yarl.URL(url), {}))
    await transport.aclose()

    (call,) = mocked.requests[("GET", yarl.URL(url))]
    assert call.kwargs["allow_redirects"] is False


# -- the key stays secret ---------------------------------------------------------------------


def test_the_key_is_not_in_the_client_repr() -> None:
    client = TestsigmaClient(KEY, BASE)

    assert_no_key(repr(client), str(client), repr(vars(client)))
    assert HOST in repr(client)


def echoing(body: str) -> str:
    return body.replace("{key}", KEY)


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
        pytest.param(200, "x" * 110 + "{key}", JSON_TYPE, True, id="key-across-the-cut"),
        pytest.param(401, "x" * 190 + "{key}", JSON_TYPE, True, id="error-key-across-the-cut"),
        pytest.param(200, json.dumps("Invalid key {key}"), JSON_TYPE, False, id="json-string"),
        pytest.param(200, json.dumps({"id": "{key}"}), JSON_TYPE, False, id="wrong-shape"),
        pytest.param(200, json.dumps(["{key}"]), JSON_TYPE, False, id="a-list"),
        pytest.param(
            200, json.dumps({"id": 1, "childResult": "{key}"}), JSON_TYPE, False, id="child"
        ),
        pytest.param(302, "", JSON_TYPE, False, id="redirect-to-a-host-named-like-the-key"),
    ],
)
async def test_the_key_echoed_by_the_server_never_reaches_an_error(
    script: Script,
    client: TestsigmaClient,
    status: int,
    body: str,
    content_type: str,
    quoted: bool,
) -> None:
    headers = {"Location": f"https://{KEY}.example/"} if status == 302 else {}
    script.on("POST", RESULTS, text(echoing(body), status, content_type, **headers), repeat=True)

    with pytest.raises(ApiError) as caught:
        await client.trigger_run(336)

    error = caught.value
    if quoted:
        assert "***" in error.message, "the echoed key was replaced, not the message dropped"
    assert KEY[:8] not in error.message, "not even a prefix of the key is quoted"
    assert_no_key(
        str(error),
        repr(error),
        repr(error.args),
        error.message,
        "".join(traceback.format_exception(type(error), error, error.__traceback__)),
    )


async def test_the_key_never_reaches_a_log_record(
    script: Script,
    transport: MockTransport,
    clock: MockClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    script.on(
        "GET",
        f"{RESULTS}/1",
        text(f"slow down {KEY}", 429, **{"Retry-After": "1"}),
        ConnectError(f"cannot connect: {KEY}"),
        payload(error_body(f"boom {KEY}"), 500),
        ReadError(f"the connection broke: bye {KEY}"),
        text(f"Incorrect API Key {KEY}", 401),
    )
    client = TestsigmaClient(KEY, BASE, transport=transport, clock=clock, max_attempts=10)

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


@pytest.mark.parametrize(
    "limits", [{"timeout": 0}, {"timeout": float("nan")}, {"max_response_bytes": 0}]
)
def test_limits_must_be_positive(limits: dict[str, Any]) -> None:
    with pytest.raises(ConfigError, match="positive"):
        TestsigmaClient(KEY, BASE, **limits)


async def test_a_secret_key_is_accepted(script: Script, transport: MockTransport) -> None:
    script.on("GET", f"{RESULTS}/1", payload({"id": 1}))

    async with TestsigmaClient(Secret(KEY), BASE, transport=transport) as c:
        await c.get_run(1)

    assert only_request(transport, "GET", f"{RESULTS}/1").headers["Authorization"] == (
        f"Bearer {KEY}"
    )


def test_a_sweeps_settings_reach_its_client() -> None:
    settings = SweepSettings(request_timeout=2.5, max_response_bytes=4096)

    sweep = Sweep([1], settings, api_key=KEY)

    assert (sweep.client.timeout, sweep.client.max_response_bytes) == (2.5, 4096)


# -- the mock transport itself ----------------------------------------------------------------


async def test_the_mock_transport_takes_an_async_handler_and_cuts_to_max_body() -> None:
    async def handler(request: Request) -> Response:
        return Response(200, {"X-Answer": "yes"}, b"0123456789")

    transport = MockTransport(handler)
    request = Request("GET", yarl.URL(BASE), {}, max_body=4)

    response = await transport.send(request)

    assert (response.body, response.truncated) == (b"0123", True)
    assert response.headers["x-answer"] == "yes", "headers are looked up in any case"
    assert transport.requests == [request]
