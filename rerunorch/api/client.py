"""An async client for the Testsigma execution-results API.

>>> async def main() -> None:                                  # doctest: +SKIP
...     async with TestsigmaClient("my-api-key") as client:
...         run = await client.get_run(467)
...         print(run.status, run.result, run.child_id)

One :class:`aiohttp.ClientSession` per client. Every request goes through the
client's :class:`~rerunorch.pacing.local.Pacer`, which keeps to the rate and in-flight
limits and pauses every task on a 429/503. Throttled answers and requests that
never left (connection refused) are retried here; reads are also retried after
timeouts and 5xx. A POST whose fate is unknown is *not* retried here: it raises
:class:`~rerunorch.errors.OutcomeUnknown` or :class:`~rerunorch.errors.ServerError`
so that the caller can look before it triggers again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Mapping
from types import TracebackType
from typing import Any, TypeVar

import aiohttp
import yarl

from rerunorch._version import __version__
from rerunorch.api import DEFAULT_BASE_URL
from rerunorch.api.answers import error_for, looks_like_html, server_message
from rerunorch.api.converter import describe_error, structure, unstructure
from rerunorch.api.models import (
    ExecutionResult,
    PlanRunRequest,
    RerunRequest,
    StopRequest,
    TestCaseResults,
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

__all__ = ["ClientCounters", "TestsigmaClient", "normalize_base_url"]

log = logging.getLogger(__name__)

USER_AGENT = f"rerunorch/{__version__}"
_RESULTS = "/api/v1/execution_results"
_JSON_BODY = {"Content-Type": "application/json"}
_RATE_HEADERS = ("retry-after", "ratelimit", "ratelimit-limit", "x-ratelimit-limit")
T = TypeVar("T")


class ClientCounters:
    """What a client has sent so far.

    Attributes:
        requests: HTTP requests sent (every attempt counts).
        rate_limited: Answers that were 429 or 503.
    """

    __slots__ = ("rate_limited", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.rate_limited = 0

    def __repr__(self) -> str:
        return f"ClientCounters(requests={self.requests}, rate_limited={self.rate_limited})"


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


class TestsigmaClient:
    """The Testsigma API, one method per endpoint.

    Args:
        api_key: The API key (sent as a Bearer token; never logged or shown).
        base_url: ``https://app.testsigma.com`` or a self-hosted/simulated server.
        pacer: The limiter shared by every request; a default one (8 in flight,
            no rate cap, adaptive) is made when none is given.
        timeout: Seconds for a whole request; ``connect_timeout`` for connecting.
        max_attempts: Tries per request for throttled or unsent requests (and
            for reads after timeouts or 5xx).
        clock: The time source (tests and benchmarks use a scaled one).

    Raises:
        ConfigError: ``base_url`` is not an http(s) URL, or the key is empty or malformed.
    """

    __test__ = False

    def __init__(
        self,
        api_key: str | Secret,
        base_url: str = DEFAULT_BASE_URL,
        *,
        pacer: RequestPacer | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        max_attempts: int = 8,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._key = validate_api_key(api_key)
        self.base_url = normalize_base_url(base_url)
        self._prefix = str(self.base_url).rstrip("/")
        self.clock = clock or SystemClock()
        self.pacer: RequestPacer = pacer or Pacer(clock=self.clock)
        self.counters = ClientCounters()
        self._timeout = aiohttp.ClientTimeout(total=timeout, connect=connect_timeout)
        self._max_attempts = max(1, max_attempts)
        self._rng = rng or random.Random()
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"TestsigmaClient(base_url={str(self.base_url)!r})"

    async def __aenter__(self) -> TestsigmaClient:
        self._open()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            # No ``base_url=``: aiohttp would refuse a self-hosted prefix without a
            # trailing "/" and drop it when joining our absolute paths; see _url().
            self._session = aiohttp.ClientSession(
                timeout=self._timeout,
                connector=aiohttp.TCPConnector(limit=0, limit_per_host=0),
                headers={
                    "Authorization": f"Bearer {self._key.reveal()}",
                    "User-Agent": USER_AGENT,
                    "Accept": "application/json",
                },
            )
        return self._session

    async def close(self) -> None:
        """Close the HTTP session (the ``async with`` block does this)."""
        if self._session is not None:
            await self._session.close()
            self._session = None

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
        text = (await self._send("GET", path, accept="application/xml")).decode("utf-8", "replace")
        if looks_like_html(text, page_only=True):
            raise UnexpectedResponse(
                server_message(self._key.redact(text).encode()),
                method="GET",
                path=path,
                status=200,
            )
        # Before completion the server answers 200 with a plain-text refusal instead of XML.
        return text if text.lstrip().startswith("<") else None

    # -- plumbing ----------------------------------------------------------------------------

    def _model(self, data: Any, cls: type[T], method: str, path: str) -> T:
        try:
            return structure(data, cls)
        except Exception as exc:  # cattrs raises several kinds; all mean "not the contract"
            # The description may quote the answer, and the answer may echo the key.
            raise UnexpectedResponse(
                f"the answer is not a {cls.__name__}: {self._key.redact(describe_error(exc))}",
                method=method,
                path=path,
                status=200,
            ) from None

    async def _json(
        self, method: str, path: str, *, body: Any = None, idempotent: bool = True
    ) -> Any:
        raw = await self._send(method, path, body=body, idempotent=idempotent)
        text = raw.decode("utf-8", errors="replace")
        if looks_like_html(text):
            raise UnexpectedResponse(
                server_message(self._key.redact(text).encode()),
                method=method,
                path=path,
                status=200,
            )
        try:
            return json.loads(text)
        except ValueError:
            raise UnexpectedResponse(
                f"the answer is not JSON: {self._key.redact(text[:120])!r}",
                method=method,
                path=path,
                status=200,
            ) from None

    async def _send(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        accept: str | None = None,
        idempotent: bool = True,
    ) -> bytes:
        """One logical request: paced, retried where that is safe, mapped to errors."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await self._attempt(method, path, body, accept)
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

    async def _backoff(self, attempt: int, exc: ApiError) -> None:
        delay = self._rng.uniform(0, min(30.0, 0.25 * 2**attempt))
        log.info("%s; retrying in %.2fs (attempt %d)", exc, delay, attempt)
        await self.clock.sleep(delay)

    async def _attempt(self, method: str, path: str, body: Any, accept: str | None) -> bytes:
        session = self._open()
        data = json.dumps(body).encode() if body is not None else None
        headers = _JSON_BODY if data is not None else {"Accept": accept} if accept else None
        async with self.pacer.request():
            self.counters.requests += 1
            try:
                async with session.request(
                    method, self._url(path), data=data, headers=headers
                ) as resp:
                    payload = await resp.read()
                    status = resp.status
                    info = self._rate_info(resp.headers)
            except aiohttp.ConnectionTimeoutError as exc:
                raise self._not_sent(method, path, f"timed out connecting ({exc})") from None
            except aiohttp.ClientConnectorError as exc:
                raise self._not_sent(method, path, f"cannot connect: {exc.strerror}") from None
            except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
                raise OutcomeUnknown(
                    "no answer before the timeout", method=method, path=path
                ) from None
            except (aiohttp.ClientError, OSError) as exc:
                raise OutcomeUnknown(
                    f"the connection broke: {type(exc).__name__}: {self._key.redact(str(exc))}",
                    method=method,
                    path=path,
                ) from None
        log.debug("%s %s -> %d", method, path, status)
        if status < 300:
            self.pacer.succeeded(info)
            return payload
        retry_after = info.retry_after if info else None
        error = error_for(
            status,
            self._key.redact(payload.decode("utf-8", "replace")).encode(),
            method=method,
            path=path,
            retry_after=retry_after,
        )
        if isinstance(error, RateLimited):
            self.counters.rate_limited += 1
            self.pacer.rate_limited(retry_after, cut=status == 429)
        raise error

    def _url(self, path: str) -> yarl.URL:
        # Our paths are plain ASCII with integer ids: no quoting pass is needed.
        return yarl.URL(self._prefix + path, encoded=True)

    def _not_sent(self, method: str, path: str, why: str) -> RequestNotSent:
        host = f"{self.base_url.host}:{self.base_url.port}"
        return RequestNotSent(f"{host} is unreachable: {why}", method=method, path=path)

    def _rate_info(self, headers: Mapping[str, str]) -> RateLimitInfo | None:
        if not any(name in headers for name in _RATE_HEADERS):
            return None
        return parse_rate_limit_headers(headers, now=self.clock.time())
