"""The pacer: rate, burst, in-flight cap, pauses, backoff, adaptation; and ActiveReruns.

Everything runs on the fake clock (rerunorch.testing.MockClock): no test sleeps.
"""

from __future__ import annotations

import math
import random

import anyio
import pytest

from rerunorch.pacing.adaptive import CUT, GROWTH
from rerunorch.pacing.headers import RateLimitInfo
from rerunorch.pacing.local import ActiveReruns, Pacer
from rerunorch.testing import MockClock

MARGIN = 0.98  # a told rate is kept 2% under


class HighRandom(random.Random):
    """Jitter always at its upper bound."""

    def uniform(self, a: float, b: float) -> float:
        return b


class LowRandom(random.Random):
    """Jitter always at its lower bound."""

    def uniform(self, a: float, b: float) -> float:
        return a


def send_times(clock: MockClock, pacer: Pacer, n: int) -> list[float]:
    """When each of ``n`` concurrent requests got through."""
    times: list[float] = []

    async def one() -> None:
        async with pacer.request():
            times.append(clock.monotonic())

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)

    anyio.run(main)
    return times


# --- rate and burst ---------------------------------------------------------------------


def test_tokens_are_spaced_by_the_rate() -> None:
    clock = MockClock(autojump=True)
    times = send_times(clock, Pacer(rate=10.0, clock=clock), 5)
    interval = 1 / (10.0 * MARGIN)
    assert times == pytest.approx([i * interval for i in range(5)])


def test_burst_goes_at_once_then_the_rate() -> None:
    clock = MockClock(autojump=True)
    times = send_times(clock, Pacer(rate=10.0, burst=3, clock=clock), 6)
    interval = 1 / (10.0 * MARGIN)
    assert times == pytest.approx([0, 0, 0, interval, 2 * interval, 3 * interval])


def test_rate_is_exact_over_many_requests() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(rate=20.0, burst=5, max_in_flight=4, clock=clock)
    times = send_times(clock, pacer, 400)
    assert max(times) == pytest.approx((400 - 5) / (20.0 * MARGIN))
    assert pacer.stats.requests == 400


def test_no_rate_means_no_waiting() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(clock=clock, max_in_flight=100)
    assert send_times(clock, pacer, 100) == [0.0] * 100
    assert pacer.rate is None


def test_refills_after_a_quiet_spell() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(rate=1.0, burst=2, clock=clock)
    times: list[float] = []

    async def main() -> None:
        for _ in range(3):
            async with pacer.request():
                times.append(clock.monotonic())
        await clock.sleep(100)
        for _ in range(2):
            async with pacer.request():
                times.append(clock.monotonic())

    anyio.run(main)
    assert times[:3] == pytest.approx([0, 0, 1 / MARGIN])
    assert times[3:] == pytest.approx([times[2] + 100] * 2)


# --- in-flight cap ----------------------------------------------------------------------


async def test_in_flight_cap_holds_the_next_request_until_one_returns() -> None:
    pacer = Pacer(max_in_flight=2)
    release = [anyio.Event() for _ in range(3)]
    entered = [anyio.Event() for _ in range(3)]
    inside = 0
    most = 0

    async def one(i: int) -> None:
        nonlocal inside, most
        async with pacer.request():
            inside += 1
            most = max(most, inside)
            entered[i].set()
            await release[i].wait()
            inside -= 1

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(one, i)
        await entered[0].wait()
        await entered[1].wait()
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert not entered[2].is_set()
        release[0].set()
        await entered[2].wait()
        release[1].set()
        release[2].set()
    assert most == 2


# --- pauses -----------------------------------------------------------------------------


async def test_a_pause_blocks_every_task_until_the_clock_passes_it() -> None:
    clock = MockClock()
    pacer = Pacer(clock=clock, rng=LowRandom())
    assert pacer.rate_limited(5.0) == 5.0
    entered: list[float] = []

    async def one() -> None:
        async with pacer.request():
            entered.append(clock.monotonic())

    async with anyio.create_task_group() as tg:
        for _ in range(3):
            tg.start_soon(one)
        await clock.settle()
        assert entered == []
        clock.advance(4.9)
        await clock.settle()
        assert entered == []
        clock.advance(0.2)
        await clock.settle()
        assert entered == pytest.approx([5.1, 5.1, 5.1])
    assert pacer.stats.pauses == 1
    assert pacer.stats.paused_seconds == pytest.approx(5.0)


