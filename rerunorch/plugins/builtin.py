"""The built-in strategies, registered as a default plugin through the same hook as any other."""

from __future__ import annotations

from collections.abc import Callable

from rerunorch.plugins.hookspecs import hookimpl
from rerunorch.strategies.base import Strategy
from rerunorch.strategies.builtin import builtin_strategies

__all__ = ["rerunorch_register_strategies"]


@hookimpl
def rerunorch_register_strategies(register: Callable[[Strategy], None]) -> None:
    """Register ``all``, ``failed`` (the default), ``all-iterations``, ``failed-iterations``
    and ``user-picked``."""
    for strategy in builtin_strategies():
        register(strategy)
