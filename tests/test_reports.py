"""The sweep's reports: the JSON keys of design.md and the Markdown read (JUnit: test_junit.py)."""

from __future__ import annotations

import html
import io
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from report_keys import check_design_keys

import rerunorch
import rerunorch.report.text
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.digest import Count, digest, summary_counts
from rerunorch.report.markdown import markdown_summary, write_markdown
from rerunorch.report.model import Summary, SweepReport
from rerunorch.report.text import one_line, plural, utc_text

STARTED = 1714528800.0  # 2024-05-01T02:00:00Z
NASTY = "Login <&>\"' \x00\x01\x08\x0b\x0c\x1b\x7f é ✓ 日本 🙂 \u202e end\ud800"
# What survives of NASTY in a report: only characters XML 1.0 cannot hold are gone.
NASTY_KEPT = "Login <&>\"' \x7f é ✓ 日本 🙂 \u202e end"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def make_report(
    outcomes: Iterable[Outcome] = (),
    *,
    finished_after: float | None = 125.5,
    notes: Iterable[str] = (),
) -> SweepReport:
    report = SweepReport(started_at=STARTED, config={"strategy": "failed", "concurrency": 8})
    for outcome in outcomes:
        report.add(outcome)
    if finished_after is not None:
        report.finished_at = STARTED + finished_after
    report.notes.extend(notes)
    report.summary.requests = 40
    report.summary.rate_limited = 3
    return report


def every_kind() -> list[Outcome]:
    """One outcome of each kind, in this order: targets 1 to 7."""
    return [
        Outcome(
            target=1,
            outcome=OutcomeKind.PASSED,
            execution_id=42,
            rerun_id=101,
            result="SUCCESS",
            flaky=(TestRef(501, "Login"), TestRef(502, "Search")),
            polls=3,
        ),
        Outcome(
            target=2,
            outcome=OutcomeKind.FAILED,
            execution_id=42,
            rerun_id=102,
            result="FAILURE",
            flaky=(TestRef(503, "Profile"),),
            still_failing=(TestRef(601, "Checkout"), TestRef(602, None)),
        ),
        Outcome(target=3, outcome=OutcomeKind.SKIPPED, execution_id=43, reason="already passed"),
        Outcome(target=4, outcome=OutcomeKind.TRIGGERED, execution_id=43, rerun_id=104),
        Outcome(
            target=5,
            outcome=OutcomeKind.TIMED_OUT,
            rerun_id=105,
            error="rerun 105 did not finish in 600 s",
        ),
        Outcome(target=6, outcome=OutcomeKind.ERROR, error="HTTP 500 from the server"),
        Outcome(target=7, outcome=OutcomeKind.INTERRUPTED, adopted=True, rerun_id=107),
    ]


# --- JSON (design.md, "Report (JSON) keys that other programs read") --------------------


def test_json_report_has_the_keys_of_the_design() -> None:
    data = make_report(every_kind(), notes=["slack: timed out"]).to_json()

    check_design_keys(data, notes=True)
    assert data["started_at"] == "2024-05-01T02:00:00+00:00"
    assert data["finished_at"] == "2024-05-01T02:02:05+00:00"
    assert data["config"] == {"strategy": "failed", "concurrency": 8}
    assert data["summary"] == {
        "targets": 7,
        "triggered": 5,
        "passed": 1,
        "failed": 1,
        "skipped": 1,
        "errors": 1,
        "timed_out": 1,
        "interrupted": 1,
        "flaky_tests": 3,
        "failing_tests": 2,
        "requests": 40,
        "rate_limited": 3,
        "broken_tests": 0,
        "undecided_tests": 0,
        "rounds": 0,
        "device_seconds": None,  # no rerun was followed to its end here
        "makespan_seconds": None,
    }
    assert [item["outcome"] for item in data["results"]] == [
        "passed",
        "failed",
        "skipped",
        "triggered",
        "timed_out",
        "error",
        "interrupted",
    ]
    failed = data["results"][1]
    assert failed["target"] == 2
    assert failed["execution_id"] == 42
    assert failed["rerun_id"] == 102
    assert failed["result"] == "FAILURE"
    assert failed["error"] is None
    assert failed["still_failing"] == [
        {"testCaseId": 601, "testCaseName": "Checkout"},
        {"testCaseId": 602, "testCaseName": None},
    ]
    assert data["results"][2]["rerun_id"] is None


