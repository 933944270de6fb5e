"""Turning the API's error answers into :mod:`rerunorch.errors`.

The API answers errors in several shapes: a JSON error body, a plain-text body
under a JSON content type (401s), an HTML page from a proxy or gateway, or
nothing. :func:`error_for` reads them all and picks the error class by status
and, for the refusals Testsigma sends as 500s, by message.
"""

from __future__ import annotations

import json
import re
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

__all__ = ["error_for", "server_message"]

_QUOTE_LIMIT = 200
_TAG = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_ALREADY_EXISTS = "rerun parent id already exists"
_BUSY = "currently running"


def looks_like_html(body: str, *, page_only: bool = False) -> bool:
    """Whether ``body`` is an HTML page rather than an API answer.

    With ``page_only``, only what opens like an HTML page counts, so that an XML
    document (a JUnit report) is not mistaken for one.
    """
    head = body.lstrip()[:100].lower()
    if head.startswith(("<!doctype html", "<html", "<head", "<body")):
        return True
    return not page_only and head.startswith("<") and "</" in body


def _quote(text: str) -> str:
    text = _SPACE.sub(" ", text).strip()
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 3] + "..."


def server_message(body: bytes) -> str:
    """The human part of an error answer: the JSON ``error``/``message``, or a short quote."""
    text = body.decode("utf-8", errors="replace")
    if not text.strip():
        return "(empty answer)"
    if looks_like_html(text):
        return f"an HTML page instead of an API answer: {_quote(_TAG.sub(' ', text))!r}"
    try:
        data: Any = json.loads(text)
    except ValueError:
        return _quote(text)
    if isinstance(data, dict):
        for key in ("error", "message", "detail"):
            value = data.get(key)
            if isinstance(value, str) and value:
                return _quote(value)
    return _quote(text)


def error_for(
    status: int,
    body: bytes,
    *,
    method: str,
    path: str,
    retry_after: float | None = None,
    target: int | None = None,
) -> ResponseError:
    """The error for a non-2xx answer (the caller has already redacted secrets)."""
    message = server_message(body)
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
    if looks_like_html(body.decode("utf-8", errors="replace")):
        return UnexpectedResponse(message, **kwargs)
    return ResponseError(message, **kwargs)
