"""A small hostile HTTP server on 127.0.0.1, for tests of what a client survives.

Each route answers with a :data:`Behaviour`; the ready-made ones below act out a
server that misbehaves: a huge or endless body, a slow drip, a hang, a redirect
to another origin, bytes that are not UTF-8, ids no 64-bit field can hold, the
API key echoed back in every form, a 401 after N requests, an endless chain of
reruns. Routes not given answer 404 (as the API does for an unknown run).

>>> async def example() -> None:                                  # doctest: +SKIP
...     async with HostileServer({RUN_PATH.format(1): huge_body(100 << 20)}) as server:
...         async with TestsigmaClient("key", server.base_url) as client:
...             await client.get_run(1)  # raises UnexpectedResponse("... longer than ...")

The server records every request (method, path, headers) and how many body
bytes each behaviour managed to send, so that a test can show that the client
stopped reading, or never went to the other origin at all. Nothing here sleeps
to wait: the slow behaviours sleep only to be slow, and end when the client
goes away or the server stops.
"""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from types import TracebackType
from typing import Any

import anyio
import attrs
from aiohttp import web

__all__ = [
    "RUN_PATH",
    "Behaviour",
    "HostileServer",
    "Seen",
    "answer",
    "drip",
    "echo_key",
    "endless_chain",
    "gzip_bomb",
    "hang",
    "huge_body",
    "huge_id",
    "key_forms",
    "non_utf8",
    "redirect",
    "unauthorized_after",
]

RUN_PATH = "/api/v1/execution_results/{}"

Behaviour = Callable[[web.Request], Awaitable[web.StreamResponse]]


@attrs.frozen
class Seen:
    """One request the server received."""

    method: str
    path: str
    headers: Mapping[str, str] = attrs.field(repr=False)


class HostileServer:
    """An aiohttp server on 127.0.0.1 (a free port) answering ``routes``.

    Args:
        routes: ``{path: behaviour}``; any method reaches the behaviour.
        fallback: The behaviour for every other path (default: a JSON 404).

    Attributes:
        requests: Every request received, in order.
        sent: Body bytes written so far by the streaming behaviours.
        streaming: Set once a streaming behaviour has written its first bytes.
    """

    def __init__(
        self, routes: Mapping[str, Behaviour] | None = None, *, fallback: Behaviour | None = None
    ) -> None:
        self.routes = dict(routes or {})
        self.fallback = fallback or answer({"error": "Execution Result Not Found"}, status=404)
        self.requests: list[Seen] = []
        self.sent = 0
        self.streaming = anyio.Event()
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> HostileServer:
        app = web.Application()
        app[_SERVER] = self
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.method, request.path, dict(request.headers)))
        behaviour = self.routes.get(request.path, self.fallback)
        return await behaviour(request)


_SERVER = web.AppKey("server", HostileServer)


def _server(request: web.Request) -> HostileServer:
    return request.app[_SERVER]


def answer(data: Any, *, status: int = 200, headers: Mapping[str, str] | None = None) -> Behaviour:
    """A plain JSON answer (``data`` as bytes or str is sent as it is)."""
    body = data if isinstance(data, bytes) else data.encode() if isinstance(data, str) else None
    raw = body if body is not None else json.dumps(data).encode()

    async def behaviour(request: web.Request) -> web.StreamResponse:
        return web.Response(
            status=status, body=raw, content_type="application/json", headers=headers
        )

    return behaviour


async def _stream(
    request: web.Request, chunks: Callable[[], Any], *, length: int | None, pause: float
) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    if length is not None:
        response.content_length = length
    await response.prepare(request)
    server = _server(request)
    try:
        for chunk in chunks():
            await response.write(chunk)
            server.sent += len(chunk)
            server.streaming.set()
            if pause:
                await anyio.sleep(pause)
    except (ConnectionError, RuntimeError):
        pass  # the client went away: that is what the test hopes for
    return response


def huge_body(size: int, *, declare_length: bool = False, chunk: int = 64 * 1024) -> Behaviour:
    """A 200 whose body is ``size`` bytes (a JSON string), chunked unless ``declare_length``."""

    def chunks() -> Any:
        yield b'{"id": 1, "message": "'
        left = size - 24
        while left > 0:
            yield b"x" * min(chunk, left)
            left -= chunk
        yield b'"}'

    async def behaviour(request: web.Request) -> web.StreamResponse:
        return await _stream(request, chunks, length=size if declare_length else None, pause=0)

    return behaviour


