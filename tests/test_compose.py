"""Sweeps composed in one program: a shared client, shared limits, and the API's edges."""

from __future__ import annotations

import inspect

import anyio
import pytest

from rerunorch import (
    AuthError,
    ConfigError,
    Pacer,
    RequestsPaused,
    SharedLimits,
    Sweep,
    SweepListener,
    SweepReport,
    SweepSettings,
    TestsigmaClient,
    run_sweep,
)
from rerunorch.api.transport import AiohttpTransport, MockTransport, Request, Response
from rerunorch.clock import Clock
from rerunorch.testing import MockClock, Simulator


class Pauses(SweepListener):
    """Keeps the pauses its sweep was told of."""

    def __init__(self) -> None:
        self.heard: list[RequestsPaused] = []

    async def rate_limited(self, event: RequestsPaused) -> None:
        self.heard.append(event)


class CountingCloses(AiohttpTransport):
    """The default transport, counting how often it is closed."""

    closes = 0

    async def aclose(self) -> None:
        self.closes += 1
        await super().aclose()


async def run_both(one: Sweep, two: Sweep) -> list[SweepReport]:
    reports: list[SweepReport] = []

    async def run(sweep: Sweep) -> None:
        reports.append(await sweep.run())

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, one)
        tg.start_soon(run, two)
    return reports


# The suite's clock runs 1000x: 0.2 requests a simulated second is one every 5 ms of real
# time, which the sweeps' first requests (sent together) exceed on any machine, so the
# server's 429s (and the pauses the test follows) come however fast or loaded it is.
@pytest.mark.simulator(
    targets=24, passed_targets=0, max_active_runs=3, rate_limit=0.2, rate_burst=2
)
@pytest.mark.parametrize("shared_client", [True, False], ids=["one-client", "own-clients"])
async def test_two_sweeps_share_one_limits_object(
    simulator: Simulator, simulator_clock: Clock, shared_client: bool
) -> None:
    limits = SharedLimits(max_active=3, clock=simulator_clock)
    transport = CountingCloses()
    client = TestsigmaClient(
        simulator.api_key,
        simulator.base_url,
        pacer=limits.pacer,
        transport=transport,
        clock=simulator_clock,
    )
    settings = SweepSettings(base_url=simulator.base_url)
    access = {"client": client} if shared_client else {"api_key": simulator.api_key}
    half = len(simulator.target_ids) // 2
    pauses = Pauses(), Pauses()
    sweeps = [
        Sweep(ids, settings, limits=limits, listener=heard, clock=simulator_clock, **access)
        for ids, heard in zip(
            (simulator.target_ids[:half], simulator.target_ids[half:]), pauses, strict=True
        )
    ]
    async with client:
        reports = await run_both(*sweeps)
        assert transport.closes == 0  # neither sweep closed the client it was given
    assert transport.closes == 1

    stats = simulator.stats
    assert [report.summary.errors for report in reports] == [0, 0]
    assert stats.reruns_created == 24
    assert stats.duplicate_rerun_attempts == 0
    assert stats.active_runs_peak == 3  # the cap held over both, and was used
    assert all(report.summary.requests > 0 for report in reports)
    assert sum(report.summary.requests for report in reports) == stats.requests
    assert stats.rate_limited > 0
    assert sum(report.summary.rate_limited for report in reports) == stats.rate_limited
    for sweep, heard in zip(sweeps, pauses, strict=True):
        assert heard.heard, "each sweep hears the shared pauses"
        assert sweep.progress.rate_limited_waits == len(heard.heard)
    assert reports[0].config["max_active"] == 3


async def test_every_watcher_hears_each_pause_while_it_watches() -> None:
    limits = SharedLimits(clock=MockClock())
    first: list[tuple[float, str]] = []
    second: list[tuple[float, str]] = []

    def broken(wait: float, reason: str) -> None:
        raise RuntimeError("a watcher that fails")

    with limits.watch(lambda w, r: first.append((w, r))):
        with limits.watch(broken), limits.watch(lambda w, r: second.append((w, r))):
            limits.pacer.rate_limited(2.0)
        limits.pacer.rate_limited(10.0)
    limits.pacer.rate_limited(30.0)
    assert [reason for _, reason in first] == ["retry-after", "retry-after"]
    assert [reason for _, reason in second] == ["retry-after"]
    assert 2.0 <= second[0][0] <= 2.5
    assert 10.0 <= first[1][0] <= 10.5


