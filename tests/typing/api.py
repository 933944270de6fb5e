"""The public API as a program or a plugin uses it, for the type checker (never run).

`mypy --strict` checks this file from outside the checkout (.ci/run), so ``rerunorch``
is found the way a plugin author's project finds it: through the editable install.
Every name comes from ``rerunorch`` or ``rerunorch.testing``, never from a submodule;
a change to the public API that breaks callers breaks this file. (pytest does not
collect it: its name does not start with ``test_``.)
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import rerunorch
from rerunorch import (
    ActiveReruns,
    AuthError,
    ConfigError,
    Decision,
    DecisionContext,
    Digest,
    FailedPlugin,
    Journal,
    JournalError,
    Notifier,
    OutcomeKind,
    Pacer,
    PacingStats,
    PluginInfo,
    PluginManager,
    PollPolicy,
    RateLimited,
    RequestPacer,
    RerunFinished,
    RerunorchError,
    RerunSlots,
    ReRunType,
    ResultLog,
    Secret,
    Selection,
    SharedLimits,
    Skip,
    Strategy,
    Summary,
    Sweep,
    SweepListener,
    SweepReport,
    SweepSettings,
    Target,
    TestRef,
    TestsigmaClient,
    digest,
    hookimpl,
    mask_url,
    read_targets,
    run_notifiers,
    run_sweep,
)
from rerunorch.testing import MockClock, Simulator, SimulatorConfig, sample_report

# --- settings and targets ---------------------------------------------------------------

settings: SweepSettings = SweepSettings(rate=5.0, max_active=20, poll=PollPolicy(), shard="1/2")
busy: float = settings.plan_busy_wait
targets: list[Target] = [Target(467), Target.of(468), *read_targets(["469", "470 # nightly"])]
shown: str = Secret("key").redact(mask_url("redis://:pw@cache/0"), limit=80)


async def ids() -> AsyncIterator[int]:
    yield 471


# --- strategies -------------------------------------------------------------------------


class OnlyNightly:
    """A strategy is any object with a name, a description and ``decide``."""

    name = "only-nightly"
    description = "rerun the failed tests of nightly builds"

    async def decide(self, ctx: DecisionContext) -> Decision:
        if not (ctx.run.build_no or "").endswith("-nightly"):
            return Skip("not a nightly build")
        cases = await ctx.test_cases(ctx.run.id)
        return Selection(ReRunType.ONLY_FAILED_TESTS, reason=f"{len(cases.test_cases)} tests")


strategy: Strategy = OnlyNightly()


# --- listeners --------------------------------------------------------------------------


class Counter(SweepListener):
    """A listener overrides only what it needs."""

    def __init__(self) -> None:
        self.finished: dict[OutcomeKind, int] = {}

    async def rerun_finished(self, event: RerunFinished) -> None:
        kind = event.outcome.outcome
        self.finished[kind] = self.finished.get(kind, 0) + 1


# --- notifiers and plugins --------------------------------------------------------------


class Printer:
    """A notifier is any object with a name, a description and ``notify``."""

    name = "print"
    description = "print the headline"

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        story: Digest = digest(report, max_items=int(options.get("max", 10)))
        print(story.headline)


notifier: Notifier = Printer()


class Plugin:
    @hookimpl
    def rerunorch_register_strategies(self, register: Callable[[Strategy], None]) -> None:
        register(OnlyNightly())

    @hookimpl
    def rerunorch_register_notifiers(self, register: Callable[[Notifier], None]) -> None:
        register(Printer())


def plugins() -> PluginManager:
    manager = PluginManager().load(env={})
    manager.register(Plugin())
    infos: list[PluginInfo] = manager.describe()
    broken: tuple[FailedPlugin, ...] = manager.failed
    print(len(infos), len(broken), sorted(manager.strategies()), sorted(manager.notifiers()))
    return manager


# --- sweeps -----------------------------------------------------------------------------


async def sweep_once(key: str) -> int:
    report: SweepReport = await run_sweep(targets, settings, api_key=key, rng=random.Random(1))
    # run_sweep's arguments are typed (an unused ignore would be an error under --strict).
    await run_sweep(targets, api_key=467)  # type: ignore[arg-type]
    return report.exit_code


async def sweeps_sharing(key: str) -> tuple[int, int]:
    """Two sweeps sharing one client and one set of limits."""
    limits = SharedLimits(rate=5.0, burst=2, concurrency=8, max_active=10)
    async with TestsigmaClient(key, pacer=limits.pacer) as client:
        one = Sweep([467], client=client, limits=limits)
        two = Sweep(ids(), api_key=key, limits=limits)
        try:
            first, second = await one.run(), await two.run()
        except (AuthError, JournalError):
            return 0, 0
    with limits.watch(lambda wait, reason: print(wait, reason)):
        pass
    pacer: Pacer = limits.pacer
    slots: RerunSlots = limits.active
    print(pacer.stats, slots.active, limits.to_json())
    return first.summary.requests, second.summary.requests


async def sweep(key: Secret, manager: PluginManager) -> list[str]:
    counter = Counter()
    sweep = Sweep(
        ids(),
        settings,
        api_key=key,
        strategy=strategy,
        strategies=manager.strategies(),
        listener=[counter, manager.listener()],
        rng=random.Random(1),
        journal=Journal.open(".rerunorch/journal.sqlite", settings=settings.to_json()),
    )
    try:
        report = await sweep.run()
    except AuthError as error:
        print(error)
        return []
    except RerunorchError:
        raise
    summary: Summary = report.summary
    results: ResultLog = report.results
    flaky: list[TestRef] = [test for outcome in results for test in outcome.flaky]
    print(summary.to_json(), len(flaky), sweep.progress.done, counter.finished)
    return await run_notifiers(["print"], {"print": notifier}, report, {"print": {"max": 5}})


# --- pacing, the client and the test doubles --------------------------------------------


async def with_simulator() -> PacingStats:
    clock = MockClock(autojump=True)
    pacer: RequestPacer = Pacer(rate=10.0, burst=2, clock=clock)
    slots: RerunSlots = ActiveReruns(4)
    config = SimulatorConfig(seed=1, targets=3)
    async with Simulator(config, clock=clock) as sim:
        client = TestsigmaClient(Secret(sim.api_key), sim.base_url, pacer=pacer, clock=clock)
        async with client:  # whoever makes a client closes it; the sweep does not
            with client.counting() as counted:
                report = await Sweep(sim.target_ids, client=client, clock=clock).run()
        assert report.exit_code in (0, 1)
        assert counted.requests == report.summary.requests <= client.counters.requests
    print(slots, clock.sleeps, sample_report().summary.targets)
    clock.advance(1.0)
    assert isinstance(pacer, Pacer)
    return pacer.stats


def errors(exc: Exception) -> str:
    if isinstance(exc, RateLimited):
        return f"paused {exc}"
    if isinstance(exc, ConfigError):
        return "bad configuration"
    return rerunorch.__version__
