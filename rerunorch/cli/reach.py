"""Can the server be reached? Asked once before the sweep, and watched during it.

Without this, every target of a sweep against a closed port or a wrong host
retries its first request on its own and fails one by one, after tens of
seconds. One probe first, a ``GET`` of the base URL without the API key, says it
at once (:func:`unreachable`); any answer at all (even a 404 or a refusal) means
the server is there. A server that goes away during a sweep is noticed by
:class:`OutageGuard`: after a few targets in a row that could not reach it, the
sweep winds down instead of failing every target left, one by one.
"""

from __future__ import annotations

import click

from rerunorch.api.client import USER_AGENT, normalize_base_url
from rerunorch.api.transport import AiohttpTransport, ConnectError, ReadError, Request, Transport
from rerunorch.engine import Sweep
from rerunorch.events import RerunFinished, SweepListener
from rerunorch.outcome import OutcomeKind
from rerunorch.secret import Secret, mask_url

__all__ = ["OUTAGE_LIMIT", "PROBE_TIMEOUT", "OutageGuard", "unreachable"]

PROBE_TIMEOUT = 10.0
"""Seconds the probe waits to connect, and then for an answer."""

OUTAGE_LIMIT = 3
"""Targets in a row that could not reach the server before the sweep winds down."""

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


class OutageGuard(SweepListener):
    """Winds the sweep down after ``limit`` targets in a row could not reach the server.

    Any other ending (a pass, a failure, another error) starts the count again. The
    targets not begun end ``interrupted`` (exit 3), and ``--resume`` takes them up later.

    Args:
        limit: How many in a row.
    """

    def __init__(self, limit: int = OUTAGE_LIMIT) -> None:
        self.limit = limit
        self.in_a_row = 0
        self.sweep: Sweep | None = None

    def watch(self, sweep: Sweep) -> None:
        """Stop ``sweep`` when the server is gone."""
        self.sweep = sweep

    async def rerun_finished(self, event: RerunFinished) -> None:
        outcome = event.outcome
        lost = outcome.outcome is OutcomeKind.ERROR and _NOT_REACHED in (outcome.error or "")
        self.in_a_row = self.in_a_row + 1 if lost else 0
        sweep = self.sweep
        if self.in_a_row < self.limit or sweep is None or sweep.stopping:
            return
        where = mask_url(sweep.settings.base_url)
        message = (
            f"stopped: {self.in_a_row} targets in a row could not reach {where}; "
            "nothing more is begun (continue later with the same command and --resume)"
        )
        click.echo(f"error: {message}", err=True)
        sweep.report.notes.append(message)
        sweep.stop()
