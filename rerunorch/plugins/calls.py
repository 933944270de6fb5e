"""Calling one plugin's hook implementation at a time, so that each can be isolated."""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import pluggy

__all__ = ["await_me_maybe", "call_impl", "impls_of"]


def impls_of(hook: pluggy.HookCaller) -> list[pluggy.HookImpl]:
    """The plain (non-wrapper) implementations of ``hook`` (e.g. ``pm.hook.rerunorch_...``),
    first registered first."""
    return [impl for impl in hook.get_hookimpls() if not (impl.hookwrapper or impl.wrapper)]


def call_impl(impl: pluggy.HookImpl, arguments: Mapping[str, Any]) -> Any:
    """Call one implementation with the arguments it asks for (a subset of the spec's)."""
    return impl.function(*(arguments[name] for name in impl.argnames))


async def await_me_maybe(value: Any) -> Any:
    """``value``, awaited if it is awaitable (so that hook implementations may be async)."""
    if inspect.isawaitable(value):
        return await value
    return value
