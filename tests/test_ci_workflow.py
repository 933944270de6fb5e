"""The README's GitHub Actions job works on a fresh runner: it checks out, installs rerunorch
and every notifier it uses from the repository (rerunorch is not on PyPI), has a trigger, and
its sweep, run against the simulator, posts to a Slack-like server and appends to the job
summary.

PyYAML (a test extra) reads the job as GitHub would.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import test_cli
import yaml
from click.testing import CliRunner
from test_cli import SCALE, Server

from rerunorch.cli import cli

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REPOSITORY = "https://github.com/rerunorch/rerunorch"

server = test_cli.server  # a `rerunorch simulate` process


def readme_block(language: str, after: str) -> str:
    """The first ``language`` code block of the README after the text ``after``."""
    match = re.search(rf"```{language}\n(.*?)```", README.split(after, 1)[1], flags=re.S)
    assert match, f"no {language} block after {after!r}"
    return match[1]


def workflow() -> dict[Any, Any]:
    data = yaml.safe_load(readme_block("yaml", "**4. Every night in CI.**"))
    assert isinstance(data, dict)
    return data


def steps() -> list[dict[str, Any]]:
    (job,) = workflow()["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    return list(job["steps"])


def sweep_step() -> dict[str, Any]:
    (step,) = [s for s in steps() if "rerunorch sweep" in s.get("run", "")]
    return step


def sweep_words() -> list[str]:
    """The sweep command of the job, as the shell splits it."""
    script = sweep_step()["run"].replace("\\\n", " ")
    (line,) = [line for line in script.splitlines() if line.strip().startswith("rerunorch sweep")]
    return shlex.split(line, comments=True)


def installed() -> dict[str, str]:
    """What the install step installs: distribution name -> pip requirement."""
    (step,) = [s for s in steps() if "pip install" in s.get("run", "")]
    words = shlex.split(step["run"])
    assert words[:2] == ["pip", "install"]
    return {word.split(" @ ")[0]: word for word in words[2:]}


def test_the_job_has_a_trigger() -> None:
    # YAML 1.1 reads a bare `on` key as True, as PyYAML does; GitHub reads it as "on".
    triggers = workflow().get("on", workflow().get(True))
    assert isinstance(triggers, dict)
    (schedule,) = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert "workflow_dispatch" in triggers


def test_the_job_checks_out_first_and_installs_from_the_repository() -> None:
    uses = [step.get("uses", "") for step in steps()]
    assert uses[0].startswith("actions/checkout@")
    assert any(use.startswith("actions/setup-python@") for use in uses)
    requirements = installed()
    assert requirements["rerunorch"] == f"rerunorch @ git+{REPOSITORY}"
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "rerunorch"
    assert project["urls"]["Documentation"].startswith(REPOSITORY)


def test_every_notifier_the_sweep_uses_is_installed_by_the_job() -> None:
    words = sweep_words()
    notifiers = [words[n + 1] for n, word in enumerate(words) if word == "--notify"]
    assert notifiers == ["slack"]
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    providers = {
        name: plugin["distribution"]
        for plugin in json.loads(result.output)["plugins"]
        for name in plugin["notifiers"]
    }
    requirements = installed()
    for name in notifiers:
        distribution = providers[name]
        assert distribution in requirements, f"--notify {name} needs {distribution} installed"
        if distribution == "rerunorch":
            continue  # a notifier of the core
        requirement = requirements[distribution]
        prefix = f"{distribution} @ git+{REPOSITORY}#subdirectory="
        assert requirement.startswith(prefix), requirement
        folder = ROOT / requirement.removeprefix(prefix)
        meta = tomllib.loads((folder / "pyproject.toml").read_text())["project"]
        assert meta["name"] == distribution, f"{folder} is not {distribution}"


def test_every_flag_of_the_sweep_exists() -> None:
    words = sweep_words()
    assert words[:2] == ["rerunorch", "sweep"]
    flags = {word.split("=")[0] for word in words if word.startswith("--")}
    assert {"--plan", "--since", "--config", "--junit", "--markdown", "--notify"} <= flags
    help_text = CliRunner().invoke(cli, ["sweep", "--help"], terminal_width=200).output
    for flag in flags:
        assert re.search(rf"(^|[ ,/]){re.escape(flag)}\b", help_text, flags=re.M), flag
    assert words[words.index("--markdown") + 1] == "$GITHUB_STEP_SUMMARY"
    junit = words[words.index("--junit") + 1]
    (upload,) = [s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact@")]
    assert upload["if"] == "always()"
    assert upload["with"]["path"] == junit
    env = sweep_step()["env"]
    assert env["TESTSIGMA_API_KEY"] == "${{ secrets.TESTSIGMA_API_KEY }}"
    assert env["SLACK_WEBHOOK_URL"] == "${{ secrets.SLACK_WEBHOOK_URL }}"


def test_the_jobs_sweep_runs_against_the_simulator(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("aiosmtpd")  # test_notifiers_e2e, whose Slack-like server is used
    from test_notifiers_e2e import SLACK_PATH, Endpoint

    monkeypatch.chdir(tmp_path)
    # The README's config file, with its base URL overridden by the environment.
    (tmp_path / "rerunorch.toml").write_text(readme_block("toml", "## Config file"))
    # The job's two plans become the plans of two of the simulator's failed runs (in its
    # default night every run has a plan of its own, started within the last day).
    runs = server.targets()[50:52]
    plans = [str(_plan_of(server, run)) for run in runs]
    summary = tmp_path / "step_summary.md"
    summary.write_text("## Earlier in this step\n", encoding="utf-8")
    with Endpoint(SLACK_PATH) as slack:
        env = {
            "TESTSIGMA_API_KEY": "sim-api-key",
            "TESTSIGMA_BASE_URL": server.url,
            "SLACK_WEBHOOK_URL": slack.url,
            "GITHUB_STEP_SUMMARY": str(summary),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        args = [os.path.expandvars(word) for word in sweep_words()[1:]]
        for at, plan in zip([n for n, w in enumerate(args) if w == "--plan"], plans, strict=True):
            args[at + 1] = plan
        result = CliRunner().invoke(
            cli, [*args, "--time-scale", SCALE, "--poll-interval", "1"], catch_exceptions=False
        )
    assert result.exit_code in (0, 1), result.output
    assert len(slack.bodies) == 1, result.output
    assert "blocks" in json.loads(slack.bodies[0])
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Earlier in this step\n## rerunorch: ")
    assert (tmp_path / "rerunorch.xml").is_file()
    assert "reports: JUnit rerunorch.xml, Markdown " in result.output
    assert "summary: 2 targets," in result.output  # the two plans' failed runs, no more


def _plan_of(server: Server, run: int) -> int:
    request = urllib.request.Request(
        f"{server.url}/api/v1/execution_results/{run}",
        headers={"Authorization": "Bearer sim-api-key", "Accept": "application/json"},
    )
    with urllib.request.urlopen(request) as answer:
        return int(json.load(answer)["executionId"])