@pytest.mark.parametrize("outcomes", [[], every_kind()], ids=["empty", "every-kind"])
def test_written_json_report_is_the_same_document(tmp_path: Path, outcomes: list[Outcome]) -> None:
    report = make_report(outcomes)
    path = tmp_path / "report.json"

    report.write_json(path)

    data = json.loads(path.read_text(encoding="utf-8"))
    check_design_keys(data, notes=False)
    assert data == report.to_json()
    assert len(data["results"]) == len(outcomes)


def test_unfinished_json_report_has_a_null_finished_at() -> None:
    data = make_report(every_kind(), finished_after=None).to_json()

    assert data["finished_at"] is None


# --- Markdown ----------------------------------------------------------------------------


def table_rows(text: str, heading: str) -> list[str]:
    """The body rows of the first table after *heading*."""
    after = text.split(heading, 1)[1]
    lines = after.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|---"))
    rows = []
    for line in lines[start + 1 :]:
        if not line.startswith("|"):
            break
        rows.append(line)
    return rows


def rendered_cells(text: str) -> list[list[str]]:
    """Every table row of *text* as GitHub-flavoured Markdown renders it, as plain cell text."""
    markdown_it = pytest.importorskip("markdown_it")
    page = markdown_it.MarkdownIt("commonmark").enable("table").render(text)
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S):
        cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row, flags=re.S)
        rows.append([html.unescape(re.sub(r"<[^>]+>", "", cell)) for cell in cells])
    return rows


def test_markdown_title_counts_and_duration() -> None:
    text = markdown_summary(make_report(every_kind(), notes=["slack: timed out"]))

    assert text.startswith("## rerunorch: 2 still failing, 1 error, 1 timed out, 1 interrupted\n")
    counts = dict(row for row in rendered_cells(text) if len(row) == 2)
    assert counts["Targets"] == "7"
    assert counts["Reruns triggered"] == "5"
    assert counts["Reruns passed"] == "1"
    assert counts["Reruns still failing"] == "1"
    assert counts["Skipped by the strategy"] == "1"
    assert counts["Triggered (not followed)"] == "1"
    assert counts["Errors"] == "1"
    assert counts["Timed out"] == "1"
    assert counts["Interrupted"] == "1"
    assert counts["Flaky tests"] == "3"
    assert counts["Still-failing tests"] == "2"
    assert counts["Requests"] == "40"
    assert counts["Rate-limited answers"] == "3"
    assert "Started 2024-05-01 02:00:00 UTC, took 2m 6s." in text
    assert "### Notes\n\n- slack: timed out" in text


def test_markdown_gives_device_time_and_makespan_when_reruns_were_followed() -> None:
    report = make_report(every_kind())
    assert "device time" not in markdown_summary(report)
    report.summary.rerun_ended(1000.0, 4600.0, 3600.0)
    report.summary.rerun_ended(1000.0, 2800.0, 1800.0)
    text = markdown_summary(report)
    assert (
        "Reruns: 1h 30m 0s of device time, 1h 0m 0s from the first start to the last end." in text
    )


def test_markdown_tables_of_flaky_and_still_failing_tests() -> None:
    text = markdown_summary(make_report(every_kind()))

    assert "### Flaky tests (3)" in text
    assert table_rows(text, "### Flaky tests") == [
        "| Login | 501 | 1 | 101 |",
        "| Search | 502 | 1 | 101 |",
        "| Profile | 503 | 2 | 102 |",
    ]
    assert "### Still failing (2)" in text
    assert table_rows(text, "### Still failing") == [
        "| Checkout | 601 | 2 | 102 |",
        "| *(no name)* | 602 | 2 | 102 |",
    ]


def test_markdown_lists_targets_not_rerun_to_the_end() -> None:
    text = markdown_summary(make_report(every_kind()))

    section = text.split("### Not rerun to the end (3)\n\n", 1)[1].split("\n\n", 1)[0]
    assert section.splitlines() == [
        "- run 5, rerun 105: timed out: rerun 105 did not finish in 600 s",
        "- run 6: error: HTTP 500 from the server",
        "- run 7, rerun 107: interrupted",
    ]