def test_a_pause_that_starts_while_waiting_for_a_token_holds_it_too() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(rate=1.0, clock=clock, rng=LowRandom())
    times: list[float] = []

    async def one() -> None:
        async with pacer.request():
            times.append(clock.monotonic())

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            tg.start_soon(one)
            tg.start_soon(one)  # its token is due at 1/0.98 s
            await clock.sleep(0.5)
            pacer.rate_limited(3.0)

    anyio.run(main)
    assert times == pytest.approx([0.0, 3.5])


@pytest.mark.parametrize(
    ("retry_after", "jitter"), [(2.0, 0.2), (100.0, 0.5), (0.0, 0.05), (0.2, 0.05)]
)
def test_retry_after_plus_bounded_jitter(retry_after: float, jitter: float) -> None:
    assert Pacer(rng=LowRandom(), clock=MockClock()).rate_limited(retry_after) == retry_after
    high = Pacer(rng=HighRandom(), clock=MockClock()).rate_limited(retry_after)
    assert high == pytest.approx(retry_after + jitter)
    waits = [
        Pacer(rng=random.Random(seed), clock=MockClock()).rate_limited(retry_after)
        for seed in range(200)
    ]
    assert all(retry_after <= w <= retry_after + jitter for w in waits)
    assert len(set(waits)) > 100  # really jittered


def test_backoff_without_retry_after_doubles_up_to_the_cap() -> None:
    clock = MockClock()
    pacer = Pacer(clock=clock, rng=HighRandom(), max_backoff=5.0, adaptive=False)
    waits = []
    for _ in range(6):
        waits.append(pacer.rate_limited(None))
        clock.advance(waits[-1])  # the next 429 comes after the pause: a new episode
    assert waits == [0.5, 1.0, 2.0, 4.0, 5.0, 5.0]
    assert pacer.stats.pauses == 6


def test_backoff_has_full_jitter() -> None:
    waits = []
    for seed in range(300):
        clock = MockClock()
        pacer = Pacer(clock=clock, rng=random.Random(seed))
        for _ in range(3):
            wait = pacer.rate_limited(None)
            clock.advance(wait)
        waits.append(wait)  # third episode: uniform over [0, 2]
    assert all(0 <= w <= 2.0 for w in waits)
    assert min(waits) < 0.1
    assert max(waits) > 1.9
    assert 0.8 < sum(waits) / len(waits) < 1.2


def test_success_resets_the_backoff() -> None:
    clock = MockClock()
    pacer = Pacer(clock=clock, rng=HighRandom(), adaptive=False)
    clock.advance(pacer.rate_limited(None))
    clock.advance(pacer.rate_limited(None))
    pacer.succeeded()
    assert pacer.rate_limited(None) == 0.5


def test_overlapping_429s_do_not_stack() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(clock=clock, rng=random.Random(1), max_in_flight=8)
    waits: list[float] = []
    ends: list[float] = []

    async def one() -> None:
        async with pacer.request():
            await clock.sleep(0.01)
        waits.append(pacer.rate_limited(1.0))
        ends.append(clock.monotonic() + waits[-1])

    async def late() -> None:
        # Sent before the pause, answered after it ended: still the same episode.
        async with pacer.request():
            await clock.sleep(2.0)
        pacer.rate_limited(None)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(7):
                tg.start_soon(one)
            tg.start_soon(late)

    anyio.run(main)
    stats = pacer.stats
    assert stats.rate_limited == 8
    assert stats.pauses == 1
    # Each answer extends the one pause to its own end (at most 1.1 s after 0.01 s),
    # rather than adding 1 s per answer.
    assert max(ends) <= 0.01 + 1.1
    assert stats.paused_seconds == pytest.approx(max(ends) - 0.01)


