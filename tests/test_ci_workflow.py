"""``rerunorch init`` and the CI jobs it writes: they work on a fresh runner.

The README's GitHub Actions example is the file ``init --ci github`` writes. PyYAML (a test
extra) reads the jobs as the CI would; the commands of their steps that call rerunorch run
in bash against a ``rerunorch simulate`` process, the install step left out (rerunorch is
installed here) and the secrets set to the simulator's.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import test_cli
import yaml
from click.testing import CliRunner
from test_cli import SCALE, Server

from rerunorch.cli import cli
from rerunorch.cli.config import load_config
from rerunorch.cli.init import CI_FILES, CONFIG_FILE, GITLAB_JOB, GITLAB_PIPELINE, files
from rerunorch.journal import DEFAULT_JOURNAL

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
REPOSITORY = "https://github.com/rerunorch/rerunorch"
INSTALL = f'pip install "rerunorch @ git+{REPOSITORY}"'
BIN = str(Path(sys.executable).parent)  # where this environment's `rerunorch` is

server = test_cli.server  # a `rerunorch simulate` process


def readme_block(language: str, after: str) -> str:
    """The first ``language`` code block of the README after the text ``after``."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.search(rf"```{language}\n(.*?)```", readme.split(after, 1)[1], flags=re.S)
    assert match, f"no {language} block after {after!r}"
    return match[1]


def github(plans: tuple[int, ...] | None = None) -> dict[str, Any]:
    text = files("github", *([plans] if plans else []))[CI_FILES["github"]]
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


def github_steps(data: dict[str, Any]) -> list[dict[str, Any]]:
    (job,) = data["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    return list(job["steps"])


def gitlab_job() -> dict[str, Any]:
    (job,) = yaml.safe_load(files("gitlab")[GITLAB_JOB]).values()
    assert isinstance(job, dict)
    return job


def config() -> dict[str, Any]:
    """The ``[sweep]`` table of the generated config (read with the real reader below)."""
    table = tomllib.loads(files()[CONFIG_FILE])["sweep"]
    assert isinstance(table, dict)
    return table


def sweep_words(script: str) -> list[str]:
    """The sweep command of a script, as the shell splits it (variables unexpanded)."""
    (line,) = [line for line in script.splitlines() if line.strip().startswith("rerunorch sweep")]
    return shlex.split(line, comments=True)


# --- the files ------------------------------------------------------------------------------


def test_the_readme_example_is_the_workflow_init_writes() -> None:
    generated = files("github")[CI_FILES["github"]]
    shown = readme_block("yaml", "**4. Every night in CI.**")
    assert shown == generated, (
        "the README's CI example differs from `rerunorch init --ci github`: "
        "paste the output of `rerunorch init --ci github` (.github/workflows/rerunorch.yml)"
    )


def test_init_writes_the_files_and_never_replaces_one_without_force(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--ci", "github"])
    assert result.exit_code == 0, result.output
    for path, text in files("github").items():
        assert Path(path).read_text(encoding="utf-8") == text
        assert f"wrote {path}" in result.output
    assert "replace the example plans 274 and 275" in result.output
    Path(CONFIG_FILE).write_text("# mine\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", "--ci", "github"])
    assert result.exit_code == 2
    assert f"already there: {CONFIG_FILE}, {CI_FILES['github']}" in result.output
    assert "--force" in result.output
    assert Path(CONFIG_FILE).read_text(encoding="utf-8") == "# mine\n"
    result = runner.invoke(cli, ["init", "--ci", "github", "--plan", "9", "--force"])
    assert result.exit_code == 0, result.output
    assert Path(CONFIG_FILE).read_text(encoding="utf-8") == files()[CONFIG_FILE]
    assert "--plan 9 --since 24h" in Path(CI_FILES["github"]).read_text(encoding="utf-8")


def test_init_for_gitlab_includes_its_job_and_leaves_a_pipeline_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = CliRunner()
    (tmp_path / "mine").mkdir()
    (tmp_path / "new").mkdir()
    monkeypatch.chdir(tmp_path / "mine")
    Path(GITLAB_PIPELINE).write_text("test:\n  script: [make test]\n", encoding="utf-8")
    result = runner.invoke(cli, ["init", "--ci", "gitlab", "--force"])
    assert result.exit_code == 0, result.output
    assert Path(GITLAB_PIPELINE).read_text(encoding="utf-8") == "test:\n  script: [make test]\n"
    assert f"- local: {GITLAB_JOB}" in result.output
    assert Path(GITLAB_JOB).read_text(encoding="utf-8") == files("gitlab")[GITLAB_JOB]
    monkeypatch.chdir(tmp_path / "new")
    assert runner.invoke(cli, ["init", "--ci", "gitlab"]).exit_code == 0
    include = yaml.safe_load(Path(GITLAB_PIPELINE).read_text(encoding="utf-8"))
    assert include == {"include": [{"local": GITLAB_JOB}]}


def test_init_names_what_it_cannot_do(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--plan", "274"])
    assert result.exit_code == 2
    assert "--plan names the plans of the CI job: add --ci" in result.output
    Path(CI_FILES["github"]).mkdir(parents=True)  # a folder where the workflow goes
    result = runner.invoke(cli, ["init", "--ci", "github", "--force"])
    assert result.exit_code == 2
    assert f"error: cannot write {CI_FILES['github']}: Is a directory" in result.output


@pytest.mark.parametrize("plan", ["+5", "0", "274,275", "x"])
def test_a_bad_plan_is_refused_and_nothing_is_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, plan: str
) -> None:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(cli, ["init", "--ci", "github", "--plan", plan])
    assert result.exit_code == 2
    assert "--plan" in result.output
    assert not list(Path().iterdir())


def test_every_key_of_the_config_is_valid_also_those_commented_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = files()[CONFIG_FILE]
    (tmp_path / "as-written.toml").write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "as-written.toml")["sweep"] == config()
    # Uncomment each `# key = value` line and each `# [table]`: the real reader takes them all.
    uncommented = re.sub(r"(?m)^# (?=[a-z_]+ = |\[)", "", text)
    assert uncommented != text
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "https://hooks.example/T0/B0/x")
    (tmp_path / "uncommented.toml").write_text(uncommented, encoding="utf-8")
    loaded = load_config(tmp_path / "uncommented.toml")
    assert {"plans", "since", "rate", "markdown", "journal", "notify"} <= set(loaded["sweep"])
    assert loaded["notify"] == {"slack": {"webhook_url": "https://hooks.example/T0/B0/x"}}
    assert loaded["sweep"]["journal"] == DEFAULT_JOURNAL


