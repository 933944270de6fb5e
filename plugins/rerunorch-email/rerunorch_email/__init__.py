"""rerunorch-email: mail a sweep's summary (plain text and HTML) over SMTP.

A rerunorch plugin (entry point ``email`` in the group ``rerunorch``) that
registers the notifier ``email``: ``rerunorch sweep ... --notify email`` with
the ``RERUNORCH_SMTP_*`` and ``RERUNORCH_EMAIL_*`` variables set, or a
``[notify.email]`` table in the config file::

    [notify.email]
    host = "smtp.example.com"
    tls = "starttls"                       # none, starttls (default) or tls
    user = "rerunorch@example.com"
    password = "${RERUNORCH_SMTP_PASSWORD}"
    from = "rerunorch <rerunorch@example.com>"
    to = ["qa-team@example.com"]

It uses only rerunorch's public API.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from rerunorch import Notifier, SweepReport, hookimpl
from rerunorch_email._message import email_message
from rerunorch_email._send import EmailError, send_message
from rerunorch_email._settings import ENV, EmailSettings, TlsMode

__all__ = ["ENV", "EmailError", "EmailNotifier", "EmailSettings", "TlsMode", "email_message"]
__version__ = "0.1.0"

log = logging.getLogger(__name__)


class EmailNotifier:
    """The ``email`` notifier: a ``multipart/alternative`` summary sent over SMTP.

    Args:
        env: The environment to read the ``RERUNORCH_SMTP_*`` and ``RERUNORCH_EMAIL_*``
            variables from (default ``os.environ``).
    """

    name = "email"
    description = "mail the summary over SMTP (RERUNORCH_SMTP_HOST, RERUNORCH_EMAIL_TO, ...)"

    def __init__(self, *, env: Mapping[str, str] | None = None) -> None:
        self._env = env

    def configure(self, options: Mapping[str, Any]) -> EmailNotifier:
        """Check the ``[notify.email]`` settings before the sweep sends anything.

        rerunorch calls this once, before the first request, so that a bad setting
        ends the command with exit 2 instead of failing after the sweep.

        Raises:
            rerunorch.ConfigError: A bad setting (no SMTP host, no recipient, an unknown key).
        """
        EmailSettings.from_options(options, os.environ if self._env is None else self._env)
        return self

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        """Mail the summary of ``report``.

        Raises:
            rerunorch.ConfigError: A setting is missing or wrong.
            EmailError: The message could not be sent.
        """
        env = os.environ if self._env is None else self._env
        settings = EmailSettings.from_options(options, env)
        message = email_message(
            report,
            sender=settings.sender,
            recipients=settings.recipients,
            title=settings.title,
            max_items=settings.max_items,
        )
        await send_message(message, settings)
        log.info(
            "mailed the summary to %d recipient(s) through %s",
            len(settings.recipients),
            settings.host,
        )

    def __repr__(self) -> str:
        return "EmailNotifier()"


@hookimpl
def rerunorch_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Register the ``email`` notifier."""
    register(EmailNotifier())
