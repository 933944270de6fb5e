"""Testsigma's query syntax and the --since/--until window, checked before anything is sent."""

from __future__ import annotations

import pytest

from rerunorch.discovery import Criterion, Query, Window
from rerunorch.errors import ConfigError


@pytest.mark.parametrize(
    "text",
    [
        "testPlanId:420",
        "testPlanId@420#421,result:FAILURE,triggeredType:SCHEDULED",
        "result!SUCCESS,buildNo~nightly,status$COMPLETED",
        "startTime>2026-12-01,startTime<2026-12-02T06:00:00Z",
        "result;SUCCESS#PASSED",
    ],
)
def test_a_good_query_reads_back_as_written(text: str) -> None:
    assert str(Query.parse(text)) == text


def test_in_values_are_split_by_hash_and_plans_are_known() -> None:
    query = Query.parse("testPlanId@274#275, result:FAILURE")
    assert query.criteria[0] == Criterion("testPlanId", "@", ("274", "275"))
    assert query.plans() == frozenset({274, 275})
    assert Query.parse("result:FAILURE").plans() is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("testPlanId:420,,result:FAILURE", "empty criterion"),
        ("testPlanId", "no operator"),
        ("testPlanId=420", "no operator"),
        ("testplanid:420", "unknown field 'testplanid'"),
        ("testPlanId@420#", "empty or padded value"),
        ("testPlanId:abc", "takes ids"),
        ("testPlanId:４２０", "takes ids"),
        ("startTime>yesterday", "takes a date"),
        (":FAILURE", "does not start with a field"),
    ],
)
def test_a_malformed_query_is_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as caught:
        Query.parse(text)
    assert str(caught.value).startswith("--query: ")


@pytest.mark.parametrize(
    ("since", "start"),
    [("12h", 1000.0 - 43200), ("30m", 1000.0 - 1800), ("2d", 1000.0 - 172800)],
)
def test_a_relative_since_is_counted_back_from_now(since: str, start: float) -> None:
    assert Window.parse(since, None).resolve(now=1000.0) == (start, None)


def test_an_iso_since_is_absolute_and_utc_without_a_zone() -> None:
    zoned = Window.parse("2026-12-01T22:00Z", "2026-12-02T06:00+00:00").resolve(now=0)
    assert zoned == (1_796_162_400.0, 1_796_191_200.0)
    assert Window.parse("2026-12-01T22:00", None).resolve(now=0)[0] == 1_796_162_400.0


@pytest.mark.parametrize(
    ("since", "until", "message"),
    [
        ("yesterday", None, "--since: 'yesterday' is neither a duration"),
        ("12", None, "--since: '12' is neither"),
        ("-5h", None, "neither"),
        ("2h", "3h", "must be after --since"),
        ("2026-12-02", "2026-12-01", "must be after --since"),
        ("1h", "soon", "--until: 'soon'"),
    ],
)
def test_a_bad_window_is_refused(since: str, until: str | None, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        Window.parse(since, until)
