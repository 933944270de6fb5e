"""The report as JUnit XML, one ``<testcase>`` per test, in Maven Surefire's style.

Each ``<testsuite>`` is valid against Surefire's published schema
(``surefire-test-report-3.0.xsd``), the dialect Jenkins, GitLab and the flaky-test
platforms read for reruns; a ``<testsuites>`` root holds them:

.. code-block:: xml

    <testsuites name="rerunorch" tests="4" failures="1" errors="0" skipped="1" time="95.000">
      <testsuite name="plan 42, run 1001" tests="4" failures="1" errors="0" skipped="1" ...>
        <properties>
          <property name="run" value="1001"/><property name="rerun" value="2002"/>
          <property name="chain" value="1001 2001 2002"/>...
        </properties>
        <testcase classname="plan42.Checkout suite" name="Pay by card" time="12.400">
          <flakyFailure message="FAILURE in run 1001" type="FAILURE">
            <stackTrace>run 1001: FAILURE ...</stackTrace>
          </flakyFailure>
          <system-out>flaky: failed 1 of 2 runs ...</system-out>
        </testcase>
        <testcase classname="plan42.Checkout suite" name="Refund" time="3.100">
          <failure message="broken: failed 3 of 3 runs, P=0.96" type="broken">...</failure>
          <rerunFailure message="FAILURE in run 2001" type="FAILURE"><stackTrace>...
        </testcase>
        <testcase classname="plan42.Search" name="Find [set 2]" time="1.000">...
      </testsuite>
    </testsuites>

One ``<testsuite>`` per target (a run and its rerun chain; the ids are its
``<properties>``, since Surefire's ``<testcase>`` has none). In it, one
``<testcase>`` per judged test, or per iteration of a data-driven test, named so
that it is the same test every night: ``classname`` is ``plan<id>.<suite name>``
and ``name`` the test case's name (``name [set]`` for an iteration).

- ``passed``: a plain case; ``flaky``: a passing case with one ``<flakyFailure>``
  per failed attempt; ``broken``/``undecided``: a ``<failure>`` (the first failed
  attempt) and a ``<rerunFailure>`` for each later one; ``not_run``: ``<skipped>``.
  An attempt that did not run the test (``ABORTED``, ``NOT_EXECUTED``) is a
  ``<flakyError>`` of a flaky test and a ``<rerunError>`` of a failing one.
- The sweep's own counts are ``sweep.*`` properties of the first suite.
- A target with no judged tests (skipped, not followed, failed without per-test
  results) or that could not be rerun to its end (``error``, ``timed_out``,
  ``interrupted``: an ``<error>``) has a case of its own, ``rerun of plan <id>``.

Which attempt failed, a test's suite and its time come from :class:`RunRecord`
(the test-case results of each run of the chain, read after the sweep); without
them the attempts are counted from the verdict and the times are 0. A test's
``time`` is its duration in its newest run: the ``duration`` (ms) or
``endTime - startTime`` of its test-case result when the server gives one, else
the run's duration shared evenly among the run's test cases (an iteration: its
test's share, shared among its iterations).
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

import attrs

from rerunorch.api.models import TestCaseResult, TestCaseResults
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.report.model import SweepReport
from rerunorch.report.output import open_output
from rerunorch.report.text import clean, one_line, utc_text
from rerunorch.verdicts import Seen, TestVerdict, Verdict

__all__ = ["RunRecord", "junit_xml", "write_junit"]

SUITE_NAME = "rerunorch"

# A message is shown as a one-line title by most viewers; the details are in the body.
_MESSAGE_LIMIT = 500

_DEFAULT_ERROR = {
    OutcomeKind.ERROR: "the target could not be rerun",
    OutcomeKind.TIMED_OUT: "the rerun did not finish before the deadline",
    OutcomeKind.INTERRUPTED: "the sweep was stopped before this target ended",
}
_FAILING = (Verdict.BROKEN, Verdict.UNDECIDED)


@attrs.frozen
class RunRecord:
    """What the JUnit file shows of one run of a chain beyond the report.

    Attributes:
        cases: The run's test-case results (which test failed, its suite, its times).
        duration: The run's duration in seconds, when known.
    """

    cases: TestCaseResults
    duration: float | None = None


Records = Mapping[int, RunRecord]
"""Run id to its :class:`RunRecord`."""


@attrs.frozen
class _Attempt:
    run: int | None  # None: not known which run (no records)
    result: str
    seen: Seen
    seconds: float | None = None


@attrs.frozen
class _Case:
    element: ET.Element
    failed: bool = False
    error: bool = False
    skipped: bool = False
    seconds: float = 0.0


def junit_xml(report: SweepReport, records: Records | None = None) -> str:
    """The JUnit XML document for *report*, as a string (with its XML declaration)."""
    buffer = io.StringIO()
    _write(report, buffer, records or {})
    return buffer.getvalue()


def write_junit(
    report: SweepReport, path: str | os.PathLike[str], records: Records | None = None
) -> None:
    """Write *report* as JUnit XML (UTF-8) to *path*, with each run's *records* if known.

    Suites are written one target at a time while the results are read back from the
    report's spool, so memory does not grow with the number of targets. *path* is as
    for :func:`~rerunorch.report.output.open_output`: a regular file is replaced
    atomically, ``-`` is stdout, anything else is written in place.

    Raises:
        OSError: The file could not be written.
    """
    with open_output(path) as fh:
        _write(report, fh, records or {})


def _write(report: SweepReport, fh: TextIO, records: Records) -> None:
    # A first pass counts what the suites will say, so that the root's totals
    # always agree with the body.
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    seconds = 0.0
    for outcome in report.results:
        cases = list(_cases(outcome, records))
        for key, value in _counts(cases).items():
            totals[key] += value
        seconds += sum(case.seconds for case in cases)
    root = {"name": SUITE_NAME, **{k: str(v) for k, v in totals.items()}, "time": _time(seconds)}
    fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    fh.write(_start_tag("testsuites", root) + "\n")
    sweep = _sweep_properties(report)
    for outcome in report.results:
        _put(fh, _suite(outcome, records, sweep))
        sweep = []  # the sweep's own properties: in the first suite only
    fh.write("</testsuites>\n")


def _sweep_properties(report: SweepReport) -> list[tuple[str, str]]:
    props = [("sweep.started", utc_text(report.started_at, "iso"))]
    if report.finished_at is not None:
        props.append(("sweep.duration", _time(report.finished_at - report.started_at)))
    props += [(f"sweep.{key}", str(value)) for key, value in report.summary.to_json().items()]
    props += [(f"sweep.note.{i}", one_line(note)) for i, note in enumerate(report.notes, 1)]
    return props


def _suite(outcome: Outcome, records: Records, sweep: list[tuple[str, str]]) -> ET.Element:
    cases = list(_cases(outcome, records))
    counts = _counts(cases)
    attrib = {
        "name": _suite_name(outcome),
        **{key: str(value) for key, value in counts.items()},
        "time": _time(sum(case.seconds for case in cases)),
    }
    suite = ET.Element("testsuite", attrib)
    properties = ET.SubElement(suite, "properties")
    for name, value in (*_target_properties(outcome), *sweep):
        ET.SubElement(properties, "property", {"name": name, "value": value})
    suite.extend(case.element for case in cases)
    return suite


def _counts(cases: Sequence[_Case]) -> dict[str, int]:
    return {
        "tests": len(cases),
        "failures": sum(case.failed for case in cases),
        "errors": sum(case.error for case in cases),
        "skipped": sum(case.skipped for case in cases),
    }


def _suite_name(outcome: Outcome) -> str:
    plan = f"plan {outcome.execution_id}, " if outcome.execution_id is not None else ""
    return f"{plan}run {outcome.target}"


def _target_properties(outcome: Outcome) -> list[tuple[str, str]]:
    chain = sorted({run for test in outcome.tests for run in test.run_ids})
    values: list[tuple[str, object]] = [
        ("plan", outcome.execution_id),
        ("run", outcome.target),
        ("rerun", outcome.rerun_id),
        ("chain", " ".join(map(str, chain)) or None),
        ("outcome", outcome.outcome.value),
        ("result", outcome.result),
        ("rounds", outcome.rounds),
        ("adopted", "true" if outcome.adopted else None),
        ("reason", outcome.reason),
    ]
    return [(name, one_line(str(value))) for name, value in values if value is not None]


# -- the test cases --------------------------------------------------------------------------


def _cases(outcome: Outcome, records: Records) -> Iterator[_Case]:
    for test in outcome.tests:
        yield from _test_cases(outcome, test, records)
    if not outcome.tests or outcome.outcome.incomplete:
        yield _target_case(outcome)


def _test_cases(outcome: Outcome, test: TestVerdict, records: Records) -> Iterator[_Case]:
    runs = [(run, _find(records.get(run), test)) for run in test.run_ids]
    suites = (tc.test_suite_name for _, tc in reversed(runs) if tc and tc.test_suite_name)
    suite = next(suites, None)
    classname = _classname(outcome.execution_id, suite)
    name = one_line(test.test_case_name or f"test case {test.test_case_id}")
    if not test.iterations:
        attempts = [_attempt(run, tc, records) for run, tc in runs if tc is not None]
        if len(attempts) < len(runs):  # no records: counted from the verdict
            attempts = _counted(test.verdict, test.failures, test.runs)
        yield _case(classname, name, test.verdict, attempts, test.evidence_text)
        return
    for iteration in test.iterations:
        set_name = iteration.set_name
        found = (_iteration_attempt(run, tc, set_name, records) for run, tc in runs if tc)
        attempts = [a for a in found if a is not None]
        if not attempts:
            attempts = _counted(iteration.verdict, iteration.failures, iteration.runs)
        evidence = (
            f"{iteration.verdict.value}: failed {iteration.failures} of {iteration.runs} runs"
            f" of data set {one_line(set_name)} (test case {test.evidence_text})"
        )
        label = f"{name} [{one_line(set_name)}]"
        yield _case(classname, label, iteration.verdict, attempts, evidence)


def _case(
    classname: str,
    name: str,
    verdict: Verdict,
    attempts: Sequence[_Attempt],
    evidence: str,
) -> _Case:
    last = next((a.seconds for a in reversed(attempts) if a.seconds is not None), None)
    seconds = last or 0.0
    case = ET.Element("testcase", {"classname": classname, "name": name, "time": _time(seconds)})
    failed = [a for a in attempts if a.seen is Seen.FAIL]
    missed = [a for a in attempts if a.seen is Seen.NOT_RUN]  # aborted, not executed
    if verdict in _FAILING:
        first, *later = failed or [_Attempt(None, "FAILURE", Seen.FAIL)]
        failure = ET.SubElement(
            case, "failure", {"message": _message(evidence), "type": verdict.value}
        )
        failure.text = _trace(first, evidence)
        for attempt in later:
            _attempt_element(case, "rerunFailure", attempt, evidence)
        for attempt in missed:
            _attempt_element(case, "rerunError", attempt, evidence)
    elif verdict is Verdict.FLAKY:
        for attempt in failed:
            _attempt_element(case, "flakyFailure", attempt, evidence)
        for attempt in missed:
            _attempt_element(case, "flakyError", attempt, evidence)
    elif verdict is Verdict.NOT_RUN:
        ET.SubElement(case, "skipped", {"message": _message(evidence)})
    seen = (f"run {a.run}: {a.result}" for a in attempts if a.run is not None)
    ET.SubElement(case, "system-out").text = clean("\n".join([evidence, *seen]))
    return _Case(
        case,
        failed=verdict in _FAILING,
        skipped=verdict is Verdict.NOT_RUN,
        seconds=seconds,
    )


def _attempt_element(case: ET.Element, tag: str, attempt: _Attempt, evidence: str) -> None:
    where = f" in run {attempt.run}" if attempt.run is not None else ""
    element = ET.SubElement(
        case, tag, {"message": _message(f"{attempt.result}{where}"), "type": attempt.result}
    )
    ET.SubElement(element, "stackTrace").text = _trace(attempt, evidence)


def _trace(attempt: _Attempt, evidence: str) -> str:
    where = f"run {attempt.run}" if attempt.run is not None else "a run of the chain"
    return clean(f"{where}: {attempt.result}\n{evidence}")


def _target_case(outcome: Outcome) -> _Case:
    """The case of a target itself: its error, its skip, or its rerun's result."""
    plan = outcome.execution_id
    name = f"rerun of plan {plan}" if plan is not None else f"rerun of run {outcome.target}"
    case = ET.Element(
        "testcase", {"classname": _classname(plan, None), "name": name, "time": _time(0)}
    )
    kind = outcome.outcome
    failed = error = skipped = False
    if kind.incomplete:
        message = _message(outcome.error or _DEFAULT_ERROR[kind])
        ET.SubElement(case, "error", {"message": message, "type": kind.value}).text = clean(
            outcome.error or message
        )
        error = True
    elif kind is OutcomeKind.FAILED:
        result = f" with result {outcome.result}" if outcome.result else ""
        message = f"the rerun finished{result} and still fails"
        ET.SubElement(case, "failure", {"message": _message(message), "type": "still_failing"})
        failed = True
    elif kind is OutcomeKind.SKIPPED:
        ET.SubElement(case, "skipped", {"message": _message(outcome.reason or "skipped")})
        skipped = True
    lines = [f"run {outcome.target}: {kind.value}"]
    if outcome.rerun_id is not None:
        lines.append(f"rerun: {outcome.rerun_id}" + (" (adopted)" if outcome.adopted else ""))
    lines += [f"{k}: {v}" for k, v in (("result", outcome.result), ("reason", outcome.reason)) if v]
    ET.SubElement(case, "system-out").text = clean("\n".join(lines))
    return _Case(case, failed=failed, error=error, skipped=skipped)


