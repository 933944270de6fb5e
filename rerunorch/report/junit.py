"""The report as JUnit XML, one ``<testcase>`` per rerun target.

The layout follows the Jenkins/Ant JUnit schema that CI viewers share (the
Jenkins JUnit plugin, GitLab, dorny/test-reporter, mikepenz/action-junit-report):

.. code-block:: xml

    <testsuites name="rerunorch" tests="3" failures="1" errors="1" time="12.500">
      <testsuite name="rerunorch" tests="3" failures="1" errors="1" skipped="0"
                 time="12.500" timestamp="2024-05-01T02:00:00">
        <properties><property name="targets" value="3"/>...</properties>
        <testcase classname="rerunorch.plan42" name="result 1001 (rerun 2001)" time="0.000">
          <failure message="2 tests still failing: Login, Checkout" type="still_failing">...
          <system-out>flaky (failed, then passed on rerun): ...</system-out>
        </testcase>
        ...
      </testsuite>
    </testsuites>

``passed`` and ``triggered`` targets are plain test cases, ``failed`` ones carry a
``<failure>``, ``error``, ``timed_out`` and ``interrupted`` ones an ``<error>``, and
``skipped`` ones a ``<skipped>``. The ``timestamp`` is the sweep's start in UTC,
written without a zone as the Ant schema has it.
"""

from __future__ import annotations

import io
import os
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import TextIO

from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.report.model import SweepReport
from rerunorch.report.output import open_output
from rerunorch.report.text import clean, one_line, plural, utc_text

__all__ = ["junit_xml", "write_junit"]

SUITE_NAME = "rerunorch"

# A message is shown as a one-line title by most viewers; the whole list is in the body.
_MESSAGE_LIMIT = 500
_NAMES_IN_MESSAGE = 10

_INCOMPLETE = (OutcomeKind.ERROR, OutcomeKind.TIMED_OUT, OutcomeKind.INTERRUPTED)
_DEFAULT_ERROR = {
    OutcomeKind.ERROR: "the target could not be rerun",
    OutcomeKind.TIMED_OUT: "the rerun did not finish before the deadline",
    OutcomeKind.INTERRUPTED: "the sweep was stopped before this target ended",
}


def junit_xml(report: SweepReport) -> str:
    """The JUnit XML document for *report*, as a string (with its XML declaration)."""
    buffer = io.StringIO()
    _write(report, buffer)
    return buffer.getvalue()


def write_junit(report: SweepReport, path: str | os.PathLike[str]) -> None:
    """Write *report* as JUnit XML (UTF-8) to *path*.

    Test cases are written one at a time while the results are read back from
    the report's spool, so memory does not grow with the number of targets.
    *path* is as for :func:`~rerunorch.report.output.open_output`: a regular
    file is replaced atomically, ``-`` is stdout, anything else is written in place.

    Raises:
        OSError: The file could not be written.
    """
    with open_output(path) as fh:
        _write(report, fh)


def _write(report: SweepReport, fh: TextIO) -> None:
    # A first pass over the spool counts what the test cases will say, so the
    # totals in the opening tags always agree with the body.
    kinds = Counter(item["outcome"] for item in report.results.raw())
    tests = sum(kinds.values())
    failures = kinds[OutcomeKind.FAILED.value]
    errors = sum(kinds[kind.value] for kind in _INCOMPLETE)
    elapsed = _seconds(max(0.0, (report.finished_at or report.started_at) - report.started_at))
    totals = {"tests": str(tests), "failures": str(failures), "errors": str(errors)}

    fh.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    fh.write(_start_tag("testsuites", {"name": SUITE_NAME, **totals, "time": elapsed}) + "\n")
    suite = {
        "name": SUITE_NAME,
        **totals,
        "skipped": str(kinds[OutcomeKind.SKIPPED.value]),
        "time": elapsed,
        "timestamp": utc_text(report.started_at, "junit"),
    }
    fh.write("  " + _start_tag("testsuite", suite) + "\n")
    _put(fh, _properties(report.summary.to_json()))
    for outcome in report.results:
        _put(fh, _testcase(outcome))
    if report.notes:
        notes = ET.Element("system-out")
        notes.text = "\n".join(clean(note) for note in report.notes)
        _put(fh, notes)
    fh.write("  </testsuite>\n</testsuites>\n")