def test_on_wait_reports_each_pause_once() -> None:
    calls: list[tuple[float, str]] = []
    clock = MockClock()
    pacer = Pacer(clock=clock, rng=LowRandom(), on_wait=lambda s, r: calls.append((s, r)))
    pacer.rate_limited(2.0)
    pacer.rate_limited(1.0)  # inside the pause, ends earlier: nothing new
    pacer.rate_limited(3.0)  # extends it
    assert calls == [(2.0, "retry-after"), (3.0, "retry-after")]


# --- adaptation ---------------------------------------------------------------------------


def test_cut_follows_the_accepted_rate_not_the_configured_one() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(rate=100.0, clock=clock, rng=LowRandom())

    async def main() -> None:
        # Two seconds at 98/s, of which the server accepted one in four.
        for i in range(196):
            async with pacer.request():
                pass
            if i % 4 == 0:
                pacer.succeeded()
        pacer.rate_limited(1.0)

    anyio.run(main)
    accepted_rate = 49 / 2.0
    assert pacer.rate == pytest.approx(CUT * accepted_rate, rel=0.05)
    assert pacer.stats.current_rate == pacer.rate


def test_rate_regrows_slowly_up_to_the_ceiling() -> None:
    clock = MockClock()
    pacer = Pacer(rate=50.0, clock=clock, rng=LowRandom())
    for _ in range(40):  # 20 accepted per second, for two seconds
        pacer.succeeded()
        clock.advance(0.05)
    pacer.rate_limited(1.0)
    cut = pacer.rate
    assert cut is not None
    assert cut == pytest.approx(CUT * 20, rel=0.05)
    clock.advance(1.0)  # the pause
    assert pacer.rate == pytest.approx(cut)
    clock.advance(1.0)
    assert pacer.rate == pytest.approx(cut * (1 + GROWTH))
    clock.advance(9.0)
    assert pacer.rate == pytest.approx(cut * (1 + 10 * GROWTH))
    clock.advance(1000.0)
    assert pacer.rate == 50.0 * MARGIN


def test_without_adaptive_the_rate_stays() -> None:
    clock = MockClock()
    pacer = Pacer(rate=10.0, clock=clock, adaptive=False)
    pacer.succeeded(RateLimitInfo(limit=1, window=1.0))
    pacer.rate_limited(None)
    assert pacer.rate == 10.0 * MARGIN


def test_adopts_the_servers_stated_limit() -> None:
    pacer = Pacer(clock=MockClock())
    assert pacer.rate is None
    pacer.succeeded(RateLimitInfo(limit=20, window=2.0, remaining=15))
    assert pacer.rate == pytest.approx(10.0 * MARGIN)
    told = Pacer(rate=4.0, clock=MockClock())
    told.succeeded(RateLimitInfo(limit=20, window=2.0))
    assert told.rate == pytest.approx(4.0 * MARGIN)  # the user's lower rate stays


def test_no_remaining_holds_until_the_reset() -> None:
    clock = MockClock(autojump=True)
    pacer = Pacer(clock=clock, rng=LowRandom())
    times: list[float] = []

    async def main() -> None:
        async with pacer.request():
            pass
        pacer.succeeded(RateLimitInfo(remaining=0, reset=3.0))
        async with pacer.request():
            times.append(clock.monotonic())

    anyio.run(main)
    assert times == [3.0]
    assert pacer.stats.pauses == 1
    assert pacer.stats.rate_limited == 0


# --- against a simulated server -------------------------------------------------------------


class ServerBucket:
    """The server side: a token bucket of ``rate`` per second up to ``burst``."""

    def __init__(self, clock: MockClock, rate: float, burst: int, retry_after: bool) -> None:
        self.clock, self.rate, self.burst = clock, rate, burst
        self.tokens, self.last, self.retry_after = float(burst), 0.0, retry_after

    def take(self) -> float | None:
        """None if accepted, else the Retry-After (whole seconds, or -1 for none)."""
        now = self.clock.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        if not self.retry_after:
            return -1.0
        return float(max(1, math.ceil((1 - self.tokens) / self.rate)))


