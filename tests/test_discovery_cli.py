"""``sweep --plan ... --since ...``, run URLs, comma lists and --from-report, end to end."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest

from rerunorch.testing import Simulator

NIGHTLY = {"targets": 24, "passed_targets": 6, "plans": 3, "nights": 3}
DAY = 86400.0


async def _cli(simulator: Simulator, *args: str) -> tuple[int, str]:
    env = {
        **os.environ,
        "TESTSIGMA_API_KEY": simulator.api_key,
        "TESTSIGMA_BASE_URL": simulator.base_url,
    }
    command = [sys.executable, "-m", "rerunorch", "sweep", "--time-scale", "100", *args]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, env=env, check=False)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


def _report(path: Path) -> list[int]:
    return sorted(item["target"] for item in json.loads(path.read_text())["results"])


@pytest.mark.simulator(**NIGHTLY)
async def test_plan_a_and_b_since_24h_sweeps_exactly_their_failed_runs(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    a, b, _ = sim.plan_ids
    truth = sim.failed_runs([a, b], since=sim.clock.time() - DAY)
    assert truth
    assert len(truth) < NIGHTLY["targets"]
    report = tmp_path / "r.json"
    code, output = await _cli(
        sim, "--plan", str(a), "--plan", str(b), "--since", "24h", "--no-wait",
        "--report", str(report), "--page-size", "3", "--journal", str(tmp_path / "j.sqlite"),
    )  # fmt: skip
    assert code == 0, output
    assert _report(report) == truth
    posts = sum(n for k, n in sim.stats.requests_by_endpoint.items() if k.startswith("POST"))
    assert posts == len(truth)
    data = json.loads(report.read_text())
    assert data["summary"]["requests"] == sim.stats.requests  # every request was the sweep's
    assert any(note.startswith("discovery: ") for note in data["notes"])


@pytest.mark.simulator(**NIGHTLY)
async def test_a_dry_run_says_why_each_run_was_taken_or_left_out(
    rerunorch_simulator: Simulator,
) -> None:
    sim = rerunorch_simulator
    code, output = await _cli(
        sim, "--plan", str(sim.plan_ids[0]), "--since", "24h", "--dry-run", "-q"
    )
    assert code == 0, output
    assert ": taken: did not pass (FAILURE)" in output
    assert ": left out: passed (SUCCESS)" in output or ": left out: started before" in output
    assert "POST" not in json.dumps(sim.stats.requests_by_endpoint)


@pytest.mark.simulator(targets=3, passed_targets=0)
async def test_a_run_url_is_taken_as_its_id(rerunorch_simulator: Simulator) -> None:
    sim = rerunorch_simulator
    first, second, _ = sim.target_ids
    code, output = await _cli(
        sim,
        f"https://app.testsigma.com/ui/td/runs/{first}",
        f"{sim.base_url}/api/v1/execution_results/{second}",
        "--dry-run",
    )
    assert code == 0, output
    assert f"{first}: triggered" in output
    assert f"{second}: triggered" in output


@pytest.mark.simulator(targets=3, passed_targets=1)
async def test_from_report_still_failing_takes_only_what_still_fails(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    report = tmp_path / "night.json"
    results = [
        {"target": sim.target_ids[0], "outcome": "failed", "still_failing": [{"testCaseId": 1}]},
        {"target": sim.target_ids[1], "outcome": "passed", "still_failing": []},
        {"target": sim.target_ids[2], "outcome": "passed", "still_failing": [{"testCaseId": 2}]},
        {"target": 0, "outcome": "error", "error": "not a target: ..."},
    ]
    report.write_text(json.dumps({"summary": {}, "results": results}))
    out = tmp_path / "again.json"
    code, output = await _cli(
        sim, "--from-report", str(report), "--still-failing", "--dry-run", "--report", str(out)
    )
    assert code == 0, output
    assert _report(out) == [sim.target_ids[0], sim.target_ids[2]]
    code, output = await _cli(sim, "--from-report", str(report), "--dry-run", "--report", str(out))
    assert code == 0, output
    assert _report(out) == sim.target_ids


BAD = [
    (["--plan", "274", "--query", "testPlanId@274#"], "--query: an empty or padded value"),
    (["--query", "testplanid:274"], "--query: unknown field 'testplanid'"),
    (["--query", "testPlanId=274"], "--query: 'testPlanId=274' has no operator"),
    (["--plan", "274", "--since", "yesterday"], "--since: 'yesterday' is neither"),
    (["--plan", "274", "--since", "1h", "--until", "2h"], "--until (2h) must be after"),
    (["--plan", "274"], "--plan needs --since"),
    (["--plan", "27x", "--since", "1h"], "--plan must be ASCII digits"),
    (
        ["2016", "--plan", "274", "--since", "1h"],
        "give ids (or --from-file, --from-report) or find",
    ),
    (["--until", "1h"], "--until needs --since"),
    (["2016,2017"], "command line, argument 1: ids separated by commas; give each id as its own"),
    (
        ["https://app.testsigma.com/ui/td/plans/5"],
        "command line, argument 1: a URL that names no run",
    ),
    (["--still-failing"], "--still-failing needs --from-report"),
    (["--index-path", "api?x", "--since", "1h"], "--index-path must be a path"),
]


@pytest.mark.simulator(targets=1, passed_targets=0)
@pytest.mark.parametrize(("args", "message"), BAD)
async def test_a_bad_input_exits_2_naming_it_before_any_request(
    rerunorch_simulator: Simulator, args: list[str], message: str
) -> None:
    code, output = await _cli(rerunorch_simulator, *args)
    assert code == 2, output
    assert f"error: {message}" in output
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.simulator(targets=1, passed_targets=0)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"2016\n2016,2017\n", "line 2: ids separated by commas; give one id a line, or start"),
        (b"https://app.testsigma.com/ui/td/runs/0\n", "line 1: the run id in the URL must be"),
    ],
)
async def test_a_bad_targets_file_exits_2_before_any_request(
    rerunorch_simulator: Simulator, tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "t.txt"
    path.write_bytes(content)
    code, output = await _cli(rerunorch_simulator, "--from-file", str(path))
    assert code == 2, output
    assert message in output
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.simulator(targets=1, passed_targets=0)
@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "--from-report: {path}: cannot read it"),
        ("{not json", "--from-report: {path}: not a JSON file"),
        ('{"summary": {}}', 'not a rerunorch report (no "results" list)'),
        ('{"results": [{"outcome": "failed"}]}', 'result 1 is not an object with a "target"'),
        ('{"results": [{"target": "x1"}]}', "result 1: target must be ASCII digits"),
        ('{"results": []}', "{path} has no results: nothing to sweep"),
    ],
)
async def test_a_bad_report_exits_2_before_any_request(
    rerunorch_simulator: Simulator, tmp_path: Path, content: str | None, message: str
) -> None:
    path = tmp_path / "report.json"
    if content is not None:
        path.write_text(content)
    code, output = await _cli(rerunorch_simulator, "--from-report", str(path))
    assert code == 2, output
    assert message.format(path=path) in output
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.simulator(**NIGHTLY)
async def test_plans_and_since_may_come_from_the_config_file(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    a, b, c = sim.plan_ids
    config = tmp_path / "rerunorch.toml"
    config.write_text(f'[sweep]\nplans = [{a}, "{b}"]\nsince = "24h"\npage_size = 2\n')
    plans_file = tmp_path / "plans.txt"
    plans_file.write_text(f"# the third\n{c}\n")
    report = tmp_path / "r.json"
    code, output = await _cli(sim, "--config", str(config), "--dry-run", "--report", str(report))
    assert code == 0, output
    assert _report(report) == sim.failed_runs([a, b], since=sim.clock.time() - DAY)
    args = ("--config", str(config), "--plans-file", str(plans_file), "--dry-run")
    code, output = await _cli(sim, *args, "--report", str(report))
    assert code == 0, output
    assert _report(report) == sim.failed_runs([a, b, c], since=sim.clock.time() - DAY)
