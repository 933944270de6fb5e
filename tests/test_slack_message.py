"""The Block Kit message: its content, Slack's limits, escaping, the documented example."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from slack_fakes import big_report, block_problems

from rerunorch import ConfigError, Outcome, OutcomeKind, SweepReport, TestRef
from rerunorch.notifiers.slack import ENV_WEBHOOK_URL, SlackSettings, slack_message
from rerunorch.testing import SAMPLE_STARTED as STARTED
from rerunorch.testing import sample_report

DOC = Path(__file__).resolve().parents[1] / "docs" / "notifiers.md"


def section_texts(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "text" in b]


def test_the_message_holds_the_verdict_counts_tests_and_duration() -> None:
    message = slack_message(sample_report())
    assert block_problems(message["blocks"]) == []
    header = message["blocks"][0]
    assert header == {
        "type": "header",
        "text": {
            "type": "plain_text",
            "text": ":x: rerunorch: 1 still failing, 1 timed out",
            "emoji": True,
        },
    }
    fields = {f["text"] for f in message["blocks"][1]["fields"]}
    assert {
        "*Targets*\n4",
        "*Flaky tests*\n2",
        "*Still-failing tests*\n1",
        "*Timed out*\n1",
        "*Requests*\n57",
        "*Rate-limited answers*\n2",
    } <= fields
    assert "*Errors*\n0" not in fields  # only counts that happened, among the optional ones
    text = "\n".join(section_texts(message))
    assert "• Login with SSO (case 17): plan 301, run 1001 → rerun 2001" in text
    assert "• Checkout as guest (case 41): plan 302, run 1002 → rerun 2002" in text
    assert "• plan 304, run 1004 → rerun 2004: timed out: not finished after 3600 s" in text
    timing = message["blocks"][2]["elements"][0]["text"]
    assert timing == "Started 2026-03-01 02:00:00 UTC, took 12m 34s."
    assert message["text"] == (
        "rerunorch: 1 still failing, 1 timed out (4 targets, 3 reruns, 2 flaky tests, took 12m 34s)"
    )


def test_names_cannot_form_links_or_mentions() -> None:
    report = SweepReport(started_at=STARTED, config={})
    evil = "<!channel> & <https://evil.example|click>"
    report.add(Outcome(target=1, rerun_id=2, outcome=OutcomeKind.PASSED, flaky=(TestRef(3, evil),)))
    text = "\n".join(section_texts(slack_message(report)))
    assert "<" not in text.replace("&lt;", "")
    assert "&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;" in text


def test_every_count_is_a_field_in_sections_of_at_most_ten() -> None:
    report = SweepReport(started_at=STARTED, config={})
    for target, kind in enumerate(OutcomeKind, start=1):
        report.add(Outcome(target=target, outcome=kind, rerun_id=100 + target))
    message = slack_message(report)
    assert block_problems(message["blocks"]) == []
    sections = [b["fields"] for b in message["blocks"] if b["type"] == "section" and "fields" in b]
    assert [len(fields) for fields in sections] == [10, 3]
    labels = [f["text"].split("\n")[0] for fields in sections for f in fields]
    assert labels[5:9] == ["*Triggered (not followed)*", "*Errors*", "*Timed out*", "*Interrupted*"]
    assert labels[-2:] == ["*Requests*", "*Rate-limited answers*"]


def test_all_passed_and_no_targets_headlines() -> None:
    report = SweepReport(started_at=STARTED, config={})
    assert slack_message(report)["text"].startswith("rerunorch: no targets (0 targets")
    report.add(Outcome(target=1, rerun_id=2, outcome=OutcomeKind.PASSED, flaky=(TestRef(3),)))
    message = slack_message(report, title="Nightly")
    assert (
        message["blocks"][0]["text"]["text"] == ":white_check_mark: Nightly: all passed (1 flaky)"
    )
    assert "• _(no name)_ (case 3): run 1 → rerun 2" in section_texts(message)[-1]
    assert "not finished" in message["blocks"][2]["elements"][0]["text"]


@pytest.mark.parametrize("max_items", [0, 3, 10_000])
def test_a_huge_report_keeps_to_slacks_limits_and_counts_what_it_leaves_out(max_items: int) -> None:
    message = slack_message(big_report(1500, name_length=400), max_items=max_items)
    assert block_problems(message["blocks"]) == []
    assert len(message["blocks"]) <= 50
    assert message["text"]
    texts = section_texts(message)
    for title in ("Flaky tests (1500)", "Still failing (1500)"):
        lines = "\n".join(sections_of(texts, title)).split("\n")
        shown = sum(line.startswith("• ") for line in lines)
        more = re.fullmatch(r"\.\.\. and (\d+) more", lines[-1])
        assert more, lines[-1]
        assert shown + int(more.group(1)) == 1500
        assert shown <= max_items


def sections_of(texts: list[str], title: str) -> list[str]:
    """The sections of the list called ``title``: its heading's, and those up to the next."""
    [start] = [i for i, text in enumerate(texts) if text.startswith(f"*{title}*")]
    mine = [texts[start]]
    for text in texts[start + 1 :]:
        if text.startswith("*"):
            break
        mine.append(text)
    return mine


def test_names_are_cut_to_keep_rows_short() -> None:
    message = slack_message(big_report(2, name_length=5000))
    assert block_problems(message["blocks"]) == []
    assert all(len(line) < 300 for text in section_texts(message) for line in text.split("\n"))


def test_settings_come_from_options_then_the_environment() -> None:
    url = "https://hooks.slack.com/services/T1/B2/tok"
    settings = SlackSettings.from_options({}, {ENV_WEBHOOK_URL: url})
    assert settings.webhook_url.reveal() == url
    assert settings.host == "hooks.slack.com"
    assert "tok" not in repr(settings)
    given = SlackSettings.from_options(
        {"webhook_url": url + "2", "max_items": 5}, {ENV_WEBHOOK_URL: url}
    )
    assert given.webhook_url.reveal() == url + "2"
    assert given.max_items == 5


@pytest.mark.parametrize(
    ("options", "env", "match"),
    [
        ({}, {}, "no Slack webhook URL"),
        ({"webhook_url": "hooks.slack.com/services/T1/B2/tok"}, {}, "must be an http"),
        (
            {"webhook": "https://x"},
            {ENV_WEBHOOK_URL: "https://x/tok"},
            "unknown key notify.slack.webhook",
        ),
        ({"max_items": "5"}, {ENV_WEBHOOK_URL: "https://x/tok"}, "max_items must be int"),
        ({"max_retries": True}, {ENV_WEBHOOK_URL: "https://x/tok"}, "max_retries must be int"),
        ({"timeout": 0}, {ENV_WEBHOOK_URL: "https://x/tok"}, "timeout must be at least"),
    ],
)
def test_bad_settings_are_named_without_the_url(
    options: dict[str, Any], env: dict[str, str], match: str
) -> None:
    with pytest.raises(ConfigError, match=match) as info:
        SlackSettings.from_options(options, env)
    assert "tok" not in str(info.value)


def documented_example() -> dict[str, Any]:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(r"<!-- slack-example -->\n```json\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert found, "docs/notifiers.md has no <!-- slack-example --> JSON block"
    example: dict[str, Any] = json.loads(found.group(1))
    return example


def test_the_documented_example_is_what_the_notifier_sends() -> None:
    assert documented_example() == slack_message(sample_report())
