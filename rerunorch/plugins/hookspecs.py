"""The hooks a rerunorch plugin may implement (pluggy project ``rerunorch``).

Every hook name starts with ``rerunorch_``. A plugin is a module (or object)
with functions of these names marked with :data:`hookimpl`; it may take any
subset of a hook's arguments. The ``register_*`` hooks are plain functions;
the sweep event hooks may also be ``async def``, and each takes one frozen
``event`` (see :mod:`rerunorch.events`), so that new fields break no plugin;
so may ``rerunorch_next_round``, which takes one frozen ``ctx``.
See docs/plugins.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import click

    from rerunorch.api.models import TestCaseResultRequest
    from rerunorch.events import (
        RequestsPaused,
        RerunFinished,
        RerunTriggered,
        SweepFinished,
        SweepStarted,
    )
    from rerunorch.notify import Notifier
    from rerunorch.strategies.base import Strategy
    from rerunorch.verdicts import RoundContext

__all__ = [
    "hookimpl",
    "hookspec",
    "rerunorch_next_round",
    "rerunorch_rate_limited",
    "rerunorch_register_commands",
    "rerunorch_register_notifiers",
    "rerunorch_register_strategies",
    "rerunorch_rerun_finished",
    "rerunorch_rerun_triggered",
    "rerunorch_sweep_finished",
    "rerunorch_sweep_started",
]

hookspec = pluggy.HookspecMarker("rerunorch")
"""Marks a hook specification (only rerunorch itself declares them)."""

hookimpl = pluggy.HookimplMarker("rerunorch")
"""Marks a plugin's implementation of a hook: ``@hookimpl def rerunorch_...``."""


@hookspec
def rerunorch_register_strategies(register: Callable[[Strategy], None]) -> None:
    """Add selection strategies: call ``register(strategy)`` once for each.

    A strategy's ``name`` is what ``--strategy`` takes; a name another plugin
    already registered is rejected (the plugin is reported and skipped).
    """


@hookspec
def rerunorch_register_notifiers(register: Callable[[Notifier], None]) -> None:
    """Add notifiers: call ``register(notifier)`` once for each.

    A notifier's ``name`` is what ``--notify`` takes and its ``[notify.NAME]``
    table in the config file; names must be unique across plugins.
    """


@hookspec
def rerunorch_register_commands(cli: click.Group) -> None:
    """Add commands (or command groups) to the ``rerunorch`` command group ``cli``.

    Called only when a command that is not built in is asked for (and by
    ``rerunorch plugins``), so that ``rerunorch --help`` stays fast. Replacing a
    built-in command is refused.
    """


@hookspec
def rerunorch_sweep_started(event: SweepStarted) -> Awaitable[None] | None:
    """A sweep is about to read its first target; ``event.settings`` is how it runs."""


@hookspec
def rerunorch_rerun_triggered(event: RerunTriggered) -> Awaitable[None] | None:
    """A rerun ``event.rerun_id`` exists for ``event.target`` (``event.adopted``: not this
    sweep's POST)."""


@hookspec
def rerunorch_rerun_finished(event: RerunFinished) -> Awaitable[None] | None:
    """A target has ended, whatever the way; ``event.outcome`` says how."""


@hookspec
def rerunorch_rate_limited(event: RequestsPaused) -> Awaitable[None] | None:
    """The server asked to slow down: every request pauses ``event.wait`` seconds, for
    ``event.reason``; told as the pause starts or grows."""


@hookspec
def rerunorch_sweep_finished(event: SweepFinished) -> Awaitable[None] | None:
    """The sweep has ended; ``event.report`` is final (notes may still be added to it)."""


@hookspec
def rerunorch_next_round(
    ctx: RoundContext,
) -> Iterable[TestCaseResultRequest] | Awaitable[Iterable[TestCaseResultRequest] | None] | None:
    """Before a later round (2 or more) of ``ctx.target``: which of ``ctx.picks`` to rerun.

    Asked after the strategy's own ``next_round``, and each plugin sees the picks the ones
    before it left. Answer a subset of ``ctx.picks`` (matched by ``id``: a plugin narrows a
    round, never widens it), an empty tuple to end the rounds (the undecided tests get the
    bound ``strategy``), or None to keep them. A hook that raises or answers anything else
    is noted in the report and counts as None.
    """
