"""Plugin settings, local plugins, discoverability and dry runs (issue 13)."""

from __future__ import annotations

import dataclasses
import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from click.testing import CliRunner, Result
from sim_server import SCALE, Server, serve

from rerunorch import ConfigError, OutcomeKind, Secret, Sweep, SweepSettings, read_settings
from rerunorch.cli import cli
from rerunorch.outcome import Outcome
from rerunorch.plugins import PluginManager, load_plugins
from rerunorch.plugins.settings import configure_plugin, mask_settings, parse_option
from rerunorch.testing import Simulator

pytest_plugins = ["pytester"]

# A local plugin: a notifier that takes a `path` setting and writes there when told.
TOUCH_PLUGIN = """
from pathlib import Path

from rerunorch import ConfigError, hookimpl


class Touch:
    name = "touch"

    def __init__(self, path=None):
        self.path = path

    def configure(self, options):
        if "path" not in options:
            raise ConfigError("notify.touch.path is required")
        return Touch(Path(options["path"]))

    async def notify(self, report, options):
        self.path.write_text(str(report.summary.targets))


@hookimpl
def rerunorch_register_notifiers(register):
    register(Touch())
"""


@pytest.fixture(autouse=True)
def fresh_plugins() -> Iterator[None]:
    load_plugins.cache_clear()
    yield
    load_plugins.cache_clear()


# -- read_settings, parse_option, mask_settings, configure_plugin ----------------------------


@attrs.frozen
class Knobs:
    pattern: str
    limit: int = 3
    share: float = 0.5
    strict: bool = False
    labels: tuple[str, ...] = ()
    token: Secret | None = None
    mode: str = attrs.field(default="a", validator=attrs.validators.in_(["a", "b"]))


def test_read_settings_builds_the_typed_object() -> None:
    options = {"pattern": "^x", "limit": 5, "share": 1, "labels": ["a"], "token": "t0p"}
    knobs = read_settings(Knobs, options, table="strategy.k")
    assert knobs == Knobs(pattern="^x", limit=5, share=1.0, labels=("a",), token=Secret("t0p"))
    assert isinstance(knobs.share, float)
    assert "t0p" not in repr(knobs)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "strategy.k.pattern is required"),
        ({"pattern": "x", "limt": 1}, "strategy.k: unknown key 'limt' (known: labels, limit, "),
        ({"pattern": "x", "limit": True}, "strategy.k.limit must be int, not True"),
        ({"pattern": "x", "strict": "yes"}, "strategy.k.strict must be bool, not 'yes'"),
        ({"pattern": 5}, "strategy.k.pattern must be str, not 5"),
        ({"pattern": "x", "labels": "a"}, "strategy.k.labels must be a list of strings"),
        ({"pattern": "x", "token": 5}, "strategy.k.token must be a string"),
        ({"pattern": "x", "mode": "c"}, "strategy.k: 'mode' must be in"),
    ],
)
def test_read_settings_names_the_table_and_key(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        read_settings(Knobs, options, table="strategy.k")
    assert str(caught.value).startswith(message)


def test_read_settings_takes_dataclasses_too() -> None:
    @dataclasses.dataclass(frozen=True)
    class Plain:
        path: str
        depth: int = dataclasses.field(default=1)

    assert read_settings(Plain, {"path": "p"}, table="t") == Plain("p", 1)
    with pytest.raises(ConfigError, match=r"^t\.path is required$"):
        read_settings(Plain, {}, table="t")


@pytest.mark.parametrize(
    ("text", "pair"),
    [
        ("limit=5", ("limit", 5)),
        ("strict=true", ("strict", True)),
        ("pattern=^Login.*", ("pattern", "^Login.*")),
        ('name="123"', ("name", "123")),
        ('labels=["a", "b"]', ("labels", ["a", "b"])),
        (" key = x=y", ("key", " x=y")),
    ],
)
def test_parse_option(text: str, pair: tuple[str, Any]) -> None:
    assert parse_option(text, flag="-o") == pair


def test_parse_option_needs_a_key_and_an_equals_sign() -> None:
    for text in ("pattern", "=x"):
        with pytest.raises(ConfigError, match="-o takes KEY=VALUE"):
            parse_option(text, flag="-o")


def test_mask_settings_hides_secrets() -> None:
    options = {
        "webhook_url": "https://hooks.example/T/B/secret",
        "password": "pw",
        "api_key": "k",
        "channel": "#qa",
        "hidden": "h",
        "wrapped": Secret("s"),
        "labels": ("a",),
    }
    masked = mask_settings(options, secret=("hidden",))
    assert masked == {
        "api_key": "***",
        "channel": "#qa",
        "hidden": "***",
        "labels": ["a"],
        "password": "***",
        "webhook_url": "***",
        "wrapped": "***",
    }


def test_configure_plugin() -> None:
    class Bare:
        name = "bare"

    class Checked:
        name = "checked"

        def configure(self, options: dict[str, Any]) -> Checked:
            raise ValueError(f"bad {sorted(options)}")

    bare = Bare()
    assert configure_plugin(bare, {}, table="strategy.bare") is bare
    assert configure_plugin(bare, {"x": 1}, table="notify.bare", unchecked=True) is bare
    with pytest.raises(ConfigError, match=r"^strategy\.bare: takes no settings \(got x\)$"):
        configure_plugin(bare, {"x": 1}, table="strategy.bare")
    with pytest.raises(ConfigError, match=r"^strategy\.checked: bad \['y'\]$"):
        configure_plugin(Checked(), {"y": 1}, table="strategy.checked")


# -- local plugins ---------------------------------------------------------------------------


def test_load_dir_loads_files_and_packages_and_isolates_broken_ones(tmp_path: Path) -> None:
    (tmp_path / "touch.py").write_text(TOUCH_PLUGIN)
    package = tmp_path / "pkg_plugin"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from rerunorch import hookimpl\n"
        "from .strategy import Everything\n\n"
        "@hookimpl\n"
        "def rerunorch_register_strategies(register):\n"
        "    register(Everything())\n"
    )
    (package / "strategy.py").write_text(
        "from rerunorch import ReRunType, Selection\n\n"
        "class Everything:\n"
        "    name = 'everything'\n"
        "    async def decide(self, ctx):\n"
        "        return Selection(ReRunType.ALL_TESTS)\n"
    )
    (tmp_path / "broken.py").write_text("import not_a_module_anywhere\n")
    (tmp_path / "_private.py").write_text("raise SystemExit('never imported')\n")
    (tmp_path / "notes.txt").write_text("not a plugin")

    manager = PluginManager().load_dir(tmp_path)

    assert "touch" in manager.notifiers()
    assert "everything" in manager.strategies()
    [failed] = manager.failed
    assert failed.name == "local:broken"
    assert "cannot import" in failed.reason
    paths = {info.name: info.path for info in manager.describe()}
    assert paths["local:touch"] == str(tmp_path / "touch.py")
    assert paths["local:pkg_plugin"] == str(package)
    assert paths["builtin"] is None


