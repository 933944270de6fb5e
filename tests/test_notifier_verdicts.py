"""The notifiers that come with the core show each test's verdict with its evidence, the
still-failing tests (broken first) before the flaky ones, with a row limit; and after the
core's own install ``rerunorch sweep --notify slack`` reaches a local Slack-like server."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sim_server import SCALE, Server, serve
from test_notifiers_e2e import SLACK_PATH, Endpoint

from rerunorch.cli import cli
from rerunorch.notifiers.email_message import email_text
from rerunorch.notifiers.slack_blocks import slack_message
from rerunorch.notifiers.teams import teams_payload
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.digest import digest
from rerunorch.report.model import SweepReport
from rerunorch.testing import SAMPLE_STARTED
from rerunorch.verdicts import BetaPrior, Bound, TestVerdict, Verdict

DOC = Path(__file__).resolve().parents[1] / "docs" / "notifiers.md"


def verdict(
    case: int, name: str, kind: Verdict, runs: list[int], failures: int, **more: Any
) -> TestVerdict:
    return TestVerdict(
        test_case_id=case,
        test_case_name=name,
        verdict=kind,
        runs=len(runs),
        failures=failures,
        run_ids=tuple(runs),
        **more,
    )


def judged_report() -> SweepReport:
    """Run 1001: a flaky test; run 1002: an undecided test listed before a broken one."""
    report = SweepReport(started_at=SAMPLE_STARTED, config={"strategy": "failed"})
    flaky = verdict(17, "Login with SSO", Verdict.FLAKY, [1001, 2001, 2003], 2, p_broken=0.0)
    report.add(
        Outcome(
            target=1001, execution_id=301, rerun_id=2003, outcome=OutcomeKind.PASSED,
            result="SUCCESS", flaky=(TestRef(17, "Login with SSO"),), tests=(flaky,), rounds=2,
        )
    )  # fmt: skip
    undecided = verdict(
        44, "Pay with coupon", Verdict.UNDECIDED, [1002, 2002, 2004, 2005], 4,
        p_broken=BetaPrior().p_broken(3), bound=Bound.MAX_ROUNDS,
    )  # fmt: skip
    runs = [1002, 2002, 2004, 2005, 2006, 2007, 2008, 2010, 2009]
    broken = verdict(
        41, "Checkout as guest", Verdict.BROKEN, runs, 9, p_broken=BetaPrior().p_broken(8)
    )
    report.add(
        Outcome(
            target=1002, execution_id=302, rerun_id=2009, outcome=OutcomeKind.FAILED,
            result="FAILURE", still_failing=(TestRef(44, "Pay with coupon"),
            TestRef(41, "Checkout as guest")), tests=(undecided, broken), rounds=8,
        )
    )  # fmt: skip
    report.finished_at = SAMPLE_STARTED + 754.0
    return report


def documented_rows() -> str:
    found = re.search(r"## What they say of the tests.*?```text\n(.*?)^```", DOC.read_text(),
                      re.DOTALL | re.MULTILINE)  # fmt: skip
    assert found, "docs/notifiers.md has no example under 'What they say of the tests'"
    return found.group(1)


def test_the_email_lists_broken_then_undecided_then_flaky_with_evidence() -> None:
    text = email_text(digest(judged_report()))
    assert documented_rows() in text  # the documented example is what is sent
    assert text.index("broken: failed 9 of 9 runs, P=0.96") < text.index("undecided: failed 4")
    assert text.index("undecided: failed 4") < text.index("Flaky tests (1)")


def test_slack_and_teams_show_the_same_rows() -> None:
    report = judged_report()
    sections = [
        b["text"]["text"] for b in slack_message(report)["blocks"] if b["type"] == "section"
        and "text" in b
    ]  # fmt: skip
    failing = next(t for t in sections if t.startswith("*Still failing (2)*"))
    assert failing.splitlines()[1:] == [
        "• Checkout as guest (case 41): broken: failed 9 of 9 runs, P=0.96 · plan 302, "
        "run 1002 → rerun 2009",
        "• Pay with coupon (case 44): undecided: failed 4 of 4 runs, P=0.73 (max_rounds "
        "reached) · plan 302, run 1002 → rerun 2009",
    ]
    assert sections.index(failing) < next(
        i for i, t in enumerate(sections) if t.startswith("*Flaky tests (1)*")
    )
    body = teams_payload(report)["attachments"][0]["content"]["body"]
    facts = [f for b in body if b["type"] == "FactSet" for f in b["facts"]]
    row = "flaky: failed 2 of 3 runs · plan 301, run 1001 → rerun 2003"
    assert {"title": "Login with SSO (case 17)", "value": row} in facts


def test_each_list_keeps_to_its_row_limit() -> None:
    report = judged_report()
    text = email_text(digest(report, max_items=1))
    assert "... and 1 more" in text.split("Still failing (2)")[1].split("Flaky")[0]
    blocks = slack_message(report, max_items=1)["blocks"]
    failing = next(b["text"]["text"] for b in blocks if "Still failing" in str(b))
    assert failing.count("• ") == 1
    assert failing.endswith("... and 1 more")


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--targets", "6", "--passed-targets", "0", "--seed", "18") as found:
        yield found


def test_plugins_lists_the_notifiers_as_installed_with_the_core() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"], env={"RERUNORCH_PLUGINS": None})
    assert result.exit_code == 0, result.output
    providers = {
        name: (plugin["name"], plugin["distribution"])
        for plugin in json.loads(result.output)["plugins"]
        for name in plugin["notifiers"]
    }
    assert providers == {
        "slack": ("slack", "rerunorch"),
        "webhook": ("webhook", "rerunorch"),
        "email": ("email", "rerunorch"),
    }


def test_sweep_notify_slack_reaches_a_local_slack_with_the_evidence(
    server: Server, tmp_path: Path
) -> None:
    report = tmp_path / "report.json"
    with Endpoint(SLACK_PATH) as slack:
        args = [
            "sweep", *map(str, server.targets()),
            "--base-url", server.url, "--time-scale", SCALE, "--poll-interval", "1",
            "--max-rounds", "3", "--notify", "slack", "--report", str(report), "--quiet",
        ]  # fmt: skip
        env = {
            "TESTSIGMA_API_KEY": "sim-api-key",
            "SLACK_WEBHOOK_URL": slack.url,
            "RERUNORCH_PLUGINS": None,
            "RERUNORCH_DISABLE_PLUGINS": None,
        }
        result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output
    [body] = slack.bodies
    text = "\n".join(
        b["text"]["text"] for b in json.loads(body)["blocks"] if b["type"] == "section"
        and "text" in b
    )  # fmt: skip
    tests = [t for r in json.loads(report.read_text())["results"] for t in r["tests"]]
    assert tests, "the sweep judged no test"
    for test in tests:  # every judged test is in the message with its evidence
        if test["verdict"] in ("flaky", "broken", "undecided", "not_run"):
            evidence = f"{test['verdict']}: failed {test['failures']} of {test['runs']} runs"
            assert evidence in text, (evidence, text)
    assert re.search(r"(broken|undecided): failed (\d+) of \2 runs, P=0\.\d\d", text), text
