"""The error tree and the mapping of error answers (no HTTP here; see test_client.py)."""

from __future__ import annotations

import json
import re

import pytest

from rerunorch import errors
from rerunorch.api.answers import error_for, looks_like_html, server_message
from rerunorch.errors import (
    ApiError,
    AuthError,
    BadRequest,
    NotFound,
    PlanBusy,
    RateLimited,
    RerunAlreadyExists,
    RerunorchError,
    ResponseError,
    ServerError,
    UnexpectedResponse,
)

_NODE = re.compile(r"(?P<box>[├└]── )?(?P<name>[A-Z]\w+)")


def drawn_tree() -> dict[str, str]:
    """``{class name: parent name}`` as the module docstring draws it."""
    assert errors.__doc__ is not None
    lines = errors.__doc__.splitlines()
    root = next(line for line in lines if line.strip() == "RerunorchError")
    origin = root.index("R")
    parents: dict[str, str] = {}
    path = ["RerunorchError"]
    for line in lines[lines.index(root) + 1 :]:
        match = _NODE.search(line)
        if not match or not match["box"]:
            break
        # Each level of the drawing is four columns deeper.
        depth = (match.start() - origin) // 4 + 1
        del path[depth:]
        parents[match["name"]] = path[-1]
        path.append(match["name"])
    return parents


def test_the_docstring_draws_the_real_tree() -> None:
    drawn = drawn_tree()
    assert set(drawn) | {"RerunorchError"} == set(errors.__all__)
    for name, parent in drawn.items():
        cls = getattr(errors, name)
        assert cls.__bases__ == (getattr(errors, parent),), name


def test_an_api_error_carries_its_request_and_answer() -> None:
    error = NotFound("Execution Result Not Found", method="GET", path="/x/1", status=404, target=1)

    assert isinstance(error, RerunorchError)
    assert (error.method, error.path, error.status, error.target) == ("GET", "/x/1", 404, 1)
    assert error.message == "Execution Result Not Found"
    assert str(error) == "GET /x/1 -> 404: Execution Result Not Found"
    assert repr(error) == (
        "NotFound('Execution Result Not Found', method='GET', path='/x/1', status=404)"
    )


def test_an_error_without_an_answer_has_no_status_in_its_text() -> None:
    error = ApiError("cannot connect", method="POST", path="/x")

    assert error.status is None
    assert str(error) == "POST /x: cannot connect"


def test_rate_limited_carries_retry_after() -> None:
    assert RateLimited("slow", method="GET", path="/x", retry_after=2.5).retry_after == 2.5
    assert RateLimited("slow", method="GET", path="/x").retry_after is None


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "Incorrect API Key", AuthError),
        (403, "Forbidden", AuthError),
        (400, "bad", BadRequest),
        (422, "bad", BadRequest),
        (404, "gone", NotFound),
        (429, "slow", RateLimited),
        (503, "slow", RateLimited),
        # A gateway's 503 wins over whatever the text says: it is always "slow down".
        (503, "The specified Test Plan is currently running", RateLimited),
        (500, "ReRun Parent Id Already Exists", RerunAlreadyExists),
        (400, "rerun parent id already exists", RerunAlreadyExists),
        (500, "The specified Test Plan is currently running...", PlanBusy),
        (500, "NullPointerException", ServerError),
        (502, "Bad Gateway", ServerError),
        (418, "teapot", ResponseError),
    ],
)
def test_error_for_picks_the_class(
    status: int, message: str, expected: type[ResponseError]
) -> None:
    body = json.dumps({"timeStamp": None, "error": message, "code": None})

    error = error_for(status, body, method="POST", path="/p", retry_after=3.0, target=7)

    assert type(error) is expected
    assert (error.message, error.status, error.method, error.path) == (
        message,
        status,
        "POST",
        "/p",
    )
    assert error.target == 7
    if isinstance(error, RateLimited):
        assert error.retry_after == 3.0


