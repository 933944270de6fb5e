"""Limits shared through a real Redis: one rate, one pause, one cap across processes."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

import anyio
import pytest
from redis_server import RedisServer

from rerunorch import ConfigError, Sweep, SweepSettings
from rerunorch.clock import Clock, ScaledClock
from rerunorch.pacing.shared import RedisActiveReruns, RedisPacer, connect
from rerunorch.sharding import Shard
from rerunorch.testing import Simulator


def test_shards_split_targets_exactly_once() -> None:
    shards = [Shard(i, 4) for i in range(1, 5)]
    for target in range(1000, 1400):
        assert sum(target in shard for shard in shards) == 1
    sizes = [sum(t in s for t in range(1000, 1400)) for s in shards]
    assert min(sizes) > 60
    assert Shard.parse(" 2/4 ") == Shard(2, 4)
    for bad in ("0/4", "5/4", "2", "a/b"):
        with pytest.raises(ConfigError):
            Shard.parse(bad)


async def test_a_pause_seen_by_one_process_holds_them_all(redis_server: RedisServer) -> None:
    clock = ScaledClock(100)
    one = RedisPacer(connect(redis_server.url), "t1", rate=1000.0, burst=10, clock=clock)
    two = RedisPacer(connect(redis_server.url), "t1", rate=1000.0, burst=10, clock=clock)
    async with one.request():
        pass
    waited = one.rate_limited(5.0)
    assert waited >= 5.0
    started = clock.monotonic()
    await one.share_pause()  # what one's next request does first
    async with two.request():
        pass
    assert 4.0 < clock.monotonic() - started < 8.0, "the other pacer waited out the pause"
    async with one.request():
        pass
    assert clock.monotonic() - started < 8.0, "the pause was not served twice"


async def test_the_rerun_cap_is_shared_and_a_dead_holders_lease_expires(
    redis_server: RedisServer,
) -> None:
    clock = ScaledClock(100)

    class TellingClock(ScaledClock):
        """Sets ``refused`` when a slot-taker sleeps: the cap said no."""

        refused = anyio.Event()

        async def sleep(self, seconds: float) -> None:
            self.refused.set()
            await super().sleep(seconds)

    redis = connect(redis_server.url)
    one = RedisActiveReruns(redis, "t2", 2, lease=3.0, poll=0.5, clock=clock)
    waiting_clock = TellingClock(100)
    two = RedisActiveReruns(redis, "t2", 2, lease=3.0, poll=0.5, clock=waiting_clock)
    held, released = anyio.Event(), anyio.Event()
    order: list[str] = []

    async def hold_two() -> None:
        async with one.slot(), one.slot():
            order.append("one holds 2")
            held.set()
            await released.wait()
        order.append("one released")

    async def take() -> None:
        async with two.slot():
            order.append("two holds 1")

    async with anyio.create_task_group() as tg:
        tg.start_soon(hold_two)
        await held.wait()
        tg.start_soon(take)
        await waiting_clock.refused.wait()
        assert order == ["one holds 2"], "the cap of 2 is full"
        released.set()
    assert order == ["one holds 2", "one released", "two holds 1"]

    # A process killed while holding a slot: its lease is not renewed and expires.
    await redis.zadd("rerunorch-test:active", {"dead-process-0": 0})
    dead = RedisActiveReruns(redis, "rerunorch-test", 1, lease=3.0, poll=0.5, clock=clock)
    async with dead.slot():
        assert dead.active == 1


async def test_without_redis_it_paces_locally_and_warns(caplog: pytest.LogCaptureFixture) -> None:
    clock = ScaledClock(1000)
    pacer = RedisPacer(connect("redis://127.0.0.1:9/0"), "t3", rate=100.0, clock=clock)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            async with pacer.request():
                pass
    assert pacer.rate is not None
    assert 24.0 < pacer.rate <= 25.0, "a quarter of the shared rate"
    assert any("Redis is unreachable" in r.message for r in caplog.records)


def test_a_shared_limit_needs_a_rate() -> None:
    with pytest.raises(ConfigError, match="--rate"):
        Sweep([1], SweepSettings(shared_limit="redis://127.0.0.1:9/0"), api_key="k")


def test_the_redis_password_never_reaches_the_report_config() -> None:
    settings = SweepSettings(shared_limit="redis://user:s3cret@127.0.0.1:6379/0", rate=5)
    assert "s3cret" not in str(settings.to_json())


RATE, BURST, SCALE = 60.0, 6, 5.0


def shard_command(
    sim: Simulator, targets: Path, redis_url: str, index: int, tmp: Path
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rerunorch",
        "sweep",
        "--from-file",
        str(targets),
        "--base-url",
        sim.base_url,
        "--shard",
        f"{index}/4",
        "--shared-limit",
        redis_url,
        "--rate",
        str(RATE),
        "--burst",
        str(BURST),
        "--no-wait",
        "--concurrency",
        "8",
        "--journal",
        str(tmp / f"journal-{index}.sqlite"),
        "--time-scale",
        str(SCALE),
        "--report",
        str(tmp / f"report-{index}.json"),
    ]


@pytest.fixture
def simulator_clock() -> Clock:
    return ScaledClock(SCALE)


async def run_four(sim: Simulator, redis: RedisServer, tmp: Path, *, restart: bool) -> None:
    targets = tmp / "targets.txt"
    targets.write_text("\n".join(map(str, sim.target_ids)) + "\n")
    env = {**os.environ, "TESTSIGMA_API_KEY": sim.api_key}
    processes = [
        await anyio.open_process(shard_command(sim, targets, redis.url, i, tmp), env=env)
        for i in range(1, 5)
    ]
    try:
        if restart:
            stream = processes[0].stderr
            assert stream is not None
            seen = b""
            async for chunk in stream:  # a quarter of shard 1's targets triggered
                seen += chunk
                if seen.count(b"triggered rerun") >= 25:
                    break
            redis.stop()
            async for chunk in stream:  # its warning that Redis is gone
                seen += chunk
                if b"Redis is unreachable" in seen:
                    break
            redis.start()
        for process in processes:
            assert await process.wait() == 0
    finally:
        for process in processes:
            if process.returncode is None:
                process.kill()
            await process.aclose()


@pytest.mark.simulator(targets=400, passed_targets=0, rate_limit=RATE, rate_burst=BURST)
async def test_four_shards_share_one_rate_and_rerun_each_target_once(
    simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    await run_four(simulator, redis_server, tmp_path, restart=False)
    stats = simulator.stats
    assert stats.reruns_created == 400
    assert stats.duplicate_rerun_attempts == 0
    assert all(len(simulator.reruns_of(t)) == 1 for t in simulator.target_ids)
    assert stats.peak_requests_per_second <= RATE + BURST
    assert stats.rate_limited / stats.requests < 0.05


@pytest.mark.simulator(targets=400, passed_targets=0, rate_limit=RATE, rate_burst=BURST)
async def test_the_sweeps_survive_redis_stopping_and_restarting(
    simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    await run_four(simulator, redis_server, tmp_path, restart=True)
    stats = simulator.stats
    assert stats.reruns_created == 400
    assert stats.duplicate_rerun_attempts == 0
    assert all(len(simulator.reruns_of(t)) == 1 for t in simulator.target_ids)
