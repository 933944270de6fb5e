"""``rerunorch flaky --html``'s page: self-contained, escaped, and read in a real Chromium."""

from __future__ import annotations

import json
import random
import re
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
import attrs
from chromium import chromium_or_skip, open_page, png_pixels

from rerunorch.ledger.model import nights, plan_rates, summarize
from rerunorch.ledger.page import render
from rerunorch.ledger.records import FlakeStatus, NightPoint, Observation, PlanRate, TestFlake
from rerunorch.ledger.store import LedgerStore
from rerunorch.testing import NightlyConfig, Simulator, SimulatorConfig
from rerunorch.verdicts import Seen

START = datetime(2026, 11, 3, tzinfo=timezone.utc)
HOSTILE = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2"> & "q"'


def _test(number: int, status: FlakeStatus, rate: float, **fields: object) -> TestFlake:
    values: dict[str, object] = {
        "test_case_id": 7000 + number,
        "test_case_name": f"Checkout as guest #{number}",
        "plan_id": 1000 + number % 3,
        "status": status,
        "runs": 40,
        "failures": round(40 * rate),
        "rate": rate,
        "interval": (max(0.0, rate - 0.08), min(1.0, rate + 0.1)),
        "nights": 30,
        "last_seen": (START + timedelta(days=29)).timestamp(),
        "trend": 0.05 if number % 2 else -0.04,
        **fields,
    }
    return TestFlake(**values)  # type: ignore[arg-type]


def _nights(count: int, outages: set[int]) -> list[NightPoint]:
    rng = random.Random(7)
    points = []
    for n in range(count):
        flaky = rng.randint(20, 60)
        failures = flaky + rng.randint(5, 20) + (900 if n in outages else 0)
        points.append(
            NightPoint(
                night=(START + timedelta(days=n)).strftime("%Y-%m-%d"),
                plan_id=None,
                tests=2000,
                failures=failures,
                flaky=flaky,
                flake_rate=flaky / 2000,
                pass_on_rerun=flaky / failures,
                outage=n in outages,
            )
        )
    return points


FLAKY = [_test(n, FlakeStatus.FLAKY, 0.05 + 0.02 * n) for n in range(12)]
BROKEN = [_test(20 + n, FlakeStatus.BROKEN, 0.97 - 0.01 * n) for n in range(3)]
FIXED = _test(30, FlakeStatus.FIXED, 0.02, fixed_bound="20 of 20 passed: below 13.9% at 95%")
PLANS = [
    PlanRate(plan_id=1000, failures=120, passed_on_rerun=90, rate=0.75),
    PlanRate(plan_id=1001, failures=40, passed_on_rerun=8, rate=0.2),
    PlanRate(plan_id=1002, failures=10, passed_on_rerun=10, rate=1.0),
]


def _page(**overrides: object) -> str:
    tests = [*FLAKY, *BROKEN, FIXED, _test(40, FlakeStatus.FLAKY, 0.3, test_case_name=HOSTILE)]
    arguments: dict[str, object] = {
        "tests": tests,
        "nights": _nights(30, {11, 23}),
        "plans": PLANS,
        "title": "Nightly <flakes> & co",
        "generated_at": START + timedelta(days=30),
        **overrides,
    }
    return render(**arguments)  # type: ignore[arg-type]


def test_the_page_fetches_nothing_and_runs_nothing() -> None:
    page = _page()
    lowered = page.lower()
    for banned in ("<script", "<link", "<img", "<iframe", "@import", "url(", "http:", "https:"):
        assert banned not in lowered, banned
    assert "default-src 'none'" in page  # and the browser would refuse anything else
    assert "<title>Nightly &lt;flakes&gt; &amp; co</title>" in page


def test_every_text_is_escaped() -> None:
    page = _page()
    assert HOSTILE not in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;" in page
    assert "onerror=&quot;window.pwned = 2&quot;" in page


def test_the_tables_list_flaky_and_broken_tests_highest_rate_first_up_to_top() -> None:
    page = _page(top=5)
    flaky = re.search(r'<table id="flaky-tests">(.*?)</table>', page, re.DOTALL)
    assert flaky is not None
    ids = re.findall(r'data-test-id="(\d+)"', flaky.group(1))
    assert ids == ["7040", "7011", "7010", "7009", "7008"]  # 0.30, 0.27, 0.25, ...
    assert "and 8 more" in page
    broken = re.search(r'<table id="broken-tests">(.*?)</table>', page, re.DOTALL)
    assert broken is not None
    assert re.findall(r'data-test-id="(\d+)"', broken.group(1)) == ["7020", "7021", "7022"]
    assert "20 of 20 passed: below 13.9% at 95%" in page


def test_no_test_and_no_night_is_a_page_that_says_so() -> None:
    page = render([], [], [], title="Empty", generated_at=0.0)
    assert "No night recorded yet." in page
    assert "No flaky test in the period." in page
    assert "No broken test in the period." in page
    assert "<svg" not in page


