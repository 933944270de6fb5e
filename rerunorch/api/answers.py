"""Turning the API's error answers into :mod:`rerunorch.errors`.

The API answers errors in several shapes: a JSON error body, a plain-text body
under a JSON content type (401s), an HTML page from a proxy or gateway, or
nothing. :func:`error_for` reads them all and picks the error class by status
and, for the refusals Testsigma sends as 500s, by message.

Text quoted from an answer is already decoded; it is passed through ``redact``
(the key's :meth:`~rerunorch.secret.Secret.redact`) before anything is cut from
it, so that neither the key nor a prefix of it can reach a message.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from rerunorch.errors import (
    AuthError,
    BadRequest,
    NotFound,
    PlanBusy,
    RateLimited,
    RerunAlreadyExists,
    ResponseError,
    ServerError,
    UnexpectedResponse,
)

__all__ = ["error_for", "looks_like_html", "quote", "server_message"]

_QUOTE_LIMIT = 200
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_ALREADY_EXISTS = "rerun parent id already exists"
_BUSY = "currently running"
_MESSAGE_KEYS = ("error", "message", "detail")

Redact = Callable[[str], str]


def _unchanged(text: str) -> str:
    return text


def looks_like_html(body: str, *, page_only: bool = False) -> bool:
    """Whether ``body`` is an HTML page rather than an API answer.

    With ``page_only``, only what opens like an HTML page counts, so that an XML
    document (a JUnit report) is not mistaken for one.
    """
    head = body.lstrip()[:100].lower()
    if head.startswith(("<!doctype html", "<html", "<head", "<body")):
        return True
    return not page_only and head.startswith("<") and "</" in body


def quote(text: str, limit: int = _QUOTE_LIMIT) -> str:
    """``text`` on one line, cut to ``limit`` characters (redact it first)."""
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 3] + "..."


def server_message(text: str, redact: Redact = _unchanged) -> str:
    """The human part of an error answer: the JSON ``error``/``message``, or a short quote.

    Args:
        text: The decoded answer.
        redact: Removes secrets; applied before anything is cut.
    """
    text = redact(text)
    if not text.strip():
        return "(empty answer)"
    if looks_like_html(text):
        return f"an HTML page instead of an API answer: {quote(_TAG.sub(' ', text))!r}"
    try:
        data: Any = json.loads(text)
    except (ValueError, RecursionError):
        return quote(text)
    if isinstance(data, dict):
        for key in _MESSAGE_KEYS:
            value = data.get(key)
            if isinstance(value, str) and value:
                # Decoding the JSON may have turned an escaped secret back into plain text.
                return quote(redact(value))
    return quote(text)


def error_for(
    status: int,
    text: str,
    *,
    method: str,
    path: str,
    redact: Redact = _unchanged,
    retry_after: float | None = None,
    target: int | None = None,
) -> ResponseError:
    """The error for a non-2xx answer whose decoded body is ``text``.

    ``redact`` removes secrets from what is quoted (see :func:`server_message`).
    """
    message = server_message(text, redact)
    # "404: Not Found" (aiohttp's own page) is said once: the error already names the status.
    message = re.sub(rf"^{status}\b[:\s-]*", "", message) or message
    lowered = message.lower()
    kwargs: dict[str, Any] = {"method": method, "path": path, "status": status, "target": target}
    if status in (429, 503):
        return RateLimited(message, retry_after=retry_after, **kwargs)
    if status in (401, 403):
        return AuthError(message, **kwargs)
    if _ALREADY_EXISTS in lowered:
        return RerunAlreadyExists(message, **kwargs)
    if _BUSY in lowered:
        return PlanBusy(message, **kwargs)
    if status == 404:
        return NotFound(message, **kwargs)
    if status in (400, 422):
        return BadRequest(message, **kwargs)
    if status >= 500:
        return ServerError(message, **kwargs)
    if looks_like_html(text):
        return UnexpectedResponse(message, **kwargs)
    return ResponseError(message, **kwargs)
