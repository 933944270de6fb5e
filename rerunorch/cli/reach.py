"""Can the server be reached? Asked once before the sweep, and watched during it.

Without this, every target of a sweep against a closed port or a wrong host
retries its first request on its own and fails one by one, after tens of
seconds. One probe first, a ``GET`` of the base URL without the API key, says it
at once (:func:`unreachable`); any answer at all (even a 404 or a refusal) means
the server is there. A server that goes away during a sweep is noticed by
:class:`OutageGuard`: after a few connection failures in a row (of any request), or a
few targets in a row that could not reach it, the sweep ends at once with one message
instead of failing every target left, one by one.
"""

from __future__ import annotations

from collections.abc import Callable

import click

from rerunorch.api.client import USER_AGENT, normalize_base_url
from rerunorch.api.transport import (
    AiohttpTransport,
    ConnectError,
    ReadError,
    Request,
    Response,
    Transport,
)
from rerunorch.clock import Clock
from rerunorch.engine import Sweep
from rerunorch.events import RerunFinished, SweepListener
from rerunorch.outcome import OutcomeKind
from rerunorch.secret import Secret, mask_url

__all__ = [
    "OUTAGE_LIMIT",
    "OUTAGE_PATIENCE",
    "PROBE_TIMEOUT",
    "ConnectionWatch",
    "OutageGuard",
    "redis_unreachable",
    "unreachable",
]

PROBE_TIMEOUT = 10.0
"""Seconds the probe waits to connect, and then for an answer."""

OUTAGE_LIMIT = 3
"""Connection failures (or targets) in a row that could not reach the server before the
sweep ends."""

OUTAGE_PATIENCE = 5.0
"""Seconds the connection failures in a row span at least (a shorter blip is retried)."""

# How the client words a request that never reached the server (RequestNotSent).
_NOT_REACHED = " is unreachable: "


async def unreachable(
    base_url: str, *, transport: Transport | None = None, timeout: float = PROBE_TIMEOUT
) -> str | None:
    """What to tell the user when ``base_url`` cannot be reached, or None when it can.

    The key is not sent, and the answer is not read: only whether one comes.
    A server that takes the connection but answers nothing in ``timeout`` counts
    as reachable (the sweep's own timeouts then say what happens).

    >>> import anyio
    >>> from rerunorch.api.transport import MockTransport, Response
    >>> anyio.run(lambda: unreachable("http://h", transport=MockTransport(lambda r: Response(404))))
    """
    url = normalize_base_url(base_url)
    probe = transport or AiohttpTransport(connect_timeout=timeout)
    request = Request("GET", url, {"User-Agent": USER_AGENT}, None, timeout, 1)
    try:
        await probe.send(request)
    except ConnectError as exc:
        why = Secret(url.password).redact(str(exc)) if url.password else str(exc)
        return (
            f"cannot reach {mask_url(base_url)} ({why}); nothing was sent "
            "(check --base-url or TESTSIGMA_BASE_URL)"
        )
    except ReadError:
        pass  # connected: something is listening there
    finally:
        await probe.aclose()
    return None


async def redis_unreachable(url: str) -> str | None:
    """What to tell the user when ``--shared-limit``'s Redis does not answer a ``PING``
    (closed, or refusing the password or the database), or None when it does.

    Mid-sweep, a Redis that goes away is ridden out on local limits (docs/scaling.md); at
    the start it is a mistake in the URL, said before anything is sent.

    Raises:
        ConfigError: The ``redis`` package is missing or the URL is not a Redis URL.
    """
    from redis.exceptions import RedisError

    from rerunorch.pacing.shared import connect, redis_problem

    client = connect(url)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        return f"--shared-limit {mask_url(url)}: {redis_problem(exc)}; nothing was sent"
    finally:
        await client.aclose()
    return None


