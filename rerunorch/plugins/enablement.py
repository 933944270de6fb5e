"""Which entry-point plugins load, from ``RERUNORCH_PLUGINS`` and ``RERUNORCH_DISABLE_PLUGINS``."""

from __future__ import annotations

import re
from collections.abc import Mapping

import attrs

__all__ = ["ENV_DISABLE", "ENV_ONLY", "ENV_STRICT", "PluginEnablement", "normalize"]

ENV_ONLY = "RERUNORCH_PLUGINS"
ENV_DISABLE = "RERUNORCH_DISABLE_PLUGINS"
ENV_STRICT = "RERUNORCH_STRICT_PLUGINS"

_TRUE = frozenset({"1", "true", "yes", "on"})


def normalize(name: str) -> str:
    """A plugin or distribution name compared the PEP 503 way (``Foo_Bar`` is ``foo-bar``)."""
    return re.sub(r"[-_.]+", "-", name).lower().strip()


def _names(value: str | None) -> frozenset[str]:
    return frozenset(normalize(n) for n in (value or "").split(",") if n.strip())


@attrs.frozen
class PluginEnablement:
    """The environment's say on plugin loading.

    Attributes:
        only: Load only these (entry-point or distribution names); None: all installed.
        disabled: Never load these.
        strict: A plugin that fails to import or register is fatal (``ConfigError``).
    """

    only: frozenset[str] | None = None
    disabled: frozenset[str] = frozenset()
    strict: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> PluginEnablement:
        """Read the three variables; ``RERUNORCH_PLUGINS=""`` (set, empty) loads none."""
        only = _names(env[ENV_ONLY]) if ENV_ONLY in env else None
        strict = env.get(ENV_STRICT, "").strip().lower() in _TRUE
        return cls(only, _names(env.get(ENV_DISABLE)), strict)

    def wants(self, *names: str | None) -> bool:
        """Whether a plugin known by any of ``names`` is to be loaded."""
        keys = {normalize(n) for n in names if n}
        if keys & self.disabled:
            return False
        return self.only is None or bool(keys & self.only)
