"""docs/plugins.md documents every hook, and its examples work as written."""

from __future__ import annotations

import ast
import json
import re
import sys
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sim_server import SCALE, Server, serve

from rerunorch import Clock, SweepReport
from rerunorch.cli import cli
from rerunorch.notify import run_notifiers
from rerunorch.plugins import PluginManager, hookspecs
from rerunorch.testing import Simulator

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
HOOKS = sorted(name for name in vars(hookspecs) if name.startswith("rerunorch_"))


def text() -> str:
    return DOC.read_text(encoding="utf-8")


def sections() -> dict[str, str]:
    """``### `rerunorch_x``` heading -> the text up to the next heading."""
    parts = re.split(r"^(#{2,3} .*)$", text(), flags=re.MULTILINE)
    found = {}
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        match = re.fullmatch(r"### `(rerunorch_\w+)`", heading.strip())
        if match:
            found[match.group(1)] = body
    return found


def blocks(body: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", body, flags=re.MULTILINE | re.DOTALL)


def example_module(hook: str) -> types.ModuleType:
    """The hook's first Python example, run as a module."""
    [first, *_] = blocks(sections()[hook], "python")
    module = types.ModuleType(f"docs_{hook}")
    exec(compile(first, f"{DOC}:{hook}", "exec"), module.__dict__)
    return module


def test_hooks_are_found() -> None:
    assert "rerunorch_register_strategies" in HOOKS
    assert len(HOOKS) >= 8


def test_every_hook_spec_is_documented() -> None:
    documented = sections()
    assert [hook for hook in HOOKS if hook not in documented] == []
    assert [hook for hook in documented if hook not in HOOKS] == []  # no stale sections


@pytest.mark.parametrize("hook", HOOKS)
def test_each_hook_has_an_example_that_registers_cleanly(hook: str) -> None:
    module = example_module(hook)
    manager = PluginManager(strict=True, builtins=False)
    assert manager.register(module, name="example") == "example"
    [info] = manager.describe()
    assert hook in info.hooks
    assert manager.failed == ()


def test_every_code_block_parses() -> None:
    flags = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT
    for block in blocks(text(), "python"):
        compile(block, str(DOC), "exec", flags=flags)
    for block in blocks(text(), "toml"):
        tomllib.loads(block)


def test_the_environment_variables_are_documented() -> None:
    for name in ("RERUNORCH_PLUGINS", "RERUNORCH_DISABLE_PLUGINS", "RERUNORCH_STRICT_PLUGINS"):
        assert f"`{name}`" in text()
    assert "[project.entry-points.rerunorch]" in text()


async def test_the_documented_notifier_writes_its_line(tmp_path: Path) -> None:
    manager = PluginManager(strict=True, builtins=False)
    manager.register(example_module("rerunorch_register_notifiers"))
    report = SweepReport(started_at=0.0, config={}, finished_at=1.0)
    out = tmp_path / "sweeps.jsonl"
    warnings = await run_notifiers(["jsonl"], manager.notifiers(), report, {"jsonl": {"path": out}})
    assert warnings == []
    assert '"targets": 0' in out.read_text()


@pytest.mark.simulator(targets=4, passed_targets=1)
async def test_the_documented_plugin_test_passes(
    rerunorch_simulator: Simulator,
    rerunorch_simulator_clock: Clock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The "Testing with the simulator" example, with the strategy example as its plugin.
    monkeypatch.setitem(
        sys.modules, "rerunorch_outage", example_module("rerunorch_register_strategies")
    )
    [testing] = blocks(text().split("## Testing with the simulator", 1)[1], "python")[:1]
    namespace: dict[str, object] = {}
    exec(compile(testing, f"{DOC}:testing", "exec"), namespace)
    test = namespace["test_outage_strategy_drives_a_sweep"]
    await test(rerunorch_simulator, rerunorch_simulator_clock)  # type: ignore[operator]


# -- the settings example ------------------------------------------------------------------


def settings_section() -> str:
    return text().split("## Settings:", 1)[1].split("\n## ", 1)[0]


def matching_source() -> str:
    return blocks(settings_section(), "python")[0]


@pytest.fixture
def matching(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The settings example, importable as ``rerunorch_matching`` (as its tests do)."""
    module = types.ModuleType("rerunorch_matching")
    monkeypatch.setitem(sys.modules, "rerunorch_matching", module)
    exec(compile(matching_source(), f"{DOC}:settings", "exec"), module.__dict__)
    return module


def settings_tests() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(
        compile(blocks(settings_section(), "python")[1], f"{DOC}:settings-tests", "exec"), namespace
    )
    return namespace


def test_the_documented_settings_checks_hold(matching: types.ModuleType) -> None:
    settings_tests()["test_a_missing_or_bad_pattern_is_named"]()


@pytest.mark.simulator(targets=4, passed_targets=0)
async def test_the_documented_settings_sweep_passes(
    matching: types.ModuleType, rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock
) -> None:
    test = settings_tests()["test_only_matching_tests_are_rerun"]
    await test(rerunorch_simulator, rerunorch_simulator_clock)
    # The example must have rerun something for its checks to mean anything.
    assert rerunorch_simulator.stats.reruns_created > 0


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--seed", "5", "--targets", "12") as started:
        yield started


@pytest.fixture
def sweep(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``rerunorch sweep`` with the settings example in ``plugins/`` of a fresh directory."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    monkeypatch.setenv("TESTSIGMA_BASE_URL", server.url)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "rerunorch_matching.py").write_text(matching_source())
    [config] = blocks(settings_section(), "toml")
    (tmp_path / "sweep.toml").write_text(f'[sweep]\nplugins_dir = "plugins"\n\n{config}')

    def invoke(*args: str) -> Result:
        command = ["sweep", "--time-scale", SCALE, "--poll-interval", "1", *args]
        return CliRunner().invoke(cli, command, catch_exceptions=False)

    return invoke


def test_done_when_the_regex_comes_from_the_table_and_shows_in_the_report(
    sweep: Any, server: Server
) -> None:
    ids = [str(i) for i in server.targets()[:3]]
    result = sweep(
        *ids, "--config", "sweep.toml", "--strategy", "failed-matching", "--report", "r.json"
    )
    assert result.exit_code in (0, 1), result.output
    report = json.loads(Path("r.json").read_text())
    assert report["config"]["strategy"] == "failed-matching"
    assert report["config"]["strategy_settings"] == {"pattern": "^(Login|Search)"}
    chosen = [r for r in report["results"] if r["outcome"] != "skipped"]
    assert chosen, report["results"]
    for result_ in chosen:
        assert result_["re_run_type"] == "USER_PICKED"
        assert "matching '^(Login|Search)'" in result_["reason"]


def test_done_when_a_missing_regex_stops_the_sweep_before_any_request(
    sweep: Any, server: Server
) -> None:
    Path("empty.toml").write_text('[sweep]\nplugins_dir = "plugins"\n')
    before = server.requests()
    ids = [str(i) for i in server.targets()[:3]]
    result = sweep(*ids, "--config", "empty.toml", "--strategy", "failed-matching")
    assert result.exit_code == 2, result.output
    assert result.output == "error: strategy.failed-matching.pattern is required\n"
    assert server.requests() == before


def test_an_option_on_the_command_line_wins_over_the_table(sweep: Any, server: Server) -> None:
    ids = [str(server.targets()[3])]
    args = ["--config", "sweep.toml", "--strategy", "failed-matching", "--dry-run", "--report", "-"]
    result = sweep(*ids, *args, "-o", "pattern=^Pay", "-o", "ignore_case=true")
    assert result.exit_code == 0, result.output
    config = json.loads(result.stdout)["config"]
    assert config["strategy_settings"] == {"ignore_case": True, "pattern": "^Pay"}
    assert server.requests() > 0


def test_done_when_a_malformed_slack_url_exits_2_before_any_request(
    sweep: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_WEBHOOK_URL", "hooks.slack.com/services/T0/B0/secret")
    before = server.requests()
    result = sweep(str(server.targets()[4]), "--notify", "slack")
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: notify.slack.webhook_url (or SLACK_WEBHOOK_URL) must be an http(s) URL\n"
    )
    assert "secret" not in result.output
    assert server.requests() == before
