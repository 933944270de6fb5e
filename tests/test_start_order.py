"""The start order: under --max-active the longest expected rerun takes a free slot first.

The slot queue (ActiveReruns) on events and the MockClock, the estimate it is given
(rerunorch.startorder), and a sweep against the simulator on an autojumping MockClock:
every target is read and decided at once, so the order the reruns start in is exact.
"""

from __future__ import annotations

import math
from contextlib import AbstractAsyncContextManager

import anyio
import anyio.lowlevel
import pytest
from sweep_helpers import StopAfter

from rerunorch import (
    RerunFinished,
    RerunTriggered,
    SharedLimits,
    Sweep,
    SweepListener,
    SweepSettings,
)
from rerunorch.api.converter import structure
from rerunorch.api.enums import ReRunType
from rerunorch.api.models import ExecutionResult, TestCaseResultRequest
from rerunorch.clock import Clock
from rerunorch.engine import _span
from rerunorch.pacing.local import ActiveReruns
from rerunorch.report.model import Summary
from rerunorch.startorder import RUNNING, expected_rerun_seconds, rerun_share, start_priority
from rerunorch.strategies.base import Selection
from rerunorch.testing import MockClock, Simulator

# --- the slot queue -------------------------------------------------------------------------


async def queue_up(active: ActiveReruns, priorities: list[float], order: list[str]) -> None:
    """While the test holds every slot, queue one waiter per priority, in list order."""

    async def waiter(name: str, priority: float) -> None:
        async with active.slot(priority):
            order.append(name)
            await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as tg:
        for i, priority in enumerate(priorities):
            queued = active.waiting
            tg.start_soon(waiter, f"{priority:g}#{i}", priority)
            while active.waiting == queued:  # arrived: the next one comes after it
                await anyio.lowlevel.checkpoint()


async def test_waiters_are_served_longest_first_and_ties_in_arrival_order() -> None:
    active = ActiveReruns(1)
    order: list[str] = []
    async with anyio.create_task_group() as tg, active.slot():
        tg.start_soon(queue_up, active, [5, 60, 5, 7200, 0, 60], order)
        while active.waiting < 6:
            await anyio.lowlevel.checkpoint()
        assert order == []  # all wait behind the held slot
    assert order == ["7200#3", "60#1", "60#5", "5#0", "5#2", "0#4"]
    assert (active.active, active.waiting) == (0, 0)


async def test_a_freed_slot_goes_to_a_waiter_not_to_a_newcomer() -> None:
    active = ActiveReruns(1)
    order: list[str] = []

    async def waiter() -> None:
        async with active.slot(1.0):
            order.append("waiter")

    async with anyio.create_task_group() as tg:
        async with active.slot():
            tg.start_soon(waiter)
            while not active.waiting:
                await anyio.lowlevel.checkpoint()
        # Released: the slot is the waiter's already, so even a longer newcomer waits.
        async with active.slot(RUNNING):
            order.append("newcomer")
    assert order == ["waiter", "newcomer"]


async def test_a_cancelled_waiter_is_skipped_and_a_slot_handed_to_it_passes_on() -> None:
    active = ActiveReruns(1)
    order: list[str] = []
    scopes = {name: anyio.CancelScope() for name in ("long", "middle", "short")}

    async def waiter(name: str, priority: float) -> None:
        with scopes[name]:
            async with active.slot(priority):
                await anyio.lowlevel.checkpoint()  # a cancelled holder stops here
                order.append(name)

    async with anyio.create_task_group() as tg:
        async with active.slot():
            for name, priority in (("long", 30.0), ("middle", 20.0), ("short", 10.0)):
                tg.start_soon(waiter, name, priority)
            while active.waiting < 3:
                await anyio.lowlevel.checkpoint()
            scopes["middle"].cancel()  # leaves the queue while waiting
            while active.waiting > 2:
                await anyio.lowlevel.checkpoint()
        scopes["long"].cancel()  # cancelled just as the freed slot was handed to it
    assert order == ["short"]
    assert (active.active, active.waiting) == (0, 0)


async def test_the_start_order_shortens_the_makespan_on_the_mock_clock() -> None:
    """Two slots, reruns of 1, 1, 1 and 4 minutes queued in that order: longest first ends
    at 4 (the lower bound, max(7 / 2, 4)); in arrival order (equal priorities) at 5."""

    async def makespan(prioritised: bool) -> float:
        clock = MockClock(autojump=True)
        active = ActiveReruns(2)

        async def rerun(minutes: float) -> None:
            async with active.slot(minutes if prioritised else 0.0):
                await clock.sleep(60 * minutes)

        # Both slots busy while the four queue.
        async with anyio.create_task_group() as tg, active.slot(), active.slot():
            for minutes in (1, 1, 1, 4):
                tg.start_soon(rerun, minutes)
            while active.waiting < 4:
                await anyio.lowlevel.checkpoint()
        return clock.monotonic() / 60

    assert await makespan(prioritised=True) == 4
    assert await makespan(prioritised=False) == 5


