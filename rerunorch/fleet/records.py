"""A fleet's records in Redis: its targets (published once), their states and outcomes.

Every key is under ``rerunorch:fleet:NAME:``. The targets are published in one
atomic Lua call guarded by the digest of the target list: the first worker
publishes, a worker with the same targets joins, one with other targets is refused.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio

from rerunorch.errors import ConfigError
from rerunorch.journal import JournalEntry
from rerunorch.outcome import Outcome
from rerunorch.pacing.shared import connect, redis_problem
from rerunorch.secret import mask_url
from rerunorch.targets import Target

__all__ = ["GROUP", "Fleet", "Order", "check_fleet_name", "redis_errors"]

Order = Callable[[list[Target]], Awaitable[list[Target]]]
"""Puts the targets in the order they are published (claimed) in, e.g. longest first."""
PUBLISH_LEASE = 60.0  # seconds one worker may take to publish before another may

GROUP = "workers"
"""The stream's one consumer group: every worker of the fleet reads through it."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Settings every worker of one fleet must share (the others may differ per worker).
SAME_SETTINGS = ("base_url", "strategy", "wait", "dry_run", "max_rounds")

_PUBLISH = """
local have = redis.call('GET', KEYS[1])
if have then return {have, redis.call('GET', KEYS[4]) or '{}'} end
redis.call('DEL', KEYS[2], KEYS[5], KEYS[6], KEYS[7], KEYS[9], KEYS[10])
redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[2], '0', 'MKSTREAM')
for i = 5, #ARGV do redis.call('XADD', KEYS[2], '*', 't', ARGV[i]) end
redis.call('SET', KEYS[3], #ARGV - 4)
redis.call('SET', KEYS[4], ARGV[3])
redis.call('SET', KEYS[8], ARGV[4])
redis.call('SET', KEYS[1], ARGV[1])
return {ARGV[1], ARGV[3]}
"""


def check_fleet_name(name: str) -> str:
    """``name`` if it is a fleet name (letters, digits, ``._-``, at most 64).

    Raises:
        ConfigError: It is not.
    """
    if not _NAME.fullmatch(name):
        raise ConfigError(
            f"--fleet-name must be 1 to 64 letters, digits, '.', '_' or '-' (starting with a "
            f"letter or digit), not {name[:70]!r}"
        )
    return name


def redis_errors() -> tuple[type[BaseException], ...]:
    """What a Redis call raises when Redis is unreachable (or answers with an error)."""
    from redis.exceptions import RedisError

    return (RedisError, OSError)


def target_json(target: Target) -> str:
    """A target as a stream entry holds it."""
    data: dict[str, Any] = {"id": target.id}
    if target.test_case_result_ids:
        data["tc"] = list(target.test_case_result_ids)
    if target.iteration_result_ids:
        data["it"] = list(target.iteration_result_ids)
    return json.dumps(data, separators=(",", ":"))


def target_from_json(text: bytes | str) -> Target:
    data = json.loads(text)
    return Target(int(data["id"]), data.get("tc", ()), data.get("it", ()))


def entry_json(entry: JournalEntry) -> str:
    return json.dumps(
        [entry.state, entry.head_id, entry.rerun_id, entry.adopted, entry.round],
        separators=(",", ":"),
    )


def entry_from_json(text: bytes | str) -> JournalEntry:
    state, head_id, rerun_id, adopted, round_ = json.loads(text)
    return JournalEntry(state, head_id, rerun_id, bool(adopted), int(round_))


