"""How a notifier says a connection failed: the kind of failure, never its text (which may
quote the webhook URL, and with it the secret in its path)."""

from __future__ import annotations

import asyncio

__all__ = ["connection_failure"]


def connection_failure(exc: BaseException) -> str:
    """``"timed out"``, ``"ClientConnectorError (Connection refused)"`` or the type's name."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    os_error = getattr(exc, "os_error", None)  # aiohttp's connector errors wrap one
    if isinstance(os_error, OSError) and os_error.strerror:
        return f"{type(exc).__name__} ({os_error.strerror})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"{type(exc).__name__} ({exc.strerror})"
    return type(exc).__name__
