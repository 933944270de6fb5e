"""Sending the message over SMTP (aiosmtplib), with errors that carry no password."""

from __future__ import annotations

import asyncio
import importlib.util
from email.message import EmailMessage

from rerunorch.errors import ConfigError
from rerunorch.notifiers.email_settings import EmailSettings, TlsMode
from rerunorch.report.text import one_line

__all__ = ["EmailError", "require_smtp", "send_message"]

MISSING = 'the email notifier needs aiosmtplib: pip install "rerunorch[email]"'


def require_smtp() -> None:
    """Check that the SMTP client (the ``email`` extra) is installed.

    Raises:
        ConfigError: It is not, saying how to install it.
    """
    if importlib.util.find_spec("aiosmtplib") is None:
        raise ConfigError(MISSING)


class EmailError(Exception):
    """The summary could not be sent (the message names the server, never the password)."""


async def send_message(message: EmailMessage, settings: EmailSettings) -> None:
    """Send ``message`` to ``settings.recipients`` through ``settings.host``.

    Raises:
        ConfigError: aiosmtplib is not installed (the ``email`` extra).
        EmailError: The server could not be reached, TLS failed, it refused the
            login, the sender or a recipient, or it timed out.
    """
    require_smtp()
    import aiosmtplib

    where = f"{settings.host}:{settings.port}"
    password = settings.password.reveal() if settings.password else None
    try:
        refused, _ = await aiosmtplib.send(
            message,
            sender=settings.sender,
            recipients=list(settings.recipients),
            hostname=settings.host,
            port=settings.port,
            username=settings.user,
            password=password,
            use_tls=settings.tls is TlsMode.TLS,
            # False, not None: None would mean "STARTTLS if offered", silently plain.
            start_tls=settings.tls is TlsMode.STARTTLS,
            validate_certs=settings.validate_certs,
            cert_bundle=settings.cafile,
            timeout=settings.timeout,
        )
    except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
        detail = _describe(exc)
        if settings.password is not None:
            detail = settings.password.redact(detail)
        raise EmailError(f"cannot send the summary through {where}: {detail}") from None
    if refused:
        names = ", ".join(sorted(refused))
        raise EmailError(f"the SMTP server {where} refused some recipients: {names}")


def _describe(exc: BaseException) -> str:
    import aiosmtplib

    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return f"login refused ({exc.code} {one_line(exc.message, 150)})"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        return f"{type(exc).__name__} ({exc.code} {one_line(exc.message, 150)})"
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    text = one_line(str(exc), 200)
    return f"{type(exc).__name__} ({text})" if text else type(exc).__name__
