"""The quarantine's manual override file, and what history makes of it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from rerunorch.errors import ConfigError
from rerunorch.ledger.advice import SweepHistory
from rerunorch.ledger.model import FlakeModel
from rerunorch.ledger.overrides import read_overrides
from rerunorch.ledger.records import Observation
from rerunorch.verdicts import Seen

TODAY = dt.date(2026, 12, 3)
DAY = 86400.0


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "quarantine.toml"
    path.write_text(text)
    return path


def test_entries_by_id_and_name_and_their_expiry(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[quarantine]]
test = 12
reason = "QA-12"
[[quarantine]]
test = "Login as guest"
until = 2026-12-31
[[quarantine]]
test = 13
until = 2026-11-30
[[release]]
test = 14
""",
    )
    found = read_overrides(path, today=TODAY)
    assert found.quarantined(12, None) == "by hand: QA-12"
    assert found.quarantined(None, "Login as guest") == "by hand"
    assert found.quarantined(13, "x") is None  # expired
    assert found.expired == ("quarantine of 13 ended on 2026-11-30",)
    assert found.released(14, None)
    assert read_overrides(tmp_path / "none.toml", today=TODAY).quarantine == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[quarantine]]\nreason = 'x'\n", r"quarantine #1: needs test = ID or NAME"),
        ("[[quarantine]]\ntest = 1\nwhen = 2\n", r"quarantine #1: unknown key\(s\) when"),
        ("[[release]]\ntest = true\n", r"release #1: test must be an id or a name"),
        ("[[quarantine]]\ntest = 1\nuntil = 'soon'\n", r"until must be a date"),
        ("[other]\n", r"unknown table\(s\) other"),
        ("quarantine = [", r"is not valid TOML"),
    ],
)
def test_a_bad_file_names_the_entry(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        read_overrides(write(tmp_path, text), today=TODAY)


def _flaky_history(test: int) -> list[Observation]:
    return [
        Observation(
            test_case_id=test,
            test_case_name=f"t{test}",
            plan_id=1,
            target=night,
            run_id=night * 10 + r,
            round=r,
            seen=seen,
            at=night * DAY + r * 60,
            night=f"n{night:02d}",
        )
        for night in range(10)
        for r, seen in enumerate((Seen.FAIL, Seen.PASS))
    ]


def test_history_quarantines_flaky_tests_and_the_file_overrides_it(tmp_path: Path) -> None:
    history = _flaky_history(1) + _flaky_history(2)
    release = read_overrides(write(tmp_path, "[[release]]\ntest = 2\n"), today=TODAY)
    book = SweepHistory.of(history, now=10 * DAY, model=FlakeModel(), overrides=release)
    assert (
        book.quarantined(1, "t1") == "flaky at 41% over 10 night(s)"
    )  # the prior Beta(0.5, 4) pulls 50% down
    assert book.quarantined(2, "t2") is None  # released by hand
    assert book.quarantined(3, "t3") is None  # no history
