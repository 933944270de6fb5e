"""The seam between the engine and selection strategies.

A strategy looks at the run to rerun (the head of its chain) and answers with
a :class:`Selection` (what to rerun) or a :class:`Skip` (why not). The built-in
strategies live in :mod:`rerunorch.strategies.builtin`; plugins add more.

>>> class OnlyNightly:
...     name = "only-nightly"
...     description = "rerun failed tests of runs from build numbers ending in -nightly"
...     async def decide(self, ctx: DecisionContext) -> Decision:
...         if not (ctx.run.build_no or "").endswith("-nightly"):
...             return Skip("not a nightly build")
...         return Selection(ReRunType.ONLY_FAILED_TESTS, reason="failed tests")
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, runtime_checkable

import attrs

from rerunorch.api.enums import ReRunType
from rerunorch.api.models import ExecutionResult, TestCaseResultRequest, TestCaseResults
from rerunorch.targets import Target

__all__ = ["Decision", "DecisionContext", "Selection", "Skip", "Strategy"]


@attrs.frozen
class Selection:
    """Rerun this.

    Attributes:
        re_run_type: The ``reRunType`` to send.
        test_case_result_requests: For ``USER_PICKED``: the test cases (and iterations).
        reason: A short account for dry runs and logs, e.g. ``"3 failed tests"``.
    """

    re_run_type: ReRunType
    test_case_result_requests: tuple[TestCaseResultRequest, ...] | None = None
    reason: str = ""


@attrs.frozen
class Skip:
    """Do not rerun this target.

    Attributes:
        reason: Why, e.g. ``"already passed in rerun 512"``.
    """

    reason: str


Decision = Selection | Skip


@attrs.frozen(kw_only=True)
class DecisionContext:
    """What a strategy may look at.

    Attributes:
        target: The target as given (with any picked ids).
        original: The target's own run.
        run: The run to rerun: the newest completed run of the target's chain.
        test_cases: Reads a run's test-case results (cached, paced like every request).
    """

    target: Target
    original: ExecutionResult
    run: ExecutionResult
    test_cases: Callable[[int], Awaitable[TestCaseResults]]


@runtime_checkable
class Strategy(Protocol):
    """Decides what to rerun. ``name`` is what ``--strategy`` takes.

    Optional, where a strategy has them:

    - ``description``: one line, shown by ``rerunorch plugins`` and ``sweep --help``.
    - ``configure(options) -> Strategy``: takes the ``[strategy.NAME]`` table and
      the ``-o KEY=VALUE`` values, and returns the configured strategy; it raises
      :class:`~rerunorch.ConfigError` (or ``ValueError``) for a bad or missing
      setting. It runs before the first request (see
      :func:`rerunorch.plugins.settings.read_settings`).
    - ``secret_settings``: keys whose values are masked in the report and the journal
      (beyond those named like url, token, password, secret or key).
    """

    @property
    def name(self) -> str:
        """The name ``--strategy`` takes, e.g. ``"failed"``."""
        ...

    async def decide(self, ctx: DecisionContext) -> Decision:
        """Selection or Skip for ``ctx.run``; raise ``ValueError`` for a target it cannot serve."""
        ...
