"""Secrets never show: redaction of every encoded form, masked URLs, and a hostile server.

The end-to-end test runs the real command (``python -m rerunorch sweep``, ``-vv``, every
report and a journal) against a server on 127.0.0.1 that echoes the API key every way it
can, and looks for the key in every byte the sweep leaves behind.
"""

from __future__ import annotations

import base64
import html
import json
import os
import re
import sys
import time
import urllib.parse
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import anyio
import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from rerunorch.errors import ConfigError
from rerunorch.pacing.shared import connect
from rerunorch.secret import Secret, mask_url, safe_error, validate_api_key

KEY = "tsk/Zq8+Kw3=Lm9/Pv7xR2-Jd_5"


def encoded_forms(key: str) -> dict[str, str]:
    """The key as a server might echo it: every escaping and encoding we know of."""
    raw = key.encode()
    return {
        "plain": key,
        "json": json.dumps(key)[1:-1],
        "json slash": json.dumps(key)[1:-1].replace("/", "\\/"),
        "json unicode": "".join(f"\\u{ord(c):04x}" for c in key),
        "json unicode upper": "".join(f"\\u{ord(c):04X}" for c in key),
        "json doubly escaped": json.dumps(json.dumps(key)[1:-1])[1:-1].replace("/", "\\\\/"),
        "url": urllib.parse.quote(key, safe=""),
        "url lower hex": re.sub(
            "%..", lambda m: m.group(0).lower(), urllib.parse.quote(key, safe="")
        ),
        "url plus": urllib.parse.quote_plus(key),
        "url twice": urllib.parse.quote(urllib.parse.quote(key, safe=""), safe=""),
        "html": html.escape(key),
        "html numeric": "".join(f"&#{ord(c)};" for c in key),
        "html twice": html.escape(html.escape(key)),
        "html hex twice": "".join(f"&amp;#x{ord(c):x};" for c in key),
        "base64": base64.b64encode(raw).decode(),
        "base64 unpadded": base64.b64encode(raw).decode().rstrip("="),
        "base64 urlsafe": base64.urlsafe_b64encode(raw).decode(),
        "basic user:key": base64.b64encode(b"user:" + raw).decode(),
        "basic :key": base64.b64encode(b":" + raw).decode(),
        "basic ab:key": base64.b64encode(b"ab:" + raw).decode(),
        "base64 inside": base64.b64encode(b"token=" + raw + b"; x").decode(),
        "hex": raw.hex(),
        "HEX": raw.hex().upper(),
    }


def fragments(key: str) -> Iterator[str]:
    """What must not appear: every encoded form, and every 8-character piece of the key."""
    yield from encoded_forms(key).values()
    yield from (key[i : i + 8] for i in range(len(key) - 7))


def _decoded(text: str) -> Iterator[str]:
    """``text``, and ``text`` with escapes undone, so that a partly encoded key shows too."""
    yield text
    yield html.unescape(html.unescape(text))
    yield urllib.parse.unquote(urllib.parse.unquote(text))
    unescaped = re.sub(r"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    yield re.sub(r"\\+(.)", r"\1", unescaped)


def leaks(text: str, key: str = KEY) -> list[str]:
    return sorted({f for t in _decoded(text) for f in fragments(key) if f in t})


# -- Secret.redact on each form ------------------------------------------------------------


@pytest.mark.parametrize("form", sorted(encoded_forms(KEY)))
def test_each_encoded_form_is_redacted(form: str) -> None:
    text = f"error: key {encoded_forms(KEY)[form]} is not valid"
    redacted = Secret(KEY).redact(text)
    assert leaks(redacted) == []
    assert redacted.startswith("error: key ")
    assert redacted.endswith(" is not valid")


@pytest.mark.parametrize("key", ["pässwörd/€x", "a b+c&d<e>\"f'g", "sim-api-key"])
def test_keys_with_spaces_symbols_and_non_ascii(key: str) -> None:
    for form, encoded in encoded_forms(key).items():
        assert leaks(Secret(key).redact(f"[{encoded}]"), key) == [], form


printable_keys = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=8, max_size=48
)


@given(key=printable_keys, before=st.text(max_size=20), after=st.text(max_size=20))
def test_any_key_in_any_form_is_redacted(key: str, before: str, after: str) -> None:
    for form, encoded in encoded_forms(key).items():
        redacted = Secret(key).redact(f"{before} {encoded} {after}")
        assert encoded not in redacted, form
        assert key not in redacted, form


