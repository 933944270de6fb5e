"""The Testsigma contract: the client, the models and enums, their JSON converter, how
the server's answers map to :mod:`rerunorch.errors`, and the transport seam.

Nothing outside this package speaks HTTP or JSON to Testsigma. This module itself
imports nothing, so that settings can name the defaults without aiohttp; the
transport names (``MockTransport`` for unit tests among them) load on first use:

>>> from rerunorch.api import MockTransport, Response
>>> transport = MockTransport(lambda request: Response(200, body=b'{"id": 1}'))
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rerunorch.api.transport import (
        ConnectError,
        MockTransport,
        ReadError,
        Request,
        Response,
        Transport,
        TransportError,
    )

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
    "ConnectError",
    "MockTransport",
    "ReadError",
    "Request",
    "Response",
    "Transport",
    "TransportError",
]

DEFAULT_BASE_URL = "https://app.testsigma.com"
DEFAULT_REQUEST_TIMEOUT = 30.0
"""Seconds for one request, the answer's last byte included."""
DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024
"""The longest answer read (the largest real ones, test-case results, are far smaller)."""

_TRANSPORT = frozenset(__all__) - {
    "DEFAULT_BASE_URL",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "DEFAULT_REQUEST_TIMEOUT",
}


def __getattr__(name: str) -> Any:
    if name in _TRANSPORT:
        return getattr(importlib.import_module("rerunorch.api.transport"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
