"""The plugin system: a fresh manager per test, plugins declared inline."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable, Iterator, Mapping
from importlib import metadata
from typing import Any

import click
import pytest
from click.testing import CliRunner

import rerunorch.plugins
from rerunorch import (
    Clock,
    ConfigError,
    DecisionContext,
    Notifier,
    Outcome,
    OutcomeKind,
    PluginManager,
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    ReRunType,
    Selection,
    Skip,
    Strategy,
    Sweep,
    SweepFinished,
    SweepReport,
    SweepSettings,
    SweepStarted,
    Target,
    hookimpl,
)
from rerunorch.cli import cli
from rerunorch.notify import run_notifiers, safe_error
from rerunorch.plugins import load_plugins
from rerunorch.plugins import manager as manager_module
from rerunorch.testing import Simulator

BUILTIN_STRATEGIES = {"all", "failed", "all-iterations", "failed-iterations", "user-picked"}
ENV_VARS = ("RERUNORCH_PLUGINS", "RERUNORCH_DISABLE_PLUGINS", "RERUNORCH_STRICT_PLUGINS")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in ENV_VARS:
        monkeypatch.delenv(name, raising=False)
    load_plugins.cache_clear()
    yield
    load_plugins.cache_clear()


class Named:
    """A strategy that reruns everything, under any name."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.description = f"test strategy {name}"

    async def decide(self, ctx: DecisionContext) -> Selection | Skip:
        return Selection(ReRunType.ALL_TESTS)


def strategy_plugin(*names: str) -> object:
    class Plugin:
        @hookimpl
        def rerunorch_register_strategies(self, register: Callable[[Strategy], None]) -> None:
            for name in names:
                register(Named(name))

    return Plugin()


def module_plugin(monkeypatch: pytest.MonkeyPatch, name: str, **hooks: Any) -> metadata.EntryPoint:
    """A module ``name`` holding ``hooks``, importable, and an entry point naming it."""
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    monkeypatch.setitem(sys.modules, name, module)
    return metadata.EntryPoint(name=name, value=name, group="rerunorch")


def register_one(name: str) -> Callable[[Callable[[Strategy], None]], None]:
    def rerunorch_register_strategies(register: Callable[[Strategy], None]) -> None:
        register(Named(name))

    return rerunorch_register_strategies


# -- registration ----------------------------------------------------------------------------


def test_builtins_are_registered_as_a_plugin() -> None:
    manager = PluginManager()
    assert set(manager.strategies()) == BUILTIN_STRATEGIES
    [info] = manager.describe()
    assert info.name == "builtin"
    assert info.distribution == "rerunorch"
    assert info.hooks == ("rerunorch_register_strategies",)
    assert set(info.strategies) == BUILTIN_STRATEGIES
    assert manager.failed == ()


def test_an_inline_plugin_adds_a_strategy_and_is_described() -> None:
    manager = PluginManager()
    assert manager.register(strategy_plugin("nightly"), name="nightly-plugin") == "nightly-plugin"
    assert set(manager.strategies()) == {*BUILTIN_STRATEGIES, "nightly"}
    info = {i.name: i for i in manager.describe()}["nightly-plugin"]
    assert info.strategies == ("nightly",)
    assert info.distribution is None


def test_duplicate_strategy_names_are_rejected_naming_both_owners() -> None:
    manager = PluginManager()
    manager.register(strategy_plugin("nightly"), name="first")
    manager.register(strategy_plugin("failed", "extra"), name="second")
    strategies = manager.strategies()
    assert isinstance(strategies["failed"], type(PluginManager().strategies()["failed"]))
    assert "nightly" in strategies
    assert "extra" not in strategies  # the clashing plugin is skipped whole
    [failure] = manager.failed
    assert failure.name == "second"
    assert "'failed' is registered by both plugin builtin and plugin second" in failure.reason
    assert [i.name for i in manager.describe()] == ["builtin", "first"]


def test_duplicate_strategy_names_are_fatal_when_strict() -> None:
    manager = PluginManager(strict=True)
    manager.register(strategy_plugin("twin"), name="one")
    manager.register(strategy_plugin("twin"), name="two")
    with pytest.raises(ConfigError, match="both plugin one and plugin two"):
        manager.strategies()