def test_limits_refuse_settings_and_clients_that_would_bypass_them() -> None:
    limits = SharedLimits(rate=5.0)
    with pytest.raises(ConfigError, match=r"settings set rate, max_active: set them on"):
        Sweep([1], SweepSettings(rate=2.0, max_active=4), api_key="k" * 20, limits=limits)
    own = TestsigmaClient("k" * 20, pacer=Pacer())
    with pytest.raises(ConfigError, match=r"pacer=limits\.pacer"):
        Sweep([1], client=own, limits=limits)


@pytest.mark.simulator(targets=6)
async def test_except_auth_error_around_outcomes_catches_a_bad_key(
    simulator: Simulator, simulator_clock: Clock
) -> None:
    limits = SharedLimits(concurrency=2, clock=simulator_clock)
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url),
        api_key="not-the-key",
        limits=limits,
    )
    try:
        async with sweep.outcomes() as outcomes:
            async for _ in outcomes:
                pass
    except AuthError as error:
        caught: AuthError | None = error
    else:  # pragma: no cover - the failure this test exists for
        caught = None
    assert caught is not None
    assert caught.status == 401
    assert simulator.stats.requests <= 2
    assert sweep.report.summary.triggered == 0


def test_under_trio_a_sweep_and_a_client_fail_plainly_before_any_request() -> None:
    pytest.importorskip("trio")
    transport = MockTransport(lambda request: Response(200, body=b"{}"))

    async def main() -> None:
        client = TestsigmaClient("k" * 20, "http://127.0.0.1:9", transport=transport)
        with pytest.raises(ConfigError, match=r"a sweep needs asyncio .* runs under trio"):
            await Sweep([1, 2], client=client).run()
        with pytest.raises(ConfigError, match=r"needs asyncio"):
            async with Sweep([1], client=client).outcomes():
                pass  # pragma: no cover - refused on entry
        with pytest.raises(ConfigError, match=r"the Testsigma client needs asyncio"):
            await client.get_run(1)
        default = TestsigmaClient("k" * 20, "http://127.0.0.1:9")
        with pytest.raises(ConfigError, match=r"needs asyncio"):
            await default.get_run(1)

    anyio.run(main, backend="trio")
    assert transport.requests == []


async def test_a_client_counts_each_block_apart() -> None:
    def answer(request: Request) -> Response:
        return Response(200, {"Content-Type": "application/json"}, b'{"id": 1}')

    client = TestsigmaClient("k" * 20, transport=MockTransport(answer))
    with client.counting() as outer:
        await client.get_run(1)
        with client.counting() as inner:
            await client.get_run(1)
    await client.get_run(1)
    assert (outer.requests, inner.requests, client.counters.requests) == (2, 1, 3)


@pytest.mark.simulator(targets=2, passed_targets=0)
async def test_report_results_say_they_stream(simulator: Simulator, simulator_clock: Clock) -> None:
    settings = SweepSettings(base_url=simulator.base_url, wait=False)
    with await run_sweep(
        simulator.target_ids, settings, api_key=simulator.api_key, clock=simulator_clock
    ) as report:
        assert len(report.results) == 2
        assert [o.target for o in report.results] == [o.target for o in report.results]
        with pytest.raises(TypeError, match=r"cannot be indexed: iterate them"):
            report.results[0]  # type: ignore[index]
        assert next(iter(report.results)).target in simulator.target_ids


def test_run_sweep_takes_the_arguments_of_sweep() -> None:
    sweep = list(inspect.signature(Sweep.__init__).parameters.values())[1:]
    assert list(inspect.signature(run_sweep).parameters.values()) == sweep
