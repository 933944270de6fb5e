"""One worker of a fleet: it claims targets from the stream, holds them under a lease it
renews, and records each state and outcome in Redis (acknowledging a target with its outcome).

Every write about a claimed target is fenced: one Lua call checks that this worker
still holds the target's entry in the group's pending list before it writes. So a
worker cut off from Redis for longer than its lease (its targets reclaimed by
others) can write nothing about them once it is back: what it learns is dropped.

The ``triggering`` record is written to Redis before every POST, and waits for
Redis when it is down: a worker that claims a target another worker had begun reads
that record (through its journal entry) and the parent run, and adopts the rerun
found there rather than triggering another. Other writes (``triggered``, outcomes)
are kept and sent again when Redis is back.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio

from rerunorch.errors import RerunorchError
from rerunorch.fleet.records import (
    GROUP,
    Fleet,
    entry_from_json,
    entry_json,
    redis_errors,
    target_from_json,
)
from rerunorch.journal import JournalEntry, State
from rerunorch.outcome import Outcome
from rerunorch.report.model import Summary
from rerunorch.targets import Target

if TYPE_CHECKING:
    from rerunorch.fleet.journal import FleetJournal

__all__ = ["DEFAULT_LEASE", "ClaimLost", "FleetWorker"]

log = logging.getLogger(__name__)

DEFAULT_LEASE = 60.0
"""Seconds a claim lasts without being renewed (renewed every third of it)."""
RETRY = 1.0  # seconds between tries of an unreachable Redis

# Is entry ARGV[3] of group ARGV[1] pending with consumer ARGV[2]?
_OWNED = """
local function owned(id)
  local p = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  return p[1] ~= nil and p[1][2] == ARGV[2]
end
"""

# A target's state (ARGV[4] -> ARGV[5]), written only while its entry is ours; renews it.
_STATE = (
    _OWNED
    + """
if not owned(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""
)

# A target's outcome and its acknowledgement, together, only while its entry is ours.
_OUTCOME = (
    _OWNED
    + """
if not owned(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], ARGV[4], ARGV[5])
redis.call('XACK', KEYS[1], ARGV[1], ARGV[3])
return 1
"""
)

# Renew the leases of entries ARGV[4..] (ARGV[3] unused); returns the ones no longer ours.
_RENEW = (
    _OWNED
    + """
local lost = {}
for i = 4, #ARGV do
  if owned(ARGV[i]) then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
"""
)

# Give entries ARGV[4..] up at once: idle as if their lease had run out (ARGV[3] ms).
_RELEASE = (
    _OWNED
    + """
for i = 4, #ARGV do
  if owned(ARGV[i]) then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'IDLE', ARGV[3], 'JUSTID')
  end
end
return 1
"""
)


# Add a worker's requests and device seconds; keep the earliest start and the latest end.
_TOTALS = """
redis.call('HINCRBY', KEYS[1], 'requests', ARGV[1])
if ARGV[2] ~= '' then redis.call('HINCRBYFLOAT', KEYS[1], 'device_seconds', ARGV[2]) end
local first = redis.call('HGET', KEYS[1], 'first_start')
if ARGV[3] ~= '' and (not first or tonumber(ARGV[3]) < tonumber(first)) then
  redis.call('HSET', KEYS[1], 'first_start', ARGV[3])
end
local last = redis.call('HGET', KEYS[1], 'last_end')
if ARGV[4] ~= '' and (not last or tonumber(ARGV[4]) > tonumber(last)) then
  redis.call('HSET', KEYS[1], 'last_end', ARGV[4])
end
return 1
"""


class ClaimLost(RerunorchError):
    """Another worker holds this target now (this one's lease ran out): it goes on there."""