def test_duplicate_notifier_names_are_rejected() -> None:
    class Plugin:
        def __init__(self, name: str) -> None:
            self.name = name

        @hookimpl
        def rerunorch_register_notifiers(self, register: Callable[[Notifier], None]) -> None:
            register(Recorder("chat", []))

    manager = PluginManager()
    manager.register(Plugin("a"), name="a")
    manager.register(Plugin("b"), name="b")
    assert list(manager.notifiers()) == ["chat"]
    assert "notifier 'chat' is registered by both plugin a and plugin b" in manager.failed[0].reason


def test_a_raising_register_hook_skips_the_whole_plugin() -> None:
    called: list[str] = []

    class Broken:
        @hookimpl
        def rerunorch_register_strategies(self, register: Callable[[Strategy], None]) -> None:
            register(Named("half"))
            raise RuntimeError("cannot read my config")

        @hookimpl
        def rerunorch_sweep_started(self) -> None:
            called.append("broken")

    manager = PluginManager()
    manager.register(Broken(), name="broken")
    manager.register(strategy_plugin("fine"), name="fine")
    assert set(manager.strategies()) == {*BUILTIN_STRATEGIES, "fine"}
    [failure] = manager.failed
    assert failure.name == "broken"
    assert "RuntimeError: cannot read my config" in failure.reason
    assert "broken" not in [i.name for i in manager.describe()]


async def test_a_plugin_skipped_at_registration_gets_no_events() -> None:
    called: list[str] = []

    class Broken:
        @hookimpl
        def rerunorch_register_notifiers(self, register: Callable[[Notifier], None]) -> None:
            raise RuntimeError("no")

        @hookimpl
        def rerunorch_sweep_started(self) -> None:
            called.append("broken")

    manager = PluginManager()
    manager.register(Broken(), name="broken")
    manager.strategies()
    await manager.listener().sweep_started(SweepStarted(settings=SweepSettings()))
    assert called == []


def test_a_raising_register_hook_is_fatal_when_strict() -> None:
    class Broken:
        @hookimpl
        def rerunorch_register_strategies(self) -> None:
            raise RuntimeError("boom")

    manager = PluginManager(strict=True)
    manager.register(Broken(), name="broken")
    with pytest.raises(ConfigError, match=r"plugin broken failed: .*RuntimeError: boom"):
        manager.strategies()


@pytest.mark.parametrize(
    ("plugin", "reason"),
    [
        pytest.param(
            types.SimpleNamespace(rerunorch_register_stratgies=hookimpl(lambda register: None)),
            "unknown hook 'rerunorch_register_stratgies'",
            id="typo",
        ),
        pytest.param(
            types.SimpleNamespace(rerunorch_rerun_finished=hookimpl(lambda result: None)),
            "result",
            id="unknown-argument",
        ),
    ],
)
def test_an_invalid_plugin_is_reported_and_skipped(plugin: object, reason: str) -> None:
    manager = PluginManager()
    assert manager.register(plugin, name="bad") is None
    [failure] = manager.failed
    assert failure.name == "bad"
    assert reason in failure.reason
    assert [i.name for i in manager.describe()] == ["builtin"]


def test_an_async_register_hook_is_refused() -> None:
    class Async:
        @hookimpl
        async def rerunorch_register_strategies(self, register: Callable[[Strategy], None]) -> None:
            register(Named("late"))

    manager = PluginManager()
    assert manager.register(Async(), name="async") is None
    assert "must be a plain function" in manager.failed[0].reason
    assert "late" not in manager.strategies()


def test_a_strategy_that_is_not_one_is_refused() -> None:
    class Wrong:
        @hookimpl
        def rerunorch_register_strategies(self, register: Callable[[Any], None]) -> None:
            register("failed")

    manager = PluginManager()
    manager.register(Wrong(), name="wrong")
    assert set(manager.strategies()) == BUILTIN_STRATEGIES
    assert "is not a strategy" in manager.failed[0].reason


# -- loading from entry points ---------------------------------------------------------------


def test_entry_point_plugins_load_and_a_broken_import_is_skipped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    good = module_plugin(
        monkeypatch, "rerunorch_test_good", rerunorch_register_strategies=register_one("good")
    )
    missing = metadata.EntryPoint(name="missing", value="rerunorch_no_such_module", group="x")
    manager = PluginManager().load(env={}, entry_points=[missing, good])
    assert "good" in manager.strategies()
    [failure] = manager.failed
    assert failure.name == "missing"
    assert "cannot import rerunorch_no_such_module: ModuleNotFoundError" in failure.reason
    assert [i.name for i in manager.describe()] == ["builtin", "rerunorch_test_good"]


