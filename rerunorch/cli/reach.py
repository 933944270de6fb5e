"""Before a sweep sends anything: can the server be reached at all?

Without this, every target of a sweep against a closed port or a wrong host
retries its first request on its own and fails one by one, after tens of
seconds. One probe first, a ``GET`` of the base URL without the API key, says it
at once; any answer at all (even a 404 or a refusal) means the server is there.
"""

from __future__ import annotations

from rerunorch.api.client import USER_AGENT, normalize_base_url
from rerunorch.api.transport import AiohttpTransport, ConnectError, ReadError, Request, Transport
from rerunorch.secret import Secret, mask_url

__all__ = ["PROBE_TIMEOUT", "unreachable"]

PROBE_TIMEOUT = 10.0
"""Seconds the probe waits to connect, and then for an answer."""


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
