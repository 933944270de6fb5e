"""Sweep events: one frozen payload each, told to every listener on its own, pauses at once."""

from __future__ import annotations

import logging

import anyio
import attrs
import pytest
from anyio import wait_all_tasks_blocked

from rerunorch import (
    Outcome,
    OutcomeKind,
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    Sweep,
    SweepFinished,
    SweepListener,
    SweepSettings,
    SweepStarted,
    Target,
)
from rerunorch.clock import Clock
from rerunorch.events import Listeners
from rerunorch.testing import MockClock, Simulator, SimulatorConfig

SECRET_URL = "https://hooks.example/services/T0/B0/secret-token"


class Log(SweepListener):
    """Writes down every event it hears; ``heard`` is set at the first pause."""

    def __init__(self) -> None:
        self.events: list[str] = []
        self.paused = anyio.Event()

    async def sweep_started(self, event: SweepStarted) -> None:
        self.events.append("started")

    async def rerun_triggered(self, event: RerunTriggered) -> None:
        self.events.append(f"triggered {event.target.id}")

    async def rerun_finished(self, event: RerunFinished) -> None:
        self.events.append(f"finished {event.outcome.target}")

    async def rate_limited(self, event: RequestsPaused) -> None:
        self.events.append(f"paused {event.reason}")
        self.paused.set()

    async def sweep_finished(self, event: SweepFinished) -> None:
        self.events.append("done")


class Leaky(SweepListener):
    """Raises with a webhook URL in the message, as a careless notifier might."""

    async def rerun_finished(self, event: RerunFinished) -> None:
        raise ValueError(f"cannot post to {SECRET_URL}")

    async def rate_limited(self, event: RequestsPaused) -> None:
        raise ValueError(f"cannot post to {SECRET_URL}")


def pause(n: int = 1) -> RequestsPaused:
    return RequestsPaused(wait=float(n), reason="retry-after")


def finished(target: int) -> RerunFinished:
    return RerunFinished(outcome=Outcome(target=target, outcome=OutcomeKind.PASSED))


# -- the payloads ----------------------------------------------------------------------------


def test_payloads_are_frozen_and_keyword_only() -> None:
    event = RerunTriggered(target=Target(3), rerun_id=9, adopted=False)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.rerun_id = 10  # type: ignore[misc]
    with pytest.raises(TypeError):
        RerunTriggered(Target(3), 9, False)  # type: ignore[misc]
    assert [e.name for e in (SweepStarted, RerunTriggered, RerunFinished)] == [
        "sweep_started",
        "rerun_triggered",
        "rerun_finished",
    ]
    assert (RequestsPaused.name, SweepFinished.name) == ("rate_limited", "sweep_finished")


# -- telling listeners -----------------------------------------------------------------------


async def test_a_pause_is_told_while_the_relay_runs_without_another_event() -> None:
    log = Log()
    listeners = Listeners([log], note=lambda line: None)
    async with listeners.relaying():
        listeners.tell_soon(pause())
        with anyio.fail_after(5):
            await log.paused.wait()
        assert log.events == ["paused retry-after"]


async def test_a_queued_pause_is_told_before_the_next_event() -> None:
    log = Log()
    listeners = Listeners([log], note=lambda line: None)
    async with listeners.relaying():
        await wait_all_tasks_blocked()  # the relay task waits for work
        listeners.tell_soon(pause())
        await listeners.tell(finished(1))  # before the relay task has had a turn
        assert log.events == ["paused retry-after", "finished 1"]
    assert log.events == ["paused retry-after", "finished 1"]  # told once


async def test_a_slow_listener_never_blocks_the_caller_and_loses_no_pause() -> None:
    release = anyio.Event()
    reasons: list[str] = []

    class Slow(SweepListener):
        async def rate_limited(self, event: RequestsPaused) -> None:
            await release.wait()
            reasons.append(event.reason)

    listeners = Listeners([Slow()], note=lambda line: None)
    async with listeners.relaying():
        for n in range(2000):  # more than any bounded buffer would take
            listeners.tell_soon(RequestsPaused(wait=1.0, reason=str(n)))
        release.set()
    assert reasons == [str(n) for n in range(2000)]


async def test_without_the_relay_a_pause_is_told_with_the_next_event() -> None:
    log = Log()
    listeners = Listeners([log], note=lambda line: None)
    async with listeners.relaying():
        pass
    listeners.tell_soon(pause())
    assert log.events == []
    await listeners.tell(finished(2))
    assert log.events == ["paused retry-after", "finished 2"]


async def test_an_error_in_the_block_passes_through_unwrapped() -> None:
    listeners = Listeners([Log()], note=lambda line: None)
    with pytest.raises(KeyError):
        async with listeners.relaying():
            raise KeyError("boom")


async def test_a_raising_listener_is_noted_without_its_url_and_the_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="rerunorch.events")
    notes: list[str] = []
    log = Log()
    listeners = Listeners([Leaky(), log], note=notes.append)
    async with listeners.relaying():
        listeners.tell_soon(pause())
        await listeners.tell(finished(4))
    assert log.events == ["paused retry-after", "finished 4"]
    assert notes == [
        "listener Leaky failed on rate_limited: ValueError: cannot post to <url>",
        "listener Leaky failed on rerun_finished: ValueError: cannot post to <url>",
    ]
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 2
    for record in caplog.records:  # every level: a raw traceback would quote the URL
        assert "secret-token" not in record.getMessage()
        assert record.exc_info is None
    debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
    assert debug
    assert all("Traceback (most recent call last)" in m and "<url>" in m for m in debug)


# -- in a sweep ------------------------------------------------------------------------------


async def test_a_pause_reaches_listeners_while_the_sweep_is_paused() -> None:
    # Time stands still: the server's bucket never refills and the pause never ends.
    clock = MockClock()
    config = SimulatorConfig(seed=1, targets=1, passed_targets=0, rate_limit=1.0, rate_burst=1)
    log = Log()
    async with Simulator(config, clock=clock) as simulator:
        sweep = Sweep(
            simulator.target_ids,
            SweepSettings(base_url=simulator.base_url),
            api_key=simulator.api_key,
            clock=clock,
            listener=log,
        )
        async with anyio.create_task_group() as tg:
            tg.start_soon(sweep.run)
            with anyio.fail_after(10):  # a guard only: the pause is told as it starts
                await log.paused.wait()
            # The refused request still waits out its pause, and nothing has ended.
            assert simulator.stats.rate_limited == 1
            assert clock.sleepers == 1
            assert log.events == ["started", "paused retry-after"]
            tg.cancel_scope.cancel()
    assert log.events[-1] == "done"
    assert sweep.report.summary.interrupted == 1


@pytest.mark.simulator(targets=2, passed_targets=0)
async def test_a_raising_listener_in_a_sweep_leaks_no_url(
    simulator: Simulator, simulator_clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url),
        api_key=simulator.api_key,
        clock=simulator_clock,
        listener=(Leaky(), Log()),
    )
    report = await sweep.run()
    assert report.summary.targets == 2
    assert (
        report.notes
        == ["listener Leaky failed on rerun_finished: ValueError: cannot post to <url>"] * 2
    )
    assert "failed on rerun_finished: ValueError: cannot post to <url>" in caplog.text
    assert "secret-token" not in caplog.text
    assert "secret-token" not in str(report.to_json())
