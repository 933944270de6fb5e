"""Teams mode: an Adaptive Card 1.4 in the Workflows wrapper, under 28 KB."""

from __future__ import annotations

import re
from typing import Any

import pytest
from webhook_fakes import STARTED, TEAMS_LIMIT, JumpClock, big_report, card_problems, serve_endpoint

from rerunorch import Outcome, OutcomeKind, SweepReport, TestRef
from rerunorch.notifiers.teams import encode
from rerunorch.notifiers.webhook import (
    ENV_FORMAT,
    ENV_URL,
    MAX_BYTES,
    WebhookNotifier,
    teams_payload,
)
from rerunorch.testing import sample_report


def card(payload: dict[str, Any]) -> dict[str, Any]:
    content: dict[str, Any] = payload["attachments"][0]["content"]
    return content


def texts(payload: dict[str, Any]) -> list[str]:
    return [e["text"] for e in card(payload)["body"] if e["type"] == "TextBlock"]


def facts(payload: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (f["title"], f["value"])
        for e in card(payload)["body"]
        if e["type"] == "FactSet"
        for f in e["facts"]
    ]


def test_the_card_shape_teams_workflows_expect() -> None:
    payload = teams_payload(sample_report(), title="Nightly_QA")
    assert card_problems(payload) == []
    assert payload["type"] == "message"
    [attachment] = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    content = attachment["content"]
    assert content["type"] == "AdaptiveCard"
    assert content["version"] == "1.4"
    assert content["$schema"] == "http://adaptivecards.io/schemas/adaptive-card.json"
    heading = content["body"][0]
    assert heading["text"] == "Nightly\\_QA: 1 still failing, 1 timed out"
    assert heading["color"] == "Attention"
    assert texts(payload)[1] == "Started 2026-03-01 02:00:00 UTC, took 12m 34s."
    found = facts(payload)
    assert ("Targets", "4") in found
    assert ("Timed out", "1") in found
    assert ("Requests", "57") in found
    assert ("Rate-limited answers", "2") in found
    assert ("Login with SSO (case 17)", "plan 301, run 1001 → rerun 2001") in found
    assert ("Search <by> tag & filter (case 18)", "plan 301, run 1001 → rerun 2001") in found
    assert ("Checkout as guest (case 41)", "plan 302, run 1002 → rerun 2002") in found
    assert ("plan 304, run 1004 → rerun 2004", "timed out: not finished after 3600 s") in found


def test_names_show_literally_in_teams_markdown() -> None:
    report = SweepReport(started_at=STARTED, config={})
    names = (TestRef(18, "Search *by* [tag](x) & filter"), TestRef(19, "1. Checkout ✓"))
    report.add(Outcome(target=1, rerun_id=2, outcome=OutcomeKind.PASSED, flaky=names))
    found = facts(teams_payload(report))
    assert ("Search \\*by\\* \\[tag\\](x) & filter (case 18)", "run 1 → rerun 2") in found
    assert ("1\\. Checkout ✓ (case 19)", "run 1 → rerun 2") in found


@pytest.mark.parametrize("max_items", [0, 5, 1000])
def test_a_huge_report_is_cut_to_fit_and_says_how_many_are_left_out(max_items: int) -> None:
    payload = teams_payload(big_report(800, name_length=300), max_items=max_items)
    size = len(encode(payload))
    assert size <= MAX_BYTES <= TEAMS_LIMIT
    assert card_problems(payload) == []
    blocks = texts(payload)
    shown = [f for f in facts(payload) if f[1].startswith("plan 500")]
    more = [int(m.group(1)) for t in blocks if (m := re.fullmatch(r"\.\.\. and (\d+) more", t))]
    assert len(more) == 2
    assert len(shown) + sum(more) == 1600
    assert len(shown) <= 2 * max_items
    if max_items == 1000:
        assert size > MAX_BYTES * 0.6  # it fills the room it has rather than collapsing


async def test_teams_mode_posts_the_card(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = JumpClock()
    async with serve_endpoint() as (endpoint, url):
        notifier = WebhookNotifier(clock=clock, env={ENV_URL: url, ENV_FORMAT: "Teams"})
        await notifier.notify(big_report(500), {"title": "Nightly"})
    assert endpoint.problems == []
    [delivery] = endpoint.deliveries
    assert len(delivery.body) <= MAX_BYTES
    assert delivery.json()["attachments"][0]["content"]["body"][0]["text"].startswith("Nightly: ")


async def test_teams_mode_from_the_table() -> None:
    async with serve_endpoint() as (endpoint, url):
        notifier = WebhookNotifier(clock=JumpClock(), env={})
        await notifier.notify(sample_report(), {"url": url, "format": "teams"})
    [delivery] = endpoint.deliveries
    assert delivery.json() == teams_payload(sample_report())
