"""rerunorch.testing.MockClock: time moves only when told, or when every task waits."""

from __future__ import annotations

import anyio
import pytest

from rerunorch.clock import Clock
from rerunorch.testing import MockClock


def test_it_is_a_clock_that_starts_where_told() -> None:
    clock = MockClock(5.0, wall_origin=1000.0)
    assert isinstance(clock, Clock)
    assert (clock.monotonic(), clock.time(), clock.now) == (5.0, 1005.0, 5.0)


def test_time_does_not_go_back() -> None:
    with pytest.raises(ValueError, match="back"):
        MockClock().advance(-1)


async def test_sleepers_wake_only_when_advanced_past_their_deadline_in_order() -> None:
    clock = MockClock()
    woke: list[tuple[str, float]] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.monotonic()))

    async with anyio.create_task_group() as tg:
        tg.start_soon(nap, "late", 3.0)
        tg.start_soon(nap, "early", 1.0)
        await clock.settle()
        assert (clock.sleepers, clock.next_deadline, woke) == (2, 1.0, [])
        clock.advance(0.5)
        await clock.settle()
        assert woke == []
        clock.advance(2.5)
    assert woke == [("early", 3.0), ("late", 3.0)]
    assert clock.sleeps == [3.0, 1.0]


async def test_advance_to_next_jumps_to_the_earliest_deadline() -> None:
    clock = MockClock()
    assert not clock.advance_to_next()
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 7.0)
        await clock.settle()
        assert clock.advance_to_next()
    assert clock.now == 7.0


async def test_a_cancelled_sleeper_leaves_no_deadline_behind() -> None:
    clock = MockClock()
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(clock.sleep, 10.0)
            await clock.settle()
            scope.cancel()
    assert (clock.sleepers, clock.next_deadline) == (0, None)


async def test_a_zero_sleep_does_not_wait() -> None:
    clock = MockClock()
    with anyio.fail_after(5):  # real time: only a hang trips it
        await clock.sleep(0)
        await clock.sleep(-1)
    assert clock.now == 0.0


async def test_autojump_moves_to_each_deadline_when_all_wait() -> None:
    clock = MockClock(autojump=True)
    woke: list[float] = []

    async def nap(seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        for seconds in (30.0, 10.0, 20.0):
            tg.start_soon(nap, seconds)
    # Concurrent sleeps overlap: the last wakes at 30 s, not at their sum.
    assert woke == [10.0, 20.0, 30.0]


async def test_without_autojump_nothing_moves_by_itself() -> None:
    clock = MockClock()
    async with anyio.create_task_group() as tg:
        tg.start_soon(clock.sleep, 1.0)
        await clock.settle(500)
        assert (clock.now, clock.sleepers) == (0.0, 1)
        tg.cancel_scope.cancel()


async def test_autojump_waits_while_loopback_io_is_in_flight() -> None:
    """A reply that takes many loop turns over a real socket arrives before any jump."""
    clock = MockClock(autojump=True)
    arrived: list[float] = []

    async def echo(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            for _ in range(200):  # many small round trips, each some loop turns
                await stream.send(await stream.receive(1))

    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
        port = listener.extra(anyio.abc.SocketAttribute.local_port)
        async with anyio.create_task_group() as tg:
            tg.start_soon(listener.serve, echo)
            tg.start_soon(clock.sleep, 60.0)  # a sleeper autojump could jump to
            async with await anyio.connect_tcp("127.0.0.1", port) as client:
                for _ in range(200):
                    await client.send(b"x")
                    assert await client.receive(1) == b"x"
                    arrived.append(clock.monotonic())
            tg.cancel_scope.cancel()
    assert set(arrived) == {0.0}
