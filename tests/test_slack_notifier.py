"""The slack notifier against a local Slack (127.0.0.1): delivery, pacing, 429s, failures."""

from __future__ import annotations

import itertools
import logging

import pytest
from ports import free_port
from slack_fakes import FakeSlack, JumpClock, big_report, serve_fake_slack

from rerunorch import PluginManager, run_notifiers
from rerunorch.notifiers.slack import ENV_WEBHOOK_URL, SlackError, SlackNotifier, slack_message
from rerunorch.testing import sample_report

TOKEN = "s3cr3tT0k3n"


@pytest.fixture
def clock() -> JumpClock:
    return JumpClock()


async def test_posts_the_block_kit_summary(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        await SlackNotifier(clock=clock, env={}).notify(sample_report(), {"webhook_url": url})
    assert slack.messages == [slack_message(sample_report())]
    assert slack.violations == []


async def test_the_url_may_come_from_the_environment(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        await SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url}).notify(sample_report(), {})
    assert len(slack.messages) == 1


async def test_a_huge_report_is_accepted(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        await notifier.notify(big_report(3000, name_length=300), {"max_items": 100_000})
    assert slack.violations == []
    [message] = slack.messages
    assert len(message["blocks"]) == 50


async def test_messages_to_one_webhook_are_a_second_apart(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        for _ in range(3):
            await notifier.notify(sample_report(), {})
    assert slack.violations == []
    assert len(slack.messages) == 3
    assert [b - a for a, b in itertools.pairwise(slack.arrivals)] == [1.0, 1.0]


async def test_a_429_is_retried_after_its_retry_after(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        slack.script.append((429, "rate_limited", {"Retry-After": "7"}))
        await SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url}).notify(sample_report(), {})
    assert len(slack.messages) == 1
    assert slack.arrivals[1] - slack.arrivals[0] == 7.0
    assert clock.sleeps == [7.0]
    assert slack.violations == []


async def test_a_5xx_is_retried_with_backoff(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        slack.script += [(500, "rollup_error", {}), (503, "", {})]
        await SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url}).notify(sample_report(), {})
    assert len(slack.messages) == 1
    assert clock.sleeps == [1.0, 2.0]


async def test_retries_are_bounded(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        slack.script += [(429, "rate_limited", {"Retry-After": "2"})] * 10
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        with pytest.raises(SlackError, match=r"still answered 429 rate_limited after 3 attempts"):
            await notifier.notify(sample_report(), {"max_retries": 2})
    assert len(slack.arrivals) == 3
    assert slack.messages == []


async def test_a_retry_after_longer_than_allowed_gives_up(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        slack.script.append((429, "rate_limited", {"Retry-After": "600"}))
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        with pytest.raises(SlackError, match=r"asked to wait 600 s"):
            await notifier.notify(sample_report(), {"max_retry_wait": 30})
    assert clock.sleeps == []


async def test_a_refused_message_is_an_error_naming_the_host_only(clock: JumpClock) -> None:
    async with serve_fake_slack(clock) as (slack, url):
        slack.script.append((400, "invalid_payload", {}))
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        with pytest.raises(SlackError) as info:
            await notifier.notify(sample_report(), {})
    assert (
        str(info.value) == "the Slack webhook at 127.0.0.1 refused the message: 400 invalid_payload"
    )
    assert len(slack.arrivals) == 1  # not retried


async def test_an_unreachable_webhook_is_an_error_without_the_token(clock: JumpClock) -> None:
    url = f"http://127.0.0.1:{free_port()}{FakeSlack.path}"
    with pytest.raises(SlackError, match=r"cannot reach the Slack webhook at 127\.0\.0\.1") as info:
        await SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url}).notify(sample_report(), {})
    assert TOKEN not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__suppress_context__


async def test_a_failure_becomes_a_note_without_secrets(
    clock: JumpClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    report = sample_report()
    async with serve_fake_slack(clock) as (slack, url):
        slack.script.append((404, "no_service", {}))
        notifier = SlackNotifier(clock=clock, env={ENV_WEBHOOK_URL: url})
        warnings = await run_notifiers(["slack"], {"slack": notifier}, report, {})
    assert warnings == [
        "notifier slack failed: SlackError: the Slack webhook at 127.0.0.1 refused the message: "
        "404 no_service"
    ]
    assert report.notes == warnings
    ours = [
        r.getMessage() for r in caplog.records if r.name != "aiohttp.access"
    ]  # not the server's
    assert ours
    assert not [line for line in ours if TOKEN in line]
    assert TOKEN not in repr(notifier)


def test_the_core_registers_the_notifier_through_its_entry_point() -> None:
    manager = PluginManager().load(env={"RERUNORCH_PLUGINS": "slack"})
    assert not manager.failed
    assert isinstance(manager.notifiers()["slack"], SlackNotifier)