@pytest.mark.parametrize(
    ("outcomes", "title"),
    [
        ([], "no targets"),
        ([Outcome(target=1, outcome=OutcomeKind.PASSED, rerun_id=2)], "all passed"),
        (
            [
                Outcome(
                    target=1,
                    outcome=OutcomeKind.PASSED,
                    rerun_id=2,
                    flaky=(TestRef(1, "a"), TestRef(2, "b")),
                ),
                Outcome(target=3, outcome=OutcomeKind.SKIPPED),
            ],
            "all passed (2 flaky)",
        ),
        (
            [Outcome(target=i, outcome=OutcomeKind.TRIGGERED, rerun_id=i) for i in range(3)],
            "3 reruns triggered",
        ),
        (
            [
                Outcome(target=1, outcome=OutcomeKind.SKIPPED),
                Outcome(target=2, outcome=OutcomeKind.TRIGGERED, rerun_id=3),
            ],
            "1 passed, 1 rerun triggered",
        ),
        (
            [Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=2)],
            "1 rerun still failing",
        ),
        (
            [
                Outcome(target=1, outcome=OutcomeKind.ERROR, error="x"),
                Outcome(target=2, outcome=OutcomeKind.ERROR, error="y"),
            ],
            "2 errors",
        ),
    ],
)
def test_markdown_title_says_how_the_sweep_ended(outcomes: list[Outcome], title: str) -> None:
    text = markdown_summary(make_report(outcomes))

    assert text.splitlines()[0] == f"## rerunorch: {title}"


def test_markdown_sections_appear_only_when_they_have_content() -> None:
    text = markdown_summary(make_report([Outcome(target=1, outcome=OutcomeKind.PASSED)]))

    for heading in ("### Flaky", "### Still failing", "### Not rerun", "### Notes"):
        assert heading not in text
    assert "| Errors |" not in text


@pytest.mark.parametrize(("max_items", "shown"), [(50, 50), (10, 10), (0, 0), (200, 120)])
def test_markdown_truncates_each_list(max_items: int, shown: int) -> None:
    flaky = tuple(TestRef(i, f"flaky {i}") for i in range(120))
    failing = tuple(TestRef(1000 + i, f"failing {i}") for i in range(60))
    outcomes = [
        Outcome(target=1, outcome=OutcomeKind.PASSED, rerun_id=2, flaky=flaky[:70]),
        Outcome(
            target=3,
            outcome=OutcomeKind.FAILED,
            rerun_id=4,
            flaky=flaky[70:],
            still_failing=failing,
        ),
        *(Outcome(target=10 + i, outcome=OutcomeKind.ERROR, error=f"e{i}") for i in range(60)),
    ]

    text = markdown_summary(make_report(outcomes), max_items=max_items)

    assert "### Flaky tests (120)" in text
    assert "### Still failing (60)" in text
    assert "### Not rerun to the end (60)" in text
    flaky_rows = [line for line in text.splitlines() if line.startswith("| flaky ")]
    assert len(flaky_rows) == shown
    assert flaky_rows[:2] == ["| flaky 0 | 0 | 1 | 2 |", "| flaky 1 | 1 | 1 | 2 |"][:shown]
    failing_rows = [line for line in text.splitlines() if line.startswith("| failing ")]
    assert len(failing_rows) == min(shown, 60)
    error_lines = [line for line in text.splitlines() if line.startswith("- run ")]
    assert len(error_lines) == min(shown, 60)
    more = [line for line in text.splitlines() if line.startswith("... and ")]
    expected = [f"... and {n - min(shown, n)} more" for n in (120, 60, 60) if n > shown]
    assert more == expected


def test_markdown_escapes_names_so_tables_do_not_break() -> None:
    names = [
        "a | b",
        "tick `code` here",
        "two\nlines\r\nthree",
        "<script>alert(1)</script> & <b>bold</b>",
        "*stars* _under_ [link](http://x) ~~gone~~ $x$ #hash \\back",
        "- looks like a list",
        "1. looks numbered",
        NASTY,
    ]
    failing = tuple(TestRef(i, name) for i, name in enumerate(names))
    outcome = Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=2, still_failing=failing)
    report = make_report([outcome], notes=["# not a heading | <i>x</i>"])

    text = markdown_summary(report)

    rows = rendered_cells(text.split("### Still failing", 1)[1].split("### Notes", 1)[0])
    assert rows[0] == ["Test", "Test case", "Run", "Rerun"]
    expected_names = [
        "a | b",
        "tick `code` here",
        "two lines three",
        "<script>alert(1)</script> & <b>bold</b>",
        "*stars* _under_ [link](http://x) ~~gone~~ $x$ #hash \\back",
        "- looks like a list",
        "1. looks numbered",
        NASTY_KEPT,
    ]
    assert rows[1:] == [[name, str(i), "1", "2"] for i, name in enumerate(expected_names)]
    assert "\x00" not in text
    assert "\ud800" not in text
    notes = text.split("### Notes\n\n", 1)[1]
    assert notes == "- \\# not a heading \\| \\<i\\>x\\</i\\>\n"