def test_a_broken_import_is_fatal_with_strict_env() -> None:
    missing = metadata.EntryPoint(name="missing", value="rerunorch_no_such_module", group="x")
    with pytest.raises(ConfigError, match="plugin missing failed: cannot import"):
        PluginManager().load(env={"RERUNORCH_STRICT_PLUGINS": "1"}, entry_points=[missing])


def test_a_raising_register_hook_is_fatal_at_load_with_strict_env(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def rerunorch_register_strategies(register: Callable[[Strategy], None]) -> None:
        raise KeyError("token")

    broken = module_plugin(
        monkeypatch,
        "rerunorch_test_raises",
        rerunorch_register_strategies=rerunorch_register_strategies,
    )
    with pytest.raises(ConfigError, match="KeyError"):
        PluginManager().load(env={"RERUNORCH_STRICT_PLUGINS": "yes"}, entry_points=[broken])
    manager = PluginManager().load(env={}, entry_points=[broken])
    assert [f.name for f in manager.failed] == ["rerunorch_test_raises"]


@pytest.mark.parametrize(
    ("env", "loaded"),
    [
        ({}, {"one", "two"}),
        ({"RERUNORCH_PLUGINS": "plugin-one"}, {"one"}),
        ({"RERUNORCH_PLUGINS": " Plugin_One , plugin-two"}, {"one", "two"}),
        ({"RERUNORCH_PLUGINS": ""}, set()),
        ({"RERUNORCH_DISABLE_PLUGINS": "plugin-two"}, {"one"}),
        (
            {
                "RERUNORCH_PLUGINS": "plugin-one,plugin-two",
                "RERUNORCH_DISABLE_PLUGINS": "plugin-one",
            },
            {"two"},
        ),
    ],
)
def test_environment_chooses_the_plugins(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], loaded: set[str]
) -> None:
    points = [
        module_plugin(monkeypatch, "plugin_one", rerunorch_register_strategies=register_one("one")),
        module_plugin(monkeypatch, "plugin_two", rerunorch_register_strategies=register_one("two")),
    ]
    manager = PluginManager().load(env=env, entry_points=points)
    assert set(manager.strategies()) - BUILTIN_STRATEGIES == loaded
    assert manager.failed == ()


def test_a_plugin_named_but_not_installed_is_reported() -> None:
    manager = PluginManager().load(env={"RERUNORCH_PLUGINS": "nope"}, entry_points=[])
    assert [(f.name, f.reason) for f in manager.failed] == [
        ("nope", "not installed (named in RERUNORCH_PLUGINS)")
    ]


def test_the_installed_quarantine_plugin_is_found_by_distribution_name() -> None:
    loaded = PluginManager().load(env={})
    info = {i.name: i for i in loaded.describe()}["quarantine"]
    assert info.distribution == "rerunorch-quarantine"
    assert info.version
    assert info.strategies == ("quarantine",)
    disabled = PluginManager().load(env={"RERUNORCH_DISABLE_PLUGINS": "rerunorch-quarantine"})
    assert "quarantine" not in disabled.strategies()


# -- sweep events ----------------------------------------------------------------------------


async def test_sync_and_async_event_hooks_get_the_one_payload() -> None:
    seen: list[tuple[str, object]] = []

    class Sync:
        @hookimpl
        def rerunorch_rerun_triggered(self, event: RerunTriggered) -> None:
            seen.append(("sync", event))

        @hookimpl
        def rerunorch_rate_limited(self, event: RequestsPaused) -> None:
            seen.append(("rate", (event.wait, event.reason)))

    class Async:
        @hookimpl
        async def rerunorch_rerun_triggered(self, event: RerunTriggered) -> None:
            seen.append(("async", (event.target.id, event.adopted)))

    class Deaf:
        @hookimpl
        def rerunorch_rerun_triggered(self) -> None:  # a hook may take no argument at all
            seen.append(("deaf", None))

    manager = PluginManager()
    for plugin in (Sync(), Async(), Deaf()):
        manager.register(plugin, name=type(plugin).__name__.lower())
    listener = manager.listener()
    triggered = RerunTriggered(target=Target(5), rerun_id=77, adopted=True)
    await listener.rerun_triggered(triggered)
    await listener.rate_limited(RequestsPaused(wait=2.5, reason="retry-after"))
    assert sorted(seen, key=str) == [
        ("async", (5, True)),
        ("deaf", None),
        ("rate", (2.5, "retry-after")),
        ("sync", triggered),
    ]
    assert listener.notes() == []