def gzip_bomb(size: int) -> Behaviour:
    """A small gzip body that inflates to ``size`` bytes."""
    packed = gzip.compress(b'{"id": 1, "message": "' + b"0" * size + b'"}')

    async def behaviour(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=packed,
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"},
        )

    return behaviour


def drip(interval: float, *, chunk: bytes = b" ") -> Behaviour:
    """Headers at once, then ``chunk`` every ``interval`` seconds, for ever."""

    def chunks() -> Any:
        yield b'{"id": 1'
        while True:
            yield chunk

    async def behaviour(request: web.Request) -> web.StreamResponse:
        return await _stream(request, chunks, length=None, pause=interval)

    return behaviour


def hang() -> Behaviour:
    """Take the request and never answer."""

    async def behaviour(request: web.Request) -> web.StreamResponse:
        await anyio.Event().wait()
        raise AssertionError("unreachable")

    return behaviour


def redirect(location: str | Callable[[], str], *, status: int = 302) -> Behaviour:
    """A redirect to ``location`` (or to what the callable says at request time)."""

    async def behaviour(request: web.Request) -> web.StreamResponse:
        target = location() if callable(location) else location
        return web.Response(status=status, headers={"Location": target})

    return behaviour


def non_utf8() -> Behaviour:
    """A 200 whose body is JSON-shaped Latin-1, not UTF-8."""
    return answer('{"id": 1, "message": "caf\u00e9"}'.encode("latin-1"))


def huge_id(field: str = "id", value: int = 2**63) -> Behaviour:
    """A run whose ``field`` holds an integer beyond 64 bits."""
    data = {"id": 1, "executionId": 336, "status": "STATUS_COMPLETED", "result": "FAILURE"}
    return answer({**data, field: value})


def key_forms(key: str) -> dict[str, str]:
    """The forms in which a server may echo ``key``: plain, JSON-escaped, URL-encoded, base64."""
    return {
        "plain": key,
        "json-escaped": json.dumps(key)[1:-1].replace("/", "\\/"),
        "url-encoded": urllib.parse.quote(key, safe=""),
        "base64": base64.b64encode(key.encode()).decode(),
    }


def echo_key(form: str, *, status: int = 400, as_json: bool = True) -> Behaviour:
    """An error answer quoting the request's own Bearer key in ``form`` (see :func:`key_forms`).

    ``as_json`` wraps it in the API's error body; else the text is sent as it is.
    """

    async def behaviour(request: web.Request) -> web.StreamResponse:
        key = request.headers.get("Authorization", "").removeprefix("Bearer ")
        shown = key_forms(key)[form]
        if as_json:
            # Written by hand: json.dumps would escape the backslashes of the form again.
            body = '{"error": "invalid token ' + shown + '", "code": null}'
        else:
            body = f"invalid token {shown}"
        return web.Response(status=status, text=body, content_type="application/json")

    return behaviour


def unauthorized_after(count: int, then: Behaviour) -> Behaviour:
    """``then`` for the first ``count`` requests of this route, a 401 afterwards."""
    seen = 0

    async def behaviour(request: web.Request) -> web.StreamResponse:
        nonlocal seen
        seen += 1
        if seen > count:
            return web.Response(
                status=401, text="Incorrect API Key", content_type="application/json"
            )
        return await then(request)

    return behaviour


def endless_chain(start: int = 1) -> Behaviour:
    """Every run ``n`` (at ``RUN_PATH``) has a child ``n + 1``: a chain without end.

    Use it as the server's ``fallback``.
    """

    async def behaviour(request: web.Request) -> web.StreamResponse:
        tail = request.path.rsplit("/", 1)[-1]
        if not tail.isdigit():
            return web.json_response({"error": "Not Found"}, status=404)
        run = int(tail)
        data = {
            "id": run,
            "executionId": 336,
            "status": "STATUS_COMPLETED",
            "result": "FAILURE",
            "childResult": run + 1,
            "reRunParentId": run - 1 if run > start else None,
        }
        return web.json_response(data)

    return behaviour
