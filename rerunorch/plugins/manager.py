"""The plugin manager: a typed facade over pluggy, so that no other code touches ``pm.hook``.

>>> pm = PluginManager().load()        # built-ins + installed plugins   # doctest: +SKIP
>>> sweep = Sweep(ids, settings, api_key=key,                            # doctest: +SKIP
...               strategies=pm.strategies(), listener=pm.listener())
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import logging
import os
import sys
import types
from collections.abc import Callable, Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from rerunorch.errors import ConfigError
from rerunorch.events import (
    RequestsPaused,
    RerunFinished,
    RerunTriggered,
    SweepEvent,
    SweepFinished,
    SweepStarted,
)
from rerunorch.notify import Notifier
from rerunorch.plugins import builtin, hookspecs
from rerunorch.plugins.calls import await_me_maybe, call_impl, impls_of
from rerunorch.plugins.enablement import PluginEnablement, normalize
from rerunorch.plugins.info import FailedPlugin, PluginInfo
from rerunorch.plugins.relay import PluginRelay
from rerunorch.plugins.rounds import Picks, narrow, narrowed
from rerunorch.secret import safe_error, safe_traceback
from rerunorch.strategies.base import Strategy

if TYPE_CHECKING:
    import click

    from rerunorch.verdicts import RoundContext

__all__ = ["ENTRY_POINT_GROUP", "PluginManager", "installed_entry_points", "load_plugins"]

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "rerunorch"
BUILTIN = "builtin"


@attrs.frozen
class _Registry:
    strategies: dict[str, Strategy]
    strategy_owners: dict[str, str]
    notifiers: dict[str, Notifier]
    notifier_owners: dict[str, str]


class _RegisterFailed(Exception):
    def __init__(self, plugin: object, reason: str) -> None:
        super().__init__(reason)
        self.plugin = plugin
        self.reason = reason


class PluginManager:
    """The plugins of one program: rerunorch's built-ins, then any others loaded or registered.

    A plugin that fails to import or register is logged, kept in :attr:`failed`
    and skipped; with ``strict`` (or ``RERUNORCH_STRICT_PLUGINS=1`` at
    :meth:`load`) it raises :class:`~rerunorch.errors.ConfigError` instead.

    Args:
        strict: Make a failing plugin fatal.
        builtins: Register the built-in strategies (off only in tests of the manager).
    """

    def __init__(self, *, strict: bool = False, builtins: bool = True) -> None:
        self._pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
        self._pm.add_hookspecs(hookspecs)
        self._strict = strict
        self._failed: list[FailedPlugin] = []
        self._distributions: dict[str, tuple[str | None, str | None]] = {}
        self._registry: _Registry | None = None
        self._commands: dict[str, tuple[str, ...]] | None = None
        self._local: dict[str, str] = {}
        if builtins:
            from rerunorch._version import __version__

            self.register(builtin, name=BUILTIN, distribution=("rerunorch", __version__))

    # -- loading -----------------------------------------------------------------------------

    def load(
        self,
        env: Mapping[str, str] | None = None,
        entry_points: Iterable[metadata.EntryPoint] | None = None,
    ) -> PluginManager:
        """Load the plugins installed under the ``rerunorch`` entry-point group.

        ``RERUNORCH_PLUGINS`` (comma-separated entry-point or distribution names)
        loads only those; ``RERUNORCH_DISABLE_PLUGINS`` leaves some out; neither
        affects the built-ins. Every plugin's registrations are collected at once,
        so any failure is known (or, when strict, raised) before a sweep starts.

        Args:
            env: The environment (default ``os.environ``).
            entry_points: The entry points to consider (default: the installed ones).

        Returns:
            This manager.

        Raises:
            ConfigError: When strict, a plugin failed to import or register, or a
                plugin named in ``RERUNORCH_PLUGINS`` is not installed.
        """
        selection = PluginEnablement.from_env(os.environ if env is None else env)
        self._strict = self._strict or selection.strict
        if entry_points is None:
            entry_points = installed_entry_points()
        seen: set[str] = set()
        for entry_point in entry_points:
            dist = getattr(entry_point, "dist", None)
            dist_name = dist.name if dist is not None else None
            seen.update(n for n in (entry_point.name, dist_name) if n)
            if not selection.wants(entry_point.name, dist_name):
                continue
            version = dist.version if dist is not None else None
            try:
                plugin = entry_point.load()
            except Exception as exc:
                self._fail(
                    entry_point.name,
                    f"cannot import {entry_point.value}: {safe_error(exc)}",
                    dist_name,
                )
                continue
            self.register(plugin, name=entry_point.name, distribution=(dist_name, version))
        missing = sorted((selection.only or set()) - {normalize(n) for n in seen})
        for name in missing:
            self._fail(name, "not installed (named in RERUNORCH_PLUGINS)")
        self._collected()
        return self

    def load_dir(self, path: str | os.PathLike[str]) -> PluginManager:
        """Load each ``*.py`` file and each package folder in ``path`` as a plugin (no packaging).

        Each goes through :meth:`register` as an installed plugin does, named after
        its file (``local:NAME``); one that fails to import is reported in
        :attr:`failed` and skipped (or raises when strict).

        Raises:
            ConfigError: ``path`` is not a folder, or (when strict) a plugin failed.
        """
        folder = Path(path)
        if not folder.is_dir():
            raise ConfigError(f"--plugins-dir: {folder} is not a folder")
        for item in sorted(folder.iterdir()):
            source = _plugin_source(item)
            if source is None:
                continue
            name = f"local:{item.stem}"
            try:
                module = _import_file(item.stem, source, package=item.is_dir())
            except Exception as exc:
                self._fail(name, f"cannot import {item}: {safe_error(exc)}")
                continue
            if self.register(module, name=name, distribution=(None, None)) is not None:
                self._local[name] = str(item)
        self._collected()
        return self

    def register(
        self,
        plugin: object,
        name: str | None = None,
        *,
        distribution: tuple[str | None, str | None] | None = None,
    ) -> str | None:
        """Register a plugin object (a module, a class or an instance with hook implementations).

        Args:
            plugin: The plugin.
            name: Its name (default: the module's ``__name__`` or pluggy's default).
            distribution: ``(name, version)`` of the distribution it comes from.

        Returns:
            The plugin's name, or None if it failed (see :attr:`failed`).

        Raises:
            ConfigError: When strict, the plugin is invalid (unknown hook, wrong arguments,
                an ``async`` register hook, a name already taken).
        """
        label = name or getattr(plugin, "__name__", None) or repr(plugin)
        try:
            registered = self._pm.register(plugin, name=name)
        except Exception as exc:
            self._fail(label, f"cannot register: {safe_error(exc)}", (distribution or (None,))[0])
            return None
        if registered is None:  # blocked
            return None
        try:
            self._pm.check_pending()  # earlier plugins passed: any unknown hook is this one's
            self._check_register_hooks(plugin)
        except Exception as exc:
            self._pm.unregister(plugin)
            self._fail(
                registered, f"cannot register: {safe_error(exc)}", (distribution or (None,))[0]
            )
            return None
        self._distributions[registered] = distribution or (None, None)
        self._registry = None
        self._commands = None
        return registered

    def _check_register_hooks(self, plugin: object) -> None:
        hooks = self._pm.hook
        for hook in (
            hooks.rerunorch_register_strategies,
            hooks.rerunorch_register_notifiers,
            hooks.rerunorch_register_commands,
        ):
            for impl in impls_of(hook):
                if impl.plugin is plugin and inspect.iscoroutinefunction(impl.function):
                    raise TypeError(f"{hook.name} must be a plain function, not async def")

    @property
    def failed(self) -> tuple[FailedPlugin, ...]:
        """The plugins skipped because they failed to import or register, with reasons."""
        return tuple(self._failed)

    def _fail(self, name: str, reason: str, distribution: str | None = None) -> None:
        failure = FailedPlugin(name=name, reason=reason, distribution=distribution)
        if self._strict:
            raise ConfigError(f"plugin {name} failed: {reason} (RERUNORCH_STRICT_PLUGINS is set)")
        if failure not in self._failed:
            log.warning("%s", failure)
            self._failed.append(failure)

    # -- registrations -----------------------------------------------------------------------

    def strategies(self) -> dict[str, Strategy]:
        """Every registered selection strategy, by name."""
        return dict(self._collected().strategies)

    def notifiers(self) -> dict[str, Notifier]:
        """Every registered notifier, by name."""
        return dict(self._collected().notifiers)

    def _collected(self) -> _Registry:
        # A plugin whose register hook fails is dropped whole and the rest collected again.
        while self._registry is None:
            try:
                strategies, strategy_owners = self._gather(
                    self._pm.hook.rerunorch_register_strategies, "strategy", Strategy
                )
                notifiers, notifier_owners = self._gather(
                    self._pm.hook.rerunorch_register_notifiers, "notifier", Notifier
                )
            except _RegisterFailed as failure:
                name = self._pm.get_name(failure.plugin) or repr(failure.plugin)
                dist = self._distributions.pop(name, (None, None))[0]
                self._pm.unregister(failure.plugin)
                self._fail(name, failure.reason, dist)
                continue
            self._registry = _Registry(strategies, strategy_owners, notifiers, notifier_owners)
        return self._registry

    def _gather(
        self, hook: pluggy.HookCaller, kind: str, protocol: type[Any]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        found: dict[str, Any] = {}
        owners: dict[str, str] = {}
        for impl in impls_of(hook):
            mine: dict[str, Any] = {}
            register = _registrar(kind, protocol, impl.plugin_name, mine, owners)
            try:
                result = call_impl(impl, {"register": register})
                if inspect.isawaitable(result):
                    getattr(result, "close", lambda: None)()
                    raise TypeError(f"{hook.name} must be a plain function, not async def")
            except Exception as exc:
                raise _RegisterFailed(
                    impl.plugin, f"{hook.name} failed: {safe_error(exc)}"
                ) from exc
            found.update(mine)
            owners.update(dict.fromkeys(mine, impl.plugin_name))
        return found, owners

    # -- commands ----------------------------------------------------------------------------

    def add_commands(self, cli: click.Group) -> None:
        """Let each plugin add its commands to ``cli`` (``rerunorch_register_commands``).

        A plugin that raises, or that would replace a command already there, is
        reported in :attr:`failed` and its changes are undone.
        """
        commands: dict[str, tuple[str, ...]] = {}
        reserved = set(getattr(cli, "lazy", ()))
        hook = self._pm.hook.rerunorch_register_commands
        for impl in impls_of(hook):
            before = dict(cli.commands)
            try:
                call_impl(impl, {"cli": cli})
                added = set(cli.commands) - set(before)
                clash = sorted(
                    {n for n, c in before.items() if cli.commands.get(n) is not c}
                    | (added & reserved)
                )
                if clash:
                    raise ValueError(f"it would replace the command(s) {', '.join(clash)}")
            except Exception as exc:
                cli.commands.clear()
                cli.commands.update(before)
                self._fail(
                    impl.plugin_name,
                    f"{hook.name} failed: {safe_error(exc)}",
                    self._distributions.get(impl.plugin_name, (None, None))[0],
                )
                continue
            commands[impl.plugin_name] = tuple(sorted(added))
        self._commands = commands

    # -- sweep events ------------------------------------------------------------------------

    def listener(self) -> PluginRelay:
        """A :class:`~rerunorch.SweepListener` that calls every plugin's event hooks.

        Give it to :class:`~rerunorch.Sweep`; one plugin raising never stops the
        others, and failures end up in ``report.notes``.
        """
        return PluginRelay(self)

    # One method per event hook (as tox 4's manager), so that no caller names a hook.

    async def sweep_started(self, event: SweepStarted) -> list[tuple[str, str]]:
        """Run each plugin's ``rerunorch_sweep_started``; returns the failures."""
        return await self._tell(self._pm.hook.rerunorch_sweep_started, event)

    async def rerun_triggered(self, event: RerunTriggered) -> list[tuple[str, str]]:
        """Run each plugin's ``rerunorch_rerun_triggered``; returns the failures."""
        return await self._tell(self._pm.hook.rerunorch_rerun_triggered, event)

    async def rerun_finished(self, event: RerunFinished) -> list[tuple[str, str]]:
        """Run each plugin's ``rerunorch_rerun_finished``; returns the failures."""
        return await self._tell(self._pm.hook.rerunorch_rerun_finished, event)

    async def rate_limited(self, event: RequestsPaused) -> list[tuple[str, str]]:
        """Run each plugin's ``rerunorch_rate_limited``; returns the failures."""
        return await self._tell(self._pm.hook.rerunorch_rate_limited, event)

    async def sweep_finished(self, event: SweepFinished) -> list[tuple[str, str]]:
        """Run each plugin's ``rerunorch_sweep_finished``; returns the failures."""
        return await self._tell(self._pm.hook.rerunorch_sweep_finished, event)

    # -- later rounds ------------------------------------------------------------------------

    def decides_rounds(self) -> bool:
        """Whether any plugin implements ``rerunorch_next_round``."""
        return bool(impls_of(self._pm.hook.rerunorch_next_round))

    async def next_round(self, ctx: RoundContext) -> tuple[Picks | None, list[tuple[str, str]]]:
        """Ask each plugin's ``rerunorch_next_round`` (pluggy's order, async ones awaited)
        which of ``ctx.picks`` to rerun; each sees what the ones before it left.

        Returns:
            The picks left (None: no plugin narrowed them; ``()``: a plugin ended the
            rounds, and the rest were not asked), and ``(plugin name, error)`` for each
            implementation that raised or answered something else than picks or None.
        """
        hook = self._pm.hook.rerunorch_next_round
        failures: list[tuple[str, str]] = []
        picks: Picks | None = None
        for impl in reversed(impls_of(hook)):
            try:
                answer = await await_me_maybe(call_impl(impl, {"ctx": ctx}))
                if answer is None:
                    continue
                picks = narrow(ctx, answer)
            except Exception as exc:
                log.debug(
                    "plugin %s raised in %s:\n%s", impl.plugin_name, hook.name, safe_traceback(exc)
                )
                failures.append((impl.plugin_name, safe_error(exc)))
                continue
            if not picks:
                return (), failures
            ctx = narrowed(ctx, picks)
        return picks, failures

    async def _tell(self, hook: pluggy.HookCaller, event: SweepEvent) -> list[tuple[str, str]]:
        """Call ``hook(event=event)`` on each plugin in pluggy's order (last registered first),
        awaiting async implementations, each isolated; the event methods above share it.

        Returns:
            ``(plugin name, error)`` for each implementation that raised (the error
            without URLs, see :func:`~rerunorch.notify.safe_error`).
        """
        failures: list[tuple[str, str]] = []
        for impl in reversed(impls_of(hook)):
            try:
                await await_me_maybe(call_impl(impl, {"event": event}))
            except Exception as exc:
                log.debug(
                    "plugin %s raised in %s:\n%s", impl.plugin_name, hook.name, safe_traceback(exc)
                )
                failures.append((impl.plugin_name, safe_error(exc)))
        return failures

    # -- description -------------------------------------------------------------------------

    def describe(self) -> list[PluginInfo]:
        """Each loaded plugin (built-ins first) with what it provides."""
        registry = self._collected()
        if self._commands is None:
            import click

            self.add_commands(click.Group("rerunorch"))
        commands = self._commands or {}
        infos = []
        for name, plugin in self._pm.list_name_plugin():
            if plugin is None:
                continue
            distribution, version = self._distributions.get(name, (None, None))
            callers = self._pm.get_hookcallers(plugin) or []
            infos.append(
                PluginInfo(
                    name=name,
                    distribution=distribution,
                    version=version,
                    hooks=tuple(sorted(caller.name for caller in callers)),
                    strategies=_owned(registry.strategy_owners, name),
                    notifiers=_owned(registry.notifier_owners, name),
                    commands=commands.get(name, ()),
                    path=self._local.get(name),
                )
            )
        return infos


