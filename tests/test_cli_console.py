"""What `rerunorch sweep` says on the console and on stdout: the tests by run with links,
--all, --app-url, --json (run against a `rerunorch simulate` process, as test_cli)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import test_cli
from test_cli import Server, sweep_args

from rerunorch.cli.run import print_summary
from rerunorch.cli.summary import DEFAULT_APP_URL, by_run, check_app_url, run_link
from rerunorch.errors import ConfigError
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.digest import TestLine
from rerunorch.report.model import SweepReport

server = test_cli.server
run = test_cli.run


def test_json_puts_the_report_alone_on_stdout(run: Any, server: Server) -> None:
    ids = server.targets()[30:33]
    result = run(*sweep_args(*ids), "--json")
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.stdout)  # nothing else on stdout
    assert sorted(r["target"] for r in report["results"]) == sorted(ids)
    assert "verdict: " in result.stderr
    assert "verdict: " not in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--report", "r.json"], "--json prints the JSON report on stdout"),
        (["--junit", "-"], "another report already goes to stdout"),
        (["--app-url", "https://t.example/runs/"], "--app-url: 'https://t.example/runs/' is not"),
        (["--app-url", "runs/{id}"], "is not a web address with {id}"),
    ],
)
def test_conflicting_or_bad_console_options_exit_2_before_anything_is_sent(
    run: Any, server: Server, extra: list[str], message: str
) -> None:
    args = ["--json", *extra] if "--app-url" not in extra else extra
    result = run(*sweep_args(*server.targets()[33:34]), *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "triggered rerun" not in result.output


def test_the_summary_links_each_run_to_its_page(run: Any, server: Server) -> None:
    ids = server.targets()[34:44]
    pattern = "https://acme.testsigma.example/ui/td/runs/{id}/details"
    few = run(*sweep_args(*ids), "--app-url", pattern, "--max-rounds", "1")
    assert few.exit_code in (0, 1), few.output
    links = re.findall(r"https://acme\.testsigma\.example/ui/td/runs/(\d+)/details", few.output)
    assert links, few.output
    named = re.findall(r"^    \S.*: (?:flaky|broken|undecided|not_run): ", few.output, re.M)
    assert named


def test_the_summary_names_20_of_each_kind_unless_all(capsys: pytest.CaptureFixture[str]) -> None:
    flaky = tuple(TestRef(i, f"test {i}") for i in range(25))
    report = SweepReport(started_at=0.0, config={})
    report.add(Outcome(target=1, outcome=OutcomeKind.PASSED, rerun_id=2, flaky=flaky))
    with report:
        print_summary(report)
        shown = capsys.readouterr().out
        print_summary(report, max_tests=None)
        every = capsys.readouterr().out
    assert "    test 19\n" in shown
    assert "test 20" not in shown
    assert "  flaky: ... and 5 more (--all lists every one)" in shown
    assert all(f"    test {i}\n" in every for i in range(25))
    assert "more" not in every


def line(run_id: int, rerun: int | None, name: str, evidence: str | None = None) -> TestLine:
    return TestLine(name=name, test_case_id=1, plan=7, run=run_id, rerun=rerun, evidence=evidence)


def test_tests_are_grouped_by_their_run() -> None:
    tests = [line(1, 11, "a"), line(1, 11, "b"), line(2, None, "c"), line(1, 12, "d")]
    groups = list(by_run(tests))
    assert [(g.where, g.page, [t.name for t in g.tests]) for g in groups] == [
        ("plan 7, run 1 → rerun 11", 11, ["a", "b"]),
        ("plan 7, run 2", 2, ["c"]),
        ("plan 7, run 1 → rerun 12", 12, ["d"]),
    ]
    assert run_link(DEFAULT_APP_URL, 12) == "https://app.testsigma.com/ui/td/runs/12"
    ranked = [
        line(1, 2, "never", "not_run: not run in 3 runs"),
        line(1, 2, "maybe", "undecided: failed 3 of 3 runs, P=0.73"),
        line(1, 2, "broken", "broken: failed 6 of 6 runs, P=0.96"),
    ]
    [group] = by_run(ranked)
    assert [t.name for t in group.tests] == ["broken", "maybe", "never"]


@pytest.mark.parametrize("pattern", ["", "https://x/{id", "https://x/{run}", "ftp://x/{id}"])
def test_an_app_url_that_cannot_link_a_run_is_refused(pattern: str) -> None:
    with pytest.raises(ConfigError, match="--app-url"):
        check_app_url(pattern)
