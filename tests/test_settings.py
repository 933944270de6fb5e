"""SweepSettings: every number finite and in range; no password in what is stored."""

from __future__ import annotations

import json
import math
from typing import Any

import attrs
import pytest

from rerunorch.polling import PollPolicy
from rerunorch.settings import SweepSettings

FLOATS = ["rate", "timeout", "plan_busy_wait", "grace", "fallback_fraction"]
WHOLE = [
    "concurrency",
    "burst",
    "max_active",
    "max_trigger_attempts",
    "plan_busy_retries",
    "window",
]


def _one(name: str, value: Any) -> dict[str, Any]:
    return {name: value}


@pytest.mark.parametrize("name", FLOATS + WHOLE)
@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^{name} must be a (finite|whole) number"):
        SweepSettings(**_one(name, value))


@pytest.mark.parametrize("name", [f.name for f in attrs.fields(PollPolicy)])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_every_poll_number_is_checked(name: str, value: float) -> None:
    with pytest.raises(ValueError, match=rf"^poll\.{name} must be"):
        SweepSettings(poll=PollPolicy(**{name: value}))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("concurrency", 2.5),
        ("burst", True),
        ("rate", "5"),
        ("rate", True),
        ("rate", 0),
        ("concurrency", 0),
        ("grace", -1.0),
        ("plan_busy_retries", -1),
        ("fallback_fraction", 1.5),
        ("shard", "0/2"),
        ("shard", "１/2"),
        ("shard", 3),
    ],
)
def test_wrong_types_and_ranges_are_refused(name: str, value: Any) -> None:
    with pytest.raises(ValueError, match=name if name != "shard" else "shard"):
        SweepSettings(**_one(name, value))


def test_the_defaults_and_edges_are_accepted() -> None:
    settings = SweepSettings(
        grace=0, plan_busy_retries=0, fallback_fraction=1, rate=0.5, shard="2/4"
    )
    assert settings.grace == 0
    assert SweepSettings().to_json()["concurrency"] == 8


@pytest.mark.parametrize(
    ("field", "url", "shown"),
    [
        ("base_url", "https://me:hunter2@testsigma.local", "https://me:***@testsigma.local"),
        ("shared_limit", "redis://:hunter2@cache:6379/0", "redis://:***@cache:6379/0"),
        ("shared_limit", "redis://cache/0?password=hunter2", "redis://cache/0?password=***"),
        ("shared_limit", "redis://bot:hunter2@cache/0", "redis://bot:***@cache/0"),
    ],
)
def test_to_json_masks_passwords_in_urls(field: str, url: str, shown: str) -> None:
    data = SweepSettings(**_one(field, url)).to_json()
    assert data[field] == shown
    assert "hunter2" not in json.dumps(data)


def test_to_json_keeps_urls_without_a_password() -> None:
    data = SweepSettings(base_url="https://app.testsigma.com", shared_limit="redis://h/0").to_json()
    assert (data["base_url"], data["shared_limit"]) == ("https://app.testsigma.com", "redis://h/0")