def _counted(verdict: Verdict, failures: int, runs: int) -> list[_Attempt]:
    """Attempts from a verdict's counts alone (which run failed is not known)."""
    attempts = [_Attempt(None, "FAILURE", Seen.FAIL) for _ in range(failures)]
    if verdict is Verdict.NOT_RUN or runs == 0:
        return attempts
    return attempts + [_Attempt(None, "SUCCESS", Seen.PASS) for _ in range(runs - failures)]


def _find(record: RunRecord | None, test: TestVerdict) -> TestCaseResult | None:
    if record is None:
        return None
    for tc in record.cases.test_cases:
        if test.test_case_id is not None and tc.test_case_id == test.test_case_id:
            return tc
        if test.test_case_id is None and tc.test_case_name == test.test_case_name:
            return tc
    return None


def _attempt(run: int, tc: TestCaseResult, records: Records) -> _Attempt:
    seconds = _own_seconds(tc.extra, run, records)
    return _Attempt(run, _result_text(tc.result), Seen.of(tc.result), seconds)


def _iteration_attempt(
    run: int, tc: TestCaseResult, set_name: str, records: Records
) -> _Attempt | None:
    iterations = tc.iteration_results
    for it in iterations:
        if (it.set_name or str(it.iteration_result_id)) == set_name:
            seconds = _seconds_in(it.extra)
            if seconds is None:
                share = _own_seconds(tc.extra, run, records)
                seconds = None if share is None else share / len(iterations)
            return _Attempt(run, _result_text(it.result), Seen.of(it.result), seconds)
    return None


