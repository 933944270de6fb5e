"""rerunorch's plugin system (pluggy): hook specs, the manager, the built-in plugin.

Plugin authors need only :data:`hookimpl` (also exported by :mod:`rerunorch`);
docs/plugins.md describes every hook.
"""

from rerunorch.plugins.hookspecs import hookimpl, hookspec
from rerunorch.plugins.info import FailedPlugin, PluginInfo
from rerunorch.plugins.manager import ENTRY_POINT_GROUP, PluginManager, load_plugins
from rerunorch.plugins.relay import PluginRelay

__all__ = [
    "ENTRY_POINT_GROUP",
    "FailedPlugin",
    "PluginInfo",
    "PluginManager",
    "PluginRelay",
    "hookimpl",
    "hookspec",
    "load_plugins",
]
