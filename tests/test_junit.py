"""The JUnit file: one case per test in Surefire's style, valid against Surefire's own schema
(tests/data/surefire-test-report-3.0.xsd) and read by junitparser; from a report, and from a
real sweep of a `rerunorch simulate` process."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import junitparser
import pytest
import xmlschema

from rerunorch.api.models import IterationResult, TestCaseResult, TestCaseResults
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.junit import RunRecord, junit_xml, write_junit
from rerunorch.report.model import SweepReport
from rerunorch.verdicts import Bound, IterationVerdict, TestVerdict, Verdict

SCHEMA = xmlschema.XMLSchema(Path(__file__).parent / "data" / "surefire-test-report-3.0.xsd")
STARTED = 1714528800.0  # 2024-05-01T02:00:00Z
NASTY = "Login <&>\"'\x00\x01\x1b é 日本 🙂 end\ud800"
NASTY_KEPT = "Login <&>\"' é 日本 🙂 end"
XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check(xml: str) -> ET.Element:
    """Each <testsuite> valid against Surefire's schema, the file read by junitparser, and
    the root's totals the sum of the suites'; returns the root."""
    root = ET.fromstring(xml)
    assert root.tag == "testsuites"
    for suite in root.iter("testsuite"):
        SCHEMA.validate(ET.tostring(suite, encoding="unicode"))
    parsed = junitparser.JUnitXml.fromstring(xml)
    suites = list(parsed)
    assert parsed.tests == sum(len(list(s)) for s in suites) == len(root.findall(".//testcase"))
    for key in ("tests", "failures", "errors", "skipped"):
        assert int(root.attrib[key]) == sum(int(s.attrib[key]) for s in root.iter("testsuite"))
    return root


def case(root: ET.Element, name: str) -> ET.Element:
    [found] = [c for c in root.iter("testcase") if c.attrib["name"] == name]
    return found


def verdict(
    case_id: int,
    name: str,
    kind: Verdict,
    runs: tuple[int, ...],
    failures: int,
    **more: object,
) -> TestVerdict:
    return TestVerdict(
        test_case_id=case_id,
        test_case_name=name,
        verdict=kind,
        runs=len(runs),
        failures=failures,
        run_ids=runs,
        **more,  # type: ignore[arg-type]
    )


def tc(case_id: int, name: str, result: str, **more: object) -> TestCaseResult:
    return TestCaseResult(
        test_case_id=case_id,
        test_case_name=name,
        result=result,  # type: ignore[arg-type]
        test_suite_name="Checkout suite",
        **more,  # type: ignore[arg-type]
    )


def chain_report() -> tuple[SweepReport, dict[int, RunRecord]]:
    """Run 1001 of plan 42, rerun twice (2001, 2002): a flaky test, a broken one, one not
    run, one that passed, and a data-driven one with a flaky and a broken data set."""
    tests = (
        verdict(1, "Pay by card", Verdict.FLAKY, (1001, 2001, 2002), 2),
        verdict(2, "Refund", Verdict.BROKEN, (1001, 2001, 2002), 3, p_broken=0.9646),
        verdict(3, "Coupon", Verdict.NOT_RUN, (1001, 2001), 0, bound=Bound.MAX_ROUNDS),
        verdict(4, "Cart", Verdict.PASSED, (2001,), 0),
        verdict(
            5,
            "Find",
            Verdict.UNDECIDED,
            (1001, 2001),
            2,
            iterations=(
                IterationVerdict(set_name="a", verdict=Verdict.FLAKY, runs=2, failures=1),
                IterationVerdict(set_name="b.1", verdict=Verdict.BROKEN, runs=2, failures=2),
            ),
        ),
    )
    outcome = Outcome(
        target=1001,
        outcome=OutcomeKind.FAILED,
        execution_id=42,
        rerun_id=2002,
        result="FAILURE",
        flaky=(TestRef(1, "Pay by card"),),
        still_failing=(TestRef(2, "Refund"),),
        rounds=2,
        tests=tests,
    )

    def find(results: tuple[str, str]) -> TestCaseResult:
        its = tuple(
            IterationResult(set_name=s, result=r)  # type: ignore[arg-type]
            for s, r in zip(("a", "b.1"), results, strict=True)
        )
        return tc(5, "Find", "FAILURE", iteration_results=its)

    records = {
        1001: RunRecord(
            TestCaseResults(
                test_cases=(
                    tc(1, "Pay by card", "FAILURE", extra={"duration": 12400}),
                    tc(2, "Refund", "FAILURE"),
                    tc(3, "Coupon", "ABORTED"),
                    find(("FAILURE", "FAILURE")),
                )
            ),
            duration=40.0,
        ),
        2001: RunRecord(
            TestCaseResults(
                test_cases=(
                    tc(1, "Pay by card", "FAILURE", extra={"startTime": 1000, "endTime": 4500}),
                    tc(2, "Refund", "FAILURE"),
                    tc(3, "Coupon", "NOT_EXECUTED"),
                    tc(4, "Cart", "SUCCESS"),
                    find(("SUCCESS", "FAILURE")),
                )
            ),
            duration=50.0,
        ),
        2002: RunRecord(
            TestCaseResults(
                test_cases=(
                    tc(1, "Pay by card", "SUCCESS", extra={"duration": 3100}),
                    tc(2, "Refund", "FAILURE"),
                )
            ),
            duration=20.0,
        ),
    }
    report = SweepReport(started_at=STARTED, config={})
    report.add(outcome)
    report.finished_at = STARTED + 95
    return report, records


def test_each_test_is_a_case_named_the_same_every_night_with_surefire_reruns() -> None:
    report, records = chain_report()
    root = check(junit_xml(report, records))

    [suite] = root.iter("testsuite")
    assert suite.attrib["name"] == "plan 42, run 1001"
    props = {p.attrib["name"]: p.attrib["value"] for p in suite.iter("property")}
    assert props["run"] == "1001"
    assert props["rerun"] == "2002"
    assert props["chain"] == "1001 2001 2002"
    assert props["sweep.started"] == "2024-05-01T02:00:00+00:00"
    names = [c.attrib["name"] for c in suite.iter("testcase")]
    assert names == ["Pay by card", "Refund", "Coupon", "Cart", "Find [a]", "Find [b.1]"]
    assert {c.attrib["classname"] for c in suite.iter("testcase")} == {"plan42.Checkout suite"}

    flaky = case(root, "Pay by card")
    assert [e.tag for e in flaky] == ["flakyFailure", "flakyFailure", "system-out"]
    assert [e.attrib["message"] for e in flaky.iter("flakyFailure")] == [
        "FAILURE in run 1001",
        "FAILURE in run 2001",
    ]
    assert all(e.attrib["type"] == "FAILURE" for e in flaky.iter("flakyFailure"))
    assert "run 2001: FAILURE" in (flaky.findtext("flakyFailure[2]/stackTrace") or "")
    assert flaky.attrib["time"] == "3.100"  # its own duration in its newest run

    broken = case(root, "Refund")
    assert [e.tag for e in broken] == ["failure", "rerunFailure", "rerunFailure", "system-out"]
    failure = broken.find("failure")
    assert failure is not None
    assert failure.attrib == {"message": "broken: failed 3 of 3 runs, P=0.96", "type": "broken"}
    assert broken.attrib["time"] == "10.000"  # the run's 20 s shared by its 2 test cases

    not_run = case(root, "Coupon")
    assert [e.tag for e in not_run] == ["skipped", "system-out"]
    assert "max_rounds reached" in not_run.find("skipped").attrib["message"]  # type: ignore[union-attr]
    assert [e.tag for e in case(root, "Cart")] == ["system-out"]
    assert [e.tag for e in case(root, "Find [a]")] == ["flakyFailure", "system-out"]
    assert [e.tag for e in case(root, "Find [b.1]")] == ["failure", "rerunFailure", "system-out"]
    assert case(root, "Find [b.1]").attrib["time"] == "5.000"  # 50 s / 5 cases / 2 sets
    assert suite.attrib["tests"] == "6"
    assert suite.attrib["failures"] == "2"  # Refund and Find [b.1]: flaky cases pass
    assert suite.attrib["skipped"] == "1"


def test_without_the_runs_read_the_attempts_are_counted_from_the_verdicts() -> None:
    report, _ = chain_report()
    root = check(junit_xml(report))

    flaky = case(root, "Pay by card")
    assert len(flaky.findall("flakyFailure")) == 2
    assert flaky.attrib["classname"] == "plan42"
    assert flaky.attrib["time"] == "0.000"
    assert len(case(root, "Refund").findall("rerunFailure")) == 2


def test_an_attempt_that_did_not_run_is_an_error_of_the_attempt() -> None:
    tests = (
        verdict(7, "Login", Verdict.FLAKY, (1, 2), 0),
        verdict(8, "Logout", Verdict.UNDECIDED, (1, 2, 3), 2),
    )
    records = {
        1: RunRecord(
            TestCaseResults(test_cases=(tc(7, "Login", "ABORTED"), tc(8, "Logout", "FAILURE")))
        ),
        2: RunRecord(
            TestCaseResults(test_cases=(tc(7, "Login", "SUCCESS"), tc(8, "Logout", "ABORTED")))
        ),
        3: RunRecord(TestCaseResults(test_cases=(tc(8, "Logout", "FAILURE"),))),
    }
    report = SweepReport(started_at=STARTED, config={})
    report.add(Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=3, tests=tests))
    root = check(junit_xml(report, records))

    assert [e.tag for e in case(root, "Login")] == ["flakyError", "system-out"]
    assert case(root, "Login").find("flakyError").attrib["type"] == "ABORTED"  # type: ignore[union-attr]
    assert [e.tag for e in case(root, "Logout")] == [
        "failure",
        "rerunFailure",
        "rerunError",
        "system-out",
    ]


def every_kind() -> list[Outcome]:
    return [
        Outcome(target=1, outcome=OutcomeKind.PASSED, execution_id=42, rerun_id=101),
        Outcome(target=2, outcome=OutcomeKind.FAILED, execution_id=42, rerun_id=102),
        Outcome(target=3, outcome=OutcomeKind.SKIPPED, execution_id=43, reason="already passed"),
        Outcome(target=4, outcome=OutcomeKind.TRIGGERED, execution_id=43, rerun_id=104),
        Outcome(target=5, outcome=OutcomeKind.TIMED_OUT, rerun_id=105, error="not in 600 s"),
        Outcome(target=6, outcome=OutcomeKind.ERROR, error="HTTP 500 from the server"),
        Outcome(target=7, outcome=OutcomeKind.INTERRUPTED, adopted=True, rerun_id=107),
    ]


def test_a_target_without_judged_tests_is_a_case_of_its_own() -> None:
    report = SweepReport(started_at=STARTED, config={})
    for outcome in every_kind():
        report.add(outcome)
    root = check(junit_xml(report))

    cases = {s.attrib["name"]: s.find("testcase") for s in root.iter("testsuite")}
    tags = {name: [e.tag for e in c] for name, c in cases.items() if c is not None}
    assert tags == {
        "plan 42, run 1": ["system-out"],
        "plan 42, run 2": ["failure", "system-out"],
        "plan 43, run 3": ["skipped", "system-out"],
        "plan 43, run 4": ["system-out"],
        "run 5": ["error", "system-out"],
        "run 6": ["error", "system-out"],
        "run 7": ["error", "system-out"],
    }
    assert cases["plan 42, run 2"].attrib["name"] == "rerun of plan 42"  # type: ignore[union-attr]
    assert root.attrib["errors"] == "3"
    assert root.attrib["failures"] == "1"
    assert root.attrib["skipped"] == "1"


def test_nasty_names_are_kept_and_what_xml_cannot_hold_is_dropped(tmp_path: Path) -> None:
    report = SweepReport(started_at=STARTED, config={})
    tests = (verdict(1, NASTY, Verdict.BROKEN, (1, 2), 2, p_broken=0.97),)
    report.add(Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=2, tests=tests))
    report.add(Outcome(target=9, outcome=OutcomeKind.ERROR, error=NASTY + "\r\nmore"))
    report.notes.append(NASTY)
    path = tmp_path / "junit.xml"

    write_junit(report, path)

    raw = path.read_text(encoding="utf-8")
    assert not XML_ILLEGAL.search(raw)
    root = check(raw)
    assert case(root, NASTY_KEPT).find("failure") is not None
    assert root.find(".//error").text == f"{NASTY_KEPT}\nmore"  # type: ignore[union-attr]
    notes = [p.attrib["value"] for p in root.iter("property") if p.attrib["name"] == "sweep.note.1"]
    assert notes == [NASTY_KEPT]
    assert [p.name for p in tmp_path.iterdir()] == ["junit.xml"]


def test_an_empty_sweep_is_an_empty_file_that_loads() -> None:
    root = check(junit_xml(SweepReport(started_at=STARTED, config={})))
    assert root.attrib["tests"] == "0"
    assert root.find("testsuite") is None


# -- a real sweep ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def simulate() -> Iterator[str]:
    """A `rerunorch simulate` process: its base URL."""
    command = [sys.executable, "-m", "rerunorch", "simulate", "--port", "0", "--seed", "3"]
    command += ["--targets", "8", "--time-scale", "1000"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    match = re.search(r"(http://127\.0\.0\.1:\d+)", process.stdout.readline())
    assert match
    try:
        yield match.group(1)
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_the_junit_of_a_simulator_sweep_is_valid_surefire(simulate: str, tmp_path: Path) -> None:
    with urllib.request.urlopen(f"{simulate}/_simulator/targets") as answer:
        targets = [str(t) for t in json.load(answer)["targets"]]
    junit = tmp_path / "junit.xml"
    command = [sys.executable, "-m", "rerunorch", "sweep", *targets, "--base-url", simulate]
    command += ["--time-scale", "1000", "--poll-interval", "1", "--max-rounds", "4"]
    command += ["--junit", str(junit), "--report", str(tmp_path / "r.json")]
    command += ["--journal", str(tmp_path / "journal.sqlite")]
    done = subprocess.run(
        command,
        env={"TESTSIGMA_API_KEY": "sim-api-key", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr

    root = check(junit.read_text(encoding="utf-8"))
    cases = list(root.iter("testcase"))
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    judged = [t for r in report["results"] for t in r["tests"]]
    assert len(cases) == sum(max(1, len(t["iterations"])) for t in judged)
    kinds = {t["verdict"] for t in judged}
    assert {"flaky", "not_run"} <= kinds, kinds
    assert kinds & {"broken", "undecided"}, kinds
    assert any(t["iterations"] for t in judged), "a data-driven case"

    flaky = [c for c in cases if c.find("flakyFailure") is not None]
    assert flaky
    assert all(c.find("failure") is None for c in flaky)  # a flaky test passes
    failing = [c for c in cases if c.find("failure") is not None]
    assert any(c.find("rerunFailure") is not None for c in failing)
    assert any(c.find("skipped") is not None for c in cases)
    assert any(re.fullmatch(r".+ \[.+\]", c.attrib["name"]) for c in cases)
    for c in cases:  # plan and suite; the test's own name, no run id
        assert re.fullmatch(r"plan\d+\.[A-Za-z].*", c.attrib["classname"]), c.attrib
        assert not re.search(r"\b(result|rerun) \d+", c.attrib["name"]), c.attrib
    assert all(float(c.attrib["time"]) > 0 for c in cases)


async def test_runs_that_cannot_be_read_are_noted_and_counted_from_the_verdicts() -> None:
    from rerunorch.cli.records import read_records
    from rerunorch.secret import Secret
    from rerunorch.settings import SweepSettings
    from rerunorch.testing import MockClock

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report, _ = chain_report()
    settings = SweepSettings(base_url=f"http://127.0.0.1:{port}")
    records, notes = await read_records(
        report, settings, Secret("sim-api-key"), clock=MockClock(autojump=True)
    )
    assert records == {}
    assert notes == [
        "junit: 3 of 3 runs could not be read (1001, 2001, 2002); their tests' attempts are "
        "counted from the verdicts, without times"
    ]
    check(junit_xml(report, records))
