"""The start order across processes: the shared cap (a real redis-server) serves the
longest waiting rerun of any process first."""

from __future__ import annotations

import anyio
import anyio.lowlevel
from redis_server import RedisServer

from rerunorch.clock import ScaledClock
from rerunorch.pacing.shared import RedisActiveReruns, connect


async def test_the_longest_waiting_rerun_of_any_process_takes_the_shared_slot(
    redis_server: RedisServer,
) -> None:
    clock = ScaledClock(20)  # a poll every 25 ms
    redis = connect(redis_server.url)
    one = RedisActiveReruns(redis, "order", 1, poll=0.5, clock=clock)
    two = RedisActiveReruns(redis, "order", 1, poll=0.5, clock=clock)  # another process
    order: list[str] = []

    async def rerun(cap: RedisActiveReruns, name: str, priority: float) -> None:
        async with cap.slot(priority):
            order.append(name)
            await anyio.lowlevel.checkpoint()

    async def asking() -> list[float]:
        """The priorities the processes ask Redis with now (one entry a process)."""
        entries = await redis.zrange("order:asking", 0, -1, withscores=True)
        return sorted(-score for _, score in entries)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg, one.slot():
            tg.start_soon(rerun, one, "one: 10 min", 600.0)
            while await asking() != [600.0]:
                pass  # one's only waiter asks
            tg.start_soon(rerun, two, "two: 2 h", 7200.0)
            tg.start_soon(rerun, one, "one: 1 h", 3600.0)
            # one's longer newcomer takes over its asking; two asks for its own.
            while await asking() != [3600.0, 7200.0]:
                pass
            assert order == []
    assert order == ["two: 2 h", "one: 1 h", "one: 10 min"]
    assert await asking() == []  # nobody left asking
    assert await redis.zcard("order:active") == 0
    await redis.aclose()


async def test_a_killed_process_stops_asking_when_its_entry_lapses(
    redis_server: RedisServer,
) -> None:
    clock = ScaledClock(20)
    redis = connect(redis_server.url)
    # A process killed while asking with a long rerun: its entry is never asked for again.
    await redis.zadd("lapse:asking", {"dead-process": -7200.0})
    await redis.zadd("lapse:asking-leases", {"dead-process": 0})
    alive = RedisActiveReruns(redis, "lapse", 1, poll=0.5, clock=clock)
    with anyio.fail_after(20):
        async with alive.slot(60.0):
            assert alive.active == 1
    await redis.aclose()