class Fleet:
    """One fleet (``--fleet redis://HOST/DB --fleet-name NAME``): its connection and keys.

    Raises:
        ConfigError: The name or the URL is not usable.
    """

    def __init__(self, url: str, name: str) -> None:
        self.name = check_fleet_name(name)
        self.url = url
        self.shown = f"fleet {name} at {mask_url(url)[:120]}"
        try:
            self.redis: Any = connect(url)
        except ConfigError as exc:
            raise ConfigError(str(exc).replace("--shared-limit", "--fleet")) from None
        prefix = f"rerunorch:fleet:{name}"
        self.key = {
            part: f"{prefix}:{part}"
            for part in (
                "digest",
                "stream",
                "total",
                "config",
                "outcomes",
                "states",
                "finished_at",
                "started_at",
                "totals",
                "publishing",
                "reclaimed",
            )
        }
        self.total = 0

    def __repr__(self) -> str:
        return f"Fleet({self.shown!r})"

    async def close(self) -> None:
        await self.redis.aclose()

    # -- joining -----------------------------------------------------------------------------

    async def join(
        self,
        targets: Iterable[Target] | None,
        digest: str,
        config: Mapping[str, Any],
        order: Order | None = None,
    ) -> None:
        """Publish ``targets`` (unless published already) and join; or join with None.

        One worker publishes (the others wait for it): it puts the targets in ``order``
        first, if given (e.g. longest first, reading each run).

        Raises:
            ConfigError: Redis does not answer; the fleet sweeps other targets or with
                other settings; there is no such fleet to join (``targets`` None).
        """
        try:
            if targets is None:
                await self._join_published(config)
            else:
                await self._publish(targets, digest, config, order)
            self.total = int(await self.redis.get(self.key["total"]) or 0)
        except redis_errors() as exc:
            raise ConfigError(f"{self.shown}: {redis_problem(exc)}") from None

    async def _join_published(self, config: Mapping[str, Any]) -> None:
        theirs = await self.redis.get(self.key["config"])
        if theirs is None:
            raise ConfigError(
                f"{self.shown} has no targets yet: give them (ids or --from-file) to the "
                "first worker, which publishes them"
            )
        self._check_settings(json.loads(theirs), config)

    async def _publish(
        self,
        targets: Iterable[Target],
        digest: str,
        config: Mapping[str, Any],
        order: Order | None,
    ) -> None:
        me = uuid.uuid4().hex
        lock = self.key["publishing"]
        while await self.redis.get(self.key["digest"]) is None:
            if await self.redis.set(lock, me, nx=True, px=int(PUBLISH_LEASE * 1000)):
                break
            await anyio.sleep(0.05)  # another worker publishes: its digest comes soon
        try:
            await self._publish_now(targets, digest, config, order)
        finally:
            if await self.redis.get(lock) == me.encode():
                await self.redis.delete(lock)

    async def _publish_now(
        self,
        targets: Iterable[Target],
        digest: str,
        config: Mapping[str, Any],
        order: Order | None,
    ) -> None:
        seen: set[int] = set()
        chosen = []
        for target in targets:
            if target.id not in seen:
                seen.add(target.id)
                chosen.append(target)
        if order is not None and await self.redis.get(self.key["digest"]) is None:
            chosen = await order(chosen)
        entries = [target_json(target) for target in chosen]
        script = self.redis.register_script(_PUBLISH)
        keys = [self.key[k] for k in ("digest", "stream", "total", "config")]
        keys += [self.key[k] for k in ("outcomes", "states", "finished_at", "started_at")]
        keys += [self.key[k] for k in ("totals", "reclaimed")]  # leftovers: cleared
        text = json.dumps(dict(config), sort_keys=True, separators=(",", ":"))
        have, theirs = await script(
            keys=keys, args=[digest, GROUP, text, repr(time.time()), *entries]
        )
        if _text(have) != digest:
            raise ConfigError(
                f"{self.shown} sweeps other targets: give the same targets as its other "
                "workers (or none, to join it), or use another --fleet-name"
            )
        self._check_settings(json.loads(theirs), config)

    def _check_settings(self, theirs: Mapping[str, Any], ours: Mapping[str, Any]) -> None:
        changed = [k for k in SAME_SETTINGS if theirs.get(k) != ours.get(k)]
        if changed:
            what = ", ".join(f"{k} {theirs.get(k)!r} (yours {ours.get(k)!r})" for k in changed)
            raise ConfigError(
                f"{self.shown} runs with other settings: {what}; every worker of a fleet "
                "needs the same ones"
            )

    # -- reading -----------------------------------------------------------------------------

    async def config(self) -> dict[str, Any] | None:
        text = await self.redis.get(self.key["config"])
        return None if text is None else dict(json.loads(text))

    async def done(self) -> int:
        """How many targets have an outcome."""
        return int(await self.redis.hlen(self.key["outcomes"]))

    async def published(self, page: int = 1000) -> AsyncIterator[list[Target]]:
        """The published targets in order, a page at a time."""
        start = "-"
        while True:
            rows = await self.redis.xrange(self.key["stream"], min=start, max="+", count=page)
            if not rows:
                return
            yield [target_from_json(fields[b"t"]) for _, fields in rows]
            if len(rows) < page:
                return
            start = "(" + _text(rows[-1][0])

    async def outcomes(self, ids: list[int]) -> list[Outcome | None]:
        if not ids:
            return []
        found = await self.redis.hmget(self.key["outcomes"], ids)
        return [None if text is None else Outcome.from_json(json.loads(text)) for text in found]

    async def states(self, ids: list[int]) -> list[JournalEntry | None]:
        if not ids:
            return []
        found = await self.redis.hmget(self.key["states"], ids)
        return [None if text is None else entry_from_json(text) for text in found]


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