def test_a_base64_run_holding_the_key_is_replaced_whole() -> None:
    thrice = base64.b64encode(KEY.encode() * 3).decode()
    basic = base64.b64encode(b"u:" + KEY.encode()).decode()
    text = f"a {thrice} b Basic {basic}, c={thrice}&d"
    assert Secret(KEY).redact(text) == "a *** b Basic ***, c=***&d"


def test_redaction_comes_before_truncation() -> None:
    text = "x" * 100 + KEY + "y" * 100
    shortened = Secret(KEY).redact(text, limit=110)
    assert len(shortened) <= 110
    assert leaks(shortened) == []
    assert shortened.startswith("x" * 100 + "***")


def test_text_without_the_key_is_unchanged() -> None:
    text = 'GET /api/v1/x -> 400 {"message": "Zq8 is a fine word", "b64": "aGVsbG8gd29ybGQ="}'
    assert Secret(KEY).redact(text) == text
    assert Secret("").redact(text) == text


def test_a_huge_answer_is_redacted_quickly() -> None:
    text = ("\\" * 10_000 + "%2" * 10_000 + "&#0" * 10_000 + KEY[:10]) * 20
    started = time.perf_counter()
    assert Secret(KEY).redact(text) == text
    assert time.perf_counter() - started < 10  # linear: under a second; quadratic: hours


# -- refusing bad keys up front ------------------------------------------------------------


@pytest.mark.parametrize("value", ["abc\ndef", "abc\x00", "\tabc", "abc\x7f", "abc\u0085"])
def test_a_control_character_is_refused(value: str) -> None:
    with pytest.raises(ConfigError, match="control character") as caught:
        Secret(value)
    assert "abc" not in str(caught.value)


@pytest.mark.parametrize(
    ("value", "message"),
    [("", "empty"), ("   ", "empty"), ("ab cd-12345", "space"), ("abcé12345", "non-ASCII")],
)
def test_validate_api_key_refuses_what_no_key_is(value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        validate_api_key(value)
    assert "12345" not in str(caught.value)


def test_validate_api_key_gives_the_secret() -> None:
    assert validate_api_key(KEY).reveal() == KEY
    assert validate_api_key(Secret(KEY)) == Secret(KEY)


# -- safe_error and mask_url ----------------------------------------------------------------


@pytest.mark.parametrize(
    "message",
    [
        "post to https://hooks.slack.com/services/T0/B0/XYZ failed",
        'post to "https:\\/\\/hooks.slack.com\\/services\\/T0" failed',
        "post to https%3A%2F%2Fhooks.slack.com%2Fservices failed",
    ],
)
def test_safe_error_hides_urls_in_any_form(message: str) -> None:
    shown = safe_error(RuntimeError(message))
    assert shown == "RuntimeError: post to <url> failed" or "hooks" not in shown
    assert "hooks.slack.com" not in shown


def test_safe_error_redacts_the_given_secrets_before_shortening() -> None:
    shown = safe_error(RuntimeError("x" * 190 + KEY), Secret(KEY))
    assert len(shown) <= 230
    assert leaks(shown) == []


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("redis://bot:hunter2@cache/0", "redis://bot:***@cache/0"),
        ("rediss://cache/0?password=hunter2&db=1", "rediss://cache/0?password=***&db=1"),
        ("redis://:p%40ss#w@cache:6379", "redis://:***@cache:6379"),
        ("https://hunter2@example.com/x", "https://***@example.com/x"),
        ("https://me:hunter2@testsigma.local/api/v1", "https://me:***@testsigma.local/api/v1"),
        (
            "postgresql://u:hunter2@db/x?sslpassword=hunter2",
            "postgresql://u:***@db/x?sslpassword=***",
        ),
        ("https://x.test/hook?token=hunter2&sig=hunter2", "https://x.test/hook?token=***&sig=***"),
        ("https://app.testsigma.com", "https://app.testsigma.com"),
        ("http://host/path/user@example.com", "http://host/path/user@example.com"),
        ("not a url :hunter2@", "not a url :hunter2@"),
    ],
)
def test_mask_url(url: str, shown: str) -> None:
    assert mask_url(url) == shown


passwords = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="/@&;#"),
    min_size=6,
    max_size=30,
)


@given(
    password=passwords,
    scheme=st.sampled_from(["redis", "rediss", "https", "postgresql", "ftp"]),
    user=st.sampled_from(["", "bot"]),
    query=st.sampled_from(["", "?db=1", "?password={}&db=1", "?x=1&auth_token={}"]),
)
def test_mask_url_hides_any_password(password: str, scheme: str, user: str, query: str) -> None:
    url = f"{scheme}://{user}:{password}@cache.local:6379/0{query.format(password)}"
    assert mask_url(url) == f"{scheme}://{user}:***@cache.local:6379/0{query.format('***')}"


