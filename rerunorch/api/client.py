"""An async client for the Testsigma execution-results API.

>>> async def main() -> None:                                  # doctest: +SKIP
...     async with TestsigmaClient("my-api-key") as client:
...         run = await client.get_run(467)
...         print(run.status, run.result, run.child_id)

Requests go out through a :class:`~rerunorch.api.transport.Transport` (aiohttp by
default; :class:`~rerunorch.api.transport.MockTransport` in unit tests). Every
request goes through the client's :class:`~rerunorch.pacing.local.Pacer`, which
keeps to the rate and in-flight limits and pauses every task on a 429/503.
Throttled answers and requests that never left (connection refused) are retried
here; reads are also retried after timeouts and 5xx. A POST whose fate is unknown
is *not* retried here: it raises :class:`~rerunorch.errors.OutcomeUnknown` or
:class:`~rerunorch.errors.ServerError` so that the caller can look before it
triggers again.

Answers are bounded: at most ``max_response_bytes`` are read, each request ends
within ``timeout`` (a server dripping bytes included), redirects are followed only
within the base URL's origin, and ids outside the API's 64-bit range are refused.
Any text quoted from an answer is decoded, then stripped of the key, then cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import random
import sys
import urllib.parse
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, TypeVar

import attrs
import yarl
from multidict import CIMultiDict, CIMultiDictProxy

from rerunorch._version import __version__
from rerunorch.api import DEFAULT_BASE_URL, DEFAULT_MAX_RESPONSE_BYTES, DEFAULT_REQUEST_TIMEOUT
from rerunorch.api.answers import error_for, looks_like_html, quote, server_message
from rerunorch.api.converter import describe_error, structure, unstructure
from rerunorch.api.models import (
    ExecutionResult,
    PlanRunRequest,
    RerunRequest,
    RunPage,
    RunSummary,
    StopRequest,
    TestCaseResults,
)
from rerunorch.api.transport import (
    AiohttpTransport,
    ConnectError,
    ReadError,
    Request,
    Response,
    Transport,
)
from rerunorch.clock import Clock, SystemClock
from rerunorch.errors import (
    ApiError,
    ConfigError,
    OutcomeUnknown,
    RateLimited,
    RequestNotSent,
    ServerError,
    UnexpectedResponse,
)
from rerunorch.pacing import RequestPacer
from rerunorch.pacing.headers import RateLimitInfo, parse_rate_limit_headers
from rerunorch.pacing.local import Pacer
from rerunorch.secret import Secret, mask_url, validate_api_key

__all__ = [
    "INDEX_PATH",
    "ClientCounters",
    "TestsigmaClient",
    "normalize_base_url",
    "require_asyncio",
]

log = logging.getLogger(__name__)

USER_AGENT = f"rerunorch/{__version__}"
_RESULTS = "/api/v1/execution_results"
INDEX_PATH = "/api/v2/test_runs"
"""The run index (the open-source server's is ``/api/v1/test_plan_results``)."""
_RATE_HEADERS = ("retry-after", "ratelimit", "ratelimit-limit", "x-ratelimit-limit")
_MAX_REDIRECTS = 5
_KEEPS_METHOD = frozenset({307, 308})
# An answer that opens like a JSON object or list is no HTML page (that opens with "<").
_JSON_OPENS = ("{", "[")
T = TypeVar("T")


class ClientCounters:
    """What a client has sent so far.

    Attributes:
        requests: HTTP requests sent (every attempt and redirect counts).
        rate_limited: Answers that were 429 or 503.
    """

    __slots__ = ("rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"ClientCounters(requests={self.requests}, rate_limited={self.rate_limited})"


def require_asyncio(what: str) -> None:
    """Raise unless it runs on an asyncio event loop (aiohttp runs on nothing else).

    Raises:
        ConfigError: No asyncio loop runs (e.g. under ``anyio.run(..., backend="trio")``).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        raise ConfigError(
            f"{what} needs asyncio (its HTTP client, aiohttp, runs only on asyncio), but this "
            f"runs under {_running_library()}: use asyncio.run(...) or anyio.run(...) with "
            "the default backend"
        ) from None


def _running_library() -> str:
    # sniffio is optional (anyio no longer needs it), but trio imports and sets it.
    sniffio = sys.modules.get("sniffio")
    try:
        return str(sniffio.current_async_library()) if sniffio else "another event loop"
    except Exception:  # sniffio's AsyncLibraryNotFoundError: no loop it knows of
        return "another event loop"


def normalize_base_url(base_url: str) -> yarl.URL:
    """``https://host[/prefix]`` from what a user typed (a trailing ``/api/v1`` is fine)."""
    url = yarl.URL(base_url.strip().rstrip("/"))
    if url.scheme not in ("http", "https") or not url.host:
        shown = mask_url(base_url)[:120]
        raise ConfigError(f"base URL must look like https://app.testsigma.com, not {shown!r}")
    path = url.path.rstrip("/")
    if path.endswith("/api/v1"):
        path = path[: -len("/api/v1")]
    return url.with_path(path or "/").with_query(None).with_fragment(None)


def _frozen(headers: dict[str, str]) -> Mapping[str, str]:
    # aiohttp takes a CIMultiDictProxy as it is; a dict it copies into one on every request.
    return CIMultiDictProxy(CIMultiDict(headers))


class _Headers:
    """The headers of each kind of request. The key is in them, so no repr shows them."""

    __slots__ = ("read", "write", "xml")

    def __init__(self, key: Secret) -> None:
        common = {"Authorization": f"Bearer {key.reveal()}", "User-Agent": USER_AGENT}
        self.read = _frozen({**common, "Accept": "application/json"})
        json_type = "application/json"
        self.write = _frozen({**common, "Accept": json_type, "Content-Type": json_type})
        self.xml = _frozen({**common, "Accept": "application/xml"})

    def __repr__(self) -> str:
        return "_Headers(***)"


class TestsigmaClient:
    """The Testsigma API, one method per endpoint.

    Whoever makes a client closes it (``async with client:`` or :meth:`close`); several
    sweeps and tasks may use one client at once, and a sweep closes only a client it
    made. It runs on asyncio only (aiohttp does): under another loop each request raises
    :class:`~rerunorch.errors.ConfigError` before anything is sent.

    Args:
        api_key: The API key (sent as a Bearer token; never logged or shown).
        base_url: ``https://app.testsigma.com`` or a self-hosted/simulated server.
        pacer: The limiter shared by every request; a default one (8 in flight,
            no rate cap, adaptive) is made when none is given.
        transport: Where requests go; an :class:`~rerunorch.api.transport.AiohttpTransport`
            (with ``connect_timeout``) when none is given.
        timeout: Seconds for a whole request, the answer's last byte included.
        connect_timeout: Seconds for connecting (default transport only).
        max_response_bytes: The longest answer read; a longer one is an error.
        max_attempts: Tries per request for throttled or unsent requests (and
            for reads after timeouts or 5xx).
        clock: The time source (tests and benchmarks use a scaled one).

    Raises:
        ConfigError: ``base_url`` is not an http(s) URL, the key is empty or malformed,
            or a limit is not positive.
    """

    __test__ = False

    def __init__(
        self,
        api_key: str | Secret,
        base_url: str = DEFAULT_BASE_URL,
        *,
        pacer: RequestPacer | None = None,
        transport: Transport | None = None,
        timeout: float = DEFAULT_REQUEST_TIMEOUT,
        connect_timeout: float = 10.0,
        max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES,
        max_attempts: int = 8,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._key = validate_api_key(api_key)
        if not timeout > 0 or not max_response_bytes > 0:
            raise ConfigError("the request timeout and the response size cap must be positive")
        self.base_url = normalize_base_url(base_url)
        self._prefix = str(self.base_url).rstrip("/")
        self._origin = self.base_url.origin()
        self.clock = clock or SystemClock()
        self.pacer: RequestPacer = pacer or Pacer(clock=self.clock)
        self.transport: Transport = transport or AiohttpTransport(connect_timeout=connect_timeout)
        self.counters = ClientCounters()
        self.timeout = timeout
        self.max_response_bytes = max_response_bytes
        self._headers = _Headers(self._key)
        self._max_attempts = max(1, max_attempts)
        self._rng = rng or random.Random()
        # Every request counts in each of these: the client's own counters, then those of
        # the `counting()` blocks the current task runs in (innermost last).
        self._counting: contextvars.ContextVar[tuple[ClientCounters, ...]] = contextvars.ContextVar(
            f"rerunorch_client_counting_{id(self)}", default=(self.counters,)
        )

    def __repr__(self) -> str:
        return f"TestsigmaClient(base_url={str(self.base_url)!r})"

    async def __aenter__(self) -> TestsigmaClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Close the transport's connections (the ``async with`` block does this).

        Close a shared client once every user is done: a request still out when it closes
        fails. The client may be used again afterwards (new connections are made).
        """
        await self.transport.aclose()

    @contextlib.contextmanager
    def counting(self) -> Iterator[ClientCounters]:
        """Count, apart, the requests sent from inside the block (tasks it starts included).

        :attr:`counters` counts every request of the client; each sweep sharing a client
        counts its own this way. Blocks may nest: a request counts in each.

        >>> with client.counting() as mine:                      # doctest: +SKIP
        ...     await client.get_run(467)
        >>> mine.requests                                         # doctest: +SKIP
        1
        """
        counters = ClientCounters()
        token = self._counting.set((*self._counting.get(), counters))
        try:
            yield counters
        finally:
            self._counting.reset(token)

    # -- endpoints ---------------------------------------------------------------------------

    async def trigger_rerun(self, request: RerunRequest) -> ExecutionResult:
        """Rerun a run; returns the new run (its ``id`` is the rerun's id).

        Raises:
            RerunAlreadyExists: The run already has a rerun.
            OutcomeUnknown, ServerError: It may or may not have been created.
        """
        data = await self._json("POST", _RESULTS, body=unstructure(request), idempotent=False)
        return self._model(data, ExecutionResult, "POST", _RESULTS)

    async def trigger_run(self, execution_id: int, build_no: str | None = None) -> ExecutionResult:
        """Start a fresh run of test plan ``execution_id``.

        Raises:
            PlanBusy: The plan still has an unfinished run.
        """
        body = unstructure(PlanRunRequest(execution_id=execution_id, build_no=build_no))
        data = await self._json("POST", _RESULTS, body=body, idempotent=False)
        return self._model(data, ExecutionResult, "POST", _RESULTS)

    async def get_run(self, result_id: int) -> ExecutionResult:
        """Read one run.

        Raises:
            NotFound: There is no run ``result_id``.
        """
        path = f"{_RESULTS}/{int(result_id)}"
        return self._model(await self._json("GET", path), ExecutionResult, "GET", path)

    async def get_test_case_results(self, result_id: int) -> TestCaseResults:
        """Read the test-case results (with iterations) of one run."""
        path = f"{_RESULTS}/{int(result_id)}/test_case_results"
        return self._model(await self._json("GET", path), TestCaseResults, "GET", path)

    async def stop_run(self, result_id: int) -> ExecutionResult:
        """Stop a run; it ends with result ``STOPPED``."""
        path = f"{_RESULTS}/{int(result_id)}"
        data = await self._json("PUT", path, body=unstructure(StopRequest()))
        return self._model(data, ExecutionResult, "PUT", path)

    async def junit_report(self, result_id: int) -> str | None:
        """The run's JUnit XML, or None while the server refuses (run not complete)."""
        path = f"/api/v1/reports/junit/{int(result_id)}"
        text = self._decode(await self._send("GET", path, xml=True), "GET", path)
        if looks_like_html(text, page_only=True):
            raise self._unexpected(server_message(text, self._key.redact), "GET", path)
        # Before completion the server answers 200 with a plain-text refusal instead of XML.
        return text if text.lstrip().startswith("<") else None

    async def list_runs(
        self, query: str, *, page: int = 0, page_size: int = 100, path: str = INDEX_PATH
    ) -> RunPage:
        """One page of the run index: ``GET {path}?query=...&page=N&pageSize=M``.

        The page size goes as ``pageSize`` (Testsigma) and ``size`` (a Spring page): each
        server ignores the other's name. The runs may come under ``content`` or ``data``;
        the page's end under ``pagination`` (``isLast``, ``totalElements``) or as
        Spring's ``last`` and ``totalElements``.

        Raises:
            UnexpectedResponse: The answer is not such a page.
        """
        params = {"query": query, "page": page, "pageSize": page_size, "size": page_size}
        target = f"{path}?{urllib.parse.urlencode(params)}"
        data = await self._json("GET", target)
        return self._run_page(data, page, target)

    def _run_page(self, data: Any, number: int, path: str) -> RunPage:
        if not isinstance(data, Mapping):
            raise self._unexpected("the answer is not a page of runs (not an object)", "GET", path)
        items = data.get("content", data.get("data"))
        if not isinstance(items, list):
            why = "the answer is not a page of runs (no list under content or data)"
            raise self._unexpected(why, "GET", path)
        pagination = data.get("pagination")
        about: Mapping[str, Any] = pagination if isinstance(pagination, Mapping) else data
        last = about.get("isLast", data.get("last"))
        total = about.get("totalElements", data.get("totalElements"))
        return RunPage(
            number=number,
            runs=tuple(self._model(item, RunSummary, "GET", path) for item in items),
            last=last is True,
            total=total if type(total) is int and total >= 0 else None,
        )

    # -- answers -----------------------------------------------------------------------------

    def _model(self, data: Any, cls: type[T], method: str, path: str) -> T:
        try:
            return structure(data, cls)
        except Exception as exc:  # cattrs raises several kinds; all mean "not the contract"
            why = self._quote(describe_error(exc), limit=300)
            message = f"the answer is not a {cls.__name__}: {why}"
            raise self._unexpected(message, method, path) from None

    async def _json(
        self, method: str, path: str, *, body: Any = None, idempotent: bool = True
    ) -> Any:
        raw = await self._send(method, path, body=body, idempotent=idempotent)
        text = self._decode(raw, method, path)
        if text[:1] not in _JSON_OPENS and looks_like_html(text):
            raise self._unexpected(server_message(text, self._key.redact), method, path)
        try:
            return json.loads(text)
        except (ValueError, RecursionError):
            quoted = self._quote(text, limit=120)
            raise self._unexpected(f"the answer is not JSON: {quoted!r}", method, path) from None

    def _decode(self, raw: bytes, method: str, path: str) -> str:
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            why = f"the answer is not UTF-8 text (byte {raw[exc.start]:#04x} at {exc.start})"
            raise self._unexpected(why, method, path) from None

    def _quote(self, text: str, *, limit: int = 200) -> str:
        """``text`` made safe to show: the key removed first, then cut to ``limit``."""
        return quote(self._key.redact(text), limit)

    @staticmethod
    def _unexpected(message: str, method: str, path: str, status: int = 200) -> ApiError:
        return UnexpectedResponse(message, method=method, path=path, status=status)

    # -- requests ----------------------------------------------------------------------------

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        xml: bool = False,
        idempotent: bool = True,
    ) -> bytes:
        """One logical request: paced, retried where that is safe, mapped to errors."""
        require_asyncio("the Testsigma client")
        request = self._request(method, path, body, xml)
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(request, path)
            except RateLimited as exc:
                # The pacer has paused everyone; just try again once the pause is over.
                if attempt >= self._max_attempts:
                    raise
                log.info("%s %s throttled (%s), attempt %d", method, path, exc.status, attempt)
            except RequestNotSent as exc:
                if attempt >= self._max_attempts:
                    raise
                await self._backoff(attempt, exc)
            except (OutcomeUnknown, ServerError) as exc:
                if not idempotent or attempt >= self._max_attempts:
                    raise
                await self._backoff(attempt, exc)

    def _request(self, method: str, path: str, body: Any, xml: bool) -> Request:
        if body is not None:
            data, headers = json.dumps(body).encode(), self._headers.write
        else:
            data, headers = None, self._headers.xml if xml else self._headers.read
        # Our paths are plain ASCII with integer ids: no quoting pass is needed.
        url = yarl.URL(self._prefix + path, encoded=True)
        return Request(method, url, headers, data, self.timeout, self.max_response_bytes)

    async def _backoff(self, attempt: int, exc: ApiError) -> None:
        # A plain (unshielded) sleep: a cancelled sweep leaves it at once.
        delay = self._rng.uniform(0, min(30.0, 0.25 * 2**attempt))
        log.info("%s; retrying in %.2fs (attempt %d)", exc, delay, attempt)
        await self.clock.sleep(delay)

    async def _attempt(self, request: Request, path: str) -> bytes:
        method = request.method
        async with self.pacer.request():
            response = await self._exchange(request, path)
        status = response.status
        info = self._rate_info(response.headers)
        log.debug("%s %s -> %d", method, path, status)
        if status < 300:
            self.pacer.succeeded(info)
            if response.truncated:
                raise self._unexpected(self._too_large(), method, path, status)
            return response.body
        retry_after = info.retry_after if info else None
        error = error_for(
            status,
            response.body.decode("utf-8", "replace"),
            method=method,
            path=path,
            redact=self._key.redact,
            retry_after=retry_after,
        )
        if isinstance(error, RateLimited):
            for counters in self._counting.get():
                counters.rate_limited += 1
            self.pacer.rate_limited(retry_after, cut=status == 429)
        raise error

    def _too_large(self) -> str:
        return (
            f"the answer is longer than {self.max_response_bytes} bytes and was not read "
            "(raise max_response_bytes if it is genuine)"
        )

    async def _exchange(self, request: Request, path: str) -> Response:
        """Send ``request``, following redirects that stay within the base URL's origin.

        Every request sent (each redirect too) counts in the client's counters and in
        those of each ``counting()`` block around it.
        """
        for _ in range(_MAX_REDIRECTS + 1):
            for counters in self._counting.get():
                counters.requests += 1
            try:
                response = await self.transport.send(request)
            except ConnectError as exc:
                host = f"{self.base_url.host}:{self.base_url.port}"
                why = f"{host} is unreachable: {self._quote(str(exc))}"
                raise RequestNotSent(why, method=request.method, path=path) from None
            except ReadError as exc:
                why = self._quote(str(exc))
                raise OutcomeUnknown(why, method=request.method, path=path) from None
            if not 300 <= response.status < 400 or "Location" not in response.headers:
                return response
            request = self._redirected(request, response, path)
        message = f"more than {_MAX_REDIRECTS} redirects"
        raise self._unexpected(message, request.method, path, response.status)

    def _redirected(self, request: Request, response: Response, path: str) -> Request:
        """The request to send next, or an error when the redirect must not be followed."""
        status, method = response.status, request.method
        try:
            target = request.url.join(yarl.URL(response.headers["Location"]))
            origin = target.origin()
        except ValueError:
            raise self._unexpected(
                f"a redirect ({status}) to nowhere", method, path, status
            ) from None
        if origin != self._origin:
            # Never send the key to another host, scheme or port.
            shown = self._quote(str(origin))
            why = f"redirected ({status}) to another origin, {shown}; not followed"
            raise self._unexpected(why, method, path, status)
        if method != "GET" and status not in _KEEPS_METHOD:
            why = f"redirected ({status}); a {method} is not re-sent as a GET"
            raise self._unexpected(why, method, path, status)
        return attrs.evolve(request, url=target)

    def _rate_info(self, headers: Mapping[str, str]) -> RateLimitInfo | None:
        for name in _RATE_HEADERS:  # a loop, not any(): this runs for every answer
            if name in headers:
                return parse_rate_limit_headers(headers, now=self.clock.time())
        return None