def test_an_event_hook_with_the_old_positional_arguments_is_refused() -> None:
    class Old:
        @hookimpl
        def rerunorch_rerun_finished(self, outcome: Outcome) -> None:
            raise AssertionError("never called")

    manager = PluginManager()
    assert manager.register(Old(), name="old") is None
    assert "outcome" in manager.failed[0].reason


async def test_the_manager_has_one_typed_method_per_event_hook() -> None:
    heard: list[str] = []

    class Every:
        @hookimpl
        def rerunorch_sweep_started(self, event: SweepStarted) -> None:
            heard.append(f"started {event.settings.strategy}")

        @hookimpl
        def rerunorch_rerun_triggered(self, event: RerunTriggered) -> None:
            heard.append(f"triggered {event.rerun_id}")

        @hookimpl
        async def rerunorch_rerun_finished(self, event: RerunFinished) -> None:
            heard.append(f"finished {event.outcome.target}")

        @hookimpl
        def rerunorch_rate_limited(self, event: RequestsPaused) -> None:
            raise ValueError(f"cannot post to https://hooks.example/secret ({event.wait})")

        @hookimpl
        def rerunorch_sweep_finished(self, event: SweepFinished) -> None:
            heard.append(f"done {event.report.summary.targets}")

    manager = PluginManager()
    manager.register(Every(), name="every")
    report = SweepReport(started_at=0.0, config={})
    assert await manager.sweep_started(SweepStarted(settings=SweepSettings())) == []
    assert (
        await manager.rerun_triggered(RerunTriggered(target=Target(1), rerun_id=9, adopted=False))
        == []
    )
    outcome = Outcome(target=1, outcome=OutcomeKind.PASSED)
    assert await manager.rerun_finished(RerunFinished(outcome=outcome)) == []
    assert await manager.rate_limited(RequestsPaused(wait=3.0, reason="backoff")) == [
        ("every", "ValueError: cannot post to <url> (3.0)")
    ]
    assert await manager.sweep_finished(SweepFinished(report=report)) == []
    assert heard == ["started failed", "triggered 9", "finished 1", "done 0"]
    assert not hasattr(manager, "emit")


async def test_a_raising_listener_does_not_stop_the_others_and_is_noted() -> None:
    outcomes: list[int] = []
    finished: list[SweepReport] = []

    class Raises:
        @hookimpl
        async def rerunorch_rerun_finished(self, event: RerunFinished) -> None:
            raise ValueError(f"cannot post to https://hooks.example/secret-{event.outcome.target}")

        @hookimpl
        def rerunorch_sweep_finished(self) -> None:
            raise RuntimeError("late")

    class Records:
        @hookimpl
        def rerunorch_rerun_finished(self, event: RerunFinished) -> None:
            outcomes.append(event.outcome.target)

        @hookimpl
        def rerunorch_sweep_finished(self, event: SweepFinished) -> None:
            finished.append(event.report)

    # Registered in both orders, so that the raising one is called first once.
    for order in ((Raises(), Records()), (Records(), Raises())):
        outcomes.clear()
        finished.clear()
        manager = PluginManager()
        manager.register(order[0], name=type(order[0]).__name__.lower())
        manager.register(order[1], name=type(order[1]).__name__.lower())
        listener = manager.listener()
        for target in (1, 2, 3):
            outcome = Outcome(target=target, outcome=OutcomeKind.PASSED)
            await listener.rerun_finished(RerunFinished(outcome=outcome))
        report = SweepReport(started_at=0.0, config={})
        await listener.sweep_finished(SweepFinished(report=report))
        assert outcomes == [1, 2, 3]
        assert finished == [report]
        assert report.notes == [
            "plugin raises failed on rerun_finished (3 times; first: ValueError: cannot post to "
            "<url>)",
            "plugin raises failed on sweep_finished: RuntimeError: late",
        ]
        assert "secret" not in str(report.notes)


class Ranked:
    """Reruns the targets with an even id, skips the others."""

    name = "even-only"
    description = "rerun all tests of even ids"

    async def decide(self, ctx: DecisionContext) -> Selection | Skip:
        if ctx.target.id % 2:
            return Skip("odd id")
        return Selection(ReRunType.ALL_TESTS, reason="even id")


