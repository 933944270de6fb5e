"""Progress of a sweep that finds its targets itself: the total is not known."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from rerunorch import (
    Outcome,
    OutcomeKind,
    RerunFinished,
    RerunTriggered,
    Sweep,
    SweepSettings,
    Target,
)
from rerunorch.cli.progress import LiveProgress, PlainProgress
from rerunorch.testing import MockClock


def finished(target: int) -> RerunFinished:
    return RerunFinished(outcome=Outcome(target=target, outcome=OutcomeKind.PASSED, rerun_id=9))


@pytest.mark.parametrize("total", [0, None])
async def test_plain_lines_count_without_a_total(
    capsys: pytest.CaptureFixture[str], total: int | None
) -> None:
    progress = PlainProgress(total)
    await progress.rerun_finished(finished(7))
    await progress.rerun_finished(finished(8))
    assert capsys.readouterr().err.splitlines() == [
        "[1] 7: passed, rerun 9",
        "[2] 8: passed, rerun 9",
    ]


async def test_the_live_bar_is_indeterminate_without_a_total() -> None:
    clock = MockClock()
    sweep = Sweep([1], SweepSettings(), api_key="k", clock=clock)
    shown = Console(file=io.StringIO(), width=80, force_terminal=True, record=True)
    live = LiveProgress(0, shown)
    live.watch(sweep)
    await live.rerun_triggered(RerunTriggered(target=Target(7), rerun_id=9, adopted=False))
    clock.advance(60)
    await live.rerun_finished(finished(7))
    screen = Console(file=io.StringIO(), width=80, force_terminal=True, record=True)
    screen.print(live.render())
    lines = screen.export_text().splitlines()
    assert "/0" not in lines[0]
    assert " 1 " in lines[0]  # the count done, without a total
    assert "ETA -:--:--" in lines[0]  # no ETA without a total
    assert "queued" not in lines[-1]
    assert shown.export_text().splitlines() == ["[1] 7: passed, rerun 9"]
