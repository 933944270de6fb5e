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
)
from rerunorch.cli.progress import LiveProgress, PlainProgress, summary_table


def render(renderable: object) -> str:
    console = Console(file=io.StringIO(), width=200, force_terminal=False)
    console.print(renderable)
    return console.file.getvalue()  # type: ignore[attr-defined]


def test_the_live_panel_shows_the_counters() -> None:
    sweep = Sweep([1, 2, 3], SweepSettings(), api_key="k")
    sweep.progress.started, sweep.progress.triggered = 2, 2
    sweep.progress.running, sweep.progress.done = 1, 1
    sweep.progress.rate_limited_waits = 4
    panel = LiveProgress(sweep, 3, Console(file=io.StringIO(), force_terminal=True))
    text = render(panel._render())
    for expected in (
        "queued 1",
        "triggered 2",
        "running 1",
        "done 1/3",
        "rate-limit waits 4",
        "req/s 0.0",
    ):
        assert expected in text
    sweep.stop()
    assert "stopping" in render(panel._render())


def test_the_summary_table_has_every_count() -> None:
    sweep = Sweep([1], SweepSettings(), api_key="k")
    sweep.report.add(Outcome(target=1, outcome=OutcomeKind.FAILED, rerun_id=5))
    text = render(summary_table(sweep.report))
    assert "Reruns still failing" in text
    assert "Reruns triggered" in text


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