@pytest.mark.simulator(targets=6, passed_targets=0)
async def test_a_plugin_strategy_drives_a_sweep_and_hears_its_events(
    rerunorch_simulator: Simulator, rerunorch_simulator_clock: Clock
) -> None:
    simulator, simulator_clock = rerunorch_simulator, rerunorch_simulator_clock
    events: list[str] = []

    class ThirdParty:
        @hookimpl
        def rerunorch_register_strategies(self, register: Callable[[Strategy], None]) -> None:
            register(Ranked())

        @hookimpl
        async def rerunorch_sweep_started(self, event: SweepStarted) -> None:
            events.append(f"started {event.settings.strategy}")

        @hookimpl
        def rerunorch_rerun_triggered(self, event: RerunTriggered) -> None:
            events.append(f"triggered {event.target.id}")

        @hookimpl
        async def rerunorch_rerun_finished(self, event: RerunFinished) -> None:
            events.append(f"finished {event.outcome.target} {event.outcome.outcome.value}")

        @hookimpl
        def rerunorch_sweep_finished(self, event: SweepFinished) -> None:
            events.append(f"done {event.report.summary.targets}")

    manager = PluginManager()
    manager.register(ThirdParty(), name="third-party")
    sweep = Sweep(
        simulator.target_ids,
        SweepSettings(base_url=simulator.base_url, strategy="even-only"),
        api_key=simulator.api_key,
        strategies=manager.strategies(),
        listener=manager.listener(),
        clock=simulator_clock,
    )
    report = await sweep.run()
    even = [t for t in simulator.target_ids if t % 2 == 0]
    odd = [t for t in simulator.target_ids if t % 2]
    assert report.summary.targets == 6
    assert {o.target for o in report.results if o.outcome is OutcomeKind.SKIPPED} == set(odd)
    for target in even:
        assert len(simulator.reruns_of(target)) == 1
    for target in odd:
        assert simulator.reruns_of(target) == []
    assert events[0] == "started even-only"
    assert events[-1] == "done 6"
    assert sorted(e for e in events if e.startswith("triggered")) == sorted(
        f"triggered {t}" for t in even
    )
    assert len([e for e in events if e.startswith("finished")]) == 6
    assert report.notes == []


async def test_an_unknown_strategy_lists_the_plugin_ones() -> None:
    manager = PluginManager()
    manager.register(strategy_plugin("nightly"), name="p")
    with pytest.raises(ConfigError, match=r"available: all, all-iterations, failed, .*nightly"):
        Sweep([1], SweepSettings(strategy="nope"), api_key="k", strategies=manager.strategies())


# -- notifiers -------------------------------------------------------------------------------


class Recorder:
    def __init__(self, name: str, calls: list[tuple[str, Mapping[str, Any]]]) -> None:
        self.name = name
        self.description = f"records {name}"
        self.calls = calls

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        self.calls.append((self.name, options))


class Failing:
    name = "chat"
    description = "always fails"

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        raise ConnectionError(f"cannot reach {options['url']}/T000/B000/XXXX: refused")


async def test_one_failing_notifier_does_not_stop_the_others() -> None:
    calls: list[tuple[str, Mapping[str, Any]]] = []

    class Plugin:
        @hookimpl
        def rerunorch_register_notifiers(self, register: Callable[[Notifier], None]) -> None:
            register(Failing())
            register(Recorder("mail", calls))

    manager = PluginManager()
    manager.register(Plugin(), name="p")
    report = SweepReport(started_at=0.0, config={})
    options = {"chat": {"url": "https://hooks.slack.com/services"}, "mail": {"to": "a@b"}}
    warnings = await run_notifiers(["chat", "mail"], manager.notifiers(), report, options)
    assert calls == [("mail", {"to": "a@b"})]
    assert warnings == ["notifier chat failed: ConnectionError: cannot reach <url> refused"]
    assert report.notes == warnings
    assert "hooks.slack.com" not in str(report.notes)


async def test_a_notifier_without_options_gets_an_empty_table() -> None:
    calls: list[tuple[str, Mapping[str, Any]]] = []
    report = SweepReport(started_at=0.0, config={})
    assert await run_notifiers(["mail"], {"mail": Recorder("mail", calls)}, report, {}) == []
    assert calls == [("mail", {})]


async def test_an_unknown_notifier_lists_the_available_ones_and_runs_none() -> None:
    calls: list[tuple[str, Mapping[str, Any]]] = []
    notifiers = {"mail": Recorder("mail", calls), "chat": Recorder("chat", calls)}
    report = SweepReport(started_at=0.0, config={})
    with pytest.raises(ConfigError, match="unknown notifier 'pager'; available: chat, mail"):
        await run_notifiers(["mail", "pager"], notifiers, report, {})
    assert calls == []