def test_markdown_cuts_very_long_names() -> None:
    outcome = Outcome(
        target=1, outcome=OutcomeKind.FAILED, rerun_id=2, still_failing=(TestRef(3, "y" * 5000),)
    )

    [row] = table_rows(markdown_summary(make_report([outcome])), "### Still failing")

    assert len(row) < 250
    assert "y…" in row


def test_markdown_of_an_unfinished_sweep() -> None:
    text = markdown_summary(make_report(finished_after=None))

    assert "Started 2024-05-01 02:00:00 UTC; not finished." in text


@pytest.mark.parametrize(
    ("seconds", "shown"), [(3.25, "3.2s"), (42.4, "42s"), (3725.0, "1h 2m 5s")]
)
def test_markdown_duration(seconds: float, shown: str) -> None:
    text = markdown_summary(make_report(finished_after=seconds))

    assert f"took {shown}." in text


def test_markdown_rejects_a_negative_max_items() -> None:
    with pytest.raises(ValueError, match="max_items"):
        markdown_summary(make_report(), max_items=-1)


def test_write_markdown_writes_or_appends(tmp_path: Path) -> None:
    report = make_report(every_kind())
    path = tmp_path / "summary.md"
    path.write_text("# Earlier step\n", encoding="utf-8")

    write_markdown(report, path, append=True)

    assert path.read_text(encoding="utf-8") == "# Earlier step\n" + markdown_summary(report)

    write_markdown(report, path, max_items=1)

    assert path.read_text(encoding="utf-8") == markdown_summary(report, max_items=1)


# --- One counts table: the digest's rows, shown by every renderer ------------------------

Rows = list[tuple[str, str]]


def pair(pattern: str, text: str) -> tuple[str, str]:
    """The two groups of *pattern*, which all of *text* must match."""
    match = re.fullmatch(pattern, text)
    assert match, text
    return match[1], match[2]


def markdown_counts(report: SweepReport) -> Rows:
    lines = markdown_summary(report).splitlines()
    start = lines.index("| | Count |") + 2
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        label, value = line.strip("| ").split(" | ")
        rows.append((label, value))
    return rows


def console_text(report: SweepReport, **options: int) -> str:
    from rich.console import Console

    from rerunorch.cli.progress import summary_table

    out = io.StringIO()
    Console(file=out, width=200, force_terminal=False).print(summary_table(report, **options))
    return out.getvalue()


def console_counts(report: SweepReport) -> Rows:
    text = console_text(report).split("rerunorch sweep", 1)[1]
    # Only the counts table has two columns; the tests tables have four.
    return re.findall(r"^│ ([^│]+?) +│ +(\d+) │$", text, flags=re.M)


def email_text_counts(report: SweepReport) -> Rows:
    from rerunorch.notifiers.email_message import email_text

    blocks = email_text(digest(report)).split("\n\n")
    return [pair(r"(.+?) {2,}(\d+)", line) for line in blocks[2].split("\n")]


def email_html_counts(report: SweepReport) -> Rows:
    from rerunorch.notifiers.email_message import email_html

    cells = re.findall(
        r"<tr><td [^>]*>(.*?)</td><td [^>]*>(.*?)</td></tr>", email_html(digest(report))
    )
    return [(html.unescape(label), html.unescape(value)) for label, value in cells]


def teams_counts(report: SweepReport) -> Rows:
    from rerunorch.notifiers.teams import teams_payload

    body = teams_payload(report)["attachments"][0]["content"]["body"]
    first = next(element for element in body if element["type"] == "FactSet")
    return [(fact["title"], fact["value"]) for fact in first["facts"]]


