"""The Slack notifier's settings: the ``[notify.slack]`` table, then the environment."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from rerunorch.errors import ConfigError
from rerunorch.secret import Secret

__all__ = ["ENV_WEBHOOK_URL", "SlackSettings"]

ENV_WEBHOOK_URL = "SLACK_WEBHOOK_URL"


@dataclasses.dataclass(frozen=True)
class SlackSettings:
    """How to post to Slack.

    Attributes:
        webhook_url: The incoming webhook's URL (its path is the secret).
        title: The header's first words, e.g. ``"Nightly sweep"``.
        max_items: How many tests each list shows before "... and N more".
        max_retries: How many times a 429 (or 5xx) answer is retried.
        max_retry_wait: The longest ``Retry-After`` (seconds) honoured; longer gives up.
        timeout: Seconds for each request.
    """

    webhook_url: Secret
    title: str = "rerunorch"
    max_items: int = 30
    max_retries: int = 3
    max_retry_wait: float = 60.0
    timeout: float = 10.0

    @property
    def host(self) -> str:
        """The webhook's host: all an error message may say of its URL."""
        return urlsplit(self.webhook_url.reveal()).hostname or "?"

    @classmethod
    def from_options(cls, options: Mapping[str, Any], env: Mapping[str, str]) -> SlackSettings:
        """Settings from ``[notify.slack]`` (``options``), the URL else from ``SLACK_WEBHOOK_URL``.

        Raises:
            ConfigError: No webhook URL, one that is not http(s), an unknown key or a
                value of the wrong type (the message never quotes the URL).
        """
        unknown = sorted(set(options) - _KEYS)
        if unknown:
            known = ", ".join(sorted(_KEYS))
            raise ConfigError(f"unknown key notify.slack.{unknown[0]} (known: {known})")
        url = options.get("webhook_url") or env.get(ENV_WEBHOOK_URL, "")
        if not isinstance(url, str) or not url.strip():
            raise ConfigError(
                f"no Slack webhook URL: set {ENV_WEBHOOK_URL} or notify.slack.webhook_url"
            )
        url = url.strip()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(
                f"notify.slack.webhook_url (or {ENV_WEBHOOK_URL}) must be an http(s) URL"
            )
        return cls(
            webhook_url=Secret(url),
            title=_get(options, "title", str, cls.title),
            max_items=_get(options, "max_items", int, cls.max_items, minimum=0),
            max_retries=_get(options, "max_retries", int, cls.max_retries, minimum=0),
            max_retry_wait=float(_get(options, "max_retry_wait", float, cls.max_retry_wait)),
            timeout=float(_get(options, "timeout", float, cls.timeout, minimum=0.001)),
        )


_KEYS = {"webhook_url", "title", "max_items", "max_retries", "max_retry_wait", "timeout"}


def _get(options: Mapping[str, Any], key: str, kind: type, default: Any, minimum: float = 0) -> Any:
    value = options.get(key, default)
    # bool is an int in Python, but `max_items = true` is a mistake.
    wanted = (int, float) if kind is float else (kind,)
    if not isinstance(value, wanted) or isinstance(value, bool):
        raise ConfigError(f"notify.slack.{key} must be {kind.__name__}, not {value!r}")
    if isinstance(value, (int, float)) and value < minimum:
        raise ConfigError(f"notify.slack.{key} must be at least {minimum:g}, not {value!r}")
    return value