class ConnectionWatch:
    """A transport that counts the connection failures in a row of everything it sends.

    Any answer (even an error status) or a read failure (something is there) starts
    the count again. ``on_outage`` is called once, when ``limit`` failures in a row span
    ``patience`` seconds at least (a blip that the client's retries ride out does not
    trip it).

    Args:
        inner: The transport that sends.
        clock: The sweep's clock.
        on_outage: Called with how many failed in a row, and over how many seconds.
    """

    def __init__(
        self,
        inner: Transport,
        clock: Clock,
        on_outage: Callable[[int, float], None],
        *,
        limit: int = OUTAGE_LIMIT,
        patience: float = OUTAGE_PATIENCE,
    ) -> None:
        self.inner = inner
        self.clock = clock
        self.on_outage = on_outage
        self.limit = limit
        self.patience = patience
        self.answers = 0
        self.in_a_row = 0
        self._first: float | None = None
        self.tripped = False

    async def send(self, request: Request) -> Response:
        try:
            response = await self.inner.send(request)
        except ConnectError:
            self._failed()
            raise
        except ReadError:
            self._reached()
            raise
        self._reached()
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()

    def _reached(self) -> None:
        self.answers += 1
        self.in_a_row, self._first = 0, None

    def _failed(self) -> None:
        now = self.clock.monotonic()
        self.in_a_row += 1
        self._first = now if self._first is None else self._first
        over = now - self._first
        if not self.tripped and self.in_a_row >= self.limit and over >= self.patience:
            self.tripped = True
            self.on_outage(self.in_a_row, over)


class OutageGuard(SweepListener):
    """Ends the sweep at once when the server has gone: one message, exit 3 (or 2 when
    the server never answered anything the sweep sent).

    It watches every request of the sweep (:class:`ConnectionWatch`: ``limit``
    connection failures in a row over a few seconds), and the targets that end (``limit``
    in a row that could not reach the server; any other ending starts that count again).
    The sweep is then stopped and cut at once: the targets running end ``interrupted``
    and the rest are not begun; ``--resume`` takes them all up later.

    Args:
        limit: How many in a row.
    """

    def __init__(self, limit: int = OUTAGE_LIMIT) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.sweep: Sweep | None = None
        self.watching: ConnectionWatch | None = None
        self.cancel: Callable[[], None] | None = None
        self.message: str | None = None

    @property
    def never_answered(self) -> bool:
        """It stopped the sweep, and no request of the sweep ever got an answer."""
        return self.message is not None and self.watching is not None and not self.watching.answers

    def watch(self, sweep: Sweep, cancel: Callable[[], None] | None = None) -> None:
        """Stop ``sweep`` when the server is gone (and call ``cancel`` to end it at once)."""
        self.sweep = sweep
        self.cancel = cancel
        client = sweep.client
        if not isinstance(client.transport, ConnectionWatch):
            self.watching = ConnectionWatch(
                client.transport, sweep.clock, self._lost, limit=self.limit
            )
            client.transport = self.watching

    async def rerun_finished(self, event: RerunFinished) -> None:
        outcome = event.outcome
        lost = outcome.outcome is OutcomeKind.ERROR and _NOT_REACHED in (outcome.error or "")
        self.in_a_row = self.in_a_row + 1 if lost else 0
        if self.in_a_row >= self.limit:
            self._stop(f"{self.in_a_row} targets in a row could not")

    def _lost(self, failures: int, seconds: float) -> None:
        self._stop(f"{failures} connections in a row over {seconds:.0f}s failed to")

    def _stop(self, why: str) -> None:
        sweep = self.sweep
        if sweep is None or self.message is not None:
            return
        where = mask_url(sweep.settings.base_url)
        self.message = (
            f"stopped: {why} reach {where}; the sweep ends now "
            "(continue later with the same command and --resume)"
        )
        click.echo(f"error: {self.message}", err=True)
        sweep.report.notes.append(self.message)
        sweep.stop()
        if self.cancel is not None:
            self.cancel()