def test_one_night_is_one_point_and_per_plan_points_are_summed() -> None:
    (point,) = _nights(1, set())
    page = render([], [point], [], title="One", generated_at=0.0)
    assert page.count("<circle") == 1
    assert "<polyline" not in page
    per_plan = [
        NightPoint(
            night="2026-12-01", plan_id=plan, tests=100, failures=10, flaky=flaky,
            flake_rate=flaky / 100, pass_on_rerun=flaky / 10, outage=plan == 1,
        )
        for plan, flaky in ((1, 4), (2, 6))
    ]  # fmt: skip
    page = render([], per_plan, [], title="Plans", generated_at=0.0)
    assert page.count("<circle") == 1
    assert "6 flaky of 100 tests (6.0%)" in page  # plan 1's outage is no flake evidence...
    assert page.count('class="band"') == 1  # ...and marks the night


async def test_the_page_in_chromium_loads_without_error_and_shows_its_rows(
    tmp_path: Path,
) -> None:
    binary = chromium_or_skip()
    path = tmp_path / "flaky.html"
    path.write_text(_page(), encoding="utf-8")
    async with open_page(binary, path) as page:
        assert page.errors == []
        rows = await page.evaluate(
            "[...document.querySelectorAll('#flaky-tests tbody tr')].map(r => r.dataset.testId)"
        )
        assert rows == ["7040", *(str(7000 + n) for n in reversed(range(12)))]
        broken = await page.evaluate(
            "[...document.querySelectorAll('#broken-tests tbody tr')].map(r => r.dataset.testId)"
        )
        assert broken == ["7020", "7021", "7022"]
        hostile = await page.evaluate(
            "document.querySelector('tr[data-test-id=\"7040\"] td.name').firstChild.textContent"
        )
        assert hostile == HOSTILE  # shown as text...
        assert await page.evaluate("typeof window.pwned") == "undefined"  # ...never run
        assert await page.evaluate("document.querySelectorAll('#trend-chart circle').length") == 30
        assert await page.evaluate("document.querySelectorAll('#trend-chart .band').length") == 2
        plans = await page.evaluate(
            "[...document.querySelectorAll('#plan-chart .plan-row')].map(g => g.dataset.plan)"
        )
        assert plans == ["1000", "1001", "1002"]
        assert await page.evaluate("document.getElementById('count-flaky').textContent") == (
            "13flaky"
        )
        shot = await page.screenshot(width=1200, height=1500, scale=0.5)
        (tmp_path / "flaky.png").write_bytes(await page.screenshot(width=1200, height=1500))
        assert page.errors == []
    width, height, rows_px = png_pixels(shot)
    assert (width, height) == (600, 750)
    _assert_drawn(rows_px)


async def test_the_empty_page_in_chromium_loads_without_error(tmp_path: Path) -> None:
    binary = chromium_or_skip()
    path = tmp_path / "empty.html"
    path.write_text(render([], [], [], title="Empty", generated_at=0.0), encoding="utf-8")
    async with open_page(binary, path) as page:
        assert page.errors == []
        assert await page.evaluate("document.querySelectorAll('tr').length") == 0
        text = await page.evaluate("document.body.innerText")
        assert "No night recorded yet." in text


async def test_the_chromium_helper_hears_errors_and_blocked_fetches(tmp_path: Path) -> None:
    binary = chromium_or_skip()
    path = tmp_path / "bad.html"
    path.write_text(
        "<!DOCTYPE html><html><head>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "script-src 'unsafe-inline'\"></head><body>"
        "<script>console.error('said so'); undefined_function();</script>"
        '<img src="http://127.0.0.1:9/x.png"></body></html>',
        encoding="utf-8",
    )
    async with open_page(binary, path) as page:
        errors = "\n".join(page.errors)
    assert "console: said so" in errors
    assert "undefined_function" in errors
    assert "x.png" in errors  # the image was refused, not fetched


def _assert_drawn(rows: list[bytes]) -> None:
    """The screenshot is a page with charts, not a blank (white or single-coloured) one."""
    pixels = [tuple(row[i : i + 3]) for row in rows[::2] for i in range(0, len(row), 8)]
    white = sum(1 for p in pixels if min(p) > 245)
    assert white < 0.97 * len(pixels)  # something is drawn...
    assert white > 0.3 * len(pixels)  # ...on a white page
    assert len(set(pixels)) > 30
    flaky_ink = (0xBF, 0x87, 0x00)  # the trend line
    assert any(sum(abs(a - b) for a, b in zip(p, flaky_ink, strict=True)) < 40 for p in pixels)