async def test_without_a_cap_nobody_waits() -> None:
    active = ActiveReruns(None)
    async with active.slot(1.0), active.slot(), active.slot(RUNNING):
        assert (active.active, active.waiting) == (3, 0)


def test_a_priority_must_be_a_number() -> None:
    with pytest.raises(ValueError, match="NaN"):
        ActiveReruns(2).slot(math.nan)


# --- the estimate ---------------------------------------------------------------------------


PARENT = ExecutionResult(id=1, duration=3_600_000, total_count=20, passed_count=15)
PICKED = tuple(TestCaseResultRequest(id=i) for i in range(4))


@pytest.mark.parametrize(
    ("selection", "share"),
    [
        (None, 1.0),
        (Selection(ReRunType.ALL_TESTS), 1.0),
        (Selection(ReRunType.ONLY_FAILED_TESTS), 5 / 20),
        (Selection(ReRunType.USER_PICKED, test_case_result_requests=PICKED), 4 / 20),
    ],
)
def test_the_expected_rerun_is_the_parents_duration_times_the_share_rerun(
    selection: Selection | None, share: float
) -> None:
    assert rerun_share(PARENT, selection) == share
    assert expected_rerun_seconds(PARENT, selection) == 3600 * share
    assert start_priority(PARENT, selection) == 3600 * share


def test_a_rerun_of_unknown_length_starts_after_the_known_ones() -> None:
    unknown = ExecutionResult(id=2, total_count=20, passed_count=15)
    assert expected_rerun_seconds(unknown, Selection(ReRunType.ALL_TESTS)) is None
    assert start_priority(unknown, Selection(ReRunType.ALL_TESTS)) == 0.0
    assert start_priority(PARENT, None) < RUNNING  # a running rerun counts first


# --- device time and makespan ---------------------------------------------------------------


def test_the_summary_adds_device_time_and_spans_first_start_to_last_end() -> None:
    summary = Summary()
    assert summary.timing_json() == {"device_seconds": None, "makespan_seconds": None}
    summary.rerun_ended(1000.0, 1600.0, 600.0)
    summary.rerun_ended(1100.0, 1300.0, 200.0)
    summary.rerun_ended(1500.0, 2000.25, 500.25)
    assert summary.timing_json() == {"device_seconds": 1300.25, "makespan_seconds": 1000.25}
    assert "device_seconds" not in summary.to_json()  # the counts stay ints


def test_a_run_span_by_the_servers_times_or_else_the_clock() -> None:
    told = ExecutionResult(id=1, start_time=1_000_000, end_time=1_090_000, duration=90_000)
    assert _span(told, now=5000.0) == (1000.0, 1090.0, 90.0)
    no_duration = ExecutionResult(id=2, start_time=1_000_000, end_time=1_030_000)
    assert _span(no_duration, now=5000.0) == (1000.0, 1030.0, 30.0)
    no_end = ExecutionResult(id=3, duration=60_000)
    assert _span(no_end, now=5000.0) == (4940.0, 5000.0, 60.0)
    assert _span(ExecutionResult(id=4), now=5000.0) == (5000.0, 5000.0, 0.0)


# --- a sweep against the simulator ----------------------------------------------------------


@pytest.fixture
def rerunorch_simulator_clock() -> Clock:
    """Every read and decision happens at one instant; only the reruns take time."""
    return MockClock(autojump=True)


class Triggers(SweepListener):
    def __init__(self) -> None:
        self.targets: list[int] = []

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self.targets.append(event.target.id)


def expected(sim: Simulator, target: int) -> float:
    """The estimate the sweep makes for the `failed` strategy's rerun of ``target``."""
    parent = structure(sim.run(target), ExecutionResult)
    estimate = expected_rerun_seconds(parent, Selection(ReRunType.ONLY_FAILED_TESTS))
    assert estimate is not None
    return estimate


