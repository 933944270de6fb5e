"""The `rerunorch` command: CliRunner tests against a `rerunorch simulate` process."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from report_keys import check_design_keys

from rerunorch.cli import cli

SCALE = "1000"


@attrs.frozen
class Server:
    url: str
    process: subprocess.Popen[str]

    def get(self, path: str) -> Any:
        with urllib.request.urlopen(self.url + path) as answer:
            return json.load(answer)

    def stats(self) -> dict[str, Any]:
        return self.get("/_simulator/stats")  # type: ignore[no-any-return]

    def targets(self) -> list[int]:
        return self.get("/_simulator/targets")["targets"]  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    command = [
        sys.executable,
        "-m",
        "rerunorch",
        "simulate",
        "--port",
        "0",
        "--seed",
        "11",
        "--targets",
        "60",
        "--time-scale",
        SCALE,
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    first = process.stdout.readline()
    match = re.search(r"(http://127\.0\.0\.1:\d+)", first)
    assert match, first
    try:
        yield Server(match.group(1), process)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def run(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    monkeypatch.setenv("TESTSIGMA_BASE_URL", server.url)

    def invoke(*args: str, input: str | None = None) -> Result:
        return CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)

    return invoke


def sweep_args(*ids: int) -> list[str]:
    return ["sweep", *map(str, ids), "--time-scale", SCALE, "--poll-interval", "1"]


def test_help_and_version(run: Any) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for command in ("sweep", "demo", "simulate", "status", "plugins", "report"):
        assert command in result.output
    assert run("--version").output.startswith("rerunorch, version ")


def test_a_bad_line_is_reported_with_its_number_and_nothing_is_sent(
    run: Any, server: Server, tmp_path: Path
) -> None:
    before = server.stats()["requests"]
    targets = tmp_path / "t.txt"
    targets.write_text(f"{server.targets()[0]}\n# comment\n\nabc\n")
    result = run("sweep", "--from-file", str(targets))
    assert result.exit_code == 2
    assert "t.txt, line 4" in result.output
    assert "'abc'" in result.output
    assert server.stats()["requests"] == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--strategy", "nope"], "unknown strategy 'nope'; available: all, all-iterations"),
        (["--notify", "pigeon"], "unknown notifier 'pigeon'; available:"),
    ],
)
def test_unknown_names_list_what_is_available(
    run: Any, server: Server, args: list[str], message: str
) -> None:
    before = server.stats()["requests"]
    result = run(*sweep_args(server.targets()[0]), *args)
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output
    assert server.stats()["requests"] == before  # found before anything was sent


def test_a_missing_or_wrong_key_exits_2_without_a_traceback(
    run: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTSIGMA_API_KEY")
    result = run(*sweep_args(server.targets()[0]))
    assert result.exit_code == 2
    assert "TESTSIGMA_API_KEY" in result.output
    monkeypatch.setenv("TESTSIGMA_API_KEY", "wrong-key")
    result = run(*sweep_args(*server.targets()[:5]))
    assert result.exit_code == 2
    assert "refused the API key" in result.output
    assert "check TESTSIGMA_API_KEY" in result.output
    assert "wrong-key" not in result.output
    assert "Traceback" not in result.output


def test_an_unreachable_host_is_named(run: Any) -> None:
    result = run(*sweep_args(1), "--base-url", "http://127.0.0.1:9", "-q")
    assert result.exit_code == 2  # nothing was sent (tests/test_reach.py has more)
    assert "cannot reach http://127.0.0.1:9 (" in result.output


def test_dry_run_prints_the_plan_and_triggers_nothing(run: Any, server: Server) -> None:
    before = server.stats()["reruns_created"]
    ids = server.targets()[:3]
    result = run(*sweep_args(*ids), "--dry-run", "--strategy", "all")
    assert result.exit_code == 0
    for target in ids:
        assert re.search(rf"{target}: triggered: would rerun {target} \(ALL_TESTS\)", result.output)
    assert server.stats()["reruns_created"] == before


def test_a_sweep_writes_all_three_reports(run: Any, server: Server, tmp_path: Path) -> None:
    ids = server.targets()[3:9]
    result = run(
        *sweep_args(*ids),
        "--report",
        "r.json",
        "--junit",
        "j.xml",
        "--markdown",
        "m.md",
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads((tmp_path / "r.json").read_text())
    check_design_keys(report, notes="notes" in report)
    assert "api_key" not in json.dumps(report["config"])
    assert "sim-api-key" not in (tmp_path / "r.json").read_text()
    assert sorted(r["target"] for r in report["results"]) == sorted(ids)
    assert result.exit_code == (1 if report["summary"]["failed"] else 0)
    junit = ET.parse(tmp_path / "j.xml").getroot()  # a suite per target, a case per test
    assert len(junit.findall("testsuite")) == 6
    assert junit.get("tests") == str(len(junit.findall(".//testcase")))
    markdown = (tmp_path / "m.md").read_text()
    assert "| Targets | 6 |" in markdown
    assert "journal: .rerunorch/journal.sqlite" in result.output
    assert "\x1b" not in result.output, "plain progress has no control characters"
    assert "[6/6]" in result.output
    named = {
        (kind, test["testCaseName"])
        for r in report["results"]
        for kind, key in (("flaky", "flaky"), ("still failing", "still_failing"))
        for test in r[key]
    }
    assert named, "the simulator's night has flaky or failing tests"
    for kind, name in named:  # the console names every test, not only counts
        assert f"\n    {name}: " in result.output
        assert f"  {kind}: plan " in result.output


def test_targets_from_stdin_as_csv_and_json_lines(run: Any, server: Server) -> None:
    first, second = server.targets()[10:12]
    stdin = f'id,testCaseResultIds\n{first},\n{{"id": {second}}}\n'
    result = run(*sweep_args(), "--from-file", "-", "--no-wait", input=stdin)
    assert result.exit_code == 0, result.output
    assert "2 targets, 2 reruns" in result.output


def test_config_file_with_env_interpolation_and_flags_overriding_it(
    run: Any, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTSIGMA_API_KEY")
    monkeypatch.setenv("MY_KEY", "sim-api-key")
    config = tmp_path / "rerunorch.toml"
    config.write_text(
        '[sweep]\napi_key = "${MY_KEY}"\nstrategy = "nope"\nwait = false\nreport = "c.json"\n'
    )
    ids = server.targets()[12:14]
    result = run(*sweep_args(*ids), "--config", str(config), "--strategy", "failed")
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "c.json").read_text())
    assert report["config"]["strategy"] == "failed"  # the flag wins
    assert report["config"]["wait"] is False  # from the file
    assert {r["outcome"] for r in report["results"]} == {"triggered"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[sweep]\nratee = 5\n", "unknown key sweep.ratee"),
        ("[sweep]\nrate = true\n", "sweep.rate must be int or float"),
        ('[sweep]\napi_key = "${NOT_SET_ANYWHERE}"\n', "NOT_SET_ANYWHERE is not set"),
        ("[sweep\n", "is not valid TOML"),
        ("[sweep]\nrate = nan\n", "sweep.rate must be a finite number, not nan"),
        ("[sweep]\ntimeout = -inf\n", "sweep.timeout must be a finite number, not -inf"),
        ("[sweep]\nconcurrency = 0\n", "sweep.concurrency: 0 is not in the range x>=1"),
        # Checked although TESTSIGMA_BASE_URL (set by the fixture) overrides it.
        ('[sweep]\nbase_url = "ftp://x.test"\n', "sweep.base_url: base URL must look like"),
    ],
)
def test_an_unreadable_config_names_the_file_and_key(
    run: Any, tmp_path: Path, text: str, message: str
) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(text)
    result = run(*sweep_args(1), "--config", str(config))
    assert result.exit_code == 2
    assert "bad.toml" in result.output
    assert message in result.output
    assert "Traceback" not in result.output


def test_api_key_file(
    run: Any, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TESTSIGMA_API_KEY")
    key = tmp_path / "key"
    key.write_text("sim-api-key\n")
    result = run(*sweep_args(server.targets()[14]), "--api-key-file", str(key), "--no-wait")
    assert result.exit_code == 0, result.output


def test_status_shows_the_chain(run: Any, server: Server) -> None:
    target = server.targets()[15]
    assert run(*sweep_args(target), "--no-wait").exit_code == 0
    result = run("status", str(target), "--json")
    assert result.exit_code == 0
    data = json.loads(result.output)
    assert data["id"] == target
    assert len(data["chain"]) == 2
    assert data["chain"][1]["id"] != target


def test_report_regenerates_from_the_journal(run: Any, server: Server, tmp_path: Path) -> None:
    ids = server.targets()[16:19]
    assert run(*sweep_args(*ids), "--no-wait", "--journal", "j.sqlite").exit_code == 0
    result = run("report", "--journal", "j.sqlite", "--report", "again.json", "--junit", "a.xml")
    assert result.exit_code == 0
    again = json.loads((tmp_path / "again.json").read_text())
    assert sorted(r["target"] for r in again["results"]) == sorted(ids)
    assert ET.parse(tmp_path / "a.xml").getroot().tag == "testsuites"


def test_a_foreign_journal_is_refused(run: Any, tmp_path: Path) -> None:
    (tmp_path / "j.sqlite").write_text("not a journal")
    result = run("report", "--journal", "j.sqlite")
    assert result.exit_code == 2
    assert "not a rerunorch journal" in result.output


def test_demo_runs_end_to_end(run: Any, tmp_path: Path) -> None:
    result = run("demo", "--targets", "6", "--time-scale", "2000", "--junit", "demo.xml")
    assert result.exit_code in (0, 1), result.output
    assert "Simulated Testsigma at http://127.0.0.1:" in result.output
    assert "  flaky: " in result.output or "  still failing: " in result.output
    assert ET.parse(tmp_path / "demo.xml").getroot().find("testsuite") is not None
