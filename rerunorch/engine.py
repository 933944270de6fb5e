"""The sweep engine: many targets, fanned out under one pacer, each to one outcome.

>>> async def nightly() -> None:                                     # doctest: +SKIP
...     settings = SweepSettings(base_url="https://app.testsigma.com", rate=5)
...     sweep = Sweep([467, 468, 469], settings, api_key=os.environ["TESTSIGMA_API_KEY"])
...     async with sweep.outcomes() as outcomes:
...         async for outcome in outcomes:
...             print(outcome.target, outcome.outcome.value, len(outcome.flaky))
...     print(sweep.report.summary)

Targets are pulled lazily from any (async) iterable, at most
:attr:`SweepSettings.effective_window` at a time, and results are spooled, so
memory stays flat however many targets there are. :meth:`Sweep.stop` winds
down gracefully (no new triggers; running reruns are followed for a grace
period); cancelling :meth:`Sweep.run` stops at once. Either way every target
already begun gets an outcome and :attr:`Sweep.report` holds what is known.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from rerunorch.api.client import TestsigmaClient
from rerunorch.clock import Clock, SystemClock
from rerunorch.errors import AuthError, ConfigError
from rerunorch.events import (
    Listeners,
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    SweepFinished,
    SweepListener,
    SweepStarted,
)
from rerunorch.journal import Journal, JournalEntry, State
from rerunorch.lifecycle import TargetRun
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.pacing import RequestPacer, RerunSlots
from rerunorch.pacing.local import ActiveReruns, Pacer
from rerunorch.report.model import SweepReport
from rerunorch.secret import Secret
from rerunorch.settings import SweepSettings
from rerunorch.sharding import Shard
from rerunorch.strategies.base import Strategy
from rerunorch.strategies.builtin import builtin_strategies
from rerunorch.targets import Target

__all__ = ["Sweep", "SweepProgress", "run_sweep"]

log = logging.getLogger(__name__)

TargetSource = Iterable[Target | int] | AsyncIterable[Target | int]


class SweepProgress:
    """Live counters for progress displays (read them at any time).

    Attributes:
        started: Targets taken up.
        triggered: Reruns triggered or adopted.
        running: Targets taken up and not yet ended.
        done: Targets ended.
        rate_limited_waits: Pauses the server asked for.
    """

    __slots__ = ("done", "rate_limited_waits", "running", "started", "triggered")

    def __init__(self) -> None:
        self.started = self.triggered = self.running = self.done = self.rate_limited_waits = 0


class Sweep:
    """One sweep over many targets.

    Args:
        targets: Ids or :class:`Target` objects, from any iterable or async iterable.
        settings: How to run.
        api_key: The API key, unless ``client`` is given.
        client: A client to use (its pacer then paces the sweep); otherwise one is made.
        strategy: The selection strategy; otherwise ``settings.strategy`` among ``strategies``.
        strategies: The strategies by name (default: the built-in ones).
        listener: Told of each event; one or several, each isolated (an error in one is
            logged and noted in the report, never fatal).
        clock: The time source (tests and benchmarks share a scaled one with the simulator).

    Raises:
        ConfigError: Unknown strategy, or neither ``api_key`` nor ``client``.
    """

    def __init__(
        self,
        targets: TargetSource,
        settings: SweepSettings | None = None,
        *,
        api_key: str | Secret | None = None,
        client: TestsigmaClient | None = None,
        strategy: Strategy | None = None,
        strategies: Mapping[str, Strategy] | None = None,
        listener: SweepListener | Sequence[SweepListener] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        journal: Journal | None = None,
    ) -> None:
        self.settings = settings or SweepSettings()
        self.clock = clock or (client.clock if client else SystemClock())
        self._rng = rng or random.Random()
        self._targets = targets
        self.journal = journal
        listeners: Sequence[SweepListener] = (
            listener if isinstance(listener, Sequence) else (listener,) if listener else ()
        )
        self.strategy = strategy or _pick_strategy(self.settings.strategy, strategies)
        self._shard = Shard.parse(self.settings.shard) if self.settings.shard else None
        self._active: RerunSlots = ActiveReruns(self.settings.max_active)
        if client is None:
            if api_key is None:
                raise ConfigError("a sweep needs an API key (or a client)")
            key = api_key if isinstance(api_key, Secret) else Secret(api_key)
            client = TestsigmaClient(
                key,
                self.settings.base_url,
                pacer=self._pacer(key),
                clock=self.clock,
                rng=self._rng,
                timeout=self.settings.request_timeout,
                max_response_bytes=self.settings.max_response_bytes,
            )
        self.client = client
        self.progress = SweepProgress()
        self.report = SweepReport(started_at=self.clock.time(), config=self._config())
        self._stop = anyio.Event()
        self._grace_deadline: float | None = None
        self._running: dict[int, TargetRun] = {}
        self._send: MemoryObjectSendStream[Outcome] | None = None
        self._listeners = Listeners(listeners, self.report.notes.append)
        self._auth_failure: AuthError | None = None

    def _pacer(self, key: Secret) -> RequestPacer:
        """The sweep's limiter: in-process, or shared through Redis."""
        settings = self.settings
        if not settings.shared_limit:
            return Pacer(
                rate=settings.rate,
                burst=settings.burst,
                max_in_flight=settings.concurrency,
                clock=self.clock,
                rng=self._rng,
                on_wait=self._on_wait,
            )
        from rerunorch.pacing import shared as redis_limit

        if settings.rate is None:
            raise ConfigError("--shared-limit needs --rate: the account's requests per second")
        redis = redis_limit.connect(settings.shared_limit)
        prefix = redis_limit.namespace(settings.base_url, key.reveal())
        if settings.max_active:
            self._active = redis_limit.RedisActiveReruns(
                redis,
                prefix,
                settings.max_active,
                fallback_fraction=settings.fallback_fraction,
                clock=self.clock,
            )
        return redis_limit.RedisPacer(
            redis,
            prefix,
            rate=settings.rate,
            burst=settings.burst,
            max_in_flight=settings.concurrency,
            fallback_fraction=settings.fallback_fraction,
            clock=self.clock,
            rng=self._rng,
            on_wait=self._on_wait,
        )

    def _config(self) -> dict[str, Any]:
        return {**self.settings.to_json(), "strategy": self.strategy.name}

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Wind down: trigger nothing more, follow running reruns for ``settings.grace``."""
        if not self._stop.is_set():
            log.info("stopping: no new reruns; following running ones for %gs", self.settings.grace)
            self._grace_deadline = self.clock.monotonic() + self.settings.grace
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> SweepReport:
        """Run the sweep to its end and return the report.

        Raises:
            AuthError: The server refused the API key; the sweep stopped at once
                (``self.report`` still holds what was known).
        """
        async with self.client, self._journal_running(), self._slots_running():
            try:
                async with self._listeners.relaying():  # pauses are told as they happen
                    await self._listeners.tell(SweepStarted(settings=self.settings))
                    await self._fan_out()
            finally:
                with anyio.CancelScope(shield=True):
                    self._finish()
                    self.report.finished_at = self.clock.time()
                    await self._listeners.tell(SweepFinished(report=self.report))
        # Raised out here, not inside the journal's task group, so it is not wrapped.
        if self._auth_failure is not None:
            raise self._auth_failure
        return self.report

    @asynccontextmanager
    async def _journal_running(self) -> AsyncIterator[None]:
        if self.journal is None:
            yield
        else:
            async with self.journal.running():
                yield

    @asynccontextmanager
    async def _slots_running(self) -> AsyncIterator[None]:
        running = getattr(self._active, "running", None)  # shared slots renew their leases
        if running is None:
            yield
        else:
            async with running():
                yield

    @asynccontextmanager
    async def outcomes(self) -> AsyncIterator[AsyncIterator[Outcome]]:
        """Run the sweep in the background, giving each outcome as it ends.

        Leaving the block early cancels the sweep (targets begun end ``interrupted``).
        """
        send, receive = anyio.create_memory_object_stream[Outcome](max_buffer_size=1000)
        self._send = send
        async with anyio.create_task_group() as tg:

            async def run_and_close() -> None:
                async with send:
                    await self.run()

            tg.start_soon(run_and_close)
            async with receive:
                yield receive
            tg.cancel_scope.cancel()

    # -- the fan-out -------------------------------------------------------------------------

    async def _fan_out(self) -> None:
        window = anyio.Semaphore(self.settings.effective_window, fast_acquire=True)
        async with anyio.create_task_group() as tg:
            async for item in _aiter(self._targets):
                target = Target.of(item)
                if self._shard is not None and target.id not in self._shard:
                    continue
                entry = self.journal.entry(target.id) if self.journal else None
                if entry is not None and entry.state == State.DONE:
                    await self._record_done(target)
                    continue
                if not self._stop.is_set():
                    await window.acquire()
                    if self._stop.is_set():
                        window.release()
                if self._stop.is_set():
                    # Every target gets an outcome, even those the sweep never began.
                    self.progress.started += 1
                    self.progress.running += 1
                    not_begun = Outcome(
                        target=target.id, outcome=OutcomeKind.INTERRUPTED, error="not begun"
                    )
                    await self._record(not_begun)
                    continue
                self.progress.started += 1
                self.progress.running += 1
                tg.start_soon(self._one, target, entry, window, tg.cancel_scope)

    async def _one(
        self,
        target: Target,
        entry: JournalEntry | None,
        window: anyio.Semaphore,
        scope: anyio.CancelScope,
    ) -> None:
        job = TargetRun(
            target,
            client=self.client,
            strategy=self.strategy,
            settings=self.settings,
            active=self._active,
            clock=self.clock,
            rng=self._rng,
            stop=self._stop,
            grace_deadline=lambda: self._grace_deadline,
            on_triggered=self._on_triggered,
            journal=self.journal,
            resume=entry,
        )
        self._running[id(job)] = job
        try:
            outcome = await job.run()
        except AuthError as exc:
            # 401/403 stops everything at once: nothing more is sent.
            if self._auth_failure is None:
                self._auth_failure = exc
                self._stop.set()
                self._grace_deadline = self.clock.monotonic()
                self.report.notes.append(f"stopped: the server refused the API key: {exc.message}")
            scope.cancel()
            return
        finally:
            window.release()
        del self._running[id(job)]
        await self._record(outcome)

    async def _record_done(self, target: Target) -> None:
        """A target the journal already holds an outcome for: kept, nothing is sent."""
        assert self.journal is not None
        outcome = self.journal.outcome(target.id)
        if outcome is None:  # pragma: no cover - DONE rows always carry an outcome
            raise RuntimeError(f"the journal has no outcome for {target.id}")
        self.progress.started += 1
        self.progress.running += 1
        await self._record(outcome, journaled=True)

    async def _record(self, outcome: Outcome, *, journaled: bool = False) -> None:
        if self.journal is not None and not journaled:
            await self.journal.finished(outcome)
        self.report.add(outcome)
        self.progress.running -= 1
        self.progress.done += 1
        if self._send is not None:
            await self._send.send(outcome)
        await self._listeners.tell(RerunFinished(outcome=outcome))

    def _finish(self) -> None:
        """Give every target still begun an ``interrupted`` outcome; settle the counters."""
        for job in list(self._running.values()):
            outcome = job.outcome(OutcomeKind.INTERRUPTED, error="sweep cancelled")
            self.report.add(outcome)
            self.progress.running -= 1
            self.progress.done += 1
        self._running.clear()
        self.report.summary.requests = self.client.counters.requests
        self.report.summary.rate_limited = self.client.counters.rate_limited

    # -- events ------------------------------------------------------------------------------

    async def _on_triggered(self, event: RerunTriggered) -> None:
        self.progress.triggered += 1
        await self._listeners.tell(event)

    def _on_wait(self, wait: float, reason: str) -> None:
        # Called by the pacer inside a request: queue the pause for the relay task, never wait.
        self.progress.rate_limited_waits += 1
        self._listeners.tell_soon(RequestsPaused(wait=wait, reason=reason))


async def _aiter(source: TargetSource) -> AsyncIterator[Target | int]:
    if isinstance(source, AsyncIterable):
        async for item in source:
            yield item
    else:
        for item in source:
            yield item


def _pick_strategy(name: str, strategies: Mapping[str, Strategy] | None) -> Strategy:
    known: dict[str, Strategy] = (
        dict(strategies) if strategies is not None else {s.name: s for s in builtin_strategies()}
    )
    try:
        return known[name]
    except KeyError:
        raise ConfigError(
            f"unknown strategy {name!r}; available: {', '.join(sorted(known))}"
        ) from None


async def run_sweep(
    targets: TargetSource, settings: SweepSettings | None = None, **kwargs: Any
) -> SweepReport:
    """Run a sweep and return its report: ``Sweep(targets, settings, **kwargs).run()``."""
    return await Sweep(targets, settings, **kwargs).run()
