"""What the sweep is measured against: code a user could write without rerunorch.

Both make the same requests as a trigger-only sweep with the ``failed`` strategy:
GET the run, then POST its rerun with the ``executionId`` the GET read.

- :func:`bare_loop`: the least a program can do (no retries, no parsing beyond
  ``json()``), the floor for the ``overhead`` scenario.
- :func:`naive_script`: what a user writes when told the server rate-limits:
  ``asyncio.gather`` + ``asyncio.Semaphore`` + a hand-written retry decorator with
  exponential backoff that honours ``Retry-After`` (tenacity-like), wrapped
  around GET+POST together.
"""

from __future__ import annotations

import asyncio
import functools
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp
import attrs

__all__ = ["LoopResult", "bare_loop", "naive_script"]

_RESULTS = "/api/v1/execution_results"
_RETRIED = frozenset({429, 500, 502, 503, 504})
T = TypeVar("T")


@attrs.frozen
class LoopResult:
    """How a contender did.

    Attributes:
        elapsed: Wall seconds from the first request to the last answer.
        cpu: CPU seconds this process spent meanwhile.
        requests: HTTP requests it sent.
        failures: Targets it gave up on.
    """

    elapsed: float
    cpu: float
    requests: int
    failures: int


def _session(api_key: str) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        headers={"Authorization": f"Bearer {api_key}", "Accept": "application/json"},
        connector=aiohttp.TCPConnector(limit=0),
    )


def _rerun_body(run: dict[str, Any], run_id: int) -> dict[str, Any]:
    return {
        "executionId": run["executionId"],
        "executionResultId": run_id,
        "isReRun": True,
        "reRunType": "ONLY_FAILED_TESTS",
    }


async def bare_loop(
    base_url: str, api_key: str, ids: Sequence[int], concurrency: int, *, limit: float
) -> LoopResult:
    """GET then POST for each id, at most ``concurrency`` requests in flight.

    Raises:
        TimeoutError: It took more than ``limit`` seconds.
    """
    in_flight = asyncio.Semaphore(concurrency)
    sent = 0

    async with _session(api_key) as session:

        async def one(run_id: int) -> None:
            nonlocal sent
            async with in_flight:
                sent += 1
                async with session.get(f"{base_url}{_RESULTS}/{run_id}") as resp:
                    run = await resp.json()
            async with in_flight:
                sent += 1
                body = _rerun_body(run, run_id)
                async with session.post(f"{base_url}{_RESULTS}", json=body) as resp:
                    await resp.read()

        start, cpu = time.perf_counter(), time.process_time()
        await asyncio.wait_for(asyncio.gather(*(one(i) for i in ids)), limit)
        return LoopResult(time.perf_counter() - start, time.process_time() - cpu, sent, 0)


def retry(
    attempts: int = 8, base: float = 0.5, cap: float = 30.0
) -> Callable[[Callable[..., Awaitable[T]]], Callable[..., Awaitable[T]]]:
    """Retry on 429/5xx: sleep ``Retry-After`` if the answer has one, else
    ``uniform(0, min(cap, base * 2**attempt))`` (exponential with full jitter)."""

    def decorate(fn: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> T:
            for attempt in range(1, attempts + 1):
                try:
                    return await fn(*args, **kwargs)
                except aiohttp.ClientResponseError as exc:
                    if exc.status not in _RETRIED or attempt == attempts:
                        raise
                    header = (exc.headers or {}).get("Retry-After", "")
                    if header.isdigit():
                        delay = float(header)
                    else:
                        delay = random.uniform(0, min(cap, base * 2**attempt))
                    await asyncio.sleep(delay)
            raise AssertionError("unreachable")

        return wrapper

    return decorate


async def naive_script(
    base_url: str, api_key: str, ids: Sequence[int], concurrency: int, *, limit: float
) -> LoopResult:
    """The script a user would write (see the module docstring).

    Raises:
        TimeoutError: It took more than ``limit`` seconds.
    """
    sent = 0

    async with _session(api_key) as session:

        @retry()
        async def rerun(run_id: int) -> Any:
            nonlocal sent
            sent += 1
            async with session.get(f"{base_url}{_RESULTS}/{run_id}") as resp:
                resp.raise_for_status()
                run = await resp.json()
            sent += 1
            body = _rerun_body(run, run_id)
            async with session.post(f"{base_url}{_RESULTS}", json=body) as resp:
                resp.raise_for_status()
                return await resp.json()

        semaphore = asyncio.Semaphore(concurrency)

        async def bounded(run_id: int) -> Any:
            async with semaphore:
                return await rerun(run_id)

        start, cpu = time.perf_counter(), time.process_time()
        results = await asyncio.wait_for(
            asyncio.gather(*(bounded(i) for i in ids), return_exceptions=True), limit
        )
        failures = sum(isinstance(r, BaseException) for r in results)
        return LoopResult(time.perf_counter() - start, time.process_time() - cpu, sent, failures)
