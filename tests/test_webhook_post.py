"""The webhook notifier's JSON mode against a local endpoint: body, signature, retries, errors."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from email.utils import formatdate
from typing import Any

import pytest
from ports import free_port
from webhook_fakes import JumpClock, serve_endpoint

from rerunorch import ConfigError, PluginManager, run_notifiers
from rerunorch.notifiers.webhook import (
    ENV_SECRET,
    ENV_URL,
    SIGNATURE_HEADER,
    WebhookError,
    WebhookNotifier,
    WebhookSettings,
    report_body,
)
from rerunorch.testing import sample_report

SECRET = "hmac-k3y-s3cret"
TOKEN = "T0p-S3cret-Sig"


@pytest.fixture
def clock() -> JumpClock:
    return JumpClock()


async def test_posts_the_report_json_signed(clock: JumpClock) -> None:
    report = sample_report()
    async with serve_endpoint(secret=SECRET) as (endpoint, url):
        notifier = WebhookNotifier(clock=clock, env={})
        await notifier.notify(report, {"url": url, "secret": SECRET})
    assert endpoint.problems == []
    [delivery] = endpoint.deliveries
    assert delivery.json() == json.loads(json.dumps(report.to_json()))
    assert delivery.body == report_body(report)
    mac = hmac.new(SECRET.encode(), delivery.body, hashlib.sha256).hexdigest()
    assert delivery.headers[SIGNATURE_HEADER] == f"sha256={mac}"
    assert delivery.headers["Content-Type"] == "application/json; charset=utf-8"
    assert delivery.headers["User-Agent"].startswith("rerunorch/")


async def test_without_a_secret_there_is_no_signature(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        await WebhookNotifier(clock=clock, env={ENV_URL: url}).notify(sample_report(), {})
    [delivery] = endpoint.deliveries
    assert SIGNATURE_HEADER not in delivery.headers


async def test_a_wrong_secret_is_refused_by_the_receiver(clock: JumpClock) -> None:
    async with serve_endpoint(secret=SECRET) as (endpoint, url):
        notifier = WebhookNotifier(clock=clock, env={ENV_URL: url, ENV_SECRET: "other"})
        with pytest.raises(WebhookError, match=r"^the webhook at 127\.0\.0\.1 answered 401$"):
            await notifier.notify(sample_report(), {})
    assert endpoint.problems == ["bad signature"]


async def test_429_and_5xx_are_retried_with_backoff(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        endpoint.script += [(503, {}), (429, {"Retry-After": "7"}), (500, {}), (502, {})]
        await WebhookNotifier(clock=clock, env={ENV_URL: url}).notify(sample_report(), {})
    assert len(endpoint.deliveries) == 1
    assert endpoint.attempts == 5
    assert clock.sleeps == [1.0, 7.0, 4.0, 8.0]


@pytest.mark.parametrize("retry_after", ["nan", "soon", ""])
async def test_an_unreadable_retry_after_falls_back_to_the_backoff(
    clock: JumpClock, retry_after: str
) -> None:
    async with serve_endpoint() as (endpoint, url):
        endpoint.script.append((429, {"Retry-After": retry_after}))
        await WebhookNotifier(clock=clock, env={ENV_URL: url}).notify(sample_report(), {})
    assert len(endpoint.deliveries) == 1
    assert clock.sleeps == [1.0]


async def test_a_retry_after_date_is_waited_for(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        when = formatdate(clock.time() + 12, usegmt=True).replace("GMT", "-0000")
        endpoint.script.append((503, {"Retry-After": when}))
        await WebhookNotifier(clock=clock, env={ENV_URL: url}).notify(sample_report(), {})
    assert len(endpoint.deliveries) == 1
    assert clock.sleeps == [pytest.approx(12.0)]


async def test_retries_are_bounded(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        endpoint.script += [(503, {})] * 20
        notifier = WebhookNotifier(clock=clock, env={ENV_URL: url})
        with pytest.raises(WebhookError, match=r"answered 503 \(4 attempts\)"):
            await notifier.notify(sample_report(), {"retries": 3, "backoff": 0.5, "max_backoff": 1})
    assert endpoint.attempts == 4
    assert clock.sleeps == [0.5, 1.0, 1.0]


async def test_a_client_error_is_not_retried(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        endpoint.script.append((404, {}))
        notifier = WebhookNotifier(clock=clock, env={ENV_URL: url})
        with pytest.raises(WebhookError, match=r"^the webhook at 127\.0\.0\.1 answered 404$"):
            await notifier.notify(sample_report(), {})
    assert endpoint.attempts == 1
    assert clock.sleeps == []


async def test_a_retry_after_beyond_max_backoff_gives_up(clock: JumpClock) -> None:
    async with serve_endpoint() as (endpoint, url):
        endpoint.script.append((429, {"Retry-After": "3600"}))
        notifier = WebhookNotifier(clock=clock, env={ENV_URL: url})
        with pytest.raises(WebhookError, match=r"asked to wait 3600 s"):
            await notifier.notify(sample_report(), {})
    assert clock.sleeps == []


async def test_an_unreachable_endpoint_is_retried_then_named_by_host(
    clock: JumpClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    url = f"http://127.0.0.1:{free_port()}/hooks/{TOKEN}"
    report = sample_report()
    notifier = WebhookNotifier(clock=clock, env={ENV_URL: url, ENV_SECRET: SECRET})
    warnings = await run_notifiers(
        ["webhook"], {"webhook": notifier}, report, {"webhook": {"retries": 2}}
    )
    [warning] = warnings
    assert warning.startswith(
        "notifier webhook failed: WebhookError: the webhook at 127.0.0.1 cannot connect"
    )
    assert warning.endswith("(3 attempts)")
    assert clock.sleeps == [1.0, 2.0]
    for text in (warning, caplog.text, repr(notifier), *report.notes):
        assert TOKEN not in text
        assert SECRET not in text


def test_settings_hide_their_secrets() -> None:
    settings = WebhookSettings.from_options(
        {"secret": SECRET}, {ENV_URL: f"https://x.example/{TOKEN}"}
    )
    assert settings.url.reveal().endswith(TOKEN)
    assert TOKEN not in repr(settings)
    assert SECRET not in repr(settings)
    assert settings.host == "x.example"


@pytest.mark.parametrize(
    ("options", "env", "match"),
    [
        ({}, {}, "no webhook URL: set RERUNORCH_WEBHOOK_URL or notify.webhook.url"),
        ({"url": f"ftp://x/{TOKEN}"}, {}, "must be an http"),
        (
            {"url": "https://x", "format": "slack"},
            {},
            "notify.webhook.format must be json or teams",
        ),
        (
            {"url": "https://x"},
            {"RERUNORCH_WEBHOOK_FORMAT": "xml"},
            "RERUNORCH_WEBHOOK_FORMAT must be",
        ),
        ({"url": "https://x", "retries": "3"}, {}, "retries must be int"),
        ({"url": "https://x", "secret": 5}, {}, "secret must be a string"),
        ({"url": "https://x", "headers": {}}, {}, "unknown key notify.webhook.headers"),
    ],
)
def test_bad_settings(options: dict[str, Any], env: dict[str, str], match: str) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        WebhookSettings.from_options(options, env)
    assert TOKEN not in str(info.value)


def test_the_core_registers_the_notifier_through_its_entry_point() -> None:
    manager = PluginManager().load(env={"RERUNORCH_PLUGINS": "webhook"})
    assert not manager.failed
    assert isinstance(manager.notifiers()["webhook"], WebhookNotifier)