def test_safe_error_hides_urls_and_shortens() -> None:
    assert safe_error(ValueError("post to http://x.test/secret failed")) == (
        "ValueError: post to <url> failed"
    )
    assert safe_error(KeyError()) == "KeyError"
    assert len(safe_error(RuntimeError("x" * 1000))) < 230


# -- commands --------------------------------------------------------------------------------


@pytest.fixture
def fresh_cli(monkeypatch: pytest.MonkeyPatch) -> click.Group:
    """The ``rerunorch`` group, with plugin commands not yet added and restored afterwards."""
    monkeypatch.setattr(cli, "commands", dict(cli.commands))
    monkeypatch.setattr(cli, "plugin_commands_added", False)
    return cli


def use_plugins(monkeypatch: pytest.MonkeyPatch, *plugins: object) -> PluginManager:
    manager = PluginManager()
    for i, plugin in enumerate(plugins):
        manager.register(plugin, name=f"plugin{i}")
    monkeypatch.setattr(rerunorch.plugins, "load_plugins", lambda: manager)
    return manager


class Hello:
    @hookimpl
    def rerunorch_register_commands(self, cli: click.Group) -> None:
        @cli.command()
        @click.option("--name", default="world")
        def hello(name: str) -> None:
            """Say hello."""
            click.echo(f"hello {name}")


def test_a_plugin_command_runs_and_is_loaded_only_for_unknown_names(
    fresh_cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_plugins(monkeypatch, Hello())
    runner = CliRunner()
    assert runner.invoke(fresh_cli, ["--help"]).exit_code == 0
    assert not fresh_cli.plugin_commands_added  # type: ignore[attr-defined]
    result = runner.invoke(fresh_cli, ["hello", "--name", "plugins"])
    assert result.exit_code == 0, result.output
    assert result.output == "hello plugins\n"
    assert "hello" in runner.invoke(fresh_cli, ["--help"]).output


def test_a_plugin_cannot_replace_a_built_in_command(
    fresh_cli: click.Group, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Hijack:
        @hookimpl
        def rerunorch_register_commands(self, cli: click.Group) -> None:
            cli.add_command(click.Command("sweep", callback=lambda: None))
            cli.add_command(click.Command("plugins", callback=lambda: None))

    original = fresh_cli.commands["sweep"]
    manager = use_plugins(monkeypatch, Hijack(), Hello())
    result = CliRunner().invoke(fresh_cli, ["hello"])
    assert result.output == "hello world\n"
    assert fresh_cli.commands["sweep"] is original
    assert "plugins" not in fresh_cli.commands
    [failure] = manager.failed
    assert "would replace the command(s) plugins, sweep" in failure.reason


def test_plugins_command_lists_builtin_and_quarantine_as_json() -> None:
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    plugins = {p["name"]: p for p in data["plugins"]}
    assert plugins["builtin"]["distribution"] == "rerunorch"
    assert set(plugins["builtin"]["strategies"]) == BUILTIN_STRATEGIES
    assert plugins["quarantine"]["distribution"] == "rerunorch-quarantine"
    hooks = ["rerunorch_next_round", "rerunorch_register_strategies"]
    assert plugins["quarantine"]["hooks"] == hooks
    assert plugins["quarantine"]["strategies"] == ["quarantine"]
    assert data["failed"] == []


def test_plugins_command_lists_a_broken_plugin_and_strict_makes_it_fatal(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broken = metadata.EntryPoint(name="broken", value="rerunorch_no_such_module", group="x")
    monkeypatch.setattr(manager_module, "installed_entry_points", lambda: [broken])
    result = CliRunner().invoke(cli, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    [failed] = json.loads(result.output)["failed"]
    assert failed["name"] == "broken"
    assert "ModuleNotFoundError" in failed["reason"]

    text = CliRunner().invoke(cli, ["plugins"])
    assert "builtin: rerunorch" in text.output
    assert "failed: broken: cannot import" in text.output

    load_plugins.cache_clear()
    monkeypatch.setenv("RERUNORCH_STRICT_PLUGINS", "1")
    strict = CliRunner().invoke(cli, ["plugins"])
    assert strict.exit_code == 2
    assert "plugin broken failed" in strict.output
