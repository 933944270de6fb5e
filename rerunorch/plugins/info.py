"""What ``rerunorch plugins`` shows: the plugins loaded and those that failed."""

from __future__ import annotations

from typing import Any

import attrs

__all__ = ["FailedPlugin", "PluginInfo"]


@attrs.frozen(kw_only=True)
class PluginInfo:
    """A loaded plugin.

    Attributes:
        name: The plugin's name (its entry-point name; ``builtin`` for rerunorch's own).
        distribution: The installed distribution it comes from, if any.
        version: That distribution's version.
        hooks: The hooks it implements.
        strategies: The strategies it registered.
        notifiers: The notifiers it registered.
        commands: The commands it added to ``rerunorch``.
        path: The file or folder of a local plugin (``--plugins-dir``), else None.
    """

    name: str
    distribution: str | None = None
    version: str | None = None
    hooks: tuple[str, ...] = ()
    strategies: tuple[str, ...] = ()
    notifiers: tuple[str, ...] = ()
    commands: tuple[str, ...] = ()
    path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "hooks": list(self.hooks),
            "strategies": list(self.strategies),
            "notifiers": list(self.notifiers),
            "commands": list(self.commands),
            "path": self.path,
        }


@attrs.frozen(kw_only=True)
class FailedPlugin:
    """A plugin that failed to import or register and was skipped.

    Attributes:
        name: The plugin's name.
        reason: What went wrong (without secrets).
        distribution: The distribution it comes from, if known.
    """

    name: str
    reason: str
    distribution: str | None = None

    def __str__(self) -> str:
        return f"plugin {self.name} skipped: {self.reason}"

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "distribution": self.distribution, "reason": self.reason}
