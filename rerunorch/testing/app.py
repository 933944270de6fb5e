"""The aiohttp application: the gateway (rate limit, faults, auth) and the API's routes."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from rerunorch.clock import Clock

from .config import AmbiguousMode, SimulatorConfig
from .errors import ApiError
from .faults import FaultDice, TokenBucket, retry_after_header
from .index import RunIndex
from .render import junit_xml, run_json, test_case_results_json
from .state import PLAN_BUSY, SimState
from .stats import StatsRecorder
from .validation import BodyError, FreshRunRequest, parse_stop, parse_trigger

__all__ = ["API_PREFIX", "SimulatorApp"]

log = logging.getLogger(__name__)

API_PREFIX = "/api/v1"
INDEX_V2 = "/api/v2/test_runs"
INDEX_V1 = f"{API_PREFIX}/test_plan_results"  # the open-source server's, a Spring page
_TRIGGER_PATH = f"{API_PREFIX}/execution_results"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(error: ApiError) -> web.Response:
    return web.json_response(error.body(), status=error.status)


class SimulatorApp:
    """The simulated Testsigma server; :meth:`build` gives the aiohttp application."""

    def __init__(
        self,
        config: SimulatorConfig,
        clock: Clock,
        state: SimState,
        stats: StatsRecorder,
        targets: Callable[[], dict[str, list[int]]],
        index: RunIndex | None = None,
    ) -> None:
        self._config = config
        self._clock = clock
        self._state = state
        self._stats = stats
        self._targets = targets
        self._index = index
        self._dice = FaultDice(config)
        self._bucket = (
            TokenBucket(config.rate_limit, config.burst, clock.monotonic())
            if config.rate_limit
            else None
        )
        self._auth = f"Bearer {config.api_key}"
        self._authorized = 0  # requests let through with the key (see revoke_key_after)

    def build(self) -> web.Application:
        """The application with every route."""
        app = web.Application(middlewares=[self._gateway])
        api = API_PREFIX
        app.router.add_post(f"{api}/execution_results", self._trigger)
        app.router.add_put(f"{api}/execution_results", self._stop)
        app.router.add_get(f"{api}/execution_results/{{id:\\d+}}", self._read)
        app.router.add_put(f"{api}/execution_results/{{id:\\d+}}", self._stop)
        app.router.add_get(
            f"{api}/execution_results/{{id:\\d+}}/test_case_results", self._test_case_results
        )
        app.router.add_get(f"{api}/reports/junit/{{id:\\d+}}", self._junit)
        if self._index is not None:
            app.router.add_get(INDEX_V2, self._list_runs)
            app.router.add_get(INDEX_V1, self._list_runs)
        app.router.add_get("/_simulator/stats", self._stats_json)
        app.router.add_get("/_simulator/targets", self._targets_json)
        app.router.add_get("/_simulator/runs/{id:\\d+}/truth", self._truth)
        return app

    @web.middleware
    async def _gateway(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/api/"):  # v1, and v2's run index
            return await handler(request)
        resource = request.match_info.route.resource
        endpoint = resource.canonical if resource is not None else "(unknown)"
        self._stats.request(f"{request.method} {endpoint}")
        if request.method == "POST" and request.path == _TRIGGER_PATH:
            await self._note_attempt(request)
        if self._config.latency:
            await self._clock.sleep(self._config.latency)
        refusal = self._admit(request)
        if refusal is not None:
            return refusal
        try:
            response = await handler(request)
        except ApiError as error:
            response = _error(error)
        if self._bucket is not None and self._config.ratelimit_headers:
            response.headers.update(self._bucket.headers(self._clock.monotonic()))
        return response

    def _admit(self, request: web.Request) -> web.Response | None:
        """The gateway's answer if the request goes no further (429, 503 or 401), else None."""
        now = self._clock.monotonic()
        if self._bucket is not None:
            wait = self._bucket.take(now)
            if wait:
                return self._too_many(self._bucket, wait, now)
        self._stats.accepted(now)
        retry = self._dice.fault_503()
        if retry is not None:
            self._stats.faults_503 += 1
            headers = {}
            value = retry_after_header(self._config.retry_after, retry, self._clock.time())
            if retry and value is not None:
                headers["Retry-After"] = value
            return web.Response(status=503, text="503 Service Unavailable", headers=headers)
        auth = request.headers.get("Authorization")
        if auth != self._auth or self._revoked():
            self._stats.unauthorized += 1
            text = "No API Key Found In Request Headers" if not auth else "Incorrect API Key"
            # Like the real server: plain text under a JSON content type.
            return web.Response(status=401, text=text, content_type="application/json")
        self._authorized += 1
        return None

    def _revoked(self) -> bool:
        limit = self._config.revoke_key_after
        return limit is not None and self._authorized >= limit

    def _too_many(self, bucket: TokenBucket, wait: float, now: float) -> web.Response:
        self._stats.rate_limited += 1
        headers = bucket.headers(now) if self._config.ratelimit_headers else {}
        value = retry_after_header(self._config.retry_after, wait, self._clock.time())
        if value is not None:
            headers["Retry-After"] = value
        error = ApiError(429, "Too Many Requests: rate limit exceeded")
        return web.json_response(error.body(), status=429, headers=headers)

    async def _note_attempt(self, request: web.Request) -> None:
        """Count a rerun POST for a run that already has a child, whatever its answer."""
        try:
            body: object = json.loads(await request.read())  # aiohttp keeps the bytes
        except ValueError:
            return
        if not (isinstance(body, dict) and body.get("isReRun") is True):
            return
        run_id = body.get("executionResultId")
        if type(run_id) is int:
            run = self._state.get(run_id)
            if run is not None and self._state.child_of(run, self._clock.time()) is not None:
                self._stats.duplicate_rerun_attempts += 1

    async def _body(self, request: web.Request) -> object:
        try:
            return json.loads(await request.read())
        except ValueError:
            self._stats.invalid_bodies += 1
            raise ApiError(400, "request body: malformed JSON") from None

    def _run_id(self, request: web.Request) -> int:
        return int(request.match_info["id"])

    def _answer(self, run_id: int, now: float) -> web.Response:
        run = self._state.require(run_id)
        return web.json_response(run_json(self._state, self._config, run, now))

    async def _trigger(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        try:
            parsed = parse_trigger(body)
        except BodyError as error:
            self._stats.invalid_bodies += 1
            raise ApiError(400, str(error)) from None
        now = self._clock.time()
        if isinstance(parsed, FreshRunRequest):
            if self._dice.plan_busy():
                raise ApiError(500, PLAN_BUSY)
            run = self._state.fresh_run(parsed, now)
            return self._answer(run.id, now)
        parent, picks = self._state.rerun(parsed, now)
        if self._dice.plan_busy():
            raise ApiError(500, PLAN_BUSY)
        self._state.check_capacity(now)
        run = self._state.create_rerun(parent, picks, now)
        fault = self._dice.ambiguous()
        if fault is not None:
            self._stats.ambiguous_faults += 1
            log.debug("rerun %d created; losing its answer (%s)", run.id, fault)
            return self._lost(request, fault)
        return self._answer(run.id, now)

    def _lost(self, request: web.Request, fault: AmbiguousMode) -> web.Response:
        if fault == "reset":
            if request.transport is not None:
                request.transport.close()
            return web.Response(status=500)  # never reaches the client
        if fault == "502":
            return web.Response(status=502, text="502 Bad Gateway", content_type="text/html")
        return _error(ApiError(500, "Internal Server Error"))

    async def _stop(self, request: web.Request) -> web.StreamResponse:
        body = await self._body(request)
        path_id = self._run_id(request) if "id" in request.match_info else None
        try:
            parsed = parse_stop(body, path_id)
        except BodyError as error:
            self._stats.invalid_bodies += 1
            raise ApiError(400, str(error)) from None
        now = self._clock.time()
        self._state.stop(parsed.id, now)
        return self._answer(parsed.id, now)

    async def _read(self, request: web.Request) -> web.StreamResponse:
        return self._answer(self._run_id(request), self._clock.time())

    async def _test_case_results(self, request: web.Request) -> web.StreamResponse:
        run = self._state.require(self._run_id(request))
        return web.json_response(test_case_results_json(self._state, run, self._clock.time()))

    async def _junit(self, request: web.Request) -> web.StreamResponse:
        run = self._state.require(self._run_id(request))
        current = self._state.view(run, self._clock.time())
        if not current.completed:
            text = f"Report not available yet: execution result {run.id} is {current.status}"
            return web.Response(text=text, content_type="text/plain")
        return web.Response(text=junit_xml(run, current), content_type="application/xml")

    async def _list_runs(self, request: web.Request) -> web.StreamResponse:
        assert self._index is not None  # routed only with one
        query = request.query
        spring = request.path == INDEX_V1
        try:
            number = int(query.get("page", "0"))
            size = int(query.get("size" if spring else "pageSize", "20"))
        except ValueError:
            raise ApiError(400, "page and page size must be numbers") from None
        if number < 0 or size < 1:
            raise ApiError(400, "page must be at least 0 and the page size at least 1")
        now = self._clock.time()
        body = self._index.page(query.get("query", ""), number, size, now, spring=spring)
        return web.json_response(body)

    async def _stats_json(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._stats.snapshot().to_json())

    async def _targets_json(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._targets())

    async def _truth(self, request: web.Request) -> web.StreamResponse:
        try:
            run = self._state.require(self._run_id(request))
        except ApiError as error:
            return _error(error)
        truth: dict[str, Any] = {str(k): v for k, v in self._state.truth(run).items()}
        return web.json_response(truth)
