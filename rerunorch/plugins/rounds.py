"""Plugins taking part in later rounds: the strategy, then each ``rerunorch_next_round`` hook.

The lifecycle asks a strategy's optional ``next_round(ctx)`` (see
:class:`~rerunorch.verdicts.RoundContext`); :class:`RoundsStrategy` is a strategy whose
``next_round`` asks the wrapped strategy's own first and then the plugins' hooks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import attrs

from rerunorch.api.models import TestCaseResultRequest
from rerunorch.plugins.calls import await_me_maybe
from rerunorch.strategies.base import Decision, DecisionContext, Strategy
from rerunorch.verdicts import RoundContext

__all__ = ["Picks", "RoundsStrategy", "narrow", "narrowed"]

Picks = tuple[TestCaseResultRequest, ...]
AskPlugins = Callable[[RoundContext], Awaitable["Picks | None"]]


def narrow(ctx: RoundContext, answer: Iterable[object]) -> Picks:
    """The picks of ``ctx`` that ``answer`` names (by ``id``), in ``ctx``'s order.

    Raises:
        TypeError: ``answer`` is not an iterable of ``TestCaseResultRequest``.
    """
    if isinstance(answer, (str, bytes)) or not isinstance(answer, Iterable):
        raise TypeError(f"answered {answer!r}, not picks (a subset of ctx.picks) or None")
    chosen = list(answer)
    wrong = [item for item in chosen if not isinstance(item, TestCaseResultRequest)]
    if wrong:
        raise TypeError(f"answered {wrong[0]!r} among the picks, not a TestCaseResultRequest")
    ids = {item.id for item in chosen if isinstance(item, TestCaseResultRequest)}
    return tuple(pick for pick in ctx.picks if pick.id in ids)


def narrowed(ctx: RoundContext, picks: Picks) -> RoundContext:
    """``ctx`` with only ``picks`` left (and their tests in ``picked``)."""
    ids = {pick.id for pick in picks}
    return attrs.evolve(ctx, picks=picks, picked={k: v for k, v in ctx.picked.items() if k in ids})


class RoundsStrategy:
    """``strategy``, with the plugins asked about each later round after it.

    Everything else (``name``, ``description``, ``decide``, ...) is the strategy's own.
    """

    def __init__(self, strategy: Strategy, ask: AskPlugins) -> None:
        self.strategy = strategy
        self._ask = ask

    @property
    def name(self) -> str:
        return self.strategy.name

    def __getattr__(self, name: str) -> Any:
        return getattr(self.strategy, name)

    async def decide(self, ctx: DecisionContext) -> Decision:
        return await self.strategy.decide(ctx)

    async def next_round(self, ctx: RoundContext) -> Picks | None:
        """The strategy's answer (it may be ``async``), then the plugins' on what it left."""
        own = getattr(self.strategy, "next_round", None)
        picks = ctx.picks
        if own is not None:
            answer = await await_me_maybe(own(ctx))
            if answer is not None:
                picks = narrow(ctx, answer)
                if not picks:
                    return ()
        answer = await self._ask(narrowed(ctx, picks))
        if answer is not None:
            return answer
        return None if picks == ctx.picks else picks

    def __repr__(self) -> str:
        return f"RoundsStrategy({self.strategy!r})"
