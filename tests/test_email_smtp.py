"""The email notifier against a real aiosmtpd server on 127.0.0.1: plain, STARTTLS, TLS, AUTH."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import pytest
from email_fakes import (
    PASSWORD,
    USER,
    Certificate,
    authenticator,
    free_port,
    make_certificate,
    smtp_server,
)

from rerunorch import PluginManager, run_notifiers
from rerunorch.notifiers.email import EmailError, EmailNotifier
from rerunorch.testing import SAMPLE_STARTED as STARTED
from rerunorch.testing import sample_report

DOC = Path(__file__).resolve().parents[1] / "docs" / "notifiers.md"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    return make_certificate(tmp_path_factory.mktemp("cert"))


def options(port: int, **more: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "from": "rerunorch <nightly@example.com>",
        "to": ["qa@example.com", "lead@example.com"],
        **more,
    }


async def test_plain_smtp_delivers_a_text_and_html_summary() -> None:
    with smtp_server() as (inbox, port):
        await EmailNotifier(env={}).notify(sample_report(), options(port, tls="none"))
    [got] = inbox.received
    assert got.mail_from == "nightly@example.com"
    assert got.rcpt_tos == ["qa@example.com", "lead@example.com"]
    assert not got.tls
    message = got.message
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "rerunorch: 1 still failing, 1 timed out"
    assert message["To"] == "qa@example.com, lead@example.com"
    assert message["Date"].datetime.timestamp() == STARTED + 754  # the sweep's end
    text = got.part("plain")
    assert "Flaky tests (2): failed, then passed on a rerun" in text
    assert "- Search <by> tag & filter (case 18): plan 301, run 1001 → rerun 2001" in text
    assert "- Checkout as guest (case 41): plan 302, run 1002 → rerun 2002" in text
    assert "Started 2026-03-01 02:00:00 UTC, took 12m 34s." in text
    html = got.part("html")
    assert (
        "<li>Search &lt;by&gt; tag &amp; filter (case 18): plan 301, run 1001 → rerun 2001</li>"
        in html
    )
    assert "<by>" not in html


async def test_starttls_with_the_test_ca_trusted(certificate: Certificate) -> None:
    context = certificate.server_context()
    with smtp_server(tls_context=context, require_starttls=True) as (inbox, port):
        notifier = EmailNotifier(env={})
        await notifier.notify(sample_report(), options(port, cafile=str(certificate.cert)))
    [got] = inbox.received
    assert got.tls
    assert "Checkout as guest" in got.part("plain")


async def test_starttls_without_validation_for_tests(certificate: Certificate) -> None:
    with smtp_server(tls_context=certificate.server_context(), require_starttls=True) as (
        inbox,
        port,
    ):
        await EmailNotifier(env={}).notify(sample_report(), options(port, validate_certs=False))
    assert inbox.received[0].tls


async def test_an_untrusted_certificate_is_refused(certificate: Certificate) -> None:
    with (
        smtp_server(tls_context=certificate.server_context(), require_starttls=True) as (
            inbox,
            port,
        ),
        pytest.raises(EmailError, match=rf"through 127\.0\.0\.1:{port}: .*(?i:certificate)"),
    ):
        await EmailNotifier(env={}).notify(sample_report(), options(port))
    assert inbox.received == []


async def test_starttls_is_required_when_asked_for() -> None:
    with (
        smtp_server() as (inbox, port),  # offers no STARTTLS
        pytest.raises(EmailError, match=r"(?i)starttls"),
    ):
        await EmailNotifier(env={}).notify(sample_report(), options(port, tls="starttls"))
    assert inbox.received == []


async def test_implicit_tls(certificate: Certificate) -> None:
    with smtp_server(ssl_context=certificate.server_context()) as (inbox, port):
        notifier = EmailNotifier(env={})
        await notifier.notify(
            sample_report(), options(port, tls="tls", cafile=str(certificate.cert))
        )
    [got] = inbox.received
    assert got.tls


async def test_auth_over_starttls_from_the_environment(certificate: Certificate) -> None:
    server = {
        "tls_context": certificate.server_context(),
        "require_starttls": True,
        "authenticator": authenticator,
        "auth_require_tls": True,
        "auth_required": True,
    }
    with smtp_server(**server) as (inbox, port):
        env = {
            "RERUNORCH_SMTP_HOST": "127.0.0.1",
            "RERUNORCH_SMTP_PORT": str(port),
            "RERUNORCH_SMTP_TLS": "STARTTLS",
            "RERUNORCH_SMTP_USER": USER,
            "RERUNORCH_SMTP_PASSWORD": PASSWORD,
            "RERUNORCH_EMAIL_FROM": "nightly@example.com",
            "RERUNORCH_EMAIL_TO": "qa@example.com, lead@example.com",
        }
        await EmailNotifier(env=env).notify(sample_report(), {"cafile": str(certificate.cert)})
    [got] = inbox.received
    assert got.login == USER
    assert got.tls
    assert got.rcpt_tos == ["qa@example.com", "lead@example.com"]


async def test_a_refused_login_names_the_server_not_the_password(
    certificate: Certificate, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    server = {
        "tls_context": certificate.server_context(),
        "authenticator": authenticator,
        "auth_required": True,
    }
    report = sample_report()
    wrong = "not-the-pa55word"
    with smtp_server(**server) as (inbox, port):
        settings = options(port, user=USER, password=wrong, cafile=str(certificate.cert))
        warnings = await run_notifiers(
            ["email"], {"email": EmailNotifier(env={})}, report, {"email": settings}
        )
    assert inbox.received == []
    [warning] = warnings
    assert re.fullmatch(
        rf"notifier email failed: EmailError: cannot send the summary through 127\.0\.0\.1:{port}: "
        r"login refused \(535 .*\)",
        warning,
    )
    assert report.notes == warnings
    assert wrong not in caplog.text


async def test_an_unreachable_server_is_an_error() -> None:
    port = free_port()
    with pytest.raises(EmailError, match=rf"cannot send the summary through 127\.0\.0\.1:{port}"):
        await EmailNotifier(env={}).notify(sample_report(), options(port, tls="none", timeout=5))


def test_the_core_registers_the_notifier_through_its_entry_point() -> None:
    manager = PluginManager().load(env={"RERUNORCH_PLUGINS": "email"})
    assert not manager.failed
    assert isinstance(manager.notifiers()["email"], EmailNotifier)


def documented_text() -> str:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- email-example -->\n```text\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert found, "docs/notifiers.md has no <!-- email-example --> text block"
    return found.group(1)


async def test_the_documented_text_part_is_what_is_sent() -> None:
    with smtp_server() as (inbox, port):
        await EmailNotifier(env={}).notify(sample_report(), options(port, tls="none"))
    sent = inbox.received[0].part("plain").replace("\r\n", "\n")  # SMTP lines end in CRLF
    assert sent == documented_text()