def installed_entry_points() -> Iterable[metadata.EntryPoint]:
    """The entry points of the ``rerunorch`` group in the installed distributions."""
    return metadata.entry_points(group=ENTRY_POINT_GROUP)


def _owned(owners: Mapping[str, str], plugin: str) -> tuple[str, ...]:
    return tuple(sorted(item for item, owner in owners.items() if owner == plugin))


def _registrar(
    kind: str, protocol: type[Any], plugin: str, mine: dict[str, Any], owners: Mapping[str, str]
) -> Callable[[Any], None]:
    """The ``register`` callback handed to one plugin's register hook."""

    def register(item: Any) -> None:
        if not isinstance(item, protocol):
            raise TypeError(f"{item!r} is not a {kind} (see the {protocol.__name__} protocol)")
        name = item.name
        if not isinstance(name, str) or not name or name != name.strip():
            raise ValueError(f"a {kind}'s name must be a non-empty string, not {name!r}")
        if name in owners or name in mine:
            owner = owners.get(name, plugin)
            raise ConfigError(
                f"{kind} {name!r} is registered by both plugin {owner} and plugin {plugin}"
            )
        mine[name] = item

    return register


def _plugin_source(item: Path) -> Path | None:
    """The file to import for a plugins-dir entry: ``x.py`` or ``x/__init__.py``."""
    if item.name.startswith((".", "_")):
        return None
    if item.is_file() and item.suffix == ".py":
        return item
    if item.is_dir() and (item / "__init__.py").is_file():
        return item / "__init__.py"
    return None


def _import_file(stem: str, source: Path, *, package: bool) -> types.ModuleType:
    """Import ``source`` as ``rerunorch_local_plugins.STEM`` (a package may import its parts)."""
    module_name = f"rerunorch_local_plugins.{stem}"
    locations = [str(source.parent)] if package else None
    spec = importlib.util.spec_from_file_location(
        module_name, source, submodule_search_locations=locations
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


@functools.cache
def load_plugins(plugins_dir: str | None = None) -> PluginManager:
    """This process's plugin manager, loaded from the environment once (for the CLI).

    Args:
        plugins_dir: A folder of local plugins too (``--plugins-dir``), see
            :meth:`PluginManager.load_dir`.

    Raises:
        ConfigError: ``RERUNORCH_STRICT_PLUGINS`` is set and a plugin failed, or
            ``plugins_dir`` is not a folder.
    """
    manager = PluginManager().load()
    return manager.load_dir(plugins_dir) if plugins_dir else manager