def _simulated_observations() -> list[Observation]:
    """Eight nights of 90 tests of three plans at their simulator's true rates, each failure
    rerun until it passes (at most three times); plan 1001 has an outage on night 4."""
    nightly = NightlyConfig(plans=3, tests=30, nights=1, flaky_fraction=0.3)
    truth = Simulator(SimulatorConfig(seed=2, nightly=nightly)).true_rates(0)
    rng, observations = random.Random(2), []
    for night in range(8):
        at = (START + timedelta(days=night)).timestamp()
        for number, (test, rate) in enumerate(truth.items()):
            plan = 1000 + number // 30
            hit = night == 4 and plan == 1001
            results = [rng.random() < (0.95 if hit else rate)]
            while results[-1] and len(results) < 4:
                results.append(rng.random() < rate)
            for round_, failed in enumerate(results):
                observations.append(
                    Observation(
                        test_case_id=test, test_case_name=f"test <{number}>", plan_id=plan,
                        target=night * 10 + plan, run_id=night * 10000 + plan * 10 + round_,
                        round=round_, result="FAILURE" if failed else "SUCCESS",
                        seen=Seen.FAIL if failed else Seen.PASS, at=at + round_,
                        night=(START + timedelta(days=night)).strftime("%Y-%m-%d"),
                    )
                )  # fmt: skip
    return observations


async def test_a_page_of_the_models_own_summary_of_simulated_nights(tmp_path: Path) -> None:
    binary = chromium_or_skip()
    observations = _simulated_observations()
    now = (START + timedelta(days=8)).timestamp()
    flakes = summarize(observations, now=now)
    points = nights(observations, by_plan=True)
    html = render(flakes, points, plan_rates(observations), title="Simulated", generated_at=now)
    path = tmp_path / "simulated.html"
    path.write_text(html, encoding="utf-8")
    flaky = [f for f in flakes if f.status is FlakeStatus.FLAKY]
    assert flaky
    async with open_page(binary, path) as page:
        assert page.errors == []
        rows = await page.evaluate(
            "[...document.querySelectorAll('#flaky-tests tbody tr')].map(r => r.dataset.testId)"
        )
        assert rows == [str(f.test_case_id) for f in flaky][:25]
        assert await page.evaluate("document.querySelectorAll('#trend-chart circle').length") == 8
        assert await page.evaluate("document.querySelectorAll('#trend-chart .band').length") == 1
        plans = await page.evaluate("document.querySelectorAll('#plan-chart .plan-row').length")
        assert plans == 3


async def test_rerunorch_flaky_html_writes_a_page_chromium_reads(tmp_path: Path) -> None:
    binary = chromium_or_skip()
    ledger = tmp_path / "history.sqlite"
    shift = time.time() - (START + timedelta(days=8)).timestamp()  # the last night: last night
    moved = [
        attrs.evolve(o, at=o.at + shift, night=_day(o.at + shift))
        for o in _simulated_observations()
    ]
    with LedgerStore.open(str(ledger)) as store:
        store.record(moved)
    page_path = tmp_path / "flaky.html"
    command = [sys.executable, "-m", "rerunorch", "flaky", "--history", str(ledger), "--json"]
    with anyio.fail_after(60):
        done = await anyio.run_process(
            [*command, "--html", str(page_path)], cwd=tmp_path, check=False
        )
    assert done.returncode == 0, done.stderr.decode()
    shown = json.loads(done.stdout)["tests"]
    flaky = [str(t["testCaseId"]) for t in shown if t["status"] == "flaky"]
    broken = [str(t["testCaseId"]) for t in shown if t["status"] == "broken"]
    assert flaky
    assert broken
    async with open_page(binary, page_path) as page:
        assert page.errors == []
        rows = await page.evaluate(
            "[...document.querySelectorAll('#flaky-tests tbody tr')].map(r => r.dataset.testId)"
        )
        assert rows == flaky[:25]
        rows = await page.evaluate(
            "[...document.querySelectorAll('#broken-tests tbody tr')].map(r => r.dataset.testId)"
        )
        assert rows == broken[:25]
        assert await page.evaluate("document.querySelectorAll('#trend-chart circle').length") == 8
        # Plan 1001's outage on night 4 alone marks the night, and is no flake evidence.
        (night,) = {p.night for p in nights(moved, by_plan=True) if p.outage}
        assert await page.evaluate("document.querySelectorAll('#trend-chart .band').length") == 1
        assert await page.evaluate("document.querySelector('#count-outage b').textContent") == "1"
        tip = await page.evaluate(
            f"document.querySelector('#trend-chart circle[data-night=\"{night}\"]').textContent"
        )
        assert " of 60 tests " in tip  # plans 1000 and 1002: 30 tests each
        assert tip.endswith("outage, not flake evidence")
        (tmp_path / "flaky.png").write_bytes(await page.screenshot(width=1200, height=1600))


def _day(at: float) -> str:
    return datetime.fromtimestamp(at, tz=timezone.utc).strftime("%Y-%m-%d")
