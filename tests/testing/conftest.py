"""Fixtures for the simulator's own tests."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from rerunorch.testing import MockClock, Simulator, SimulatorConfig

from .helpers import Api

Start = Callable[..., Awaitable[tuple[Simulator, Api]]]


@pytest.fixture
def clock() -> MockClock:
    # Moved by the tests; jumps over the simulator's latency sleeps while the client waits.
    return MockClock(autojump=True)


@pytest_asyncio.fixture
async def start(clock: MockClock) -> AsyncIterator[Start]:
    """``await start(**config_fields)`` -> a running simulator on ``clock`` and a client."""
    async with contextlib.AsyncExitStack() as stack:
        session = await stack.enter_async_context(aiohttp.ClientSession())

        async def _start(**fields: Any) -> tuple[Simulator, Api]:
            config = SimulatorConfig(**{"seed": 1, "targets": 10, **fields})
            sim = await stack.enter_async_context(Simulator(config, clock=clock))
            return sim, Api(session, sim)

        yield _start
