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
period, at whose end whatever still runs, a retry or a server-requested pause
included, is cut); cancelling :meth:`Sweep.run` stops at once. Either way every
target already begun gets an outcome and :attr:`Sweep.report` holds what is
known. A bad item among the targets fails alone (an ``error`` outcome); an id
given again is swept once (and noted in the report).
"""

from __future__ import annotations

import functools
import inspect
import logging
import random
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from rerunorch.api.client import ClientCounters, TestsigmaClient, require_asyncio
from rerunorch.api.models import ExecutionResult
from rerunorch.clock import Clock, SystemClock
from rerunorch.errors import AuthError, ConfigError, JournalError, RerunorchError
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
from rerunorch.ledger.advice import SweepHistory
from rerunorch.lifecycle import RerunBudget, TargetRun
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.pacing import RequestPacer, RerunSlots
from rerunorch.pacing.limits import SharedLimits
from rerunorch.pacing.local import ActiveReruns, Pacer
from rerunorch.report.model import SweepReport
from rerunorch.secret import Secret
from rerunorch.settings import SweepSettings
from rerunorch.sharding import Shard
from rerunorch.strategies.base import Strategy
from rerunorch.strategies.builtin import builtin_strategies
from rerunorch.targets import MAX_ID, Target

__all__ = ["Sweep", "SweepProgress", "run_sweep"]

log = logging.getLogger(__name__)

TargetStream = Iterable[Target | int] | AsyncIterable[Target | int]
# Handed the sweep's client, so that finding the targets goes through its pacer (discovery).
TargetFinder = Callable[[TestsigmaClient], AsyncIterable[Target | int]]
TargetSource = TargetStream | TargetFinder


class SweepProgress:
    """Live counters for progress displays (read them at any time).

    Attributes:
        started: Targets taken up.
        triggered: Reruns triggered or adopted.
        running: Targets taken up and not yet ended.
        done: Targets ended.
        rate_limited_waits: Pauses the server asked for (with shared limits, every pause
            of the shared pacer while the sweep ran).
    """

    __slots__ = ("done", "rate_limited_waits", "running", "started", "triggered")

    def __init__(self) -> None:
        self.started = self.triggered = self.running = self.done = self.rate_limited_waits = 0


class Sweep:
    """One sweep over many targets.

    Args:
        targets: Ids or :class:`Target` objects, from any iterable or async iterable, or
            a callable handed the sweep's client that gives them (e.g. a ``RunDiscovery``).
        settings: How to run.
        api_key: The API key, unless ``client`` is given.
        client: A client to use (its pacer then paces the sweep); otherwise one is made.
            The sweep closes only a client it made: whoever makes one closes it, so
            several sweeps may share it (each reports its own requests).
        limits: Limits shared with other sweeps of this process (the rate, the pauses
            and the active-rerun cap); they replace the settings' ``rate``, ``burst``,
            ``concurrency`` and ``max_active``. A ``client`` given with them must pace
            with ``limits.pacer``.
        strategy: The selection strategy; otherwise ``settings.strategy`` among ``strategies``.
        strategies: The strategies by name (default: the built-in ones).
        listener: Told of each event; one or several, each isolated (an error in one is
            logged and noted in the report, never fatal).
        clock: The time source (tests and benchmarks share a scaled one with the simulator).
        history: What the flake ledger says of each test (``rerunorch.ledger``): each test's
            own prior, the tests broken for nights (not rerun again), the quarantine.

    Raises:
        ConfigError: Unknown strategy, neither ``api_key`` nor ``client``, or ``limits``
            with settings that set limits of their own or a client with another pacer.

    A sweep runs on asyncio only (aiohttp does): under another event loop (e.g.
    ``anyio.run(..., backend="trio")``) :meth:`run` and :meth:`outcomes` raise
    :class:`ConfigError` before anything is sent.
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
        limits: SharedLimits | None = None,
        history: SweepHistory | None = None,
    ) -> None:
        self.settings = settings or SweepSettings()
        self.history = history
        self.limits = limits
        self.clock = clock or (
            client.clock if client else limits.clock if limits else SystemClock()
        )
        self._rng = rng or random.Random()
        self._targets = targets
        self.journal = journal
        listeners: Sequence[SweepListener] = (
            listener if isinstance(listener, Sequence) else (listener,) if listener else ()
        )
        self.strategy = strategy or _pick_strategy(self.settings.strategy, strategies)
        self._shard = Shard.parse(self.settings.shard) if self.settings.shard else None
        self._active: RerunSlots = ActiveReruns(self.settings.max_active)
        if limits is not None:
            self._check_limits(limits, client)
            self._active = limits.active
        self._owns_client = client is None
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
        self._counted = ClientCounters()  # this sweep's own requests (the client may be shared)
        self.progress = SweepProgress()
        self.report = SweepReport(
            started_at=self.clock.time(), config=self._config(), fail_on=self.settings.fail_on
        )
        self._stop = anyio.Event()
        self._grace_deadline: float | None = None
        self._running: dict[int, TargetRun] = {}
        self._budget = RerunBudget(self.settings.budget)  # rerun time shared by all targets
        self._send: MemoryObjectSendStream[Outcome] | None = None
        self._listeners = Listeners(listeners, self.report.notes.append)
        self._heard = bool(listeners)  # with nobody listening, a target's events are not made
        self._auth_failure: AuthError | None = None
        self._ran_by: str | None = None  # "run()" or "outcomes()", once started
        self._cuts: set[anyio.CancelScope] = set()  # one per running target, cut after grace
        self._grace_over = False
        self._repeated: set[int] = set()  # ids given again, swept once
        self._repeated_count = 0

    def _check_limits(self, limits: SharedLimits, client: TestsigmaClient | None) -> None:
        settings = self.settings
        given = [name for name in ("rate", "max_active", "shared_limit") if getattr(settings, name)]
        if given:
            raise ConfigError(
                f"a sweep given limits= takes its limits from them, but its settings set "
                f"{', '.join(given)}: set them on the SharedLimits (or drop limits=)"
            )
        if client is not None and client.pacer is not limits.pacer:
            raise ConfigError(
                "the client paces with a pacer of its own, so the limits would not hold: "
                "make it with TestsigmaClient(..., pacer=limits.pacer)"
            )

    def _pacer(self, key: Secret) -> RequestPacer:
        """The sweep's limiter: shared in-process, its own, or shared through Redis."""
        settings = self.settings
        if self.limits is not None:
            return self.limits.pacer
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
        limits = self.limits.to_json() if self.limits is not None else {}
        return {**self.settings.to_json(), **limits, "strategy": self.strategy.name}

    # -- control -----------------------------------------------------------------------------

    def stop(self) -> None:
        """Wind down: trigger nothing more, follow running reruns for ``settings.grace``.

        When the grace period ends, every target still running is cut (even in the middle
        of a request, its retries or a pause the server asked for) and ends ``interrupted``;
        the journal stays consistent, so a resume picks them up.
        """
        if not self._stop.is_set():
            log.info("stopping: no new reruns; following running ones for %gs", self.settings.grace)
            self._grace_deadline = self.clock.monotonic() + self.settings.grace
            self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    async def run(self) -> SweepReport:
        """Run the sweep to its end and return the report. A sweep runs once.

        Raises:
            AuthError: The server refused the API key; the sweep stopped at once
                (``self.report`` still holds what was known).
            JournalError: The journal could not be written; the sweep stopped at once
                (``self.report`` still holds what was known; the journal is resumable).
            ConfigError: The event loop is not asyncio's (nothing was sent).
            RuntimeError: The sweep was already run (by :meth:`run` or :meth:`outcomes`).
        """
        require_asyncio("a sweep")
        self._claim("run()")
        return await self._run()

    def _claim(self, how: str) -> None:
        if self._ran_by is not None:
            raise RuntimeError(
                f"this sweep was already started by Sweep.{self._ran_by}: a Sweep runs once "
                f"(its report is sweep.report); make a new Sweep to sweep again"
            )
        self._ran_by = how

    async def _run(self) -> SweepReport:
        async with self._client_open(), self._journal_running(), self._slots_running():
            try:
                async with self._listeners.relaying():  # pauses are told as they happen
                    await self._listeners.tell(SweepStarted(settings=self.settings))
                    await self._sweep()
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
    async def _client_open(self) -> AsyncIterator[None]:
        """Count this sweep's requests and hear the shared pauses; close the client if made."""
        async with AsyncExitStack() as stack:
            if self._owns_client:
                await stack.enter_async_context(self.client)
            self._counted = stack.enter_context(self.client.counting())
            if self.limits is not None:
                stack.enter_context(self.limits.watch(self._on_wait))
            yield

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
        Raises what :meth:`run` raises, on leaving the block (``ConfigError`` and
        ``RuntimeError`` on entering it).
        """
        require_asyncio("a sweep")
        self._claim("outcomes()")
        send, receive = anyio.create_memory_object_stream[Outcome](max_buffer_size=1000)
        self._send = send
        failure: RerunorchError | None = None
        async with anyio.create_task_group() as tg:

            async def run_and_close() -> None:
                nonlocal failure
                async with send:
                    try:
                        await self._run()
                    except RerunorchError as exc:
                        failure = exc  # raised below, outside the task group

            tg.start_soon(run_and_close)
            async with receive:
                yield receive
            tg.cancel_scope.cancel()
        if failure is not None:
            raise failure

    # -- the fan-out -------------------------------------------------------------------------

    async def _sweep(self) -> None:
        """The fan-out, with the grace period kept: once it is over, what runs is cut."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._end_of_grace)
            await self._fan_out()
            tg.cancel_scope.cancel()
        if self._repeated:
            # Worded as the CLI words the repeats it finds in a targets file.
            ids = sorted(self._repeated)
            shown = ", ".join(map(str, ids[:3])) + (", ..." if len(ids) > 3 else "")
            count = self._repeated_count
            self.report.notes.append(
                f"{count} repeated target{'s' if count > 1 else ''} skipped: each id is swept "
                f"once (repeated: {shown})"
            )

    async def _end_of_grace(self) -> None:
        """Cut every target still running when the grace period ends (retries, pauses, polls)."""
        await self._stop.wait()
        assert self._grace_deadline is not None  # set with the stop
        await self.clock.sleep(self._grace_deadline - self.clock.monotonic())
        self._grace_over = True
        for cut in self._cuts:
            cut.cancel()

    async def _fan_out(self) -> None:
        window = anyio.Semaphore(self.settings.effective_window, fast_acquire=True)
        # Of the targets in the window, few read and decide at once: the others wait for a
        # rerun slot, so their reads never queue in the pacer ahead of the polls and triggers.
        readers = anyio.Semaphore(max(4 * self.settings.concurrency, 16), fast_acquire=True)
        seen: set[int] = set()
        async with anyio.create_task_group() as tg:
            async for item in _aiter(self._stream()):
                target = await self._take(item)
                if target is None or (self._shard is not None and target.id not in self._shard):
                    continue
                if target.id in seen:
                    self._repeated.add(target.id)
                    self._repeated_count += 1
                    continue
                seen.add(target.id)
                entry = self.journal.entry(target.id) if self.journal else None
                if entry is not None and entry.state == State.DONE:
                    await self._record_done(target)
                    continue
                if not self._stop.is_set():
                    await window.acquire()
                    if self._stop.is_set():
                        window.release()
                self.progress.started += 1
                self.progress.running += 1
                if self._stop.is_set():
                    # Every target gets an outcome, even those the sweep never began.
                    not_begun = Outcome(
                        target=target.id, outcome=OutcomeKind.INTERRUPTED, error="not begun"
                    )
                    await self._record(not_begun)
                    continue
                tg.start_soon(self._one, target, entry, window, readers, tg.cancel_scope)

    def _stream(self) -> TargetStream:
        targets = self._targets
        return targets if isinstance(targets, Iterable | AsyncIterable) else targets(self.client)

    async def _take(self, item: object) -> Target | None:
        """``item`` as a target; a bad one ends as an ``error`` outcome of its own (None)."""
        try:
            return Target.of(item)  # type: ignore[arg-type]  # a caller's list may hold anything
        except (TypeError, ValueError) as exc:  # the message quotes the item, bounded
            number = item if isinstance(item, int) and not isinstance(item, bool) else 0
            self.progress.started += 1
            self.progress.running += 1
            bad = Outcome(
                target=number if 0 <= number <= MAX_ID else 0,
                outcome=OutcomeKind.ERROR,
                error=f"not a target: {exc}",
            )
            await self._record(bad, journaled=True)  # nothing to resume: it is not a run
            return None

    async def _one(
        self,
        target: Target,
        entry: JournalEntry | None,
        window: anyio.Semaphore,
        readers: anyio.Semaphore,
        scope: anyio.CancelScope,
    ) -> None:
        reading = _Reading(self._active, readers)
        job = TargetRun(
            target,
            client=self.client,
            strategy=self.strategy,
            settings=self.settings,
            active=reading,
            clock=self.clock,
            rng=self._rng,
            stop=self._stop,
            grace_deadline=lambda: self._grace_deadline,
            on_triggered=self._on_triggered,
            journal=self.journal,
            resume=entry,
            budget=self._budget,
            on_ended=self._on_ended,
            history=self.history,
        )
        self._running[id(job)] = job
        cut = anyio.CancelScope()
        self._cuts.add(cut)
        try:
            with cut:
                if self._grace_over:
                    cut.cancel()
                await reading.begin()
                if self._stop.is_set() and entry is None:
                    # Its turn to be read came after the stop: as if never taken up.
                    outcome = job.outcome(OutcomeKind.INTERRUPTED, error="not begun")
                else:
                    outcome = await job.run()
            if cut.cancelled_caught:
                why = "the API key was refused" if self._auth_failure else "the grace period ended"
                outcome = job.outcome(OutcomeKind.INTERRUPTED, error=why)
            await self._record(outcome, job=job)
        except AuthError as exc:
            # 401/403 stops everything at once: nothing more is sent.
            if self._auth_failure is None:
                self._auth_failure = exc
                self._stop.set()
                self._grace_deadline = self.clock.monotonic()
                self.report.notes.append(f"stopped: the server refused the API key: {exc.message}")
            scope.cancel()
        except JournalError:
            pass  # the journal has cancelled the sweep; it raises the error once unwound
        finally:
            reading.end()
            self._cuts.discard(cut)
            window.release()

    async def _record_done(self, target: Target) -> None:
        """A target the journal already holds an outcome for: kept, nothing is sent."""
        assert self.journal is not None
        outcome = self.journal.outcome(target.id)
        if outcome is None:  # pragma: no cover - DONE rows always carry an outcome
            raise RuntimeError(f"the journal has no outcome for {target.id}")
        self.progress.started += 1
        self.progress.running += 1
        await self._record(outcome, journaled=True)

    async def _record(
        self, outcome: Outcome, *, journaled: bool = False, job: TargetRun | None = None
    ) -> None:
        """Journal, report, stream and announce an outcome (``job``'s, if it ran)."""
        if self.journal is not None and not journaled:
            await self.journal.finished(outcome)
        if job is not None:
            del self._running[id(job)]  # with the report's entry: never both or neither
        self.report.add(outcome)
        self.progress.running -= 1
        self.progress.done += 1
        if self._send is not None:
            await self._send.send(outcome)
        if self._heard:
            seen = job.observations(outcome) if job is not None else ()
            await self._listeners.tell(RerunFinished(outcome=outcome, observations=seen))

    def _finish(self) -> None:
        """Give every target still begun an ``interrupted`` outcome; settle the counters."""
        failure = self.journal.failure if self.journal is not None else None
        if failure is not None:
            self.report.notes.append(f"stopped: {failure}")
        why = "the journal could not be written" if failure else "sweep cancelled"
        for job in list(self._running.values()):
            outcome = job.outcome(OutcomeKind.INTERRUPTED, error=why)
            self.report.add(outcome)
            self.progress.running -= 1
            self.progress.done += 1
        self._running.clear()
        self.report.summary.requests = self._counted.requests
        self.report.summary.rate_limited = self._counted.rate_limited

    # -- events ------------------------------------------------------------------------------

    async def _on_triggered(self, event: RerunTriggered) -> None:
        self.progress.triggered += 1
        if self._heard:
            await self._listeners.tell(event)

    def _on_ended(self, run: ExecutionResult) -> None:
        """A rerun seen completed: its device time and span, by the server's times."""
        self.report.summary.rerun_ended(*_span(run, self.clock.time()))

    def _on_wait(self, wait: float, reason: str) -> None:
        # Called by the pacer inside a request: queue the pause for the relay task, never wait.
        self.progress.rate_limited_waits += 1
        self._listeners.tell_soon(RequestsPaused(wait=wait, reason=reason))