def slack_counts(report: SweepReport) -> Rows:
    from rerunorch.notifiers.slack_blocks import slack_message

    fields = [
        field["text"]
        for block in slack_message(report)["blocks"]
        if block["type"] == "section"
        for field in block.get("fields", ())
    ]
    return [pair(r"\*(.+)\*\n(\d+)", text) for text in fields]


RENDERERS = {
    "markdown": markdown_counts,
    "console": console_counts,
    "email-text": email_text_counts,
    "email-html": email_html_counts,
    "teams": teams_counts,
    "slack": slack_counts,
}


def not_followed_only() -> list[Outcome]:
    return [Outcome(target=9, outcome=OutcomeKind.TRIGGERED, rerun_id=109)]


@pytest.mark.parametrize("render", RENDERERS.values(), ids=RENDERERS.keys())
@pytest.mark.parametrize(
    "outcomes", [every_kind(), [], not_followed_only()], ids=["every-kind", "empty", "triggered"]
)
def test_every_renderer_shows_the_digests_counts(render: Any, outcomes: list[Outcome]) -> None:
    report = make_report(outcomes)
    expected = [(count.label, str(count.value)) for count in digest(report).counts]

    assert render(report) == expected


def test_the_counts_rows_follow_the_summary() -> None:
    counts = digest(make_report(every_kind())).counts

    assert [(count.key, count.value) for count in counts] == [
        ("targets", 7),
        ("triggered", 5),
        ("passed", 1),
        ("failed", 1),
        ("skipped", 1),
        ("not_followed", 1),
        ("errors", 1),
        ("timed_out", 1),
        ("interrupted", 1),
        ("flaky_tests", 3),
        ("failing_tests", 2),
        ("requests", 40),
        ("rate_limited", 3),
    ]
    assert counts[3] == Count("failed", "Reruns still failing", 1)


def test_the_optional_counts_rows_appear_only_when_not_zero() -> None:
    keys = [count.key for count in summary_counts(Summary(targets=2, passed=2))]

    assert keys == [
        "targets",
        "triggered",
        "passed",
        "failed",
        "skipped",
        "flaky_tests",
        "failing_tests",
        "requests",
        "rate_limited",
    ]
    assert "timed_out" in [c.key for c in summary_counts(Summary(targets=1, timed_out=1))]
    assert "not_followed" in [c.key for c in summary_counts(Summary(), not_followed=2)]


# --- The console's summary lists the tests, at most max_tests of each ---------------------


def test_the_console_summary_lists_flaky_and_still_failing_tests() -> None:
    text = console_text(make_report(every_kind()))

    assert "flaky tests (3)" in text
    assert "  plan 42, run 1 → rerun 101  https://app.testsigma.com/ui/td/runs/101\n" in text
    assert "\n    Login\n" in text
    assert "still failing (2)" in text
    assert "  plan 42, run 2 → rerun 102  https://app.testsigma.com/ui/td/runs/102\n" in text
    assert "\n    test case 602\n" in text
    assert "more" not in text


def test_the_console_summary_keeps_to_max_tests() -> None:
    text = console_text(make_report(every_kind()), max_tests=1)

    assert "Login" in text
    assert "Search" not in text
    assert "Profile" not in text
    assert "... and 2 more" in text  # flaky: Search and Profile
    assert "... and 1 more" in text  # still failing: test case 602
    assert "Login" not in console_text(make_report(every_kind()), max_tests=0)
    with pytest.raises(ValueError, match="max_tests"):
        console_text(make_report(), max_tests=-1)


def test_the_console_shows_a_name_with_brackets_as_written() -> None:
    flaky = (TestRef(1, "Pay [bold]now[/bold] \n twice"),)
    report = make_report([Outcome(target=1, outcome=OutcomeKind.PASSED, rerun_id=2, flaky=flaky)])

    assert "Pay [bold]now[/bold] twice" in console_text(report)


# --- The report frees its spool ----------------------------------------------------------


def test_a_closed_report_frees_its_results_and_keeps_its_summary() -> None:
    report = make_report(every_kind())
    assert len(list(report.results)) == 7

    report.close()
    report.close()  # closing twice is fine

    assert report.results.closed
    assert report.summary.targets == 7
    assert report.header_json()["summary"]["targets"] == 7
    with pytest.raises(ValueError, match="closed"):
        list(report.results)


