"""``rerunorch flaky --html``: one self-contained page of the ledger.

Inline CSS and inline SVG, no script, no font, no image and no link to fetch, so the page
reads the same opened from a CI artifact as from disk; a Content-Security-Policy forbids
everything else (a script smuggled in a test name could not run even if it were not
escaped, and every text is). It shows the flake rate over nights with the outage nights
marked, the flakiest and the broken tests with their rate and 90% interval, and the
pass-on-rerun rate per plan.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from datetime import datetime, timezone

from .records import NightPoint, PlanRate, TestFlake

__all__ = ["render"]

_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
_CSS = """
:root { color-scheme: light; --ink: #1f2328; --muted: #59636e; --line: #d1d9e0;
  --flaky: #bf8700; --broken: #cf222e; --fixed: #1a7f37; --bar: #0969da; --outage: #ffebe9; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system,
  "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 32px 0 8px; }
p.meta, p.note, .empty { color: var(--muted); margin: 4px 0; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; margin: 16px 0 8px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 8px 16px; min-width: 110px; }
.card b { display: block; font-size: 22px; }
.card.flaky b { color: var(--flaky); } .card.broken b { color: var(--broken); }
.card.outage b { color: var(--broken); }
svg { display: block; max-width: 100%; height: auto; }
svg.interval { display: inline-block; vertical-align: middle; margin-left: 6px; }
svg text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg .axis { stroke: var(--line); } svg .grid { stroke: #eef1f4; }
svg .rate { fill: none; stroke: var(--flaky); stroke-width: 2; }
svg .dot { fill: var(--flaky); } svg .dot.out { fill: var(--broken); }
svg .band { fill: var(--outage); } svg text.out { fill: var(--broken); }
svg .plan { fill: var(--bar); } svg .track { fill: #eef1f4; }
svg text.label { fill: var(--ink); }
table { border-collapse: collapse; width: 100%; max-width: 1100px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line);
  vertical-align: middle; }
th { font-weight: 600; color: var(--muted); white-space: nowrap; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.name { max-width: 420px; overflow-wrap: anywhere; }
td.name small { color: var(--muted); }
td.trend { white-space: nowrap; }
.up { color: var(--broken); } .down { color: var(--fixed); } .flat { color: var(--muted); }
.tag { border-radius: 10px; padding: 0 7px; font-size: 12px; border: 1px solid var(--line); }
"""
_TREND = 0.02  # a change in rate smaller than this is shown as steady
_TICKS = {0.05: 5, 0.1: 5, 0.2: 4, 0.25: 5, 0.5: 5, 0.75: 3, 1.0: 4}  # axis top -> steps


def render(
    tests: Sequence[TestFlake],
    nights: Sequence[NightPoint],
    plans: Sequence[PlanRate],
    *,
    title: str,
    generated_at: datetime | float,
    top: int = 25,
) -> str:
    """The page, as one HTML document.

    Args:
        tests: Every test's summary; the flaky and the broken ones are listed (``top`` each,
            highest rate first), the fixed ones with their bound.
        nights: The nights' points; those with ``plan_id`` None (all plans) draw the chart,
            or, when there are none, the per-plan points summed up night by night (pass
            ``nights(..., by_plan=True)`` so that one plan's outage marks its night).
        plans: The pass-on-rerun rate of each plan.
        title: The page's title.
        generated_at: When the page was made (a datetime, or Unix seconds).
        top: Most tests in each table.
    """
    by_status = _by_status(tests)
    overall = _overall(nights)
    body = [
        f"<h1>{_e(title)}</h1>",
        f'<p class="meta">Generated {_e(_when(generated_at))} from the flake ledger.</p>',
        _cards(tests, by_status, overall),
        '<section id="trend"><h2>Flake rate over nights</h2>',
        _trend_chart(overall),
        "</section>",
        '<section id="flaky"><h2>Flakiest tests</h2>',
        _table("flaky-tests", by_status.get("flaky", []), top, "No flaky test in the period."),
        "</section>",
        '<section id="broken"><h2>Broken tests</h2>',
        _table("broken-tests", by_status.get("broken", []), top, "No broken test in the period."),
        "</section>",
        '<section id="plans"><h2>Pass-on-rerun rate per plan</h2>',
        '<p class="note">Share of each plan\'s failed tests that passed when rerun.</p>',
        _plan_chart(plans),
        "</section>",
    ]
    fixed = by_status.get("fixed", [])
    if fixed:
        body += ['<section id="fixed"><h2>Fixed tests</h2>', _fixed_table(fixed, top), "</section>"]
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f'<meta http-equiv="Content-Security-Policy" content="{_CSP}">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{_e(title)}</title>",
            f"<style>{_CSS}</style>",
            "</head><body>",
            *body,
            "</body></html>",
            "",
        ]
    )


# -- the parts -------------------------------------------------------------------------


def _by_status(tests: Iterable[TestFlake]) -> dict[str, list[TestFlake]]:
    grouped: dict[str, list[TestFlake]] = {}
    for test in tests:
        grouped.setdefault(_status(test), []).append(test)
    for rows in grouped.values():
        rows.sort(key=lambda t: (-t.rate, -t.failures, _name(t)))
    return grouped


def _overall(nights: Iterable[NightPoint]) -> list[NightPoint]:
    """One point a night: the all-plans points, else the plans' points summed up (a plan's
    outage marks the night, and its counts are left out: they are no flake evidence)."""
    points = list(nights)
    overall = [p for p in points if p.plan_id is None]
    if overall or not points:
        return sorted(overall, key=lambda p: p.night)
    by_night: dict[str, list[NightPoint]] = {}
    for point in points:
        by_night.setdefault(point.night, []).append(point)
    return [_summed(night, group) for night, group in sorted(by_night.items())]


def _summed(night: str, group: list[NightPoint]) -> NightPoint:
    counted = [p for p in group if not p.outage] or group
    tests = sum(p.tests for p in counted)
    flaky = sum(p.flaky for p in counted)
    failures = sum(p.failures for p in counted)
    rerun = sum(p.pass_on_rerun * p.failures for p in counted)
    return NightPoint(
        night=night,
        plan_id=None,
        tests=tests,
        failures=failures,
        flaky=flaky,
        flake_rate=flaky / tests if tests else 0.0,
        pass_on_rerun=rerun / failures if failures else 0.0,
        outage=any(p.outage for p in group),
    )


def _cards(
    tests: Sequence[TestFlake], by_status: dict[str, list[TestFlake]], nights: list[NightPoint]
) -> str:
    outages = sum(1 for p in nights if p.outage)
    cards = [
        ("tests", "tests", len(tests)),
        ("flaky", "flaky", len(by_status.get("flaky", []))),
        ("broken", "broken", len(by_status.get("broken", []))),
        ("nights", "nights", len(nights)),
        ("outage", "outage nights", outages),
    ]
    items = "".join(
        f'<div class="card {kind}" id="count-{kind}"><b>{count}</b>{_e(label)}</div>'
        for kind, label, count in cards
    )
    return f'<div class="cards">{items}</div>'


def _trend_chart(points: list[NightPoint]) -> str:
    if not points:
        return '<p class="empty">No night recorded yet.</p>'
    width, height, left, right, top, bottom = 760, 240, 52, 16, 20, 44
    inner_w, inner_h = width - left - right, height - top - bottom
    peak = _nice(max(p.flake_rate for p in points))
    step = inner_w / max(1, len(points) - 1)

    def x(i: int) -> float:
        return left + (i * step if len(points) > 1 else inner_w / 2)

    def y(rate: float) -> float:
        return top + inner_h * (1 - rate / peak)

    parts = [
        f'<svg id="trend-chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Flake rate over nights">',
    ]
    band = max(6.0, min(step, 40.0))
    for i, point in enumerate(points):
        if point.outage:
            parts.append(
                f'<rect class="band" x="{x(i) - band / 2:.1f}" y="{top}" width="{band:.1f}" '
                f'height="{inner_h}"><title>{_e(point.night)}: outage</title></rect>'
                f'<text class="out" x="{x(i):.1f}" y="{top - 6}" text-anchor="middle">'
                "outage</text>"
            )
    ticks = _TICKS[peak]
    for k in range(ticks + 1):
        rate = peak * k / ticks
        parts.append(
            f'<line class="grid" x1="{left}" x2="{width - right}" y1="{y(rate):.1f}" '
            f'y2="{y(rate):.1f}"/><text x="{left - 6}" y="{y(rate) + 4:.1f}" '
            f'text-anchor="end">{_pct(rate, 0)}</text>'
        )
    parts.append(
        f'<line class="axis" x1="{left}" x2="{width - right}" y1="{top + inner_h}" '
        f'y2="{top + inner_h}"/>'
    )
    every = max(1, math.ceil(len(points) / 10))
    for i, point in enumerate(points):
        if i % every == 0 or i == len(points) - 1:
            parts.append(
                f'<text x="{x(i):.1f}" y="{top + inner_h + 16}" text-anchor="middle">'
                f"{_e(point.night[5:] if len(point.night) == 10 else point.night)}</text>"
            )
    if len(points) > 1:
        path = " ".join(f"{x(i):.1f},{y(p.flake_rate):.1f}" for i, p in enumerate(points))
        parts.append(f'<polyline class="rate" points="{path}"/>')
    for i, point in enumerate(points):
        tip = (
            f"{point.night}: {point.flaky} flaky of {point.tests} tests "
            f"({_pct(point.flake_rate)}), {_pct(point.pass_on_rerun)} passed on rerun"
            + (" — outage, not flake evidence" if point.outage else "")
        )
        parts.append(
            f'<circle class="dot{" out" if point.outage else ""}" cx="{x(i):.1f}" '
            f'cy="{y(point.flake_rate):.1f}" r="3.5" data-night="{_e(point.night)}">'
            f"<title>{_e(tip)}</title></circle>"
        )
    parts.append(
        f'<text x="{left}" y="{height - 6}">share of the night\'s tests that were flaky; '
        "outage nights (red) are not counted as flake evidence</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


def _plan_chart(plans: Sequence[PlanRate]) -> str:
    if not plans:
        return '<p class="empty">No plan had a failed test rerun in the period.</p>'
    rows = sorted(plans, key=lambda p: (p.plan_id is None, p.plan_id or 0))
    width, left, bar_w, row_h = 760, 150, 440, 26
    height = 12 + row_h * len(rows)
    parts = [
        f'<svg id="plan-chart" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="Pass-on-rerun rate per plan">'
    ]
    for i, plan in enumerate(rows):
        top = 6 + i * row_h
        name = "all plans" if plan.plan_id is None else f"plan {plan.plan_id}"
        filled = bar_w * max(0.0, min(1.0, plan.rate))
        parts.append(
            f'<g class="plan-row" data-plan="{_e(str(plan.plan_id))}">'
            f'<text class="label" x="{left - 10}" y="{top + 15}" text-anchor="end">'
            f"{_e(name)}</text>"
            f'<rect class="track" x="{left}" y="{top + 3}" width="{bar_w}" height="16" rx="3"/>'
            f'<rect class="plan" x="{left}" y="{top + 3}" width="{filled:.1f}" height="16" rx="3">'
            f"<title>{_e(name)}: {plan.passed_on_rerun} of {plan.failures} failed tests "
            f"passed on rerun</title></rect>"
            f'<text x="{left + bar_w + 10}" y="{top + 15}">{_pct(plan.rate)} '
            f"({plan.passed_on_rerun} of {plan.failures})</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _table(table_id: str, tests: list[TestFlake], top: int, empty: str) -> str:
    if not tests:
        return f'<p class="empty" id="{table_id}-empty">{_e(empty)}</p>'
    head = (
        "<tr><th>Test</th><th>Plan</th><th>Failure rate</th><th>90% interval</th>"
        "<th>Failed</th><th>Nights</th><th>Last seen</th><th>Trend</th></tr>"
    )
    rows = []
    for test in tests[:top]:
        lo, hi = test.interval
        quarantined = ' <span class="tag">quarantined</span>' if test.quarantined else ""
        rows.append(
            f'<tr data-test-id="{_e(str(test.test_case_id))}">'
            f'<td class="name">{_e(_name(test))}{quarantined}<br>'
            f"<small>id {_e(str(test.test_case_id))}</small></td>"
            f"<td>{_e('' if test.plan_id is None else str(test.plan_id))}</td>"
            f'<td class="num">{_pct(test.rate)}</td>'
            f'<td class="num">{_pct(lo)} – {_pct(hi)} {_interval_bar(test)}</td>'
            f'<td class="num">{test.failures} of {test.runs}</td>'
            f'<td class="num">{test.nights}</td>'
            f'<td class="num">{_e(_day(test.last_seen))}</td>'
            f'<td class="trend">{_trend(test.trend)}</td></tr>'
        )
    more = len(tests) - top
    note = f'<p class="note">… and {more} more.</p>' if more > 0 else ""
    return (
        f'<table id="{table_id}"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>{note}'
    )


def _fixed_table(tests: list[TestFlake], top: int) -> str:
    rows = "".join(
        f'<tr data-test-id="{_e(str(t.test_case_id))}"><td class="name">{_e(_name(t))}</td>'
        f"<td>{_e(t.fixed_bound or '')}</td>"
        f'<td class="num">{_e(_day(t.last_seen))}</td></tr>'
        for t in tests[:top]
    )
    head = "<tr><th>Test</th><th>Since it was fixed</th><th>Last seen</th></tr>"
    return f'<table id="fixed-tests"><thead>{head}</thead><tbody>{rows}</tbody></table>'


def _interval_bar(test: TestFlake) -> str:
    lo, hi = (max(0.0, min(1.0, v)) for v in test.interval)
    rate = max(0.0, min(1.0, test.rate))
    return (
        '<svg class="interval" viewBox="0 0 100 10" width="100" height="10" aria-hidden="true">'
        '<rect class="track" x="0" y="3" width="100" height="4" rx="2"/>'
        f'<rect class="plan" x="{lo * 100:.1f}" y="3" width="{max(1.0, (hi - lo) * 100):.1f}" '
        f'height="4" rx="2"/><circle class="dot" cx="{rate * 100:.1f}" cy="5" r="3"/></svg>'
    )


# -- small helpers ---------------------------------------------------------------------


def _e(text: str) -> str:
    return html.escape(text, quote=True)


def _status(test: TestFlake) -> str:
    return test.status.value


def _name(test: TestFlake) -> str:
    if test.test_case_name:
        return test.test_case_name
    return f"test {test.test_case_id}" if test.test_case_id is not None else "unnamed test"


def _pct(value: float, digits: int = 1) -> str:
    return f"{100 * value:.{digits}f}%"


def _nice(peak: float) -> float:
    """A round top for the rate axis, at least 5%."""
    return next((top for top in _TICKS if peak <= top), 1.0)


def _trend(change: float) -> str:
    if change > _TREND:
        return f'<span class="up" title="getting worse: +{_pct(change)}">&#8593; worse</span>'
    if change < -_TREND:
        return f'<span class="down" title="getting better: {_pct(change)}">&#8595; better</span>'
    return '<span class="flat" title="steady">&#8594; steady</span>'


def _when(moment: datetime | float) -> str:
    if not isinstance(moment, datetime):
        moment = datetime.fromtimestamp(moment, tz=timezone.utc)
    elif moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _day(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%d")
