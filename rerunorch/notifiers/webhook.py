"""The ``webhook`` notifier: POST a sweep's report to any URL, or a card to Microsoft Teams.

A default plugin of rerunorch (entry point ``webhook`` of the core, group ``rerunorch``):
``rerunorch sweep ... --notify webhook`` with ``RERUNORCH_WEBHOOK_URL`` set, or a
``[notify.webhook]`` table in the config file::

    [notify.webhook]
    url = "${RERUNORCH_WEBHOOK_URL}"
    secret = "${RERUNORCH_WEBHOOK_SECRET}"   # signs the body: X-Rerunorch-Signature
    format = "json"                          # or "teams": an Adaptive Card
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from rerunorch._version import __version__
from rerunorch.clock import Clock, SystemClock
from rerunorch.notifiers.teams import MAX_BYTES, teams_payload
from rerunorch.notifiers.teams import encode as _encode
from rerunorch.notifiers.webhook_post import SIGNATURE_HEADER, WebhookError, post_body, signature
from rerunorch.notifiers.webhook_retry import RetryPolicy
from rerunorch.notifiers.webhook_settings import (
    ENV_FORMAT,
    ENV_SECRET,
    ENV_URL,
    Format,
    WebhookSettings,
)
from rerunorch.notify import Notifier
from rerunorch.plugins.hookspecs import hookimpl
from rerunorch.report.model import SweepReport

__all__ = [
    "ENV_FORMAT",
    "ENV_SECRET",
    "ENV_URL",
    "MAX_BYTES",
    "SIGNATURE_HEADER",
    "Format",
    "RetryPolicy",
    "WebhookError",
    "WebhookNotifier",
    "WebhookSettings",
    "report_body",
    "signature",
    "teams_payload",
]
log = logging.getLogger(__name__)


def report_body(report: SweepReport) -> bytes:
    """The bytes posted in ``json`` format: ``report.to_json()`` as compact UTF-8 JSON."""
    return json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":")).encode()


class WebhookNotifier:
    """The ``webhook`` notifier: the report as JSON (optionally signed), or a Teams card.

    Args:
        clock: Where retry waits go (default: real time); tests pass a fake one.
        env: The environment to read ``RERUNORCH_WEBHOOK_*`` from (default ``os.environ``).
    """

    name = "webhook"
    description = f"POST the report as JSON, or a Teams card, to a URL ({ENV_URL})"

    def __init__(self, *, clock: Clock | None = None, env: Mapping[str, str] | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._env = env

    def configure(self, options: Mapping[str, Any]) -> WebhookNotifier:
        """Check the ``[notify.webhook]`` settings before the sweep sends anything.

        rerunorch calls this once, before the first request, so that a bad setting
        ends the command with exit 2 instead of failing after the sweep.

        Raises:
            rerunorch.ConfigError: A bad setting (no URL, one that is not http(s), an unknown key).
        """
        WebhookSettings.from_options(options, os.environ if self._env is None else self._env)
        return self

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        """Post ``report`` (or its card).

        Raises:
            rerunorch.ConfigError: No URL, or a bad ``[notify.webhook]`` value.
            WebhookError: The endpoint did not take it.
        """
        env = os.environ if self._env is None else self._env
        settings = WebhookSettings.from_options(options, env)
        if settings.format is Format.TEAMS:
            payload = teams_payload(report, title=settings.title, max_items=settings.max_items)
            body = _encode(payload)
        else:
            body = report_body(report)
        status = await post_body(
            settings.url,
            body,
            host=settings.host,
            secret=settings.secret,
            retry=settings.retry,
            clock=self._clock,
            timeout=settings.timeout,
            user_agent=f"rerunorch/{__version__}",
        )
        log.info(
            "posted the %s report to the webhook at %s (%d bytes, answer %d)",
            settings.format.value,
            settings.host,
            len(body),
            status,
        )

    def __repr__(self) -> str:
        return "WebhookNotifier()"


@hookimpl
def rerunorch_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Register the ``webhook`` notifier."""
    register(WebhookNotifier())