def test_a_4xx_html_page_is_an_unexpected_response() -> None:
    error = error_for(405, "<html><body>Method Not Allowed</body></html>", method="PUT", path="/p")

    assert type(error) is UnexpectedResponse
    assert "Method Not Allowed" in error.message


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ('{"error": "from error"}', "from error"),
        ('{"message": "from message"}', "from message"),
        ('{"detail": "from detail"}', "from detail"),
        ('{"error": null, "message": "the one set"}', "the one set"),
        ('{"code": 7}', '{"code": 7}'),
        ('["a", "list"]', '["a", "list"]'),
        ("Incorrect API Key", "Incorrect API Key"),
        ("  \n", "(empty answer)"),
        ("", "(empty answer)"),
        ("  two\n\n  lines  ", "two lines"),
    ],
)
def test_server_message_finds_the_human_part(body: str, expected: str) -> None:
    assert server_message(body) == expected


def test_server_message_quotes_a_long_text_briefly() -> None:
    message = server_message("x" * 5000)

    assert len(message) == 200
    assert message.endswith("...")


def test_server_message_quotes_an_html_page_without_tags() -> None:
    page = "<!DOCTYPE html><html><head><title>Gateway Timeout</title></head>" + (
        "<p>The upstream did not answer.</p>" * 50 + "</html>"
    )

    message = server_message(page)

    assert message.startswith("an HTML page instead of an API answer: 'Gateway Timeout")
    assert "<" not in message
    assert len(message) < 300


@pytest.mark.parametrize(
    ("text", "page", "loose"),
    [
        ("<!DOCTYPE html><html></html>", True, True),
        ("  <HTML><body>x</body></HTML>", True, True),
        ("<body>x</body>", True, True),
        ('<?xml version="1.0"?><testsuites></testsuites>', False, True),
        ("<testsuites><testsuite/></testsuites>", False, True),
        ('{"error": "<b>x</b>"}', False, False),
        ("Incorrect API Key", False, False),
        ("", False, False),
    ],
)
def test_looks_like_html(text: str, page: bool, loose: bool) -> None:
    assert looks_like_html(text) is loose
    assert looks_like_html(text, page_only=True) is page


KEY = "tsk_live_7f3a9c1e5b2d4a6f8e0c"


def redact(text: str) -> str:
    return text.replace(KEY, "***")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("x" * 190 + KEY, id="plain-text"),
        pytest.param(json.dumps({"error": "x" * 190 + KEY}), id="json-message"),
        pytest.param("<html><body>" + "x" * 190 + KEY + "</body></html>", id="html"),
    ],
)
def test_a_key_across_the_cut_is_redacted_before_the_cut(body: str) -> None:
    # Cut first, then redacted, the quote would end in a prefix of the key.
    message = server_message(body, redact)

    assert KEY[:6] not in message
    assert len(message) <= 250


def test_a_key_that_json_decoding_turns_plain_is_redacted() -> None:
    # The raw text holds the key escaped (no match); the decoded message holds it plain.
    escaped = "".join(f"\\u{ord(c):04x}" for c in KEY)
    body = '{"error": "bad key ' + escaped + '"}'

    message = server_message(body, redact)

    assert message == "bad key ***"


def test_error_for_quotes_through_redact() -> None:
    error = error_for(401, f"Incorrect API Key {KEY}", method="GET", path="/p", redact=redact)

    assert error.message == "Incorrect API Key ***"


def test_deeply_nested_json_is_quoted_not_a_crash() -> None:
    assert server_message("[" * 100_000).startswith("[[[")


def test_a_body_that_repeats_the_status_is_said_once() -> None:
    error = error_for(404, "404: Not Found", method="GET", path="/api/v1/x")
    assert str(error) == "GET /api/v1/x -> 404: Not Found"
    assert error_for(404, "404", method="GET", path="/p").message == "404"  # nothing else said
    assert error_for(500, "5000 workers busy", method="GET", path="/p").message.startswith("5000")
