"""Selection strategies: what to rerun of each target.

:mod:`~rerunorch.strategies.base` is the seam (the :class:`Strategy` protocol and the
value objects it trades in); :mod:`~rerunorch.strategies.builtin` holds the built-ins,
which are registered as a default plugin exactly as third-party ones are.
"""

from rerunorch.strategies.base import Decision, DecisionContext, Selection, Skip, Strategy
from rerunorch.strategies.builtin import builtin_strategies

__all__ = ["Decision", "DecisionContext", "Selection", "Skip", "Strategy", "builtin_strategies"]
