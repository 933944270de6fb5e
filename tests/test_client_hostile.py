"""The client (with its real aiohttp transport) against a hostile server on 127.0.0.1.

Huge, endless and compressed bodies, slow drips and hangs, redirects to another
origin, bytes that are not UTF-8, ids beyond 64 bits, and the key echoed back in
every form: each ends in a clear error, promptly, without the key.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import anyio
import pytest
from hostile import (
    RUN_PATH,
    Behaviour,
    HostileServer,
    answer,
    drip,
    echo_key,
    gzip_bomb,
    hang,
    huge_body,
    huge_id,
    key_forms,
    non_utf8,
    redirect,
    unauthorized_after,
)

from rerunorch import OutcomeKind, SweepSettings, run_sweep
from rerunorch.api.client import TestsigmaClient
from rerunorch.errors import AuthError, BadRequest, OutcomeUnknown, UnexpectedResponse

# A key with "/", "+" and "=", so that each echoed form differs from the plain one.
KEY = "tsk/live+7f3a9c1e5b2d/4a6f8e0c=="
RUN = RUN_PATH.format(1)
CAP = 1024 * 1024
TIMEOUT = 0.4


def client_for(server: HostileServer, **options: float) -> TestsigmaClient:
    settings = {"max_response_bytes": CAP, "timeout": TIMEOUT, "max_attempts": 1, **options}
    return TestsigmaClient(
        KEY,
        server.base_url,
        timeout=settings["timeout"],
        max_response_bytes=int(settings["max_response_bytes"]),
        max_attempts=int(settings["max_attempts"]),
    )


@pytest.fixture
async def serve() -> AsyncIterator[HostileServer]:
    async with HostileServer() as server:
        yield server


async def get_run(server: HostileServer, behaviour: Behaviour, **options: float) -> None:
    server.routes[RUN] = behaviour
    async with client_for(server, **options) as client:
        with anyio.fail_after(10):  # a guard only: each case ends far sooner
            await client.get_run(1)


# -- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("declare_length", [False, True], ids=["chunked", "content-length"])
async def test_a_huge_body_is_refused_without_reading_it_all(
    serve: HostileServer, declare_length: bool
) -> None:
    size = 200 * 1024 * 1024

    with pytest.raises(UnexpectedResponse, match=f"longer than {CAP} bytes"):
        await get_run(serve, huge_body(size, declare_length=declare_length))

    # The socket buffers take some, but nowhere near the whole answer.
    assert serve.sent < 32 * 1024 * 1024


async def test_a_compressed_body_is_capped_by_what_it_inflates_to(serve: HostileServer) -> None:
    with pytest.raises(UnexpectedResponse, match="longer than"):
        await get_run(serve, gzip_bomb(64 * 1024 * 1024))


async def test_a_body_under_the_cap_is_read(serve: HostileServer) -> None:
    serve.routes[RUN] = huge_body(CAP - 1)

    async with client_for(serve) as client:
        run = await client.get_run(1)

    assert run.id == 1
    assert len(run.message or "") == CAP - 25


# -- time -------------------------------------------------------------------------------------


@pytest.mark.parametrize("behaviour", [drip(0.02), hang()], ids=["slow-drip", "hang"])
async def test_a_slow_or_silent_server_is_bounded_by_the_timeout(
    serve: HostileServer, behaviour: Behaviour
) -> None:
    started = time.monotonic()

    with pytest.raises(OutcomeUnknown, match="no answer before the timeout"):
        await get_run(serve, behaviour)

    assert TIMEOUT <= time.monotonic() - started < TIMEOUT + 1.5


async def test_a_post_to_a_dripping_server_is_not_sent_twice(serve: HostileServer) -> None:
    serve.fallback = drip(0.02)

    async with client_for(serve, max_attempts=5) as client:
        with pytest.raises(OutcomeUnknown):
            await client.trigger_run(336)

    assert [seen.method for seen in serve.requests] == ["POST"]


async def test_a_dripping_answer_ends_at_once_when_cancelled(serve: HostileServer) -> None:
    serve.routes[RUN] = drip(0.02)
    started = time.monotonic()

    async with client_for(serve, timeout=60) as client, anyio.create_task_group() as tg:
        tg.start_soon(client.get_run, 1)
        await serve.streaming.wait()  # the answer has begun
        tg.cancel_scope.cancel()

    assert time.monotonic() - started < 5


# -- redirects --------------------------------------------------------------------------------


async def test_a_redirect_to_another_port_is_not_followed(serve: HostileServer) -> None:
    async with HostileServer({RUN: answer({"id": 1})}) as other:
        with pytest.raises(UnexpectedResponse, match="another origin") as caught:
            await get_run(serve, redirect(f"{other.base_url}{RUN}"))

    assert other.requests == [], "the key never went to the other origin"
    assert caught.value.status == 302
    assert str(other.port) in caught.value.message


async def test_a_redirect_within_the_origin_is_followed(serve: HostileServer) -> None:
    serve.routes["/moved/1"] = answer({"id": 1, "executionId": 336})

    await get_run(serve, redirect("/moved/1", status=301))

    assert [seen.path for seen in serve.requests] == [RUN, "/moved/1"]
    assert serve.requests[1].headers["Authorization"] == f"Bearer {KEY}"


# -- contents ---------------------------------------------------------------------------------


async def test_a_non_utf8_answer_is_a_clear_error(serve: HostileServer) -> None:
    with pytest.raises(UnexpectedResponse, match="not UTF-8 text"):
        await get_run(serve, non_utf8())


@pytest.mark.parametrize("field", ["id", "childResult", "executionId"])
async def test_an_id_beyond_64_bits_is_a_clear_error(serve: HostileServer, field: str) -> None:
    with pytest.raises(UnexpectedResponse, match="outside the API's 64-bit range"):
        await get_run(serve, huge_id(field))


async def test_a_401_after_some_requests_is_an_auth_error(serve: HostileServer) -> None:
    serve.routes[RUN] = unauthorized_after(2, answer({"id": 1}))

    async with client_for(serve) as client:
        await client.get_run(1)
        await client.get_run(1)
        with pytest.raises(AuthError, match="Incorrect API Key"):
            await client.get_run(1)


# -- the key ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("form", "as_json"),
    [(form, as_json) for form in key_forms(KEY) for as_json in (True, False)],
)
async def test_the_key_echoed_in_any_form_never_reaches_the_error(
    serve: HostileServer, form: str, as_json: bool
) -> None:
    with pytest.raises(BadRequest) as caught:
        await get_run(serve, echo_key(form, as_json=as_json))

    error = caught.value
    assert "invalid token ***" in error.message
    for shown in key_forms(KEY).values():
        assert shown not in str(error)
        assert shown[:8] not in str(error)


# -- through a sweep --------------------------------------------------------------------------


async def test_a_rerun_id_beyond_64_bits_fails_its_target_not_the_sweep(
    serve: HostileServer,
) -> None:
    failing = {"id": 1, "executionId": 336, "status": "STATUS_COMPLETED", "result": "FAILURE"}
    serve.routes[RUN] = answer(failing)
    serve.routes["/api/v1/execution_results"] = huge_id()

    with anyio.fail_after(10):
        report = await run_sweep([1], SweepSettings(base_url=serve.base_url), api_key=KEY)

    (outcome,) = report.results
    assert outcome.outcome is OutcomeKind.ERROR
    assert "outside the API's 64-bit range" in (outcome.error or "")
    assert report.exit_code == 3