@pytest.mark.parametrize(
    "url", ["http://:hunter2@cache:6379/0", "redis://:hunter2@cache:port/0", "hunter2"]
)
def test_a_bad_shared_limit_url_is_quoted_without_its_password(url: str) -> None:
    with pytest.raises(ConfigError) as caught:
        connect(url if url != "hunter2" else "redis://cache/0?password=hunter2&db=x")
    assert "hunter2" not in str(caught.value)
    assert "--shared-limit" in str(caught.value)


# -- a server that echoes the key every way it can ------------------------------------------

ECHO = " ".join(encoded_forms(KEY).values())


def _echo_headers() -> dict[str, str]:
    return {
        "X-Echo-Key": KEY,
        "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{KEY}"',
        "X-Echo-Basic": encoded_forms(KEY)["basic user:key"],
    }


def _failed_run(run_id: int) -> dict[str, object]:
    return {
        "id": run_id,
        "executionId": 7,
        "result": "FAILURE",
        "status": "STATUS_COMPLETED",
        "totalCount": 2,
        "passedCount": 1,
        "failedCount": 1,
        "message": f"run by {KEY}",
    }


async def _read(request: web.Request) -> web.StreamResponse:
    run_id = int(request.match_info["id"])
    sent = request.headers.get("Authorization", "")
    headers = _echo_headers()
    if run_id == 101:  # a JSON refusal: the key in every form, then decoded by the client
        body = '{"message": "key ' + ECHO + '", "sent": "' + json.dumps(sent)[1:-1] + '"}'
        return web.Response(status=400, text=body, content_type="application/json", headers=headers)
    if run_id == 102:  # an HTML page (a proxy's), with entities
        page = f"<html><body><h1>Bad gateway</h1><p>{html.escape(ECHO)} {sent}</p></body></html>"
        return web.Response(status=404, text=page, content_type="text/html", headers=headers)
    if run_id == 103:  # not JSON, the key straddling where a message might be cut
        text = "x" * 110 + KEY + " " + ECHO
        return web.Response(status=200, text=text, content_type="text/plain", headers=headers)
    if run_id == 104:  # JSON of the wrong shape, quoting the key in the bad value
        body = '{"id": "' + KEY.replace("/", "\\/") + '", "result": "' + ECHO + '"}'
        return web.Response(status=200, text=body, content_type="application/json", headers=headers)
    if run_id == 105:  # a failed run whose rerun is then refused with the key in it
        return web.json_response(_failed_run(run_id), headers=headers)
    if run_id in (106, 107):  # a server error, then throttling: retried, then reported
        status, retry = (500, {}) if run_id == 106 else (503, {"Retry-After": "1"})
        body = '{"error": "' + ECHO + '", "message": "' + ECHO + '"}'
        return web.Response(status=status, text=body, headers={**headers, **retry})
    return web.Response(status=404, text=f'{{"message": "no run; {ECHO}"}}', headers=headers)


async def _trigger(request: web.Request) -> web.StreamResponse:
    body = '{"message": "cannot rerun for ' + ECHO + '"}'
    return web.Response(
        status=422, text=body, content_type="application/json", headers=_echo_headers()
    )


async def _sub_resource(request: web.Request) -> web.StreamResponse:
    body = '{"message": "' + ECHO + '"}'
    return web.Response(
        status=400, text=body, content_type="application/json", headers=_echo_headers()
    )


async def _unauthorized(request: web.Request) -> web.StreamResponse:
    body = '{"message": "key ' + ECHO + ' is revoked"}'
    return web.Response(
        status=401, text=body, content_type="application/json", headers=_echo_headers()
    )


@pytest.fixture
def posted() -> list[bytes]:
    """The bodies the webhook notifier posted to the echo server."""
    return []


