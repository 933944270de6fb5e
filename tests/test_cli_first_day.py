"""What a new user trips on, end to end against the simulator over its socket."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import anyio
import pytest
from redis_server import RedisServer

from rerunorch.testing import Simulator
from rerunorch.verdicts import Bound, TestVerdict, Verdict


async def _cli(simulator: Simulator, *args: str, cwd: Path | None = None) -> tuple[int, str]:
    env = {
        **os.environ,
        "TESTSIGMA_API_KEY": simulator.api_key,
        "TESTSIGMA_BASE_URL": simulator.base_url,
    }
    command = [sys.executable, "-m", "rerunorch", *args]
    with anyio.fail_after(60):
        done = await anyio.run_process(command, env=env, check=False, cwd=cwd)
    return done.returncode, done.stdout.decode() + done.stderr.decode()


@pytest.mark.simulator(targets=2)
async def test_the_rounds_options_may_come_from_the_config_file(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    config = tmp_path / "rerunorch.toml"
    config.write_text(
        '[sweep]\nmax_rounds = 1\nbudget = "2h"\ndeadline = "2099-01-01T07:00:00+00:00"\n'
        'round_delay = 0\nfail_on = ["broken", "flaky"]\n'
    )
    report = tmp_path / "r.json"
    code, output = await _cli(
        sim, "sweep", "--time-scale", "1000", "--config", str(config), str(sim.target_ids[0]),
        "--report", str(report), "--journal", str(tmp_path / "j.sqlite"), "--no-history",
    )  # fmt: skip
    assert code in (0, 1), output
    settings = json.loads(report.read_text())["config"]
    assert settings["max_rounds"] == 1
    assert settings["budget"] == 7200.0
    assert settings["fail_on"] == ["broken", "flaky"]
    posts = sum(n for k, n in sim.stats.requests_by_endpoint.items() if k.startswith("POST"))
    assert posts == 1  # one round, as the file says


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[sweep]\nmax_rounds = "three"\n', "sweep.max_rounds must be int, not 'three'"),
        ('[sweep]\nbudget = "2 hours"\n', "sweep.budget: '2 hours' is not a duration"),
        ('[sweep]\nfail_on = ["brokn"]\n', "sweep.fail_on: brokn: choose from"),
        ("[sweep]\nfail_on = [1]\n", "sweep.fail_on must be a list of verdicts"),
        ("[sweep]\nmax_actve = 10\n", "unknown key sweep.max_actve (did you mean max_active?)"),
        ("[sweep]\nzzz = 1\n", "unknown key sweep.zzz (known: api_key, api_key_file, app_url,"),
    ],
)
@pytest.mark.simulator(targets=1)
async def test_a_bad_rounds_key_names_the_file_and_key_and_sends_nothing(
    rerunorch_simulator: Simulator, tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    code, output = await _cli(rerunorch_simulator, "sweep", "--config", str(config), "1")
    assert code == 2, output
    assert f"bad.toml: {message}" in output
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.parametrize(
    ("bound", "said"),
    [
        (Bound.MAX_ROUNDS, "(max_rounds reached)"),
        (Bound.BUDGET, "(budget reached)"),
        (Bound.STOPPED, "(sweep stopped)"),  # Ctrl-C between rounds, not "stopped reached"
        (Bound.STRATEGY, "(left out by the strategy)"),
    ],
)
def test_the_evidence_says_why_the_rounds_ended_in_words(bound: Bound, said: str) -> None:
    verdict = TestVerdict(
        test_case_id=1, test_case_name="Login", verdict=Verdict.UNDECIDED, runs=2, failures=2,
        p_broken=0.36, bound=bound, run_ids=(100, 101),
    )  # fmt: skip
    assert verdict.evidence_text == f"undecided: failed 2 of 2 runs, P=0.36 {said}"


@pytest.mark.simulator(targets=1)
async def test_a_shared_limit_redis_that_refuses_or_is_closed_is_exit_2_before_any_rerun(
    rerunorch_simulator: Simulator, redis_server: RedisServer, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    target, port = str(sim.target_ids[0]), redis_server.port
    journal = tmp_path / "j.sqlite"
    common = (
        "sweep",
        target,
        "--rate",
        "5",
        "--journal",
        str(journal),
        "--no-history",
        "--no-wait",
    )
    # A database this Redis does not have (16 by default): it answers, and refuses.
    wrong = f"redis://:s3cret@127.0.0.1:{port}/99"
    code, output = await _cli(sim, *common, "--shared-limit", wrong)
    assert code == 2, output
    assert f"error: --shared-limit redis://:***@127.0.0.1:{port}/99: Redis refused (" in output
    assert "s3cret" not in output
    redis_server.stop()  # nothing listens there now
    code, output = await _cli(sim, *common, "--shared-limit", f"redis://127.0.0.1:{port}/0")
    assert code == 2, output
    assert "Redis does not answer" in output
    assert "nothing was sent" in output
    assert not any(k.startswith("POST") for k in sim.stats.requests_by_endpoint)
    assert not journal.exists()
    redis_server.start()  # and with Redis there, the same sweep runs
    code, output = await _cli(sim, *common, "--shared-limit", f"redis://127.0.0.1:{port}/0")
    assert code == 0, output
    assert sum(n for k, n in sim.stats.requests_by_endpoint.items() if k.startswith("POST")) == 1


@pytest.mark.simulator(targets=2)
async def test_status_takes_a_run_url_as_sweep_does_and_refuses_a_bad_id_before_asking(
    rerunorch_simulator: Simulator,
) -> None:
    sim = rerunorch_simulator
    first, second = sim.target_ids
    url = f"https://app.testsigma.com/ui/td/runs/{first}"
    code, output = await _cli(sim, "status", url, f" {second}")
    assert code == 0, output
    assert f"{first} (plan " in output
    assert f"{second} (plan " in output
    asked = sim.stats.requests
    code, output = await _cli(sim, "status", str(first), "99999999999999999999")
    assert code == 2, output
    assert "id must be from 1 to 2^63-1 (the API's range)" in output
    code, output = await _cli(sim, "status", "https://app.testsigma.com/ui/td/plans/3")
    assert code == 2, output
    assert "a URL that names no run" in output
    assert sim.stats.requests == asked  # nothing asked of the server


@pytest.mark.simulator(targets=1)
async def test_status_of_a_server_that_cannot_be_reached_says_so_once_exit_2(
    rerunorch_simulator: Simulator,
) -> None:
    ids = [str(i) for i in range(2000, 2005)]
    code, output = await _cli(
        rerunorch_simulator, "status", *ids, "--base-url", "http://127.0.0.1:9"
    )
    assert code == 2, output
    assert output.count("error: cannot reach http://127.0.0.1:9 (") == 1
    assert "nothing was sent" in output


@pytest.mark.simulator(targets=1)
async def test_a_bad_id_is_quoted_once_with_where_it_is(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    targets = tmp_path / "t.txt"
    targets.write_text("2000\n20x1\n")
    code, output = await _cli(rerunorch_simulator, "sweep", "--from-file", str(targets))
    assert code == 2, output
    assert output == f"error: {targets}, line 2: id must be ASCII digits 0-9, not '20x1'\n"
    code, output = await _cli(rerunorch_simulator, "sweep", "abc")
    assert output == "error: command line, argument 1: id must be ASCII digits 0-9, not 'abc'\n"
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.simulator(targets=6, plans=2, nights=1)
async def test_init_says_how_to_try_the_plans_it_was_given_and_that_works(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    plans = [str(plan) for plan in sim.plan_ids]
    given = [arg for plan in plans for arg in ("--plan", plan)]
    code, output = await _cli(sim, "init", "--ci", "github", *given, cwd=tmp_path)
    assert code == 0, output
    (line,) = [line for line in output.splitlines() if "try it: " in line]
    tried = line.split("try it: ", 1)[1]
    assert (
        tried == f"rerunorch sweep --config rerunorch.toml {' '.join(given)} --since 24h --dry-run"
    )
    code, output = await _cli(sim, *tried.split()[1:], "--time-scale", "100", cwd=tmp_path)
    assert code == 0, output
    assert "Dry run: 6 runs would be rerun" in output


@pytest.mark.simulator(targets=1)
async def test_a_plugin_table_that_names_nothing_installed_is_said(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    config = tmp_path / "rerunorch.toml"
    config.write_text('[notify.slak]\nwebhook_url = "x"\n[strategy.failed]\n')
    code, output = await _cli(
        rerunorch_simulator, "sweep", "--config", str(config), "--dry-run", "--time-scale", "100",
        str(rerunorch_simulator.target_ids[0]),
    )  # fmt: skip
    assert code == 0, output
    assert (
        f"warning: {config}: [notify.slak] names no installed notifier (available: email, slack,"
        in output
    )
    assert "[strategy.failed]" not in output  # a table of an installed plugin is no typo


@pytest.mark.simulator(targets=1)
async def test_no_targets_says_where_they_could_come_from(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    code, output = await _cli(rerunorch_simulator, "sweep")
    assert code == 2, output
    assert "--from-report, or --plan with --since" in output
    empty = tmp_path / "failed.txt"
    empty.write_text("# tonight: none\n\n")
    code, output = await _cli(rerunorch_simulator, "sweep", "--from-file", str(empty))
    assert code == 2, output
    assert output == f"error: --from-file: {empty} holds no targets: nothing to sweep\n"
    assert rerunorch_simulator.stats.requests == 0


@pytest.mark.simulator(targets=1)
async def test_a_fleet_redis_that_refuses_says_refused_not_silent(
    rerunorch_simulator: Simulator, redis_server: RedisServer
) -> None:
    target, port = str(rerunorch_simulator.target_ids[0]), redis_server.port
    fleet = ("--fleet-name", "first-day")
    code, output = await _cli(
        rerunorch_simulator, "sweep", target, "--fleet", f"redis://:pw@127.0.0.1:{port}/99", *fleet
    )
    assert code == 2, output
    assert f"fleet first-day at redis://:***@127.0.0.1:{port}/99: Redis refused (" in output
    redis_server.stop()
    code, output = await _cli(
        rerunorch_simulator, "report", "--fleet", f"redis://127.0.0.1:{port}/0", *fleet
    )
    assert code == 2, output
    assert "Redis does not answer (" in output


async def test_the_simulators_try_line_runs_as_printed_at_its_time_scale(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rerunorch", "simulate", "--port", "0", "--time-scale", "200"]
    async with await anyio.open_process(command) as server:
        assert server.stdout is not None
        seen = b""
        with anyio.fail_after(30):
            async for chunk in server.stdout:
                seen += chunk
                if seen.count(b"rerunorch sweep") >= 2:
                    break
        try:
            line = next(t for t in seen.decode().splitlines() if t.strip().endswith("200"))
            *assignments, program, verb, target, flag, scale = line.split()
            assert (program, verb, flag, scale) == ("rerunorch", "sweep", "--time-scale", "200")
            env = {**os.environ, **dict(a.split("=", 1) for a in assignments)}
            args = ["--journal", str(tmp_path / "j.sqlite"), "--no-history", "--max-rounds", "1"]
            with anyio.fail_after(60):
                done = await anyio.run_process(
                    [sys.executable, "-m", "rerunorch", verb, target, flag, scale, *args],
                    env=env,
                    check=False,
                )
            assert done.returncode in (0, 1), done.stderr.decode()
            assert b"verdict: " in done.stdout
        finally:
            server.terminate()


@pytest.mark.simulator(targets=2)
async def test_a_key_refused_before_any_rerun_needs_no_resume(
    rerunorch_simulator: Simulator, tmp_path: Path
) -> None:
    sim = rerunorch_simulator
    args = ["sweep", "--time-scale", "1000", *map(str, sim.target_ids), "--no-history"]
    args += ["--journal", str(tmp_path / "j.sqlite")]
    env = {**os.environ, "TESTSIGMA_API_KEY": "wrong-key", "TESTSIGMA_BASE_URL": sim.base_url}
    with anyio.fail_after(60):
        refused = await anyio.run_process([sys.executable, "-m", "rerunorch", *args], env=env,
                                          check=False)  # fmt: skip
    assert refused.returncode == 2
    assert b"--resume" not in refused.stderr  # nothing was triggered: nothing to resume
    code, output = await _cli(sim, *args)  # the same command, with the right key
    assert code in (0, 1), output
