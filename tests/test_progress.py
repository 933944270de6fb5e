"""The live panel, the plain lines and the summary table show what the sweep knows."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rerunorch import (
    Outcome,
    OutcomeKind,
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    Sweep,
    SweepSettings,
    Target,
    TestRef,
)
from rerunorch.cli.progress import LiveProgress, PlainProgress, summary_table
from rerunorch.testing import MockClock


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def terminal(width: int = 80) -> Console:
    """A terminal of ``width`` columns that keeps what is printed on it."""
    return Console(file=io.StringIO(), width=width, force_terminal=True, record=True)


def on_terminal(live: LiveProgress, width: int = 80) -> list[str]:
    """The lines ``live`` draws on a terminal of ``width`` columns now."""
    console = terminal(width)
    console.print(live.render())
    return console.export_text().splitlines()


def triggered(target: int, rerun: int, expected: float | None = None) -> RerunTriggered:
    return RerunTriggered(target=Target(target), rerun_id=rerun, adopted=False, expected=expected)


def finished(target: int, rerun: int) -> RerunFinished:
    return RerunFinished(outcome=Outcome(target=target, outcome=OutcomeKind.PASSED, rerun_id=rerun))


async def test_the_live_bar_has_an_eta_and_the_reruns_running_longest() -> None:
    clock = MockClock()
    targets = list(range(100_000_001, 100_000_011))
    sweep = Sweep(targets, SweepSettings(max_active=4), api_key="k", clock=clock)
    shown = terminal()
    live = LiveProgress(len(targets), shown, longest=3)
    live.watch(sweep)
    for n, target in enumerate(targets[:6]):
        await live.rerun_triggered(triggered(target, 900_000_000 + n))
        clock.advance(60)
    await live.rerun_finished(finished(targets[0], 900_000_000))  # the oldest ends
    clock.advance(60)
    await live.rerun_finished(finished(targets[1], 900_000_001))
    lines = on_terminal(live)
    assert "sweeping" in lines[0]
    assert "━" in lines[0]
    assert " 2/10 " in lines[0]
    assert "0:07:00" in lines[0]  # elapsed, on the sweep's clock
    # No rerun's length was expected: each takes 6 minutes as the two ended did. The four
    # running end at minutes 8 to 11, and the four queued follow in their slots (max 4):
    # the last at minute 17, 10 minutes from now.
    assert "ETA 0:10:00" in lines[0]
    # The three running longest, oldest first, then how many more run.
    assert lines[1:5] == [
        "  100000003 → rerun 900000002: running 5m 0s",
        "  100000004 → rerun 900000003: running 4m 0s",
        "  100000005 → rerun 900000004: running 3m 0s",
        "  ... and 1 more running",
    ]
    assert all(len(line) <= 80 for line in lines), lines
    # Each target that ends gets a line above the bar, as in the plain progress.
    printed = shown.export_text().splitlines()
    assert printed == [
        "[1/10] 100000001: passed, rerun 900000000",
        "[2/10] 100000002: passed, rerun 900000001",
    ]


async def test_the_eta_is_from_the_pollers_expected_ends() -> None:
    clock = MockClock()
    sweep = Sweep(list(range(1, 6)), SweepSettings(max_active=2), api_key="k", clock=clock)
    live = LiveProgress(5, terminal())
    live.watch(sweep)
    assert "ETA -:--:--" in on_terminal(live)[0]  # nothing known yet
    await live.rerun_triggered(triggered(1, 11, expected=600.0))
    clock.advance(120)
    await live.rerun_triggered(triggered(2, 12, expected=300.0))
    lines = on_terminal(live)
    # Rerun 11 ends at 10 min, 12 at 7 min; the 3 queued take the mean expected 7.5 min in
    # the 2 slots: 7 + 7.5 + 7.5 = 22 min from the start, 20 from now.
    assert "ETA 0:20:00" in lines[0], lines
    assert lines[1] == "  1 → rerun 11: running 2m 0s of ~10m 0s"
    assert lines[2] == "  2 → rerun 12: running 0.0s of ~5m 0s"


async def test_the_live_view_fits_80_columns_with_long_numbers() -> None:
    sweep = Sweep([1], SweepSettings(), api_key="k", clock=MockClock())
    live = LiveProgress(9_999_999, terminal())
    live.watch(sweep)
    sweep.progress.started = sweep.progress.triggered = sweep.progress.running = 9_999_999
    sweep.progress.rate_limited_waits = 123_456
    for n in range(5):
        await live.rerun_triggered(
            triggered(9_223_372_036_854_775_000 + n, 9_223_372_036_854_775_807)
        )
    lines = on_terminal(live)
    assert all(len(line) <= 80 for line in lines), lines
    assert "0/9999999" in lines[0]
    assert "running 9999999" in lines[-1]


def test_the_live_view_shows_the_counters_and_stopping() -> None:
    sweep = Sweep([1, 2, 3], SweepSettings(), api_key="k")
    sweep.progress.started, sweep.progress.triggered = 2, 2
    sweep.progress.running, sweep.progress.done = 1, 1
    sweep.progress.rate_limited_waits = 4
    live = LiveProgress(3, terminal())
    live.watch(sweep)
    text = "\n".join(on_terminal(live))
    for expected in ("queued 1", "triggered 2", "running 1", "rate-limit waits 4", "0.0 req/s"):
        assert expected in text
    assert "stopping" not in text
    sweep.stop()
    assert on_terminal(live)[0].startswith("stopping ")


def test_the_summary_table_has_every_count() -> None:
    sweep = Sweep([1], SweepSettings(), api_key="k")
    sweep.report.add(Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=5))
    text = render(summary_table(sweep.report))
    assert "Reruns still failing" in text
    assert "Reruns triggered" in text


def test_the_summary_table_counts_runs_apart_from_tests() -> None:
    sweep = Sweep([1], SweepSettings(), api_key="k")
    failing = (TestRef(7, "Checkout"), TestRef(8, "Login"))
    outcome = Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=5, still_failing=failing)
    sweep.report.add(outcome)
    lines = render(summary_table(sweep.report)).splitlines()
    rows = [line for line in lines if line.startswith(("│", "├"))]
    separators = [n for n, row in enumerate(rows) if row.startswith("├")]
    tests = [n for n, row in enumerate(rows) if "tests" in row]
    # Runs, then a rule, then the tests, then a rule, then the requests.
    assert len(separators) == 2
    assert separators[0] < min(tests)
    assert max(tests) < separators[1]
    assert any("tests still failing (2)" in line for line in lines)


async def test_plain_progress_prints_one_line_per_event(capsys: pytest.CaptureFixture[str]) -> None:
    progress = PlainProgress(2)
    await progress.rerun_triggered(RerunTriggered(target=Target(7), rerun_id=70, adopted=True))
    outcome = Outcome(target=7, outcome=OutcomeKind.FAILED, rerun_id=70, error="gone")
    await progress.rerun_finished(RerunFinished(outcome=outcome))
    await progress.rate_limited(RequestsPaused(wait=2.5, reason="quota"))
    assert capsys.readouterr().err.splitlines() == [
        "7: adopted running rerun 70",
        "[1/2] 7: failed, rerun 70 (gone)",
        "rate limited: every request waits 2.5s (quota)",
    ]