def _result_text(result: object) -> str:
    return one_line(str(result)) if result is not None else "NOT_EXECUTED"


def _own_seconds(extra: Mapping[str, Any], run: int, records: Records) -> float | None:
    """A test-case result's own duration, else its share of the run's."""
    seconds = _seconds_in(extra)
    if seconds is not None:
        return seconds
    record = records.get(run)
    if record is None or record.duration is None or not record.cases.test_cases:
        return None
    return record.duration / len(record.cases.test_cases)


def _seconds_in(extra: Mapping[str, Any]) -> float | None:
    """``duration`` (ms), or ``endTime - startTime`` (epoch ms), from fields the API may add."""
    duration = extra.get("duration")
    if isinstance(duration, int | float) and duration >= 0:
        return duration / 1000
    start, end = extra.get("startTime"), extra.get("endTime")
    if isinstance(start, int | float) and isinstance(end, int | float) and end >= start:
        return (end - start) / 1000
    return None


def _classname(plan: int | None, suite: str | None) -> str:
    """``plan42.Checkout suite``: stable across nights (dots in a suite name would split it)."""
    base = f"plan{plan}" if plan is not None else SUITE_NAME
    return f"{base}.{one_line(suite).replace('.', '_')}" if suite else base


def _message(text: str) -> str:
    return one_line(text, _MESSAGE_LIMIT)


def _put(fh: TextIO, element: ET.Element) -> None:
    ET.indent(element, space="  ", level=1)
    fh.write("  " + ET.tostring(element, encoding="unicode") + "\n")


def _start_tag(tag: str, attrib: dict[str, str]) -> str:
    # ElementTree writes whole elements only; serialise an empty one and keep
    # its opening tag, so the attributes are escaped by the same code.
    text = ET.tostring(ET.Element(tag, attrib), encoding="unicode", short_empty_elements=False)
    return text[: -len(f"</{tag}>")]


def _time(seconds: float) -> str:
    """Seconds as Surefire writes them: digits, a point and three decimals."""
    return f"{max(0.0, seconds):.3f}"
