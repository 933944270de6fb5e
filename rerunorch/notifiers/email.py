"""The ``email`` notifier: mail a sweep's summary (plain text and HTML) over SMTP.

A default plugin of rerunorch (entry point ``email`` of the core, group ``rerunorch``):
``rerunorch sweep ... --notify email`` with the ``RERUNORCH_SMTP_*`` and
``RERUNORCH_EMAIL_*`` variables set, or a ``[notify.email]`` table in the config file::

    [notify.email]
    host = "smtp.example.com"
    tls = "starttls"                       # none, starttls (default) or tls
    user = "rerunorch@example.com"
    password = "${RERUNORCH_SMTP_PASSWORD}"
    from = "rerunorch <rerunorch@example.com>"
    to = ["qa-team@example.com"]

It needs aiosmtplib, an extra: ``pip install "rerunorch[email]"`` (without it, ``--notify
email`` is refused before the sweep starts, saying so).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from typing import Any

from rerunorch.notifiers.email_message import email_message
from rerunorch.notifiers.email_send import EmailError, require_smtp, send_message
from rerunorch.notifiers.email_settings import ENV, EmailSettings, TlsMode
from rerunorch.notify import Notifier
from rerunorch.plugins.hookspecs import hookimpl
from rerunorch.report.model import SweepReport

__all__ = ["ENV", "EmailError", "EmailNotifier", "EmailSettings", "TlsMode", "email_message"]
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
            rerunorch.ConfigError: A bad setting (no SMTP host, no recipient, an unknown key),
                or aiosmtplib is not installed (``pip install "rerunorch[email]"``).
        """
        EmailSettings.from_options(options, os.environ if self._env is None else self._env)
        require_smtp()
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
