"""``rerunorch sweep --fleet``: worker processes against a simulator process and a real
redis-server; one is SIGKILLed mid-sweep and another takes its claims over."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from redis_server import RedisServer
from sim_server import SCALE, Server, serve


def _command(server: Server, redis: RedisServer, targets: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "rerunorch",
        "sweep",
        "--from-file",
        str(targets),
        "--base-url",
        server.url,
        "--time-scale",
        SCALE,
        "--fleet",
        redis.url,
        "--fleet-name",
        "night-1",
        "--fleet-lease",
        "1",
        *extra,
    ]


REPORT = [sys.executable, "-m", "rerunorch", "report", "--fleet"]
ENV = {**os.environ, "TESTSIGMA_API_KEY": "sim-api-key"}


def test_a_killed_workers_claims_are_taken_over_and_nothing_is_triggered_twice(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with serve("--targets", "24", "--run-duration", "600", "1200") as server:
        targets = tmp_path / "targets.txt"
        ids = server.targets()
        targets.write_text("\n".join(map(str, ids)) + "\n")
        victim = subprocess.Popen(
            _command(server, redis_server, targets, "--max-rounds", "1"),
            env=ENV,
            stderr=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            text=True,
        )
        assert victim.stderr is not None
        triggered = 0
        for line in victim.stderr:  # its own word that reruns are running: no polling
            triggered += " rerun " in line and "finished" not in line
            if triggered == 3:
                break
        victim.send_signal(signal.SIGKILL)
        victim.wait(timeout=10)
        victim.stderr.close()
        report, junit, markdown = (tmp_path / name for name in ("r.json", "j.xml", "s.md"))
        survivor = subprocess.run(
            _command(
                server,
                redis_server,
                targets,
                "--max-rounds",
                "1",
                "-q",
                "--report",
                str(report),
                "--junit",
                str(junit),
                "--markdown",
                str(markdown),
            ),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert survivor.returncode in (0, 1), survivor.stderr
        stats = server.get("/_simulator/stats")
    assert stats["duplicate_rerun_attempts"] == 0
    data = json.loads(report.read_text())
    results = data["results"]
    assert sorted(r["target"] for r in results) == sorted(ids), "every target, once"
    assert not [r for r in results if r["outcome"] in ("interrupted", "error")]
    assert any("taken over" in note for note in data["notes"]), data["notes"]
    assert stats["reruns_created"] == len(ids) == data["summary"]["triggered"]
    assert junit.read_text().count("<testcase") >= len(ids)
    assert data["config"]["fleet"] == "night-1"
    assert data["summary"]["device_seconds"] > 0  # the survivor's: the victim's went with it
    assert data["summary"]["makespan_seconds"] > 0

    # The report of the fleet, written apart, is the same, target for target.
    again = tmp_path / "again.json"
    done = subprocess.run(
        [*REPORT, redis_server.url, "--fleet-name", "night-1", "--report", str(again)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == survivor.returncode, done.stderr
    assert json.loads(again.read_text())["results"] == results


def test_other_targets_and_bad_fleet_options_are_refused_with_exit_2(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    with serve("--targets", "4") as server:
        ids = server.targets()
        first, other = tmp_path / "first.txt", tmp_path / "other.txt"
        first.write_text("\n".join(map(str, ids)) + "\n")
        other.write_text("\n".join(map(str, ids[:2])) + "\n")
        ran = subprocess.run(
            _command(server, redis_server, first, "-q"),
            env=ENV,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert ran.returncode in (0, 1), ran.stderr
        # The config file's keys: the name (from the environment) joins the fleet, done.
        config = tmp_path / "rerunorch.toml"
        config.write_text('[sweep]\nfleet_name = "${FLEET}"\nfleet_lease = 5\n')
        from_config = [*_command(server, redis_server, first)[:-4], "--config", str(config)]
        joined = subprocess.run(
            from_config,
            env={**ENV, "FLEET": "night-1"},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert joined.returncode == ran.returncode, joined.stderr
        assert "0 target(s) claimed" in joined.stderr, joined.stderr
        config.write_text('[sweep]\nfleet_name = "${FLEET}"\nfleet_lease = 0.01\n')
        cases = [
            (_command(server, redis_server, other), "sweeps other targets"),
            (from_config, "fleet_lease: 0.01 is not in the range"),
            (_command(server, redis_server, first, "--shard", "1/2"), "does not take --shard"),
            (_command(server, redis_server, first, "--max-active", "2"), "needs --rate"),
            (_command(server, redis_server, first)[:-4], "go together"),
            (_command(server, redis_server, first, "--fleet-name", "a b"), "--fleet-name must"),
        ]
        before = server.requests()
        for command, message in cases:
            done = subprocess.run(
                command,
                env={**ENV, "FLEET": "night-1"},
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            assert done.returncode == 2, (command, done.stderr)
            assert message in done.stderr, done.stderr
        assert server.requests() == before, "nothing was sent to Testsigma"
    missing = subprocess.run(
        [*REPORT, redis_server.url, "--fleet-name", "no-such"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 2
    assert "no such fleet" in missing.stderr


def test_under_max_active_the_fleet_publishes_the_longest_rerun_first(
    redis_server: RedisServer, tmp_path: Path
) -> None:
    import redis

    with serve("--targets", "12", "--run-duration", "60", "1500") as server:
        ids = server.targets()
        expected = {}
        for target in ids:  # read before anything is swept: the share of tests not passed
            run = _run(server, target)
            share = (run["totalCount"] - run["passedCount"]) / run["totalCount"]
            expected[target] = run["duration"] * share
        targets = tmp_path / "targets.txt"
        targets.write_text("\n".join(map(str, ids)) + "\n")
        command = _command(server, redis_server, targets, "--max-active", "3", "--rate", "200")
        command += ["--max-rounds", "1"]
        workers = [
            subprocess.Popen([*command, "-q"], env=ENV, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        for worker in workers:
            _, err = worker.communicate(timeout=120)
            assert worker.returncode in (0, 1), err
        stats = server.get("/_simulator/stats")
    client = redis.Redis.from_url(redis_server.url)
    rows = client.xrange("rerunorch:fleet:night-1:stream")
    client.close()
    published = [json.loads(fields[b"t"])["id"] for _, fields in rows]
    assert published == sorted(ids, key=lambda t: -expected[t]), "published once, longest first"
    assert stats["duplicate_rerun_attempts"] == 0
    assert stats["reruns_created"] == len(ids)


def _run(server: Server, target: int) -> dict[str, int]:
    import urllib.request

    request = urllib.request.Request(
        f"{server.url}/api/v1/execution_results/{target}",
        headers={"Authorization": "Bearer sim-api-key"},
    )
    with urllib.request.urlopen(request) as answer:
        found: dict[str, int] = json.load(answer)
    return found
