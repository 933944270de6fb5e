"""Email settings: the [notify.email] table first, then the environment; clear errors."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from rerunorch import ConfigError, Outcome, OutcomeKind, SweepReport, TestRef
from rerunorch.notifiers.email import EmailSettings, TlsMode, email_message
from rerunorch.testing import sample_report

BASE = {"host": "smtp.example.com", "from": "a@example.com", "to": "b@example.com"}


def test_the_environment_fills_what_the_table_lacks() -> None:
    env = {
        "RERUNORCH_SMTP_HOST": "smtp.example.com",
        "RERUNORCH_SMTP_PORT": "2525",
        "RERUNORCH_SMTP_TLS": "tls",
        "RERUNORCH_SMTP_USER": "me",
        "RERUNORCH_SMTP_PASSWORD": "hunter2",
        "RERUNORCH_EMAIL_FROM": "a@example.com",
        "RERUNORCH_EMAIL_TO": "b@example.com, c@example.com,",
    }
    settings = EmailSettings.from_options({"to": ["d@example.com"]}, env)
    assert settings.host == "smtp.example.com"
    assert settings.port == 2525
    assert settings.tls is TlsMode.TLS
    assert settings.user == "me"
    assert settings.password is not None
    assert settings.password.reveal() == "hunter2"
    assert settings.recipients == ("d@example.com",)  # the table wins
    assert "hunter2" not in repr(settings)
    from_env = EmailSettings.from_options({}, env)
    assert from_env.recipients == ("b@example.com", "c@example.com")


@pytest.mark.parametrize(("tls", "port"), [("none", 25), ("starttls", 587), ("tls", 465)])
def test_the_port_defaults_by_tls_mode(tls: str, port: int) -> None:
    settings = EmailSettings.from_options({**BASE, "tls": tls}, {})
    assert settings.port == port


def test_starttls_is_the_default() -> None:
    assert EmailSettings.from_options(BASE, {}).tls is TlsMode.STARTTLS


@pytest.mark.parametrize(
    ("options", "env", "match"),
    [
        ({}, {}, "no SMTP host: set RERUNORCH_SMTP_HOST or notify.email.host"),
        ({**BASE, "to": []}, {}, "no SMTP to: set RERUNORCH_EMAIL_TO"),
        ({**BASE, "to": "  , "}, {}, "no SMTP to"),
        ({**BASE, "tls": "ssl"}, {}, "notify.email.tls must be none, starttls or tls"),
        (BASE, {"RERUNORCH_SMTP_TLS": "yes"}, "RERUNORCH_SMTP_TLS must be none, starttls or tls"),
        (BASE, {"RERUNORCH_SMTP_PORT": "smtp"}, "RERUNORCH_SMTP_PORT must be a port number"),
        ({**BASE, "port": 70000}, {}, "notify.email.port must be a port number"),
        ({**BASE, "user": "me"}, {}, "give both user and password"),
        ({**BASE, "tls": "none", "user": "me", "password": "hunter2"}, {}, "unencrypted"),
        ({**BASE, "sender": "x"}, {}, "unknown key notify.email.sender"),
        ({**BASE, "to": [1]}, {}, "must be a list of addresses"),
        ({**BASE, "validate_certs": "no"}, {}, "validate_certs must be bool"),
    ],
)
def test_bad_settings(options: dict[str, Any], env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        EmailSettings.from_options(options, env)
    assert "hunter2" not in str(info.value)


def test_the_message_is_multipart_text_and_html() -> None:
    message = email_message(sample_report(), sender="a@example.com", recipients=["b@example.com"])
    assert [part.get_content_type() for part in message.iter_parts()] == ["text/plain", "text/html"]
    assert message["Message-ID"].endswith("@example.com>")


def test_lists_are_cut_with_and_n_more() -> None:
    report = SweepReport(started_at=0.0, config={})
    for i in range(12):
        report.add(
            Outcome(
                target=i, rerun_id=100 + i, outcome=OutcomeKind.PASSED, flaky=(TestRef(i, f"t{i}"),)
            )
        )
    message = email_message(report, sender="a@example.com", recipients=["b@x"], max_items=5)
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()  # type: ignore[attr-defined]
    assert text.count("\n- t") == 5
    assert "... and 7 more" in text
    assert "Started 1970-01-01 00:00:00 UTC; not finished." in text


def test_without_the_email_extra_the_command_stops_before_sending(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from rerunorch.cli import cli
    from rerunorch.notifiers.email import EmailNotifier

    monkeypatch.setitem(sys.modules, "aiosmtplib", None)  # as if it were not installed
    with pytest.raises(ConfigError, match=r'needs aiosmtplib: pip install "rerunorch\[email\]"'):
        EmailNotifier(env={}).configure(BASE)
    env = {"TESTSIGMA_API_KEY": "k", "RERUNORCH_PLUGINS": None}
    args = ["sweep", "467", "--base-url", "http://127.0.0.1:9", "--notify", "email"]
    for key, value in (("host", "smtp.example.com"), ("from", "a@x"), ("to", "b@x")):
        args += ["--notify-option", f"email.{key}={value}"]
    result = CliRunner().invoke(cli, args, env=env)
    assert result.exit_code == 2, result.output
    assert 'pip install "rerunorch[email]"' in result.output
