"""The rounds options of ``sweep`` and ``demo``: ``--max-rounds``, ``--budget``, ``--deadline``,
``--round-delay``, ``--fail-on`` (docs/verdicts.md), and their parameter types."""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable
from typing import Any

import click

from rerunorch.settings import VERDICTS

__all__ = ["Duration", "FailOn", "TimeOfDay", "rounds_options"]

_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$", re.IGNORECASE)


class Duration(click.ParamType[float]):
    """Seconds, or a number with ``s``, ``m``, ``h`` or ``d`` (``90m``, ``2h``)."""

    name = "duration"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            seconds = float(value)
        else:
            match = _DURATION.match(str(value))
            if not match:
                self.fail(f"{value!r} is not a duration such as 90, 90s, 15m or 2h.", param, ctx)
            seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
        if not math.isfinite(seconds) or seconds < 0:
            self.fail(f"{value!r} is not a finite duration.", param, ctx)
        return seconds


class TimeOfDay(click.ParamType[float]):
    """``HH:MM`` (the next such local time) or an ISO time; converts to epoch seconds."""

    name = "time"

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        text = str(value).strip()
        now = dt.datetime.fromtimestamp(self._now()).astimezone()
        try:
            if re.fullmatch(r"\d{1,2}:\d{2}", text):
                hour, minute = map(int, text.split(":"))
                at = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
                if at <= now:
                    at += dt.timedelta(days=1)
            else:
                at = dt.datetime.fromisoformat(text)
                if at.tzinfo is None:
                    at = at.astimezone()
        except ValueError:
            self.fail(f"{value!r} is not a time such as 07:00 or 2026-12-04T07:00.", param, ctx)
        return at.timestamp()


class FailOn(click.ParamType[tuple[str, ...]]):
    """A comma-separated list of verdicts: ``broken``, ``undecided``, ``flaky``."""

    name = "verdicts"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        items = value if isinstance(value, (list, tuple)) else str(value).split(",")
        chosen = tuple(str(item).strip().lower() for item in items if str(item).strip())
        unknown = [item for item in chosen if item not in VERDICTS]
        if unknown:
            self.fail(f"{', '.join(unknown)}: choose from {', '.join(VERDICTS)}.", param, ctx)
        return chosen


def rounds_options() -> list[Callable[[Any], Any]]:
    """The options, in help order."""
    return [
        click.option(
            "--max-rounds",
            type=click.IntRange(min=1),
            default=8,
            show_default=True,
            help="Rerun rounds per target at most (1: a single rerun; docs/verdicts.md).",
        ),
        click.option(
            "--budget",
            type=Duration(),
            help="Rerun time for the whole sweep (e.g. 2h); no new round beyond it.",
        ),
        click.option(
            "--deadline", type=TimeOfDay(), help="No new round after this time (07:00, ISO)."
        ),
        click.option(
            "--round-delay",
            type=Duration(),
            default=0.0,
            help="Wait this long between rounds (e.g. 5m).",
        ),
        click.option(
            "--fail-on",
            type=FailOn(),
            default="broken,undecided",
            show_default=True,
            help="Verdicts that make the sweep exit 1 (broken, undecided, flaky).",
        ),
    ]