def sweep(
    r: float,
    b: int,
    n: int,
    *,
    told: float | None,
    retry_after: bool = True,
    seed: int = 0,
    adaptive: bool = True,
) -> tuple[float, float]:
    """Time / ideal and the 429 fraction for ``n`` requests through a shared pacer."""
    clock = MockClock(autojump=True)
    rng = random.Random(seed)
    pacer = Pacer(rate=told, clock=clock, rng=rng, max_in_flight=8, adaptive=adaptive)
    server = ServerBucket(clock, r, b, retry_after)
    targets = iter(range(n))
    throttled = 0

    async def worker() -> None:
        nonlocal throttled
        for _ in targets:
            while True:
                async with pacer.request():
                    await clock.sleep(0.005)
                    verdict = server.take()
                    await clock.sleep(0.005)
                if verdict is None:
                    pacer.succeeded()
                    break
                throttled += 1
                pacer.rate_limited(None if verdict < 0 else verdict)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(32):
                tg.start_soon(worker)

    anyio.run(main)
    assert pacer.stats.rate_limited == throttled
    return clock.monotonic() / (n / r), throttled / (n + throttled)


@pytest.mark.parametrize(
    ("r", "b", "told_factor", "retry_after"),
    [
        (20, 20, None, True),
        (20, 20, None, False),
        (50, 50, 4, True),
        (100, 100, 4, False),
        (10, 30, None, True),
        (20, 5, None, True),
        (50, 25, 4, True),
    ],
)
def test_adapts_to_an_unknown_server_limit(
    r: float, b: int, told_factor: float | None, retry_after: bool
) -> None:
    told = None if told_factor is None else told_factor * r
    for seed in range(2):
        ratio, throttled = sweep(r, b, int(r * 30), told=told, retry_after=retry_after, seed=seed)
        assert ratio <= 1.25
        assert throttled < 0.05


@pytest.mark.parametrize(("r", "b"), [(20, 20), (50, 1), (7, 3)])
def test_told_the_limit_it_stays_under_it(r: float, b: int) -> None:
    ratio, throttled = sweep(r, b, int(r * 30), told=r)
    assert throttled == 0
    assert ratio <= 1.05


def test_the_simulated_server_punishes_a_pacer_that_does_not_adapt() -> None:
    # Guards the simulation itself: a fixed rate 4x too high must fail the goals.
    ratio, throttled = sweep(20, 5, 600, told=80, retry_after=False, adaptive=False)
    assert ratio > 1.25 or throttled > 0.05


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs", [{"rate": 0.0}, {"rate": -1.0}, {"burst": 0}, {"max_in_flight": 0}]
)
def test_rejects_nonsense(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="must be"):
        Pacer(**kwargs)  # type: ignore[arg-type]


# --- ActiveReruns ---------------------------------------------------------------------------


async def test_active_reruns_caps_slots() -> None:
    active = ActiveReruns(2)
    release = anyio.Event()
    most = 0
    started = 0

    async def rerun() -> None:
        nonlocal most, started
        async with active.slot():
            started += 1
            most = max(most, active.active)
            await release.wait()

    async with anyio.create_task_group() as tg:
        for _ in range(4):
            tg.start_soon(rerun)
        for _ in range(20):
            await anyio.lowlevel.checkpoint()
        assert (started, active.active) == (2, 2)
        release.set()
    assert (started, most, active.active) == (4, 2, 0)


async def test_active_reruns_without_a_cap() -> None:
    active = ActiveReruns(None)
    async with active.slot(), active.slot(), active.slot():
        assert active.active == 3
    assert active.active == 0


async def test_active_reruns_frees_the_slot_on_error() -> None:
    active = ActiveReruns(1)
    with pytest.raises(RuntimeError):
        async with active.slot():
            raise RuntimeError("trigger failed")
    with anyio.fail_after(1):
        async with active.slot():
            assert active.active == 1


def test_active_reruns_rejects_zero() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ActiveReruns(0)


async def test_a_503_pauses_without_cutting_the_adaptive_rate() -> None:
    clock = MockClock()
    pacer = Pacer(rate=10.0, burst=1, clock=clock, rng=random.Random(0))
    before = pacer.rate
    wait = pacer.rate_limited(2.0, cut=False)
    assert wait >= 2.0
    assert pacer.stats.pauses == 1
    assert pacer.rate == before
    pacer2 = Pacer(rate=10.0, burst=1, clock=clock, rng=random.Random(0))
    pacer2.rate_limited(2.0)
    assert pacer2.rate is not None
    assert before is not None
    assert pacer2.rate < before