def _testcase(outcome: Outcome) -> ET.Element:
    """The ``<testcase>`` element for one target."""
    if outcome.execution_id is not None:
        classname = f"{SUITE_NAME}.plan{outcome.execution_id}"
    else:
        classname = f"{SUITE_NAME}.sweep"
    name = f"result {outcome.target}"
    if outcome.rerun_id is not None:
        name += f" (rerun {outcome.rerun_id})"
    case = ET.Element("testcase", {"classname": classname, "name": name, "time": _seconds(0)})

    kind = outcome.outcome
    if kind is OutcomeKind.FAILED:
        failure = ET.SubElement(
            case, "failure", {"message": _failure_message(outcome), "type": "still_failing"}
        )
        failure.text = _failure_body(outcome)
    elif kind in _INCOMPLETE:
        message = _message(outcome.error or _DEFAULT_ERROR[kind])
        error = ET.SubElement(case, "error", {"message": message, "type": kind.value})
        error.text = clean(outcome.error) if outcome.error else message
    elif kind is OutcomeKind.SKIPPED:
        ET.SubElement(case, "skipped", {"message": _message(outcome.reason or "skipped")})

    ET.SubElement(case, "system-out").text = _system_out(outcome)
    return case


def _failure_message(outcome: Outcome) -> str:
    failing = outcome.still_failing
    if not failing:
        result = f" with result {outcome.result}" if outcome.result else ""
        return _message(f"the rerun finished{result} and still fails")
    names = [_test_name(test) for test in failing[:_NAMES_IN_MESSAGE]]
    more = len(failing) - len(names)
    listed = ", ".join(names) + (f" and {more} more" if more else "")
    return _message(f"{plural(len(failing), 'test')} still failing: {listed}")


def _failure_body(outcome: Outcome) -> str:
    rerun = f"rerun {outcome.rerun_id}" if outcome.rerun_id is not None else "the rerun"
    lines = [f"{rerun} of result {outcome.target}: {outcome.result or 'still failing'}"]
    if outcome.still_failing:
        lines.append("still failing:")
        lines.extend(_test_lines(outcome.still_failing))
    return clean("\n".join(lines))


def _system_out(outcome: Outcome) -> str:
    lines = [f"target: result {outcome.target}", f"outcome: {outcome.outcome.value}"]
    if outcome.execution_id is not None:
        lines.append(f"execution: {outcome.execution_id}")
    if outcome.rerun_id is not None:
        adopted = " (adopted: it already existed)" if outcome.adopted else ""
        lines.append(f"rerun: {outcome.rerun_id}{adopted}")
    if outcome.result:
        lines.append(f"result: {outcome.result}")
    if outcome.reason:
        lines.append(f"reason: {outcome.reason}")
    if outcome.flaky:
        lines.append("flaky (failed, then passed on rerun):")
        lines.extend(_test_lines(outcome.flaky))
    return clean("\n".join(lines))


def _test_lines(tests: Iterable[TestRef]) -> list[str]:
    return [
        f"  - {one_line(test.test_case_name)} (test case {test.test_case_id})"
        if test.test_case_name
        else f"  - test case {test.test_case_id}"
        for test in tests
    ]


def _test_name(test: TestRef) -> str:
    if test.test_case_name:
        return one_line(test.test_case_name)
    return f"test case {test.test_case_id}"


def _message(text: str) -> str:
    return one_line(text, _MESSAGE_LIMIT)


def _properties(counts: Mapping[str, int]) -> ET.Element:
    properties = ET.Element("properties")
    for name, value in counts.items():
        ET.SubElement(properties, "property", {"name": name, "value": str(value)})
    return properties


def _put(fh: TextIO, element: ET.Element) -> None:
    ET.indent(element, space="  ", level=2)
    fh.write("    " + ET.tostring(element, encoding="unicode") + "\n")


def _start_tag(tag: str, attrib: dict[str, str]) -> str:
    # ElementTree writes whole elements only; serialise an empty one and keep
    # its opening tag, so the attributes are escaped by the same code.
    text = ET.tostring(ET.Element(tag, attrib), encoding="unicode", short_empty_elements=False)
    return text[: -len(f"</{tag}>")]


def _seconds(value: float) -> str:
    return f"{value:.3f}"
