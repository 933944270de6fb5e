"""One command, read once: options, config file and environment become an :class:`Invocation`.

Everything that can be wrong with a command (a config key, a number, the key,
a report path, a notifier name, a targets line) is found here, before the
sweep sends anything; the rest of the CLI only reads the frozen result.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs
import click

from rerunorch.api import DEFAULT_BASE_URL
from rerunorch.api.client import normalize_base_url
from rerunorch.cli.config import PLUGIN_TABLES, load_config
from rerunorch.cli.summary import DEFAULT_APP_URL, check_app_url
from rerunorch.cli.targetfile import (
    FoundTargets,
    TargetInput,
    last_failed,
    read_plans_file,
    recorded_input,
)
from rerunorch.discovery import Query, RunDiscovery, Window
from rerunorch.errors import ConfigError
from rerunorch.journal import default_journal_path
from rerunorch.ledger.store import history_location
from rerunorch.notify import Notifier, choose_notifiers
from rerunorch.plugins import PluginManager
from rerunorch.plugins.settings import configure_plugin, mask_settings, parse_option
from rerunorch.polling import PollPolicy
from rerunorch.report.output import STDOUT, check_output
from rerunorch.secret import Secret, mask_url, validate_api_key
from rerunorch.settings import SweepSettings
from rerunorch.sharding import Shard
from rerunorch.strategies.base import Strategy
from rerunorch.targets import parse_id

__all__ = [
    "Invocation",
    "Outputs",
    "PluginChoice",
    "api_key",
    "choose_plugins",
    "read_discovery",
    "read_invocation",
    "read_targets",
]


@attrs.frozen(kw_only=True)
class Outputs:
    """Where the reports go: a path, ``-`` for standard output, or None for none."""

    report: str | None = None
    junit: str | None = None
    markdown: str | None = None

    def items(self) -> list[tuple[str, str]]:
        """``(flag, path)`` for each report asked for, e.g. ``("--junit", "j.xml")``."""
        flags = (("--report", self.report), ("--junit", self.junit), ("--markdown", self.markdown))
        return [(flag, path) for flag, path in flags if path]

    @property
    def to_stdout(self) -> bool:
        """Some report goes to standard output (so the summary goes to stderr)."""
        return any(path == STDOUT for _, path in self.items())

    def check(self) -> None:
        """Make sure each report can be written, before anything is sent.

        Raises:
            ConfigError: One cannot (the message names the flag and the reason).
        """
        for flag, path in self.items():
            try:
                check_output(path)
            except OSError as exc:
                raise ConfigError(f"{flag}: cannot write {path}: {exc.strerror or exc}") from None


@attrs.frozen(kw_only=True)
class PluginChoice:
    """The strategy and notifiers of a command, each configured with its settings.

    Attributes:
        strategy: The strategy, configured (``configure`` has run).
        notifiers: ``(name, notifier)`` for each ``--notify``, configured.
        notify_options: Each chosen notifier's settings (its table and ``--notify-option``).
        config: What the report's ``config`` and the journal record of them, secrets
            masked: ``strategy_settings`` and ``notify_settings`` (each only if any).
    """

    strategy: Strategy
    notifiers: tuple[tuple[str, Notifier], ...] = ()
    notify_options: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    config: Mapping[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Invocation:
    """A command's every input, checked (``sweep``, ``demo``).

    Attributes:
        settings: The sweep's settings (the shard normalized, e.g. ``"2/4"``).
        key: The API key.
        targets: The targets given, checked, or found by the sweep (``--plan``,
            ``--since``, ``--query``); None for the demo (its simulator's).
        shard: The shard swept, or None.
        journal: The journal's path, or None for none (``--dry-run``, the demo).
        resume, force: ``--resume`` and ``--force``.
        outputs: The reports to write.
        strategy: The strategy, configured with its settings.
        notifiers: ``(name, notifier)`` for each ``--notify``, configured.
        notify_options: Each notifier's settings (``[notify.NAME]`` and ``--notify-option``).
        plugin_config: The plugins' settings for the report and the journal (masked).
        plugins: The plugin manager (strategies, listeners).
        verbose, quiet: ``-v`` (counted) and ``-q``.
        time_scale: How much faster the sweep's clock runs.
        fleet, fleet_name, fleet_lease: ``--fleet`` (a Redis URL), ``--fleet-name`` and
            ``--fleet-lease`` (docs/scaling.md); None without a fleet.
        show_all: ``--all``: the summary names every test (else the first 20 of each kind).
        app_url: ``--app-url``: the pattern of a run's page in Testsigma (``{id}``).
        history: The flake ledger (a path or ``postgresql://`` URL), or None
            (``--no-history``, the demo).
        rerun_broken: ``--rerun-broken``: rerun the tests broken for nights too.
        quarantine_file: ``--quarantine-file`` (None: the default one, if there).
    """

    settings: SweepSettings
    key: Secret
    targets: TargetInput | FoundTargets | None
    shard: Shard | None = None
    journal: str | None = None
    resume: bool = False
    force: bool = False
    outputs: Outputs = Outputs()
    strategy: Strategy
    notifiers: tuple[tuple[str, Notifier], ...] = ()
    notify_options: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    plugin_config: Mapping[str, Any] = attrs.field(factory=dict)
    plugins: PluginManager
    verbose: int = 0
    quiet: bool = False
    time_scale: float = 1.0
    fleet: str | None = None
    fleet_name: str | None = None
    fleet_lease: float = 60.0
    show_all: bool = False
    app_url: str = DEFAULT_APP_URL
    history: str | None = None
    rerun_broken: bool = False
    quarantine_file: str | None = None

    @property
    def total(self) -> int:
        """How many targets this sweep takes (those of its shard)."""
        return self.targets.in_shard if self.targets is not None else 0

    def at(self, base_url: str) -> Invocation:
        """The same command against another server (the demo's simulator, once it listens)."""
        return attrs.evolve(self, settings=attrs.evolve(self.settings, base_url=base_url))


def read_invocation(
    ctx: click.Context,
    options: Mapping[str, Any],
    *,
    ids: tuple[str, ...] = (),
    demo_key: Secret | None = None,
) -> Invocation:
    """Read a ``sweep`` (or, with ``demo_key``, a ``demo``) command once.

    Raises:
        ConfigError: Anything wrong with it; nothing has been sent.
    """
    merged, tables = _merge_config(ctx, options)
    key = demo_key or api_key(merged)
    shard = Shard.parse(merged["shard"]) if merged.get("shard") else None
    settings = _settings(merged, shard)
    fleet = merged.get("fleet")
    if fleet or merged.get("fleet_name"):
        settings = fleet_settings(settings, merged, ids)
    outputs = Outputs(
        report=_json_report(merged), junit=merged["junit"], markdown=merged["markdown"]
    )
    outputs.check()
    app_url = check_app_url(merged.get("app_url") or DEFAULT_APP_URL)
    from rerunorch import plugins as plugin_loading  # looked up here: tests replace it

    plugins_dir = merged.get("plugins_dir")
    plugins = (
        plugin_loading.load_plugins(plugins_dir) if plugins_dir else plugin_loading.load_plugins()
    )
    choice = choose_plugins(plugins, settings.strategy, merged, tables)
    _warn_unknown_tables(merged.get("config_path"), tables, plugins)
    demo = demo_key is not None
    journal = (
        None if demo or settings.dry_run else merged.get("journal") or default_journal_path(shard)
    )
    if fleet:  # each worker keeps a scratch journal: the fleet's records are in Redis
        journal = None
    return Invocation(
        settings=settings,
        key=key,
        # Last: it reads the targets (and stdin) through.
        targets=None
        if demo or (fleet and not _given(merged, ids))  # a worker may join without them
        else read_targets(
            merged,
            ids,
            shard,
            dry_run=settings.dry_run,
            journal=merged.get("journal") or default_journal_path(shard),
            command_line=options,
        ),
        shard=shard,
        journal=journal,
        resume=merged.get("resume", False),
        force=merged.get("force", False),
        outputs=outputs,
        strategy=choice.strategy,
        notifiers=choice.notifiers,
        notify_options=choice.notify_options,
        plugin_config=choice.config,
        plugins=plugins,
        verbose=merged["verbose"],
        quiet=merged["quiet"],
        time_scale=merged.get("time_scale", 1.0),
        fleet=fleet,
        fleet_name=merged.get("fleet_name"),
        fleet_lease=merged.get("fleet_lease") or 60.0,
        show_all=bool(merged.get("show_all")),
        app_url=app_url,
        history=None
        if demo or merged.get("no_history")
        else history_location(merged.get("history")),
        rerun_broken=bool(merged.get("rerun_broken")),
        quarantine_file=merged.get("quarantine_file"),
    )


# -- where the targets come from ------------------------------------------------------------


def read_targets(
    options: Mapping[str, Any],
    ids: tuple[str, ...],
    shard: Shard | None,
    *,
    dry_run: bool,
    journal: str | None = None,
    command_line: Mapping[str, Any] | None = None,
) -> TargetInput | FoundTargets:
    """The targets given (ids, ``--from-file``, ``--from-report``), a discovery, or those
    the journal names (``--last-failed``; ``--resume`` with none given).

    ``--last-failed`` refuses only targets given on the ``command_line`` (the options
    before the config file's): a config file's ``plans`` do not stand in its way.

    Raises:
        ConfigError: A bad target, plan, window or query, or both kinds at once.
        NothingToSweep: ``--last-failed`` and no target failed.
    """
    journal = journal or default_journal_path(shard)
    given = _given(options, ids)
    if options.get("last_failed"):
        on_line = given if command_line is None else _given(command_line, ids)
        return _last_failed(options, on_line, shard, journal)
    if options.get("resume") and not given:
        return _resumed(recorded_input(journal), shard, dry_run=dry_run)
    discovery = read_discovery(options)
    from_file, from_report = options.get("from_file"), options.get("from_report")
    if discovery is None:
        still_failing = bool(options.get("still_failing"))
        return TargetInput(
            ids, from_file, shard, from_report=from_report, still_failing=still_failing
        )
    if ids or from_file or from_report:
        raise ConfigError(
            "give ids (or --from-file, --from-report) or find them with --plan, --since "
            "or --query, not both"
        )
    return FoundTargets(discovery, explain=dry_run, options=_discovery_options(options))


_TARGET_FLAGS = (
    ("from_file", "--from-file"),
    ("from_report", "--from-report"),
    ("plans", "--plan"),
    ("plans_file", "--plans-file"),
    ("since", "--since"),
    ("until", "--until"),
    ("query", "--query"),
)


def _given(options: Mapping[str, Any], ids: tuple[str, ...]) -> list[str]:
    """The kinds of targets given on the command line (or the config file)."""
    given = ["ids"] if ids else []
    return given + [flag for key, flag in _TARGET_FLAGS if options.get(key)]


def _last_failed(
    options: Mapping[str, Any], given: list[str], shard: Shard | None, journal: str
) -> TargetInput:
    if given:
        raise ConfigError(f"--last-failed takes its targets from the journal: not with {given[0]}")
    if options.get("resume"):
        raise ConfigError(
            "--last-failed starts a new sweep: to continue one, use --resume without it"
        )
    failed = last_failed(journal)
    targets = TargetInput(tuple(failed), None, shard)
    targets.notes.append(
        f"--last-failed: {len(failed)} target(s) that did not end well in the last sweep"
    )
    return targets


def _resumed(
    recorded: Mapping[str, Any], shard: Shard | None, *, dry_run: bool
) -> TargetInput | FoundTargets:
    """The targets a journal recorded, read again as the first sweep read them."""
    if "discovery" in recorded:
        options = recorded["discovery"]
        discovery = read_discovery(options)
        if discovery is None:
            raise ConfigError("--resume: the journal records an empty discovery")
        return FoundTargets(discovery, explain=dry_run, options=options)
    return TargetInput(tuple(recorded.get("targets") or ()), None, shard)


def _discovery_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """What the journal records of a discovery (``--plans-file`` read into ``plans``)."""
    plans = {str(plan) for plan in options.get("plans") or ()}
    if options.get("plans_file"):
        plans |= {str(plan) for plan in read_plans_file(options["plans_file"])}
    recorded = {key: options.get(key) for key in ("since", "until", "query", "index_path")}
    return {"plans": sorted(plans), "page_size": options.get("page_size"), **recorded}


def read_discovery(options: Mapping[str, Any]) -> RunDiscovery | None:
    """The discovery of ``--plan``/``--plans-file``/``--since``/``--until``/``--query``, if any.

    Raises:
        ConfigError: A plan id, a time or the query is malformed, or ``--plan`` has no window.
    """
    plans: set[int] = set()
    for plan in options.get("plans") or ():
        try:
            plans.add(parse_id(str(plan), "--plan"))
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    if options.get("plans_file"):
        plans |= read_plans_file(options["plans_file"])
    since, until, text = options.get("since"), options.get("until"), options.get("query")
    if not (plans or since or text):
        if until:
            raise ConfigError("--until needs --since, --plan or --query")
        return None
    window = Window.parse(since, until)
    query = Query.parse(text) if text else None
    if plans and since is None and query is None:
        raise ConfigError(
            "--plan needs --since (e.g. --since 24h): without a window every run the plan "
            "ever had would be swept"
        )
    return RunDiscovery.of(
        plans=frozenset(plans),
        window=window,
        query=query,
        index_path=options.get("index_path") or "/api/v2/test_runs",
        page_size=options.get("page_size") or 100,
    )


def choose_plugins(
    plugins: PluginManager,
    strategy_name: str,
    options: Mapping[str, Any],
    tables: Mapping[str, Mapping[str, Mapping[str, Any]]],
) -> PluginChoice:
    """The strategy and the notifiers named, each configured: nothing has been sent yet.

    Args:
        plugins: Where the strategies and notifiers come from.
        strategy_name: ``--strategy``.
        options: The command's options (``notify``, ``strategy_options``, ``notify_options``).
        tables: The config file's ``strategy`` and ``notify`` tables, by name.

    Raises:
        ConfigError: An unknown name, or a bad or missing setting (naming the table and key).
    """
    strategies = plugins.strategies()
    if strategy_name not in strategies:
        known = ", ".join(sorted(strategies))
        raise ConfigError(
            f"unknown strategy {strategy_name!r}; available: {known} "
            "(`rerunorch sweep --help` describes them)"
        )
    found = strategies[strategy_name]
    given = (
        parse_option(o, flag="--strategy-option") for o in options.get("strategy_options") or ()
    )
    strategy_options = {**tables.get("strategy", {}).get(strategy_name, {}), **dict(given)}
    strategy = configure_plugin(found, strategy_options, table=f"strategy.{strategy_name}")
    chosen = choose_notifiers(options.get("notify") or (), plugins.notifiers())
    on_line = _notify_options(options.get("notify_options") or (), [name for name, _ in chosen])
    notify_options = {
        name: {**tables.get("notify", {}).get(name, {}), **on_line.get(name, {})}
        for name, _ in chosen
    }
    notifiers = tuple(
        # A notifier without `configure` still reads its table in `notify`, as it always did.
        (name, configure_plugin(n, notify_options[name], table=f"notify.{name}", unchecked=True))
        for name, n in chosen
    )
    config: dict[str, Any] = {}
    if strategy_options:
        config["strategy_settings"] = mask_settings(strategy_options, _secret_keys(found))
    masked = {
        name: mask_settings(notify_options[name], _secret_keys(notifier))
        for name, notifier in chosen
        if notify_options[name]
    }
    if masked:
        config["notify_settings"] = masked
    return PluginChoice(
        strategy=strategy, notifiers=notifiers, notify_options=notify_options, config=config
    )


def _warn_unknown_tables(
    path: str | None, tables: Mapping[str, Mapping[str, Any]], plugins: PluginManager
) -> None:
    """A ``[strategy.NAME]`` or ``[notify.NAME]`` table that names nothing installed is
    never read: most likely a typo, so it is said (a plugin missing here may be elsewhere)."""
    installed = {"strategy": set(plugins.strategies()), "notify": set(plugins.notifiers())}
    for kind, names in installed.items():
        for name in tables.get(kind, {}):
            if name not in names:
                what = "strategy" if kind == "strategy" else "notifier"
                click.echo(
                    f"warning: {path}: [{kind}.{name}] names no installed {what} "
                    f"(available: {', '.join(sorted(names))}); its settings are not used",
                    err=True,
                )


def _secret_keys(item: object) -> tuple[str, ...]:
    return tuple(getattr(item, "secret_settings", ()) or ())


def _notify_options(given: Iterable[str], chosen: list[str]) -> dict[str, dict[str, Any]]:
    """``--notify-option NAME.KEY=VALUE`` values by notifier name."""
    by_name: dict[str, dict[str, Any]] = {}
    for text in given:
        path, value = parse_option(text, flag="--notify-option")
        name, dot, key = path.partition(".")
        if not dot or not key:
            raise ConfigError(f"--notify-option takes NAME.KEY=VALUE, not {text!r}")
        if name not in chosen:
            raise ConfigError(f"--notify-option {path}: {name} is not a chosen --notify")
        by_name.setdefault(name, {})[key] = value
    return by_name


def _json_report(merged: Mapping[str, Any]) -> str | None:
    """``--report``'s path; ``-`` (stdout) with ``--json``."""
    report: str | None = merged.get("report")
    if not merged.get("json"):
        return report
    if report not in (None, STDOUT):
        raise ConfigError(
            f"--json prints the JSON report on stdout and --report writes it to {report}: "
            "give one of them"
        )
    if STDOUT in (merged.get("junit"), merged.get("markdown")):
        raise ConfigError("--json: another report already goes to stdout (-)")
    return STDOUT


def _merge_config(
    ctx: click.Context, options: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options with the config file's ``[sweep]`` values where no flag was given,
    and its ``strategy`` and ``notify`` tables.

    Each value of the file goes through its option's own checks (ranges, finite
    numbers), so a bad one is reported with the file and key. A dry run takes
    no report path from the file: it writes only what the command line asks for.
    """
    path = options.get("config_path")
    if not path:
        return dict(options), {}
    config = load_config(path)
    params = {param.name: param for param in ctx.command.params}
    merged = dict(options)
    for key, value in config["sweep"].items():
        where = f"{path}: sweep.{key}"
        if key == "base_url":  # checked even when the flag or the environment wins
            _check_base_url(value, where)
        source = ctx.get_parameter_source(key)
        if key == "api_key":
            merged[key] = value
        elif source in (None, click.core.ParameterSource.DEFAULT):
            merged[key] = _convert(ctx, params.get(key), value, where)
    if merged.get("dry_run"):
        for key in _REPORTS:
            from_file = ctx.get_parameter_source(key) in (None, click.core.ParameterSource.DEFAULT)
            if key in config["sweep"] and from_file:
                merged[key] = None
    return merged, {kind: config[kind] for kind in PLUGIN_TABLES}


_REPORTS = ("report", "junit", "markdown")


def _convert(ctx: click.Context, param: click.Parameter | None, value: Any, where: str) -> Any:
    single = isinstance(param, click.Option) and not param.multiple  # fail_on = [...] is one
    if isinstance(value, list) and not single:
        return tuple(value)
    if param is None or not isinstance(param, click.Option):
        return value
    try:
        return param.type.convert(value, param, ctx)
    except click.BadParameter as exc:
        raise ConfigError(f"{where}: {exc.message}") from None


def _check_base_url(value: str, where: str) -> None:
    try:
        normalize_base_url(value)
    except ConfigError as exc:
        raise ConfigError(f"{where}: {exc}") from None


def api_key(options: Mapping[str, Any]) -> Secret:
    """The API key: ``--api-key-file``, the config's ``api_key``, or TESTSIGMA_API_KEY.

    Raises:
        ConfigError: None is given, the file cannot be read or is empty, or the key is
            malformed (see :func:`~rerunorch.secret.validate_api_key`).
    """
    path = options.get("api_key_file")
    if path:
        try:
            key = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"--api-key-file: cannot read {path}: {exc.strerror}") from None
        if not key:
            raise ConfigError(f"--api-key-file: {path} is empty")
        return validate_api_key(key)
    key = (options.get("api_key") or os.environ.get("TESTSIGMA_API_KEY", "")).strip()
    if not key:
        raise ConfigError("no API key: set TESTSIGMA_API_KEY (or use --api-key-file)")
    return validate_api_key(key)


def _rounds(options: Mapping[str, Any]) -> dict[str, Any]:
    """The rounds settings (docs/verdicts.md); absent options keep the settings' defaults."""
    keys = ("max_rounds", "budget", "deadline", "round_delay", "fail_on")
    return {key: options[key] for key in keys if options.get(key) is not None}


def _settings(options: Mapping[str, Any], shard: Shard | None) -> SweepSettings:
    base_url = options.get("base_url") or DEFAULT_BASE_URL
    normalize_base_url(base_url)  # a bad URL is a usage error, found before anything starts
    interval = float(options["poll_interval"])
    try:
        return SweepSettings(
            base_url=base_url,
            strategy=options["strategy"],
            concurrency=options["concurrency"],
            rate=options["rate"],
            burst=options["burst"],
            max_active=options["max_active"],
            wait=options["wait"],
            poll=PollPolicy(initial=interval, minimum=min(interval, PollPolicy().minimum)),
            timeout=options["timeout"],
            stop_on_timeout=options["stop_on_timeout"],
            dry_run=options["dry_run"],
            shared_limit=options.get("shared_limit"),
            shard=str(shard) if shard else None,
            **_rounds(options),
        )
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


_NOT_IN_FLEET = (
    ("shard", "--shard (the fleet shares the targets out itself)"),
    ("resume", "--resume (a fleet resumes by itself: start a worker again)"),
    ("last_failed", "--last-failed"),
    ("dry_run", "--dry-run"),
    ("journal", "--journal (the fleet's records are in Redis)"),
    ("shared_limit", "--shared-limit (the fleet shares the limits through --fleet)"),
    *((key, flag) for key, flag in _TARGET_FLAGS if key not in ("from_file", "from_report")),
)


def fleet_settings(
    settings: SweepSettings, options: Mapping[str, Any], ids: tuple[str, ...]
) -> SweepSettings:
    """The settings of a fleet worker: the fleet's Redis shares the rate and ``--max-active``,
    and a worker holds at most a window of ``--max-active`` (or 4 x ``--concurrency``)
    targets, so that the others find work to take.

    Raises:
        ConfigError: ``--fleet`` without ``--fleet-name`` (or the other way), a bad name,
            an option a fleet does not take, or ``--max-active`` without ``--rate``.
    """
    from rerunorch.fleet import check_fleet_name

    url, name = options.get("fleet"), options.get("fleet_name")
    if not url or not name:
        raise ConfigError("--fleet and --fleet-name go together: give both (or neither)")
    if not str(url).startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(f"--fleet must be a redis:// URL, not {mask_url(str(url))[:120]!r}")
    check_fleet_name(str(name))
    for key, flag in _NOT_IN_FLEET:
        if options.get(key):
            raise ConfigError(f"--fleet does not take {flag}")
    if settings.max_active and settings.rate is None:
        raise ConfigError(
            "--fleet with --max-active needs --rate: the fleet's workers share both "
            "(the account's requests per second) through Redis"
        )
    window = settings.max_active or 4 * settings.concurrency
    shared = url if settings.rate is not None else None
    return attrs.evolve(settings, shared_limit=shared, window=window)