def test_the_github_job_has_a_trigger_checks_out_and_installs_from_the_repository() -> None:
    data = github()
    # YAML 1.1 reads a bare `on` key as True, as PyYAML does; GitHub reads it as "on".
    triggers = data.get("on", data.get(True))
    assert isinstance(triggers, dict)
    (schedule,) = triggers["schedule"]
    assert len(schedule["cron"].split()) == 5
    assert triggers["workflow_dispatch"]["inputs"]["resume"]["type"] == "boolean"
    steps = github_steps(data)
    uses = [step.get("uses", "") for step in steps]
    assert uses[0].startswith("actions/checkout@")
    assert uses[1].startswith("actions/setup-python@")
    assert [step["run"] for step in steps if "pip install" in step.get("run", "")] == [INSTALL]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["name"] == "rerunorch"
    assert project["urls"]["Documentation"].startswith(REPOSITORY)


def test_the_github_job_keeps_the_journal_and_uploads_the_reports() -> None:
    steps = github_steps(github())
    names = [step.get("uses", "").split("@")[0] or step.get("run", "") for step in steps]
    at = {name: n for n, name in enumerate(names)}
    (sweep_at,) = [n for n, name in enumerate(names) if name.startswith("rerunorch sweep")]
    restore, save = steps[at["actions/cache/restore"]], steps[at["actions/cache/save"]]
    assert at["actions/cache/restore"] < sweep_at < at["actions/cache/save"]
    # Saved after a sweep that failed (exit 1 or 3) too: not only on success, as
    # actions/cache would; a cancelled run's journal is not kept.
    assert save["if"] == "success() || failure()"
    assert restore["with"]["path"] == save["with"]["path"] == str(Path(DEFAULT_JOURNAL).parent)
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])
    upload = steps[at["actions/upload-artifact"]]
    assert upload["if"] == "always()"
    assert upload["with"]["path"].split() == [config()["junit"], config()["report"]]


def test_every_flag_of_the_jobs_sweeps_exists() -> None:
    help_text = CliRunner().invoke(cli, ["sweep", "--help"], terminal_width=200).output
    scripts = [s["run"] for s in github_steps(github()) if "rerunorch sweep" in s.get("run", "")]
    scripts += gitlab_job()["script"]
    for script in scripts:
        if "rerunorch sweep" not in script:
            continue
        words = sweep_words(script)
        assert words[:4] == ["rerunorch", "sweep", "--config", CONFIG_FILE]
        flags = {word for word in words if word.startswith("--")}
        assert {"--plan", "--since", "--markdown"} <= flags
        for flag in flags:
            assert re.search(rf"(^|[ ,/]){re.escape(flag)}\b", help_text, flags=re.M), flag


