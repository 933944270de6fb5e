"""Posting to a Slack incoming webhook: one message a second per webhook, 429s honoured.

Errors name the webhook's host and never its URL: the path is the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
from typing import Any

import aiohttp

from rerunorch.clock import Clock
from rerunorch.notifiers.failure import connection_failure
from rerunorch.pacing.headers import parse_retry_after
from rerunorch.secret import Secret

__all__ = ["SlackError", "WebhookPacer", "post_message"]

log = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class SlackError(Exception):
    """Slack did not take the message (the message names the host, not the URL)."""


class WebhookPacer:
    """Spaces messages to each webhook at least ``interval`` seconds apart.

    Each caller reserves the next free slot before it waits, so concurrent
    senders queue up without a lock (and the pacer may outlive an event loop).

    >>> import asyncio
    >>> from rerunorch import SystemClock
    >>> pacer = WebhookPacer(SystemClock(), interval=0.0)
    >>> asyncio.run(pacer.wait("hook"))
    """

    def __init__(self, clock: Clock, interval: float = 1.0) -> None:
        self._clock = clock
        self._interval = interval
        self._next: dict[str, float] = {}

    async def wait(self, key: str, not_before: float = -math.inf) -> None:
        """Wait for the next slot of webhook ``key``, and for ``not_before`` (monotonic)."""
        now = self._clock.monotonic()
        slot = max(now, self._next.get(key, -math.inf), not_before)
        self._next[key] = slot + self._interval
        if slot > now:
            await self._clock.sleep(slot - now)


async def post_message(
    url: Secret,
    message: dict[str, Any],
    *,
    host: str,
    pacer: WebhookPacer,
    clock: Clock,
    max_retries: int = 3,
    max_retry_wait: float = 60.0,
    timeout: float = 10.0,
) -> None:
    """POST ``message`` (JSON) to the webhook ``url`` until Slack answers ``ok``.

    A 429 is retried after its ``Retry-After`` (a 5xx after 1, 2, 4 ... seconds),
    at most ``max_retries`` times.

    Raises:
        SlackError: Slack refused the message (e.g. ``400 invalid_payload``), kept
            answering 429/5xx, asked to wait longer than ``max_retry_wait``, or
            could not be reached.
    """
    body = json.dumps(message, ensure_ascii=False).encode()
    key = hashlib.sha256(url.reveal().encode()).hexdigest()
    not_before = -math.inf
    async with aiohttp.ClientSession(trust_env=True) as session:
        for attempt in range(max_retries + 1):
            await pacer.wait(key, not_before)
            status, answer, retry_header = await _post(session, url, body, host, timeout)
            if status == 200:
                return
            if status not in _RETRY_STATUSES:
                raise SlackError(f"the Slack webhook at {host} refused the message: {answer}")
            if attempt == max_retries:
                break
            # No cap: a longer wait than max_retry_wait gives up rather than waits.
            retry_after = parse_retry_after(retry_header, now=clock.time(), cap=math.inf)
            wait = retry_after if retry_after is not None else 2.0**attempt
            if wait > max_retry_wait:
                raise SlackError(
                    f"the Slack webhook at {host} asked to wait {wait:g} s "
                    f"(more than max_retry_wait, {max_retry_wait:g} s)"
                )
            log.info("Slack webhook at %s answered %s; retrying in %g s", host, answer, wait)
            not_before = clock.monotonic() + wait
    raise SlackError(
        f"the Slack webhook at {host} still answered {answer} after {max_retries + 1} attempts"
    )


async def _post(
    session: aiohttp.ClientSession, url: Secret, body: bytes, host: str, timeout: float
) -> tuple[int, str, str | None]:
    """``(status, "STATUS text", Retry-After header)`` of one POST."""
    try:
        async with session.post(
            url.reveal(),
            data=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            timeout=aiohttp.ClientTimeout(total=timeout),
            allow_redirects=False,
        ) as response:
            text = (await response.text(errors="replace")).strip()
            retry_after = response.headers.get("Retry-After")
            status = response.status
    except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
        raise SlackError(
            f"cannot reach the Slack webhook at {host}: {connection_failure(exc)}"
        ) from None
    # Slack answers a word ("ok", "invalid_payload", "no_service"); keep it short, and
    # never let the answer quote the URL.
    word = url.redact(" ".join(text.split())[:80])
    return status, f"{status} {word}".strip(), retry_after
