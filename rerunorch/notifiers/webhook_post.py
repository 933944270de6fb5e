"""Posting a body to the webhook: signed, retried on 429/5xx, errors without the URL."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import math

import aiohttp

from rerunorch.clock import Clock
from rerunorch.notifiers.failure import connection_failure
from rerunorch.notifiers.webhook_retry import RETRY_STATUSES, RetryPolicy
from rerunorch.pacing.headers import parse_retry_after
from rerunorch.report.text import plural
from rerunorch.secret import Secret

__all__ = ["SIGNATURE_HEADER", "WebhookError", "post_body", "signature"]

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Rerunorch-Signature"


class WebhookError(Exception):
    """The endpoint did not take the report (the message names its host, not its URL)."""


def signature(secret: Secret, body: bytes) -> str:
    """The ``X-Rerunorch-Signature`` value: ``sha256=`` and the HMAC-SHA256 of ``body``, in hex.

    >>> signature(Secret("key"), b'{"schema":1}')
    'sha256=c785caaa38811334f824915daed75c875a563045111aa127a45c08951038149d'
    """
    return "sha256=" + hmac.new(secret.reveal().encode(), body, hashlib.sha256).hexdigest()


async def post_body(
    url: Secret,
    body: bytes,
    *,
    host: str,
    secret: Secret | None,
    retry: RetryPolicy,
    clock: Clock,
    timeout: float = 10.0,
    user_agent: str = "rerunorch",
) -> int:
    """POST ``body`` (JSON) to ``url`` until it answers 2xx; returns the status.

    429 and 5xx answers and refused connections are tried again after
    ``retry.wait(...)`` (a 429's ``Retry-After`` first), at most ``retry.retries`` times.

    Raises:
        WebhookError: A 4xx or 3xx answer, a ``Retry-After`` beyond ``retry.max_backoff``,
            retries used up, or the endpoint unreachable.
    """
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": user_agent}
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, body)
    async with aiohttp.ClientSession(trust_env=True) as session:
        attempt = 0
        while True:
            try:
                status, retry_header = await _post(session, url, body, headers, timeout)
            except aiohttp.ClientConnectorError as exc:  # nothing was sent: safe to retry
                problem, retry_header = f"cannot connect ({connection_failure(exc)})", None
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as exc:
                raise WebhookError(
                    f"cannot post to the webhook at {host}: {connection_failure(exc)}"
                ) from None
            else:
                if 200 <= status < 300:
                    return status
                problem = f"answered {status}"
                if status not in RETRY_STATUSES:
                    raise WebhookError(f"the webhook at {host} {problem}")
            if attempt >= retry.retries:
                tries = plural(attempt + 1, "attempt")
                raise WebhookError(f"the webhook at {host} {problem} ({tries})")
            # No cap: a Retry-After beyond max_backoff gives up rather than waits.
            retry_after = parse_retry_after(retry_header, now=clock.time(), cap=math.inf)
            wait = retry.wait(attempt, retry_after)
            if wait > retry.max_backoff:
                raise WebhookError(
                    f"the webhook at {host} {problem} and asked to wait {wait:g} s "
                    f"(more than max_backoff, {retry.max_backoff:g} s)"
                )
            log.info("webhook at %s %s; retrying in %g s", host, problem, wait)
            await clock.sleep(wait)
            attempt += 1


async def _post(
    session: aiohttp.ClientSession,
    url: Secret,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
) -> tuple[int, str | None]:
    async with session.post(
        url.reveal(),
        data=body,
        headers=headers,
        timeout=aiohttp.ClientTimeout(total=timeout),
        allow_redirects=False,  # a redirect would carry the signed report elsewhere
    ) as response:
        await response.read()
        return response.status, response.headers.get("Retry-After")
