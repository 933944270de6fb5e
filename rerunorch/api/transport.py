"""How the client's requests reach a server: the transport seam (httpx's transports).

The :class:`~rerunorch.api.client.TestsigmaClient` builds every request and reads
every answer; a :class:`Transport` only moves one request's bytes and brings the
answer back. :class:`AiohttpTransport` is the default. :class:`MockTransport`
answers from a function, so that unit tests need neither sockets nor patching:

>>> def handler(request: Request) -> Response:
...     return Response(200, {"Content-Type": "application/json"}, b'{"id": 467}')
>>> client = TestsigmaClient("key", transport=MockTransport(handler))  # doctest: +SKIP

A transport never follows redirects (the client decides, so that the key never
goes to another origin), reads at most ``request.max_body`` bytes of an answer
(:attr:`Response.truncated` says when there was more), and raises only the two
:class:`TransportError` kinds below.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import aiohttp
import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from rerunorch.api import DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT

__all__ = [
    "AiohttpTransport",
    "ConnectError",
    "MockTransport",
    "ReadError",
    "Request",
    "Response",
    "Transport",
    "TransportError",
]


def _headers(value: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(value, (CIMultiDictProxy, CIMultiDict)):
        return value
    return CIMultiDictProxy(CIMultiDict(value))


@attrs.frozen
class Request:
    """One HTTP request, as the client hands it to a transport.

    Attributes:
        method: ``"GET"``, ``"POST"`` or ``"PUT"``.
        url: The absolute URL.
        headers: Every header to send (the key's among them, so they stay out of the repr).
        body: The request body, or None.
        timeout: Seconds for the whole exchange, the answer's last byte included.
        max_body: Bytes of the answer to read at most.
    """

    method: str
    url: yarl.URL
    headers: Mapping[str, str] = attrs.field(repr=False)
    body: bytes | None = None
    timeout: float = DEFAULT_REQUEST_TIMEOUT
    max_body: int = DEFAULT_MAX_RESPONSE_BYTES


@attrs.frozen
class Response:
    """One HTTP answer.

    Attributes:
        status: The HTTP status.
        headers: The answer's headers (looked up case-insensitively).
        body: The answer's bytes (at most the request's ``max_body``).
        truncated: The answer was longer than ``max_body``; ``body`` holds what was read.
    """

    status: int
    headers: Mapping[str, str] = attrs.field(factory=dict, converter=_headers)
    body: bytes = b""
    truncated: bool = False


class TransportError(Exception):
    """The exchange failed below HTTP; the message says how (it may quote the server)."""


class ConnectError(TransportError):
    """The request never left: no connection could be made. Safe to send again."""


class ReadError(TransportError):
    """The request may have left, but no whole answer came back (a timeout, a reset)."""


class Transport(Protocol):
    """What the client needs of a transport."""

    async def send(self, request: Request) -> Response:
        """Send ``request`` and return its answer (never following a redirect).

        Raises:
            ConnectError: Nothing was sent.
            ReadError: It may have been sent; no whole answer came.
        """
        ...

    async def aclose(self) -> None:
        """Release connections; the transport may be used again afterwards."""
        ...


class AiohttpTransport:
    """The default transport: one :class:`aiohttp.ClientSession`, opened on first use.

    Args:
        connect_timeout: Seconds for making a connection.
    """

    def __init__(self, *, connect_timeout: float = 10.0) -> None:
        self._connect_timeout = connect_timeout
        self._timeouts: dict[float, aiohttp.ClientTimeout] = {}
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"AiohttpTransport(connect_timeout={self._connect_timeout})"

    async def send(self, request: Request) -> Response:
        """See :meth:`Transport.send`."""
        session = self._session
        if session is None or session.closed:
            session = self._open()
        timeout = self._timeouts.get(request.timeout) or self._timeout(request.timeout)
        try:
            async with session.request(
                request.method,
                request.url,
                data=request.body,
                headers=request.headers,
                timeout=timeout,
                allow_redirects=False,
            ) as resp:
                body, truncated = await _read(resp, request.max_body)
                return Response(resp.status, resp.headers, body, truncated)
        except aiohttp.ConnectionTimeoutError as exc:
            raise ConnectError(f"timed out connecting ({exc})") from None
        except aiohttp.ClientConnectorError as exc:
            raise ConnectError(f"cannot connect: {exc.strerror}") from None
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise ReadError("no answer before the timeout") from None
        except (aiohttp.ClientError, OSError) as exc:
            raise ReadError(f"the connection broke: {type(exc).__name__}: {exc}") from None

    async def aclose(self) -> None:
        """See :meth:`Transport.aclose`."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                # Cookies would be state the client does not know of.
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    def _timeout(self, total: float) -> aiohttp.ClientTimeout:
        timeout = self._timeouts.get(total)
        if timeout is None:
            timeout = aiohttp.ClientTimeout(total=total, connect=self._connect_timeout)
            self._timeouts[total] = timeout
        return timeout


async def _read(resp: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """At most ``limit`` bytes of the answer, and whether there was more."""
    length = resp.content_length
    if length is not None and "Content-Encoding" not in resp.headers:
        if length > limit:
            return b"", True
        return await resp.read(), False
    # No length, or a compressed body that may inflate: count while reading.
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        if size + len(chunk) > limit:
            chunks.append(chunk[: limit - size])
            return b"".join(chunks), True
        size += len(chunk)
        chunks.append(chunk)
    return b"".join(chunks), False


Handler = Callable[[Request], "Response | Awaitable[Response]"]


class MockTransport:
    """A transport that answers every request with ``handler(request)``.

    The handler may be a plain or an ``async`` function; it may raise
    :class:`ConnectError` or :class:`ReadError` to act out a broken network. The
    answer is cut to the request's ``max_body`` as a real transport would. Every
    request is kept in :attr:`requests`, in order.

    >>> transport = MockTransport(lambda request: Response(404))
    """

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []

    def __repr__(self) -> str:
        return f"MockTransport({len(self.requests)} requests)"

    async def send(self, request: Request) -> Response:
        """See :meth:`Transport.send`."""
        self.requests.append(request)
        answer = self.handler(request)
        response = answer if isinstance(answer, Response) else await answer
        if len(response.body) > request.max_body:
            return attrs.evolve(response, body=response.body[: request.max_body], truncated=True)
        return response

    async def aclose(self) -> None:
        """Nothing to release."""
