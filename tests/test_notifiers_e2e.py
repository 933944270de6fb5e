"""End to end: ``rerunorch demo --notify slack --notify email --notify webhook`` delivers to
local endpoints (Slack and webhook servers, an aiosmtpd server), and with one endpoint down
the other two still deliver and the exit code is unchanged.

Uses the notifiers installed with the core (its entry points), as users do.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from ports import free_port

from rerunorch.cli import cli

aiosmtpd_controller = pytest.importorskip("aiosmtpd.controller")

from aiohttp import web  # noqa: E402

SLACK_PATH = "/services/T0001/B0002/e2eSlackT0ken"
HOOK_PATH = "/hooks/e2eHookT0ken"
HOOK_SECRET = "e2e-hmac-s3cret"


class Endpoint:
    """An aiohttp server on 127.0.0.1 in its own thread, recording each POST to ``path``."""

    def __init__(self, path: str, answer: web.Response | None = None) -> None:
        self.path = path
        self.bodies: list[bytes] = []
        self.headers: list[dict[str, str]] = []
        self._answer_text = "ok"
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._runner: web.AppRunner | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        self.bodies.append(await request.read())
        self.headers.append(dict(request.headers))
        return web.Response(text=self._answer_text)

    async def _start(self) -> None:
        app = web.Application()
        app.router.add_post(self.path, self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.port = self._runner.addresses[0][1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"

    def __enter__(self) -> Endpoint:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._runner is not None
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()


class Inbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = aiosmtpd_controller.Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def write_config(path: Path, smtp_port: int) -> Path:
    """Email from the [notify.email] table; the webhook from its table with ``${VAR}``s;
    Slack from SLACK_WEBHOOK_URL alone."""
    path.write_text(
        f"""
[notify.email]
host = "127.0.0.1"
port = {smtp_port}
tls = "none"
from = "rerunorch <nightly@example.com>"
to = "qa@example.com, lead@example.com"
title = "E2E nightly"

[notify.webhook]
url = "${{E2E_WEBHOOK_URL}}"
secret = "${{E2E_WEBHOOK_SECRET}}"
retries = 1
backoff = 0.01
""",
        encoding="utf-8",
    )
    return path


def run_demo(config: Path, report: Path, env: dict[str, str]) -> Result:
    args = [
        "demo",
        "--targets", "4",
        "--time-scale", "600",
        "--notify", "slack", "--notify", "email", "--notify", "webhook",
        "--config", str(config),
        "--report", str(report),
    ]  # fmt: skip
    base = {"RERUNORCH_PLUGINS": None, "RERUNORCH_DISABLE_PLUGINS": None}
    return CliRunner().invoke(cli, args, env={**base, **env}, catch_exceptions=False)


def expected_exit_code(report: Path) -> int:
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    if summary["errors"] or summary["timed_out"] or summary["interrupted"]:
        return 3
    return 1 if summary["failed"] else 0


def check_webhook(hook: Endpoint) -> dict[str, Any]:
    [body] = hook.bodies
    mac = hmac.new(HOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hook.headers[0]["X-Rerunorch-Signature"] == f"sha256={mac}"
    report: dict[str, Any] = json.loads(body)
    assert report["summary"]["targets"] == 5  # 4 failed results and 1 passed one
    assert len(report["results"]) == 5
    return report


def check_email(inbox: Inbox) -> None:
    [message] = inbox.messages
    assert message["Subject"].startswith("E2E nightly: ")
    assert message["To"] == "qa@example.com, lead@example.com"
    text = message.get_body(("plain",))
    assert text is not None
    assert "Targets" in text.get_content()  # type: ignore[attr-defined]


def test_demo_delivers_to_all_three_and_survives_one_endpoint_down(tmp_path: Path) -> None:
    with Endpoint(SLACK_PATH) as slack, Endpoint(HOOK_PATH) as hook, smtp_server() as (inbox, port):
        config = write_config(tmp_path / "rerunorch.toml", port)
        env = {
            "SLACK_WEBHOOK_URL": slack.url,
            "E2E_WEBHOOK_URL": hook.url,
            "E2E_WEBHOOK_SECRET": HOOK_SECRET,
        }
        first = run_demo(config, tmp_path / "first.json", env)

        assert first.exit_code == expected_exit_code(tmp_path / "first.json"), first.output
        assert "notifier" not in first.output, first.output
        [slack_body] = slack.bodies
        message = json.loads(slack_body)
        assert message["text"].startswith("rerunorch: ")
        assert message["blocks"][0]["type"] == "header"
        check_email(inbox)
        sent = check_webhook(hook)
        assert "\n*Targets*\n5" in "\n" + "\n".join(
            f["text"] for f in message["blocks"][1]["fields"]
        )
        assert sent["summary"]["flaky_tests"] + sent["summary"]["failing_tests"] > 0

        # Slack is down now: the URL points at a closed port.
        down = f"http://127.0.0.1:{free_port()}{SLACK_PATH}"
        inbox.messages.clear()
        hook.bodies.clear()
        hook.headers.clear()
        second = run_demo(config, tmp_path / "second.json", {**env, "SLACK_WEBHOOK_URL": down})

    assert second.exit_code == first.exit_code, second.output
    assert second.exit_code == expected_exit_code(tmp_path / "second.json")
    assert "notifier slack failed: SlackError: cannot reach the Slack webhook at 127.0.0.1" in (
        second.output
    )
    assert slack.bodies == [slack_body]  # nothing more reached the old Slack
    check_email(inbox)
    check_webhook(hook)
    for output in (first.output, second.output):
        assert "e2eSlackT0ken" not in output
        assert HOOK_SECRET not in output
