"""Reading rate-limit signals: Retry-After and every RateLimit dialect."""

from __future__ import annotations

import importlib
import math
from email.utils import formatdate

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from multidict import CIMultiDict, CIMultiDictProxy

import rerunorch
from rerunorch.pacing.headers import RateLimitInfo, parse_rate_limit_headers, parse_retry_after

NOW = 1_700_000_000.0


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("1.5", 1.5),
        ("-5", 0.0),
        ("99999999", 600.0),
        ("9" * 5000, 600.0),
        ("", None),
        ("soon", None),
        ("12s", None),
        ("nan", None),
        ("inf", None),
        (None, None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


def test_retry_after_http_date() -> None:
    value = formatdate(NOW + 30, usegmt=True)  # "Tue, 14 Nov 2023 22:13:50 GMT"
    assert parse_retry_after(value, now=NOW) == pytest.approx(30.0)


def test_retry_after_date_without_zone_is_gmt() -> None:
    value = formatdate(NOW + 30, usegmt=True).replace("GMT", "-0000")
    assert parse_retry_after(value, now=NOW) == pytest.approx(30.0)


def test_retry_after_past_date_is_zero_and_far_date_is_capped() -> None:
    assert parse_retry_after(formatdate(NOW - 3600, usegmt=True), now=NOW) == 0.0
    far = formatdate(NOW + 86_400, usegmt=True)
    assert parse_retry_after(far, now=NOW) == 600.0
    assert parse_retry_after(far, now=NOW, cap=60.0) == 60.0


def test_retry_after_is_uncapped_on_request() -> None:
    assert parse_retry_after("3600", now=NOW, cap=math.inf) == 3600.0
    far = formatdate(NOW + 86_400, usegmt=True)
    assert parse_retry_after(far, now=NOW, cap=math.inf) == pytest.approx(86_400.0)
    assert parse_retry_after("nan", now=NOW, cap=math.inf) is None


@pytest.mark.parametrize(
    "module", ["rerunorch.notifiers.slack_post", "rerunorch.notifiers.webhook_post"]
)
def test_the_notifiers_read_retry_after_with_the_public_parser(module: str) -> None:
    assert rerunorch.parse_retry_after is parse_retry_after
    assert importlib.import_module(module).parse_retry_after is parse_retry_after


def test_retry_after_garbage_date() -> None:
    assert parse_retry_after("Mon, 99 Foo 2023 25:61:00 GMT", now=NOW) is None


def test_draft7_dictionary() -> None:
    info = parse_rate_limit_headers(
        {"RateLimit": "limit=100, remaining=50, reset=5", "RateLimit-Policy": "100;w=60"},
        now=NOW,
    )
    assert info == RateLimitInfo(limit=100, remaining=50, reset=5.0, window=60.0)
    assert info.rate == pytest.approx(100 / 60)


def test_separate_draft_headers() -> None:
    info = parse_rate_limit_headers(
        {
            "RateLimit-Limit": "10",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": "3",
            "RateLimit-Policy": "10;w=1, 1000;w=3600",
        },
        now=NOW,
    )
    assert info == RateLimitInfo(limit=10, remaining=0, reset=3.0, window=1.0)


def test_draft3_limit_header_carrying_policies() -> None:
    info = parse_rate_limit_headers({"RateLimit-Limit": "10, 10;window=1"}, now=NOW)
    assert info.limit == 10
    assert info.window is None
    assert info.rate is None


def test_strictest_policy_wins_when_limit_unknown() -> None:
    info = parse_rate_limit_headers({"RateLimit-Policy": "1000;w=3600, 50;w=1"}, now=NOW)
    assert (info.limit, info.window) == (1000, 3600.0)


def test_structured_field_form() -> None:
    info = parse_rate_limit_headers(
        {"RateLimit": '"default";r=7;t=2', "RateLimit-Policy": '"default";q=20;w=2'}, now=NOW
    )
    assert info == RateLimitInfo(limit=20, remaining=7, reset=2.0, window=2.0)
    assert info.rate == 10.0


def test_structured_policy_in_other_units_is_ignored() -> None:
    info = parse_rate_limit_headers(
        {"RateLimit-Policy": '"bytes";q=1000000;qu="content-bytes";w=1'}, now=NOW
    )
    assert info.limit is None


def test_simulator_headers() -> None:
    # What rerunorch.testing's token bucket sends.
    info = parse_rate_limit_headers(
        {
            "RateLimit-Policy": '"default";q=5;w=1',
            "RateLimit": '"default";r=0;t=1',
            "X-RateLimit-Limit": "5",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": "1",
            "Retry-After": "1",
        },
        now=NOW,
    )
    assert info == RateLimitInfo(retry_after=1.0, limit=5, remaining=0, reset=1.0, window=1.0)


@pytest.mark.parametrize(
    ("reset", "expected"),
    [("30", 30.0), (str(int(NOW) + 45), 45.0), (str(int(NOW) - 10), 0.0), ("1700000045000", 45.0)],
)
def test_x_ratelimit_reset_seconds_or_epoch(reset: str, expected: float) -> None:
    info = parse_rate_limit_headers(
        {"X-RateLimit-Limit": "60", "X-RateLimit-Remaining": "59", "X-RateLimit-Reset": reset},
        now=NOW,
    )
    assert (info.limit, info.remaining) == (60, 59)
    assert info.reset == pytest.approx(expected)
    assert info.rate is None


def test_ietf_headers_win_over_x_ratelimit() -> None:
    info = parse_rate_limit_headers(
        {"RateLimit-Limit": "10", "X-RateLimit-Limit": "99", "X-RateLimit-Remaining": "4"},
        now=NOW,
    )
    assert (info.limit, info.remaining) == (10, 4)


def test_names_are_case_insensitive_with_aiohttp_headers() -> None:
    headers = CIMultiDictProxy(
        CIMultiDict({"retry-after": "3", "x-ratelimit-remaining": "2", "RATELIMIT-POLICY": "4;w=2"})
    )
    info = parse_rate_limit_headers(headers, now=NOW)
    assert info == RateLimitInfo(retry_after=3.0, remaining=2, limit=4, window=2.0)


def test_garbage_is_ignored() -> None:
    info = parse_rate_limit_headers(
        {
            "RateLimit": "limit=lots, remaining=-1, reset=soon",
            "RateLimit-Policy": "q;w=0",
            "X-RateLimit-Limit": "1e5",
            "X-RateLimit-Reset": "tomorrow",
            "Retry-After": "later",
        },
        now=NOW,
    )
    assert info == RateLimitInfo()
    assert info.rate is None


def test_nothing_known() -> None:
    assert parse_rate_limit_headers({"Content-Type": "application/json"}, now=NOW) == (
        RateLimitInfo()
    )


_NAMES = st.sampled_from(
    [
        "Retry-After",
        "RateLimit",
        "RateLimit-Policy",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
        "X-RateLimit-Limit",
        "X-RateLimit-Remaining",
        "X-RateLimit-Reset",
        "retry-after",
    ]
)
_VALUES = st.one_of(
    st.text(),
    st.text(alphabet='0123456789.,;=-+" qrtwlimitdefault', max_size=40),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)


@settings(deadline=None)  # a loaded CI machine is not a failure of the parser
@given(headers=st.dictionaries(_NAMES, _VALUES, max_size=10), now=st.floats(0, 4e9))
def test_arbitrary_header_values_never_raise(headers: dict[str, str], now: float) -> None:
    info = parse_rate_limit_headers(headers, now=now)
    for seconds in (info.retry_after, info.reset, info.window):
        assert seconds is None or seconds >= 0
    if info.retry_after is not None:
        assert info.retry_after <= 600
    for count in (info.limit, info.remaining):
        assert count is None or count >= 0
    assert info.rate is None or info.rate >= 0