class FleetWorker:
    """A worker of ``fleet``: :meth:`claims` feeds a sweep; ``journal`` writes through it.

    Args:
        fleet: The fleet, joined.
        journal: The sweep's journal (see :class:`~rerunorch.fleet.journal.FleetJournal`).
        lease: Seconds a claim lasts unrenewed (real seconds: Redis keeps them).
        poll: Seconds between looks at the stream when nothing is left to claim.
    """

    def __init__(
        self,
        fleet: Fleet,
        journal: FleetJournal,
        *,
        lease: float = DEFAULT_LEASE,
        poll: float = 1.0,
    ) -> None:
        self.fleet = fleet
        self.journal = journal
        journal.worker = self
        self.lease = lease
        self.poll = min(poll, lease / 4)
        self.consumer = f"{socket.gethostname()[:40]}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.notes: list[str] = []
        self.claimed = 0
        self.gone = False  # the fleet's records vanished from Redis
        self._held: dict[int, str] = {}  # target -> its stream entry, while ours
        self._yielded: set[int] = set()  # targets handed to the sweep (it takes each once)
        self._unsent: dict[tuple[str, int], str] = {}  # ("state"|"outcome", target) -> json
        self._stopping: Callable[[], bool] = lambda: False
        self._down_since: float | None = None
        self._cursor = "0-0"
        self._wake = anyio.Event()
        self._sending = anyio.Lock()  # one sender at a time: each record is sent once
        redis = fleet.redis
        self._state = redis.register_script(_STATE)
        self._outcome = redis.register_script(_OUTCOME)
        self._renew = redis.register_script(_RENEW)
        self._release = redis.register_script(_RELEASE)
        self._totals = redis.register_script(_TOTALS)

    def watch(self, sweep: Any) -> None:
        """Stop claiming once ``sweep`` (anything with ``stopping``) winds down."""
        self._stopping = lambda: bool(sweep.stopping)

    @property
    def held(self) -> int:
        return len(self._held)

    # -- Redis up and down -------------------------------------------------------------------

    def _went_down(self, exc: BaseException) -> None:
        if "NOGROUP" in str(exc) and not self.gone:
            self.gone = True  # Redis answers, without the fleet: it restarted empty
            line = (
                f"{self.fleet.shown}: the fleet's records are gone from Redis (did it restart "
                "without persistence?): claiming nothing more; the targets claimed go on, "
                "without triggering"
            )
            log.error("%s", line)
            self.notes.append(line)
        if self._down_since is None:
            self._down_since = time.monotonic()
            line = (
                f"{self.fleet.shown}: Redis is unreachable ({exc}); claiming nothing more, "
                f"the {len(self._held)} target(s) claimed go on"
            )
            log.warning("%s", line)
            self.notes.append(line)

    def _came_back(self) -> None:
        if self._down_since is not None:
            lost = time.monotonic() - self._down_since
            line = f"{self.fleet.shown}: Redis answers again after {lost:.1f}s; claiming again"
            log.warning("%s", line)
            self.notes.append(line)
            self._down_since = None

    def _args(self, entry: str, *rest: object) -> list[object]:
        return [GROUP, self.consumer, entry, *rest]

    # -- claiming ----------------------------------------------------------------------------

    async def claims(self) -> AsyncIterator[Target]:
        """The targets this worker claims, one at a time, until every target has an outcome
        (or the sweep winds down)."""
        while not self._stopping() and not self.gone:
            try:
                target = await self._claim()
                done = target is None and await self._all_done()
            except redis_errors() as exc:
                self._went_down(exc)
                await self._nap(RETRY)
                continue
            self._came_back()
            if target is not None:
                yield target
            elif done:
                return
            else:
                await self._nap(self.poll)

    async def _claim(self) -> Target | None:
        """One target from the stream: a lapsed claim first, else a new one; None: none now."""
        redis, stream = self.fleet.redis, self.fleet.key["stream"]
        while True:
            cursor, rows, *_ = await redis.xautoclaim(
                stream, GROUP, self.consumer, int(self.lease * 1000), self._cursor, count=1
            )
            self._cursor = _text(cursor)
            reclaimed = bool(rows)
            if not rows:
                found = await redis.xreadgroup(GROUP, self.consumer, {stream: ">"}, count=1)
                rows = _rows(found)
            if not rows:
                return None
            entry, fields = rows[0]
            target = target_from_json(fields[b"t"])
            if await self._take(target, _text(entry)):
                if reclaimed:  # a lost worker's claim, or one given up at a stop
                    await redis.incr(self.fleet.key["reclaimed"])
                return target

    async def _take(self, target: Target, entry: str) -> bool:
        """Hold ``target`` (stream entry ``entry``); False when there is nothing to do."""
        if target.id in self._held:  # ours already (our lease lapsed and we took it back)
            self._held[target.id] = entry
            return False
        if target.id in self._yielded:  # swept here, then lost, and back: the sweep has it
            self._held[target.id] = entry
            done = self.journal.outcome(target.id)
            if done is not None:  # its outcome was fenced out when lost: record it now
                await self.finished(done)
            return False
        redis = self.fleet.redis
        if await redis.hexists(self.fleet.key["outcomes"], target.id):  # recorded: done
            await redis.xack(self.fleet.key["stream"], GROUP, entry)
            return False
        state = await redis.hget(self.fleet.key["states"], target.id)
        if state is not None:
            found = entry_from_json(state)
            log.info(
                "%s: claimed %d, begun elsewhere (%s)", self.fleet.shown, target.id, found.state
            )
            self.journal.take_entry(target.id, found)
        self._held[target.id] = entry
        self._yielded.add(target.id)
        self.claimed += 1
        return True

    async def _all_done(self) -> bool:
        done = await self.fleet.done()
        if done < self.fleet.total:
            return False
        await self.fleet.redis.set(self.fleet.key["finished_at"], repr(time.time()), nx=True)
        return True

    async def _nap(self, seconds: float) -> None:
        with anyio.move_on_after(seconds):
            await self._wake.wait()
        self._wake = anyio.Event()

    # -- records (the journal's, written through) --------------------------------------------

    async def triggering(self, target: int, head_id: int, round_: int) -> None:
        """Record in Redis that a POST for ``target`` is about to go (waits for Redis).

        Raises:
            ClaimLost: The target is another worker's now.
        """
        text = entry_json(JournalEntry(State.TRIGGERING, head_id, None, False, round_))
        while True:
            entry = self._entry(target)
            try:
                written = await self._state(
                    keys=[self.fleet.key["stream"], self.fleet.key["states"]],
                    args=self._args(entry, target, text),
                )
            except redis_errors() as exc:
                self._went_down(exc)
                if self.gone:
                    raise ClaimLost(
                        f"the fleet's records are gone: {target} not triggered"
                    ) from None
                await anyio.sleep(RETRY)
                continue
            self._came_back()
            if not int(written):
                self._lost(target)
            return

    def _entry(self, target: int) -> str:
        entry = self._held.get(target)
        if entry is None:
            raise ClaimLost(f"target {target} was reclaimed by another worker of the fleet")
        return entry

    def _lost(self, target: int) -> None:
        self._held.pop(target, None)
        log.warning("%s: target %d is another worker's now; leaving it", self.fleet.shown, target)
        raise ClaimLost(f"target {target} was reclaimed by another worker of the fleet")

    async def triggered(self, target: int, entry: JournalEntry) -> None:
        """Record the rerun of ``target`` (kept and sent again if Redis is down)."""
        self._unsent[("state", target)] = entry_json(entry)
        await self._send()

    async def finished(self, outcome: Outcome) -> None:
        """Record ``outcome`` and acknowledge its target (kept and sent again if Redis is down)."""
        self._unsent.pop(("state", outcome.target), None)
        text = json.dumps(outcome.to_json(), separators=(",", ":"))
        self._unsent[("outcome", outcome.target)] = text
        await self._send()

    async def _send(self) -> None:
        """Send what is unsent, in order; on a failure keep the rest for later."""
        async with self._sending:
            await self._send_unsent()

    async def _send_unsent(self) -> None:
        keys = {
            "state": [self.fleet.key["stream"], self.fleet.key["states"]],
            "outcome": [self.fleet.key["stream"], self.fleet.key["outcomes"]],
        }
        for (kind, target), text in list(self._unsent.items()):
            entry = self._held.get(target)
            if entry is None:
                self._unsent.pop((kind, target), None)
                continue
            script = self._state if kind == "state" else self._outcome
            try:
                written = await script(keys=keys[kind], args=self._args(entry, target, text))
            except redis_errors() as exc:
                self._went_down(exc)
                return
            self._came_back()
            self._unsent.pop((kind, target), None)
            if kind == "outcome" or not int(written):
                if not int(written):
                    log.warning("%s: target %d is another worker's now", self.fleet.shown, target)
                self._held.pop(target, None)
                self._wake.set()

    # -- the leases --------------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FleetWorker]:
        """Renew the leases and send what is unsent while the block runs; on leaving it,
        send what is left and give up the claims still held (others take them at once)."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._renewing)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()
        with anyio.move_on_after(5, shield=True):
            await self._send()
            await self._give_up()

    async def _renewing(self) -> None:
        while True:
            await anyio.sleep(self.lease / 3)
            try:
                await self._renew_all()
                if self._unsent:
                    await self._send()
            except redis_errors() as exc:
                self._went_down(exc)

    async def _renew_all(self) -> None:
        if not self._held:
            return
        by_entry = {entry: target for target, entry in self._held.items()}
        lost = await self._renew(
            keys=[self.fleet.key["stream"]], args=self._args("", *sorted(by_entry))
        )
        self._came_back()
        for entry in lost:
            target = by_entry[_text(entry)]
            log.warning("%s: lost the claim on %d to another worker", self.fleet.shown, target)
            self._held.pop(target, None)

    async def _give_up(self) -> None:
        if not self._held:
            return
        try:
            await self._release(
                keys=[self.fleet.key["stream"]],
                args=self._args(str(int(self.lease * 1000) + 1), *self._held.values()),
            )
        except redis_errors() as exc:
            log.warning(
                "%s: could not give up %d claim(s): %s", self.fleet.shown, len(self._held), exc
            )

    async def add_totals(self, summary: Summary) -> None:
        """Add this worker's requests, device time and rerun span to the fleet's (its report's)."""
        times = [summary.device_seconds, summary.first_start, summary.last_end]
        args = [summary.requests, *("" if t is None else repr(t) for t in times)]
        try:
            await self._totals(keys=[self.fleet.key["totals"]], args=args)
        except redis_errors() as exc:
            log.warning("%s: could not add this worker's totals: %s", self.fleet.shown, exc)


def _rows(found: Any) -> list[Any]:
    """The entries of an XREADGROUP answer (a list in RESP2, a dict in RESP3)."""
    if not found:
        return []
    if isinstance(found, dict):
        return list(next(iter(found.values()))[0])
    return list(found[0][1])


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