def test_the_gitlab_job_runs_on_schedule_caches_the_journal_and_reports_junit() -> None:
    job = gitlab_job()
    sources = {rule["if"] for rule in job["rules"]}
    assert sources == {'$CI_PIPELINE_SOURCE == "schedule"', '$CI_PIPELINE_SOURCE == "web"'}
    assert job["image"].startswith("python:3.")
    assert "slim" not in job["image"]  # a slim image has no git, which pip needs here
    assert job["cache"]["paths"] == [str(Path(DEFAULT_JOURNAL).parent) + "/"]
    assert job["cache"]["when"] == "always"
    assert job["script"][0] == INSTALL
    assert job["artifacts"]["when"] == "always"
    assert job["artifacts"]["reports"]["junit"] == config()["junit"]
    markdown = sweep_words(job["script"][1])[-1]
    assert job["artifacts"]["paths"] == [config()["junit"], config()["report"], markdown]


# --- the jobs, run against the simulator ----------------------------------------------------


def _plans(server: Server, runs: list[int]) -> tuple[int, ...]:
    """The test plans of ``runs`` (in the simulator's default night every run has its own)."""
    plans = []
    for run in runs:
        request = urllib.request.Request(
            f"{server.url}/api/v1/execution_results/{run}",
            headers={"Authorization": "Bearer sim-api-key", "Accept": "application/json"},
        )
        with urllib.request.urlopen(request) as answer:
            plans.append(int(json.load(answer)["executionId"]))
    return tuple(plans)


def _write(ci: str, plans: tuple[int, ...], folder: Path) -> None:
    """``rerunorch init --ci CI --plan ...`` in ``folder``."""
    done = subprocess.run(
        [f"{BIN}/rerunorch", "init", "--ci", ci, *[f"--plan={plan}" for plan in plans]],
        cwd=folder,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def _bash(script: str, folder: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``script`` as GitHub runs a step (bash -e, pipefail), the sweep's clock matched."""
    assert "${{" not in script, "an expression GitHub would expand: set it in env instead"
    script = script.replace("rerunorch sweep", f"rerunorch sweep --time-scale {SCALE}")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=folder,
        env={**os.environ, "PATH": BIN + os.pathsep + os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _check_verdict(done: subprocess.CompletedProcess[str]) -> None:
    """The sweep exits 0, or as its verdict says (exit 1: some test still fails)."""
    output = done.stdout + done.stderr
    assert done.returncode in (0, 1), output
    (verdict,) = [line for line in output.splitlines() if line.startswith("verdict: ")]
    assert f": exit {done.returncode}," in verdict, output
    assert "summary: 2 targets," in output  # the two plans' failed runs, no more


def _check_reports(folder: Path) -> None:
    junit = ET.parse(folder / config()["junit"]).getroot()
    assert junit.tag in ("testsuites", "testsuite")
    report = json.loads((folder / config()["report"]).read_text(encoding="utf-8"))
    assert report["summary"]["targets"] == 2
    assert (folder / DEFAULT_JOURNAL).is_file()  # what the cache keeps


def test_the_github_job_runs_against_the_simulator(server: Server, tmp_path: Path) -> None:
    _write("github", _plans(server, server.targets()[50:52]), tmp_path)
    data = yaml.safe_load((tmp_path / CI_FILES["github"]).read_text(encoding="utf-8"))
    summary = tmp_path / "step_summary.md"
    summary.write_text("## Earlier in this step\n", encoding="utf-8")
    secrets = {"TESTSIGMA_API_KEY": "sim-api-key"}
    steps = [s for s in github_steps(data) if "rerunorch" in s.get("run", "")]
    assert steps[0]["run"] == INSTALL
    for resume in ("", "--resume"):  # a scheduled run, then one by hand with `resume` ticked
        for step in steps[1:]:
            env = {
                "TESTSIGMA_BASE_URL": server.url,
                "GITHUB_STEP_SUMMARY": str(summary),
                "RESUME": resume,
                **secrets,
            }
            assert set(step.get("env", {})) <= set(env), "a variable the test does not set"
            done = _bash(step["run"], tmp_path, env)
            _check_verdict(done)
            assert f"Markdown {summary}" in done.stdout + done.stderr
    _check_reports(tmp_path)
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Earlier in this step\n## rerunorch")
    assert text.count("## rerunorch") == 2  # appended to by each run, never replaced


def test_the_gitlab_job_runs_against_the_simulator(server: Server, tmp_path: Path) -> None:
    _write("gitlab", _plans(server, server.targets()[52:54]), tmp_path)
    (job,) = yaml.safe_load((tmp_path / GITLAB_JOB).read_text(encoding="utf-8")).values()
    assert job["script"][0] == INSTALL
    env = {"TESTSIGMA_BASE_URL": server.url, "TESTSIGMA_API_KEY": "sim-api-key"}
    env.update({name: str(value) for name, value in job["variables"].items()})
    for line in job["script"][1:]:
        _check_verdict(_bash(line, tmp_path, env))
    _check_reports(tmp_path)
    for path in job["artifacts"]["paths"]:
        assert (tmp_path / path).is_file(), path
