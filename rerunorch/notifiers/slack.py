"""The ``slack`` notifier: post a sweep's summary to Slack through an incoming webhook.

A default plugin of rerunorch (entry point ``slack`` of the core, group ``rerunorch``):
``rerunorch sweep ... --notify slack`` with ``SLACK_WEBHOOK_URL`` set, or a
``[notify.slack]`` table in the config file::

    [notify.slack]
    webhook_url = "${SLACK_WEBHOOK_URL}"
    title = "Nightly regression"
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from rerunorch.clock import Clock, SystemClock
from rerunorch.notifiers.slack_blocks import slack_message
from rerunorch.notifiers.slack_post import SlackError, WebhookPacer, post_message
from rerunorch.notifiers.slack_settings import ENV_WEBHOOK_URL, SlackSettings
from rerunorch.notify import Notifier
from rerunorch.plugins.hookspecs import hookimpl
from rerunorch.report.model import SweepReport

__all__ = [
    "ENV_WEBHOOK_URL",
    "SlackError",
    "SlackNotifier",
    "SlackSettings",
    "WebhookPacer",
    "slack_message",
]
log = logging.getLogger(__name__)


class SlackNotifier:
    """The ``slack`` notifier: a Block Kit summary posted to an incoming webhook.

    Messages to one webhook are at least a second apart (Slack's limit), for as
    long as this notifier lives; a 429 is retried after its ``Retry-After``.

    Args:
        clock: Where waits go (default: real time); tests pass a fake one.
        env: The environment to read ``SLACK_WEBHOOK_URL`` from (default ``os.environ``).
    """

    name = "slack"
    description = f"post the summary to Slack (incoming webhook, {ENV_WEBHOOK_URL})"

    def __init__(self, *, clock: Clock | None = None, env: Mapping[str, str] | None = None) -> None:
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._env = env
        self._pacer = WebhookPacer(self._clock, interval=1.0)

    def configure(self, options: Mapping[str, Any]) -> SlackNotifier:
        """Check the ``[notify.slack]`` settings before the sweep sends anything.

        rerunorch calls this once, before the first request, so that a bad setting
        ends the command with exit 2 instead of failing after the sweep.

        Raises:
            rerunorch.ConfigError: A bad setting (no webhook URL, one not http(s), an unknown key).
        """
        SlackSettings.from_options(options, os.environ if self._env is None else self._env)
        return self

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        """Post the summary of ``report``.

        Raises:
            rerunorch.ConfigError: No webhook URL, or a bad ``[notify.slack]`` value.
            SlackError: Slack did not take the message.
        """
        settings = SlackSettings.from_options(
            options, os.environ if self._env is None else self._env
        )
        message = slack_message(report, title=settings.title, max_items=settings.max_items)
        await post_message(
            settings.webhook_url,
            message,
            host=settings.host,
            pacer=self._pacer,
            clock=self._clock,
            max_retries=settings.max_retries,
            max_retry_wait=settings.max_retry_wait,
            timeout=settings.timeout,
        )
        log.info("posted the summary to the Slack webhook at %s", settings.host)

    def __repr__(self) -> str:
        return "SlackNotifier()"


@hookimpl
def rerunorch_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Register the ``slack`` notifier."""
    register(SlackNotifier())
