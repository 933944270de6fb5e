"""Going round again: ``--last-failed`` and ``--resume`` without the ids, as real processes."""

from __future__ import annotations

import json
import random
import signal
import sys
from pathlib import Path

import anyio
import pytest

from rerunorch.clock import Clock
from rerunorch.testing import Simulator
from tests.test_cli_resume import TIME_SCALE, environment, read_lines


def command(sim: Simulator, journal: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rerunorch",
        "sweep",
        "--base-url",
        sim.base_url,
        "--journal",
        str(journal),
        "--time-scale",
        TIME_SCALE,
        "--concurrency",
        "16",
        "--max-rounds",  # one rerun a target, so that "rerun once more" can be counted
        "1",
        *extra,
    ]


async def run(sim: Simulator, journal: Path, *extra: str) -> tuple[int, str]:
    done = await anyio.run_process(command(sim, journal, *extra), env=environment(sim), check=False)
    return done.returncode, done.stderr.decode()


def results(report: Path) -> dict[int, str]:
    return {r["target"]: r["outcome"] for r in json.loads(report.read_text())["results"]}


@pytest.mark.simulator(targets=40, passed_targets=0, run_duration=(20.0, 200.0))
async def test_last_failed_sweeps_exactly_the_targets_that_still_failed(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    journal, first, second = tmp_path / "j.sqlite", tmp_path / "1.json", tmp_path / "2.json"
    ids = [str(target) for target in simulator.target_ids]
    code, stderr = await run(simulator, journal, *ids, "--report", str(first))
    assert code == 1, stderr[-2000:]  # some reruns still fail (half the failures are flaky)
    failed = {t for t, outcome in results(first).items() if outcome != "passed"}
    assert failed
    assert failed != set(simulator.target_ids)
    code, stderr = await run(simulator, journal, "--last-failed", "--report", str(second))
    assert code in (0, 1), stderr[-2000:]
    assert set(results(second)) == failed
    assert "--last-failed: " in stderr
    for target in failed:  # each rerun once more, none twice
        assert len(simulator.reruns_of(target)) == 2, target
    assert simulator.stats.duplicate_rerun_attempts == 0


@pytest.mark.simulator(targets=5, passed_targets=0, run_duration=(20.0, 50.0))
async def test_last_failed_without_a_journal_is_refused_before_any_request(
    simulator: Simulator, tmp_path: Path
) -> None:
    code, stderr = await run(simulator, tmp_path / "none.sqlite", "--last-failed")
    assert code == 2
    assert "error: --last-failed: no journal at" in stderr
    assert simulator.stats.requests == 0


@pytest.mark.simulator(targets=5, passed_targets=0, run_duration=(20.0, 50.0))
async def test_last_failed_with_other_targets_is_refused(
    simulator: Simulator, tmp_path: Path
) -> None:
    code, stderr = await run(simulator, tmp_path / "j.sqlite", "--last-failed", "7")
    assert code == 2
    assert "--last-failed takes its targets from the journal: not with ids" in stderr
    assert simulator.stats.requests == 0


@pytest.mark.simulator(
    targets=6, passed_targets=0, run_duration=(20.0, 50.0), flaky_probability=1.0
)
async def test_last_failed_when_none_failed_says_so_and_exits_0(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    journal = tmp_path / "j.sqlite"
    ids = [str(target) for target in simulator.target_ids]
    code, stderr = await run(simulator, journal, *ids)
    assert code == 0, stderr[-2000:]
    sent = simulator.stats.requests
    code, stderr = await run(simulator, journal, "--last-failed")
    assert code == 0, stderr
    assert "no target failed in the last sweep" in stderr
    assert "nothing to sweep" in stderr
    assert simulator.stats.requests == sent


@pytest.mark.simulator(targets=300, passed_targets=0, run_duration=(20.0, 200.0))
async def test_resume_without_the_ids_after_kills_reruns_each_target_once(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    journal, report = tmp_path / "journal.sqlite", tmp_path / "report.json"
    targets = tmp_path / "targets.txt"
    targets.write_text("\n".join(map(str, simulator.target_ids)) + "\n")
    rng = random.Random(7)
    env = environment(simulator)
    for round_ in range(3):
        extra = ["--resume"] if round_ else ["--from-file", str(targets)]
        async with await anyio.open_process(command(simulator, journal, *extra), env=env) as p:
            await read_lines(p, rng.randint(5, 100))
            p.send_signal(signal.SIGKILL)
            await p.wait()
    targets.unlink()  # the journal alone knows them now
    code, stderr = await run(simulator, journal, "--resume", "--report", str(report))
    assert code in (0, 1), stderr[-2000:]
    assert simulator.stats.duplicate_rerun_attempts == 0
    assert simulator.stats.reruns_created == 300
    assert sorted(results(report)) == sorted(simulator.target_ids)


@pytest.mark.simulator(targets=5, passed_targets=0, run_duration=(20.0, 50.0))
async def test_resume_without_ids_and_without_a_journal_is_refused(
    simulator: Simulator, tmp_path: Path
) -> None:
    code, stderr = await run(simulator, tmp_path / "none.sqlite", "--resume")
    assert code == 2
    assert "error: --resume: no journal at" in stderr
    assert simulator.stats.requests == 0


@pytest.mark.simulator(targets=4, passed_targets=0, run_duration=(20.0, 50.0))
async def test_last_failed_is_not_refused_for_the_config_files_plans(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    journal, config = tmp_path / "j.sqlite", tmp_path / "rerunorch.toml"
    config.write_text('[sweep]\nplans = [274]\nsince = "24h"\n')
    code, stderr = await run(simulator, journal, "--config", str(config), "--last-failed")
    assert code == 2
    assert "--last-failed: no journal at" in stderr  # not "not with --plan"


@pytest.mark.simulator(targets=24, passed_targets=6, plans=3, nights=3)
async def test_resume_without_ids_reads_back_a_discovery(
    simulator: Simulator, simulator_clock: Clock, tmp_path: Path
) -> None:
    journal, plans = tmp_path / "j.sqlite", tmp_path / "plans.txt"
    a, b, _ = simulator.plan_ids
    plans.write_text(f"{a}\n{b}\n")
    found = ["--plans-file", str(plans), "--since", "24h", "--no-wait"]
    code, stderr = await run(simulator, journal, *found)
    assert code == 0, stderr[-2000:]
    created = simulator.stats.reruns_created
    assert created
    plans.unlink()  # the journal records the plans themselves
    code, stderr = await run(simulator, journal, "--resume", "--no-wait")
    assert code == 0, stderr[-2000:]
    assert "other targets" not in stderr
    assert simulator.stats.reruns_created == created  # every target kept its outcome