@pytest.fixture
async def echo_server(posted: list[bytes]) -> AsyncIterator[str]:
    async def hook(request: web.Request) -> web.StreamResponse:
        posted.append(await request.read())
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook/{rest:.*}", hook)
    api = "/api/v1/execution_results"
    app.router.add_get(api + "/{id:\\d+}", _read)
    app.router.add_get(api + "/{id:\\d+}/{rest:.*}", _sub_resource)
    app.router.add_post(api, _trigger)
    app.router.add_get("/denied" + api + "/{id:\\d+}", _unauthorized)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def _sweep(
    base_url: str, tmp_path: Path, *args: str, webhook: str = ""
) -> tuple[int, dict[str, str]]:
    """Run the command; its exit code and everything it wrote, by channel (streams, files)."""
    env = {**os.environ, "TESTSIGMA_API_KEY": KEY, "TESTSIGMA_BASE_URL": base_url}
    if webhook:
        env["RERUNORCH_WEBHOOK_URL"] = webhook
        args = (*args, "--notify", "webhook")
    command = [sys.executable, "-m", "rerunorch", "sweep", "-vv", "--time-scale", "1000", *args]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, cwd=tmp_path, env=env, check=False)
    channels = {"stdout": done.stdout.decode(), "stderr (and -vv logs)": done.stderr.decode()}
    return done.returncode, {**channels, **_files(tmp_path)}


def _files(folder: Path) -> dict[str, str]:
    """Each file's bytes (the journal's too, with its WAL), by name."""
    paths = sorted(p for p in folder.rglob("*") if p.is_file())
    return {p.name: p.read_bytes().decode("utf-8", "replace") for p in paths}


def leaks_by_channel(channels: dict[str, str]) -> dict[str, list[str]]:
    return {name: found for name, text in channels.items() if (found := leaks(text))}


REPORTS = ("--report", "r.json", "--junit", "r.xml", "--markdown", "r.md", "--journal", "j.sqlite")


async def test_no_channel_shows_the_key(
    echo_server: str, posted: list[bytes], tmp_path: Path
) -> None:
    """Every target's answer echoes the key; none of it reaches any output."""
    hook = f"{echo_server}/hook/T0-hook-path-secret"
    ids = ("101", "102", "104", "105", "106", "107", "108")
    code, channels = await _sweep(echo_server, tmp_path, *ids, *REPORTS, webhook=hook)
    assert code == 3, channels
    assert len(posted) == 1, channels
    channels["the webhook notifier's body"] = posted[0].decode()
    assert "***" in channels["the webhook notifier's body"]  # the report, redacted
    assert [name for name, text in channels.items() if "hook-path-secret" in text] == []
    assert {"r.json", "r.xml", "r.md", "j.sqlite"} <= set(channels)
    assert all(t in channels["r.json"] for t in ids)
    assert "***" in channels["r.json"]  # the echoed text is there, redacted
    assert leaks_by_channel(channels) == {}


async def test_a_key_straddling_a_cut_is_not_shown(echo_server: str, tmp_path: Path) -> None:
    code, channels = await _sweep(echo_server, tmp_path, "103", *REPORTS)
    assert code == 3, channels
    assert leaks_by_channel(channels) == {}


async def test_a_refused_key_is_not_shown(echo_server: str, tmp_path: Path) -> None:
    code, channels = await _sweep(echo_server + "/denied", tmp_path, "101", *REPORTS)
    assert code in (2, 3), channels  # 2 today; 3 once auth lost mid-sweep is reported
    assert "refused" in channels["stderr (and -vv logs)"]
    assert leaks_by_channel(channels) == {}


async def test_a_password_in_the_base_url_is_not_stored(echo_server: str, tmp_path: Path) -> None:
    with_password = echo_server.replace("http://", "http://me:hunter2hunter2@")
    code, channels = await _sweep(with_password, tmp_path, "105", *REPORTS)
    assert code == 3, channels
    assert {"r.json", "j.sqlite"} <= set(channels)
    assert "me:***@127.0.0.1" in channels["r.json"]
    assert [name for name, text in channels.items() if "hunter2" in text] == []
    assert leaks_by_channel(channels) == {}


@pytest.mark.parametrize("key", ["tsk-\x07bell-12345", "tsk-12345\r\nX-Injected: 1", "tsk 12345"])
async def test_a_malformed_key_is_refused_up_front(
    echo_server: str, tmp_path: Path, key: str
) -> None:
    env = {**os.environ, "TESTSIGMA_API_KEY": key, "TESTSIGMA_BASE_URL": echo_server + "/denied"}
    command = [sys.executable, "-m", "rerunorch", "sweep", "101", "--journal", "j.sqlite"]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, cwd=tmp_path, env=env, check=False)
    stderr = done.stderr.decode()
    assert done.returncode == 2, stderr
    assert "error: the API key contains a" in stderr
    assert "12345" not in stderr
    assert "refused" not in stderr  # nothing was sent