@pytest.mark.simulator(targets=24, run_duration=(60.0, 7200.0))
async def test_a_sweep_under_max_active_starts_the_longest_reruns_first(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    ids = sorted(simulator.target_ids, key=lambda t: expected(simulator, t))  # longest last
    triggers = Triggers()
    sweep = Sweep(
        ids,
        SweepSettings(base_url=simulator.base_url, max_active=3),
        api_key=simulator.api_key,
        clock=simulator_clock,
        listener=triggers,
    )
    report = await sweep.run()

    stats = simulator.stats
    assert (stats.reruns_created, stats.duplicate_rerun_attempts) == (24, 0)
    assert stats.active_runs_peak <= 3
    assert sorted(triggers.targets) == sorted(ids)  # each once
    # The first three take the free slots as they are decided; every later one is the
    # longest of those still waiting.
    later = triggers.targets[3:]
    assert later == sorted(later, key=lambda t: -expected(simulator, t))
    assert set(triggers.targets[:3]) <= set(ids[:8])  # read first: the input's short ones
    assert later[:3] == ids[::-1][:3]

    reruns = [simulator.run(o.rerun_id) for o in report.results if o.rerun_id is not None]
    summary = report.summary
    assert summary.device_seconds == pytest.approx(sum(r["duration"] for r in reruns) / 1000)
    first = min(r["startTime"] for r in reruns)
    last = max(r["endTime"] for r in reruns)
    assert summary.makespan_seconds == pytest.approx((last - first) / 1000)
    lower_bound = max(summary.device_seconds / 3, max(r["duration"] for r in reruns) / 1000)
    assert summary.makespan_seconds <= 1.10 * lower_bound


class Noticed(SweepListener):
    """When (the sweep clock's epoch seconds) each outcome arrived."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.at: list[tuple[int | None, float]] = []

    async def rerun_finished(self, event: RerunFinished) -> None:
        self.at.append((event.outcome.rerun_id, self.clock.time()))


@pytest.mark.simulator(targets=200, run_duration=(10.0, 10.0), rate_limit=5.0, rate_burst=5)
async def test_reading_ahead_does_not_hold_up_the_first_reruns(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    """200 targets read ahead at 5 requests a second take 40 s to read. Only a few read at
    once, so the first reruns' triggers and polls queue behind a few reads, not all of
    them: the first 10 s rerun is triggered at once and seen ended well before 40 s."""
    noticed = Noticed(simulator_clock)
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, max_active=2, rate=5.0, concurrency=1),
        api_key=simulator.api_key,
        clock=simulator_clock,
        listener=noticed,
    )
    started = simulator_clock.time()
    with anyio.fail_after(60):  # real seconds: simulated minutes pass in moments
        async with sweep.outcomes() as outcomes:
            async for _ in outcomes:
                break  # the first rerun to end: the sweep is cancelled once it is seen
    rerun_id, at = noticed.at[0]
    assert rerun_id is not None
    run = simulator.run(rerun_id)
    assert run["startTime"] / 1000 - started < 5.0  # triggered among the first requests
    assert at - started < 30.0


@pytest.mark.simulator(targets=60, run_duration=(600.0, 600.0))
async def test_a_stop_leaves_the_targets_read_ahead_unread(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    """60 targets in the window, 16 read at a time: stopped once two reruns run, the
    targets whose turn to be read had not come end ``not begun`` without a request."""
    stopper = StopAfter(2)
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, max_active=2, concurrency=1, grace=1.0),
        api_key=simulator.api_key,
        clock=simulator_clock,
        listener=stopper,
    )
    stopper.sweep = sweep
    report = await sweep.run()
    assert simulator.stats.reruns_created == 2
    assert report.summary.targets == 60
    assert report.summary.interrupted == 60  # the two reruns are cut at the end of the grace
    not_begun = [o for o in report.results if o.error == "not begun"]
    reads = simulator.stats.requests_by_endpoint["GET /api/v1/execution_results/{id}"]
    assert not_begun
    # One read a target begun and at most a poll a rerun in the grace; none for the rest.
    assert 60 - len(not_begun) <= reads <= 60 - len(not_begun) + 2


def test_the_modules_example_holds() -> None:
    import doctest

    import rerunorch.startorder

    result = doctest.testmod(rerunorch.startorder)
    assert result.attempted
    assert not result.failed


class SlotsOfOld:
    """A RerunSlots written before the start order: its slot() takes no priority."""

    def __init__(self, limit: int) -> None:
        self._slots = ActiveReruns(limit)

    @property
    def active(self) -> int:
        return self._slots.active

    def slot(self) -> AbstractAsyncContextManager[None]:
        return self._slots.slot()


@pytest.mark.simulator(targets=6, run_duration=(60.0, 600.0))
async def test_rerun_slots_without_a_priority_still_cap_a_sweep(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    limits = SharedLimits(max_active=2, clock=simulator_clock)
    limits.active = SlotsOfOld(2)  # type: ignore[assignment]
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url),
        api_key=simulator.api_key,
        limits=limits,
    )
    report = await sweep.run()
    assert report.summary.errors == 0
    assert (simulator.stats.reruns_created, simulator.stats.active_runs_peak) == (6, 2)
