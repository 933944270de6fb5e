"""The webhook notifier's settings: the ``[notify.webhook]`` table, then the environment."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rerunorch.errors import ConfigError
from rerunorch.notifiers.webhook_retry import RetryPolicy
from rerunorch.secret import Secret

__all__ = ["ENV_FORMAT", "ENV_SECRET", "ENV_URL", "Format", "WebhookSettings"]

ENV_URL = "RERUNORCH_WEBHOOK_URL"
ENV_SECRET = "RERUNORCH_WEBHOOK_SECRET"
ENV_FORMAT = "RERUNORCH_WEBHOOK_FORMAT"
_KEYS = {
    "url",
    "secret",
    "format",
    "title",
    "max_items",
    "timeout",
    "retries",
    "backoff",
    "max_backoff",
}


class Format(str, enum.Enum):
    """What is posted."""

    JSON = "json"  # the report's JSON, as --report writes it
    TEAMS = "teams"  # an Adaptive Card for a Teams Workflows webhook


@dataclasses.dataclass(frozen=True)
class WebhookSettings:
    """Where and what to post.

    Attributes:
        url: The endpoint (a Teams Workflows URL carries its signature: a secret).
        secret: The HMAC-SHA256 key for ``X-Rerunorch-Signature``; None sends no signature.
        format: ``json`` (the report) or ``teams`` (an Adaptive Card).
        title: The card's first words (``teams``).
        max_items: How many tests each list of the card shows at most (``teams``).
        timeout: Seconds for each request.
        retry: When 429s, 5xx answers and refused connections are retried.
    """

    url: Secret
    secret: Secret | None = None
    format: Format = Format.JSON
    title: str = "rerunorch"
    max_items: int = 50
    timeout: float = 10.0
    retry: RetryPolicy = dataclasses.field(default_factory=RetryPolicy)

    @property
    def host(self) -> str:
        """The endpoint's host: all an error message may say of its URL."""
        return urlsplit(self.url.reveal()).hostname or "?"

    @classmethod
    def from_options(cls, options: Mapping[str, Any], env: Mapping[str, str]) -> WebhookSettings:
        """Settings from ``[notify.webhook]`` (``options``), else ``RERUNORCH_WEBHOOK_*``.

        Raises:
            ConfigError: No URL, one that is not http(s), an unknown format or key,
                or a value of the wrong type (the message never quotes a secret).
        """
        unknown = sorted(set(options) - _KEYS)
        if unknown:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key notify.webhook.{unknown[0]} (known: {known})")
        url = _text(options, "url", env, ENV_URL)
        if not url:
            raise ConfigError(f"no webhook URL: set {ENV_URL} or notify.webhook.url")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"notify.webhook.url (or {ENV_URL}) must be an http(s) URL")
        secret = _text(options, "secret", env, ENV_SECRET)
        format_name = _text(options, "format", env, ENV_FORMAT) or Format.JSON.value
        try:
            format_ = Format(format_name.lower())
        except ValueError:
            where = "notify.webhook.format" if "format" in options else ENV_FORMAT
            raise ConfigError(f"{where} must be json or teams, not {format_name!r}") from None
        return cls(
            url=Secret(url),
            secret=Secret(secret) if secret else None,
            format=format_,
            title=_option(options, "title", str, cls.title),
            max_items=_option(options, "max_items", int, cls.max_items),
            timeout=float(_option(options, "timeout", float, cls.timeout, minimum=0.001)),
            retry=RetryPolicy(
                retries=_option(options, "retries", int, RetryPolicy.retries),
                backoff=float(_option(options, "backoff", float, RetryPolicy.backoff)),
                max_backoff=float(_option(options, "max_backoff", float, RetryPolicy.max_backoff)),
            ),
        )


def _text(options: Mapping[str, Any], key: str, env: Mapping[str, str], variable: str) -> str:
    value = options.get(key)
    if value is None:
        value = env.get(variable, "")
    if not isinstance(value, str):
        raise ConfigError(f"notify.webhook.{key} must be a string")
    return value.strip()


def _option(
    options: Mapping[str, Any], key: str, kind: type, default: Any, minimum: float = 0
) -> Any:
    value = options.get(key, default)
    wanted = (int, float) if kind is float else (kind,)
    # bool is an int in Python, but `retries = true` is a mistake.
    if not isinstance(value, wanted) or isinstance(value, bool):
        raise ConfigError(f"notify.webhook.{key} must be {kind.__name__}, not {value!r}")
    if isinstance(value, (int, float)) and value < minimum:
        raise ConfigError(f"notify.webhook.{key} must be at least {minimum:g}, not {value!r}")
    return value