class _Reading:
    """One target's rerun slots, which first end its turn to read and decide.

    The window holds many targets (so that the start order has a choice); ``readers``
    lets only a few of them read at once. A target's turn ends when it asks for a slot
    (or ends).
    """

    def __init__(self, slots: RerunSlots, readers: anyio.Semaphore) -> None:
        self._slots = slots
        self._readers = readers
        self._reading = False

    async def begin(self) -> None:
        await self._readers.acquire()
        self._reading = True

    def end(self) -> None:
        if self._reading:
            self._reading = False
            self._readers.release()

    def slot(self, priority: float = 0.0) -> AbstractAsyncContextManager[None]:
        self.end()
        if not _takes_priority(type(self._slots)):  # one written before the start order
            return self._slots.slot()
        return self._slots.slot(priority)

    @property
    def active(self) -> int:
        return self._slots.active


@functools.cache
def _takes_priority(kind: type[RerunSlots]) -> bool:
    """Whether ``kind.slot`` takes a priority (a RerunSlots of old may not)."""
    try:
        inspect.signature(kind.slot).bind(None, 0.0)
    except (TypeError, ValueError):
        return False
    return True


def _span(run: ExecutionResult, now: float) -> tuple[float, float, float]:
    """(start, end, seconds) of a completed run: epoch seconds as the server gives them,
    its end taken as ``now`` and its duration as end - start where it does not."""
    ended = run.end_time / 1000 if run.end_time is not None else now
    if run.duration is not None:
        seconds = max(run.duration, 0) / 1000
    elif run.start_time is not None:
        seconds = max(ended - run.start_time / 1000, 0.0)
    else:
        seconds = 0.0
    started = run.start_time / 1000 if run.start_time is not None else ended - seconds
    return started, ended, seconds


async def _aiter(source: TargetStream) -> AsyncIterator[Target | int]:
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
    limits: SharedLimits | None = None,
    history: SweepHistory | None = None,
) -> SweepReport:
    """Run a sweep and return its report: ``Sweep(targets, settings, ...).run()``.

    The arguments are :class:`Sweep`'s; it raises what :class:`Sweep` and :meth:`Sweep.run`
    raise.
    """
    sweep = Sweep(
        targets,
        settings,
        api_key=api_key,
        client=client,
        strategy=strategy,
        strategies=strategies,
        listener=listener,
        clock=clock,
        rng=rng,
        journal=journal,
        limits=limits,
        history=history,
    )
    return await sweep.run()