def test_a_report_closes_at_the_end_of_its_with_block_even_on_error() -> None:
    with make_report(every_kind()) as report:
        assert len(list(report.results)) == 7
    assert report.results.closed

    failing = make_report()

    def fail() -> None:
        with failing:
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert failing.results.closed


# --- Text helpers ------------------------------------------------------------------------


def test_one_line_cleans_flattens_and_cuts() -> None:
    assert one_line("  Login\r\n\twith \x00SSO  ") == "Login with SSO"
    assert one_line("Login\nwith SSO", 9) == "Login wi…"
    assert one_line("Login with SSO", 14) == "Login with SSO"
    assert len(one_line("é" * 500, 200)) == 200


def test_plural() -> None:
    assert [plural(n, "rerun") for n in (0, 1, 2)] == ["0 reruns", "1 rerun", "2 reruns"]


def test_one_utc_formatter_for_every_report() -> None:
    epoch = STARTED + 0.75
    assert utc_text(epoch) == "2024-05-01 02:00:00 UTC"
    assert utc_text(epoch, "iso") == "2024-05-01T02:00:00+00:00"
    assert utc_text(epoch, "junit") == "2024-05-01T02:00:00"
    report = make_report()
    assert report.header_json()["started_at"] == utc_text(STARTED, "iso")
    assert digest(report).started == utc_text(STARTED)


def test_the_text_helpers_are_public_from_one_module() -> None:
    for name in ("one_line", "plural", "duration_text"):
        assert getattr(rerunorch, name) is getattr(rerunorch.report.text, name)
    assert rerunorch.Count is Count


def test_each_test_and_problem_says_where_it_ran() -> None:
    story = digest(make_report(every_kind()))

    assert story.flaky.items[0].where == "plan 42, run 1 → rerun 101"
    assert [problem.where for problem in story.problems.items] == [
        "run 5 → rerun 105",
        "run 6",
        "run 7 → rerun 107",
    ]


def test_a_verdict_shows_with_its_evidence_in_markdown_and_the_digest() -> None:
    from rerunorch.report.digest import digest
    from rerunorch.report.markdown import markdown_summary

    judged = _judged(7, "Checkout | guest", "broken", runs=tuple(range(100, 109)), failures=9)
    report = SweepReport(started_at=0.0, config={})
    report.add(
        Outcome(
            target=100,
            outcome=OutcomeKind.FAILED,
            rerun_id=108,
            still_failing=(TestRef(7, "Checkout | guest"),),
            tests=(judged,),
        )
    )
    with report:
        (line,) = digest(report).failing.items
        assert line.evidence == "broken: failed 9 of 9 runs, P=0.96"
        text = markdown_summary(report)
    assert "| Test | Verdict | Test case | Run | Rerun |" in text
    assert "| Checkout \\| guest | broken: failed 9 of 9 runs, P=0.96 | 7 | 100 | 108 |" in text


def test_the_plain_summary_names_a_test_with_its_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from rerunorch.cli.run import print_summary

    flaky = _judged(8, "Login", "flaky", runs=(200, 201, 202), failures=2)
    report = SweepReport(started_at=0.0, config={})
    report.add(
        Outcome(
            target=200,
            outcome=OutcomeKind.PASSED,
            rerun_id=202,
            flaky=(TestRef(8, "Login"),),
            tests=(flaky,),
        )
    )
    with report:
        print_summary(report)
    out = capsys.readouterr().out
    assert "  flaky: run 200 → rerun 202: https://app.testsigma.com/ui/td/runs/202\n" in out
    assert "\n    Login: flaky: failed 2 of 3 runs\n" in out


def _judged(case: int, name: str, verdict: str, *, runs: tuple[int, ...], failures: int) -> Any:
    """A test's verdict as rounds give it (P(broken) 0.9646 for a broken one, 0 for flaky)."""
    from rerunorch.verdicts import TestVerdict, Verdict

    kind = Verdict(verdict)
    return TestVerdict(
        test_case_id=case,
        test_case_name=name,
        verdict=kind,
        runs=len(runs),
        failures=failures,
        p_broken=0.9646 if kind is Verdict.BROKEN else 0.0,
        bound=None,
        run_ids=runs,
        iterations=(),
    )