def test_load_dir_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not a folder"):
        PluginManager().load_dir(tmp_path / "missing")


def test_strict_load_dir_raises_on_a_broken_plugin(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text("raise RuntimeError('no')\n")
    with pytest.raises(ConfigError, match="plugin local:broken failed"):
        PluginManager(strict=True).load_dir(tmp_path)


# -- the command -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    with serve("--seed", "7", "--targets", "20") as started:
        yield started


@pytest.fixture
def run(server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TESTSIGMA_API_KEY", "sim-api-key")
    monkeypatch.setenv("TESTSIGMA_BASE_URL", server.url)
    for name in ("RERUNORCH_PLUGINS", "RERUNORCH_DISABLE_PLUGINS", "RERUNORCH_STRICT_PLUGINS"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "plugins").mkdir()
    (tmp_path / "plugins" / "touch.py").write_text(TOUCH_PLUGIN)

    def invoke(*args: str) -> Result:
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def sweep_args(*ids: int) -> list[str]:
    return ["sweep", *map(str, ids), "--time-scale", SCALE, "--poll-interval", "1"]


@pytest.mark.parametrize(
    ("args", "config", "message"),
    [
        (["--notify", "email"], "", "error: no SMTP host: set RERUNORCH_SMTP_HOST"),
        (
            ["--notify", "webhook"],
            '[notify.webhook]\nurl = "https://example.invalid/h"\nsecrt = "x"\n',
            "error: unknown key notify.webhook.secrt",
        ),
        (["--notify", "webhook"], '[notify.webhook]\nurl = "ftp://x/y"\n', "notify.webhook.url"),
        ([], "[strategy.failed]\nlimit = 3\n", "error: strategy.failed: takes no settings"),
        (["-o", "limit=3"], "", "error: strategy.failed: takes no settings (got limit)"),
        (["--notify-option", "slack.title=x"], "", "slack is not a chosen --notify"),
        (["--plugins-dir", "plugins", "--notify", "touch"], "", "notify.touch.path is required"),
        (["--strategy", "quarantine", "-o", "file=nowhere.txt"], "", "quarantine file nowhere"),
        (["--strategy", "quarantine", "-o", "fle=q.txt"], "", "strategy.quarantine: unknown key"),
    ],
)
def test_a_bad_setting_exits_2_before_any_request(
    run: Any,
    server: Server,
    monkeypatch: pytest.MonkeyPatch,
    args: list[str],
    config: str,
    message: str,
) -> None:
    for name in ("RERUNORCH_SMTP_HOST", "RERUNORCH_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    Path("c.toml").write_text(config)
    before = server.requests()
    result = run(*sweep_args(server.targets()[0]), "--config", "c.toml", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert len(result.output.splitlines()) == 1, result.output
    assert server.requests() == before


def test_notifier_settings_are_recorded_masked_and_used(
    run: Any, server: Server, tmp_path: Path
) -> None:
    Path("c.toml").write_text('[notify.touch]\npath = "told.txt"\ntoken = "t0ps3cret"\n')
    args = ["--no-wait", "--plugins-dir", "plugins", "--config", "c.toml", "--notify", "touch"]
    result = run(*sweep_args(server.targets()[1]), *args, "--report", "r.json")
    assert result.exit_code == 0, result.output
    assert Path("told.txt").read_text() == "1"
    config = json.loads(Path("r.json").read_text())["config"]
    assert config["notify_settings"] == {"touch": {"path": "told.txt", "token": "***"}}
    assert "t0ps3cret" not in Path("r.json").read_text()
    assert "strategy_settings" not in config


def test_a_dry_run_notifies_no_one_and_writes_only_the_reports_on_its_command_line(
    run: Any, server: Server
) -> None:
    Path("c.toml").write_text(
        '[sweep]\nnotify = ["touch"]\nreport = "from-config.json"\njunit = "from-config.xml"\n'
        'plugins_dir = "plugins"\n\n[notify.touch]\npath = "told.txt"\n'
    )
    target = server.targets()[2]
    before = server.requests()
    created = server.get("/_simulator/stats")["reruns_created"]
    result = run(*sweep_args(target), "--config", "c.toml", "--dry-run", "--markdown", "m.md")
    assert result.exit_code == 0, result.output
    assert not Path("told.txt").exists()
    assert not Path("from-config.json").exists()
    assert not Path("from-config.xml").exists()
    assert Path("m.md").exists()
    assert "note: dry run: not notifying (touch)" in result.output
    assert f"{target}: triggered: would rerun" in result.output
    assert server.get("/_simulator/stats")["reruns_created"] == created
    assert server.requests() > before  # it read the runs to decide
    # A report named on the command line is written in a dry run.
    again = run(*sweep_args(target), "--config", "c.toml", "--dry-run", "--report", "cli.json")
    assert again.exit_code == 0, again.output
    assert json.loads(Path("cli.json").read_text())["config"]["dry_run"] is True


def test_resume_refuses_other_strategy_settings(
    run: Any, server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    Path("q1.txt").write_text("")
    Path("q2.txt").write_text("1\n")
    ids = server.targets()[3:5]
    args = [*sweep_args(*ids), "--no-wait", "--strategy", "quarantine", "--journal", "j.sqlite"]
    first = run(*args, "-o", "file=q1.txt")
    assert first.exit_code == 0, first.output
    before = server.requests()
    again = run(*args, "-o", "file=q2.txt", "--resume")
    assert again.exit_code == 2, again.output
    assert "strategy_settings" in again.output
    assert "q2.txt" in again.output
    assert server.requests() == before
    same = run(*args, "-o", "file=q1.txt", "--resume")
    assert same.exit_code == 0, same.output


def test_sweep_help_lists_strategies_and_notifiers_with_descriptions(run: Any) -> None:
    result = run("sweep", "--help")
    assert result.exit_code == 0
    help_text = " ".join(result.output.split())
    strategies = help_text.split("Strategies (installed):", 1)[1]
    assert "failed rerun only the failed tests (ONLY_FAILED_TESTS); the default" in strategies
    assert "quarantine rerun failed tests except those in the quarantine file" in strategies
    notifiers = strategies.split("Notifiers (installed):", 1)[1]
    assert "slack post the summary to Slack" in notifiers
    assert "-o, --strategy-option KEY=VALUE" in result.output
    assert "--notify-option NAME.KEY=VALUE" in result.output


def test_rerunorch_help_loads_no_plugin() -> None:
    code = (
        "import sys\n"
        "from rerunorch.cli import cli\n"
        "try:\n"
        "    cli(['--help'], prog_name='rerunorch')\n"
        "except SystemExit:\n"
        "    pass\n"
        "print('LOADED', *sorted(m for m in sys.modules if m.startswith('rerunorch.plugins')"
        " or m.startswith('rerunorch_')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.splitlines()[-1] == "LOADED"


def test_plugins_command_shows_descriptions_and_local_plugins(run: Any, tmp_path: Path) -> None:
    result = run("plugins", "--plugins-dir", "plugins")
    assert result.exit_code == 0, result.output
    assert "    failed: rerun only the failed tests (ONLY_FAILED_TESTS); the default" in (
        result.output
    )
    assert f"local:touch: (local: {Path('plugins') / 'touch.py'})" in result.output
    assert "    touch\n" in result.output  # no description: the name alone
    data = json.loads(run("plugins", "--json", "--plugins-dir", "plugins").output)
    assert data["descriptions"]["strategies"]["all"] == "rerun every test (ALL_TESTS)"
    assert "touch" not in data["descriptions"]["notifiers"]
    [local] = [p for p in data["plugins"] if p["name"] == "local:touch"]
    assert local["notifiers"] == ["touch"]


def test_simulate_on_a_busy_port_says_one_error_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "rerunorch", "simulate", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr == f"error: cannot listen on 127.0.0.1:{port}: Address already in use\n"


# -- the report keeps the strategy's choice --------------------------------------------------


@pytest.mark.simulator(targets=3, passed_targets=1)
async def test_a_followed_rerun_keeps_its_reason_and_rerun_type(
    rerunorch_simulator: Simulator,
) -> None:
    sim = rerunorch_simulator
    sweep = Sweep(
        sim.target_ids + sim.passed_ids,
        SweepSettings(base_url=sim.base_url),
        api_key=sim.api_key,
        clock=sim.clock,
    )
    report = await sweep.run()
    by_target = {o.target: o for o in report.results}
    for target in sim.target_ids:
        outcome = by_target[target]
        assert outcome.outcome in (OutcomeKind.PASSED, OutcomeKind.FAILED), outcome
        assert outcome.re_run_type == "ONLY_FAILED_TESTS"
        assert outcome.reason is not None
        assert " of " in outcome.reason  # "2 of 5 tests"
        assert Outcome.from_json(outcome.to_json()) == outcome
    skipped = by_target[sim.passed_ids[0]]
    assert skipped.re_run_type is None
    assert "re_run_type" not in skipped.to_json()


# -- the pytest fixtures ---------------------------------------------------------------------

FIXTURE_TESTS = """
import pytest

from rerunorch.testing import Simulator

pytestmark = pytest.mark.asyncio


@pytest.fixture
def simulator():
    return "the project's own simulator fixture"


@pytest.mark.simulator(targets=2)
async def test_new_names(rerunorch_simulator, rerunorch_simulator_config, simulator):
    assert isinstance(rerunorch_simulator, Simulator)
    assert rerunorch_simulator.config is rerunorch_simulator_config
    assert len(rerunorch_simulator.target_ids) == 2
    assert simulator == "the project's own simulator fixture"


@pytest.mark.simulator(targts=2)
async def test_typo(rerunorch_simulator):
    pass
"""

OLD_NAMES = """
import pytest

pytestmark = pytest.mark.asyncio


async def test_old_names(simulator, simulator_config):
    assert simulator.config is simulator_config
"""


def test_fixture_names_cannot_clash_and_a_marker_typo_is_named(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function")
    pytester.makepyfile(test_fixtures=FIXTURE_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=0, errors=1)
    result.stdout.fnmatch_lines(
        ["*@pytest.mark.simulator: unknown field 'targts'; did you mean 'targets'?*"]
    )


def test_old_fixture_names_work_with_a_deprecation_warning(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function")
    pytester.makepyfile(test_old=OLD_NAMES)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["*DeprecationWarning: the 'simulator' fixture is now 'rerunorch_simulator'*"]
    )
