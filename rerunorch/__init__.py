"""rerunorch: rerun Testsigma test-plan results at scale.

Paced under the API's limits, each rerun triggered exactly once, followed to its
end, and every test told flaky or still failing.

>>> import rerunorch                                                    # doctest: +SKIP
>>> report = await rerunorch.run_sweep([467, 468], api_key="...")       # doctest: +SKIP
"""

# Names are imported on first use, so that `rerunorch --help` does not pay for aiohttp.
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rerunorch._version import __version__

if TYPE_CHECKING:
    from rerunorch.client import DEFAULT_BASE_URL, TestsigmaClient
    from rerunorch.clock import Clock, ScaledClock, SystemClock
    from rerunorch.digests import (
        Digest,
        Listing,
        Problem,
        TestLine,
        digest,
        duration_text,
        one_line,
    )
    from rerunorch.engine import Sweep, SweepProgress, run_sweep
    from rerunorch.enums import (
        IterationReRunType,
        ReRunType,
        Result,
        ResultType,
        Status,
        TriggeredType,
        result_passed,
    )
    from rerunorch.errors import (
        ApiError,
        AuthError,
        BadRequest,
        ConfigError,
        NotFound,
        OutcomeUnknown,
        PlanBusy,
        RateLimited,
        RequestNotSent,
        RerunAlreadyExists,
        RerunorchError,
        ResponseError,
        ServerError,
        UnexpectedResponse,
    )
    from rerunorch.listener import SweepListener
    from rerunorch.models import (
        ApiErrorBody,
        ExecutionResult,
        IterationResult,
        PlanRunRequest,
        RerunRequest,
        StopRequest,
        TestCaseResult,
        TestCaseResultRequest,
        TestCaseResults,
    )
    from rerunorch.notify import Notifier, run_notifiers
    from rerunorch.outcome import Outcome, OutcomeKind, TestRef
    from rerunorch.pacing import ActiveReruns, Pacer
    from rerunorch.plugins import PluginManager, hookimpl
    from rerunorch.polling import PollPolicy
    from rerunorch.ratelimit import RateLimitInfo
    from rerunorch.report import Summary, SweepReport
    from rerunorch.secret import Secret
    from rerunorch.settings import SweepSettings
    from rerunorch.strategy import Decision, DecisionContext, Selection, Skip, Strategy
    from rerunorch.targets import Target, read_targets

__all__ = [
    "DEFAULT_BASE_URL",
    "ActiveReruns",
    "ApiError",
    "ApiErrorBody",
    "AuthError",
    "BadRequest",
    "Clock",
    "ConfigError",
    "Decision",
    "DecisionContext",
    "Digest",
    "ExecutionResult",
    "IterationReRunType",
    "IterationResult",
    "Listing",
    "NotFound",
    "Notifier",
    "Outcome",
    "OutcomeKind",
    "OutcomeUnknown",
    "Pacer",
    "PlanBusy",
    "PlanRunRequest",
    "PluginManager",
    "PollPolicy",
    "Problem",
    "RateLimitInfo",
    "RateLimited",
    "ReRunType",
    "RequestNotSent",
    "RerunAlreadyExists",
    "RerunRequest",
    "RerunorchError",
    "ResponseError",
    "Result",
    "ResultType",
    "ScaledClock",
    "Secret",
    "Selection",
    "ServerError",
    "Skip",
    "Status",
    "StopRequest",
    "Strategy",
    "Summary",
    "Sweep",
    "SweepListener",
    "SweepProgress",
    "SweepReport",
    "SweepSettings",
    "SystemClock",
    "Target",
    "TestCaseResult",
    "TestCaseResultRequest",
    "TestCaseResults",
    "TestLine",
    "TestRef",
    "TestsigmaClient",
    "TriggeredType",
    "UnexpectedResponse",
    "__version__",
    "digest",
    "duration_text",
    "hookimpl",
    "one_line",
    "read_targets",
    "result_passed",
    "run_notifiers",
    "run_sweep",
]

_HOMES: dict[str, str] = {
    "run_notifiers": "rerunorch.notify",
    "Digest": "rerunorch.digests",
    "Listing": "rerunorch.digests",
    "Problem": "rerunorch.digests",
    "TestLine": "rerunorch.digests",
    "digest": "rerunorch.digests",
    "duration_text": "rerunorch.digests",
    "one_line": "rerunorch.digests",
    "DEFAULT_BASE_URL": "rerunorch.client",
    "TestsigmaClient": "rerunorch.client",
    "Clock": "rerunorch.clock",
    "ScaledClock": "rerunorch.clock",
    "SystemClock": "rerunorch.clock",
    "Sweep": "rerunorch.engine",
    "SweepProgress": "rerunorch.engine",
    "run_sweep": "rerunorch.engine",
    "IterationReRunType": "rerunorch.enums",
    "ReRunType": "rerunorch.enums",
    "Result": "rerunorch.enums",
    "ResultType": "rerunorch.enums",
    "Status": "rerunorch.enums",
    "TriggeredType": "rerunorch.enums",
    "result_passed": "rerunorch.enums",
    "ApiError": "rerunorch.errors",
    "AuthError": "rerunorch.errors",
    "BadRequest": "rerunorch.errors",
    "ConfigError": "rerunorch.errors",
    "NotFound": "rerunorch.errors",
    "OutcomeUnknown": "rerunorch.errors",
    "PlanBusy": "rerunorch.errors",
    "RateLimited": "rerunorch.errors",
    "RequestNotSent": "rerunorch.errors",
    "RerunAlreadyExists": "rerunorch.errors",
    "RerunorchError": "rerunorch.errors",
    "ResponseError": "rerunorch.errors",
    "ServerError": "rerunorch.errors",
    "UnexpectedResponse": "rerunorch.errors",
    "SweepListener": "rerunorch.listener",
    "ApiErrorBody": "rerunorch.models",
    "ExecutionResult": "rerunorch.models",
    "IterationResult": "rerunorch.models",
    "PlanRunRequest": "rerunorch.models",
    "RerunRequest": "rerunorch.models",
    "StopRequest": "rerunorch.models",
    "TestCaseResult": "rerunorch.models",
    "TestCaseResultRequest": "rerunorch.models",
    "TestCaseResults": "rerunorch.models",
    "Notifier": "rerunorch.notify",
    "Outcome": "rerunorch.outcome",
    "OutcomeKind": "rerunorch.outcome",
    "TestRef": "rerunorch.outcome",
    "ActiveReruns": "rerunorch.pacing",
    "Pacer": "rerunorch.pacing",
    "PluginManager": "rerunorch.plugins",
    "hookimpl": "rerunorch.plugins",
    "PollPolicy": "rerunorch.polling",
    "RateLimitInfo": "rerunorch.ratelimit",
    "Summary": "rerunorch.report",
    "SweepReport": "rerunorch.report",
    "Secret": "rerunorch.secret",
    "SweepSettings": "rerunorch.settings",
    "Decision": "rerunorch.strategy",
    "DecisionContext": "rerunorch.strategy",
    "Selection": "rerunorch.strategy",
    "Skip": "rerunorch.strategy",
    "Strategy": "rerunorch.strategy",
    "Target": "rerunorch.targets",
    "read_targets": "rerunorch.targets",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'rerunorch' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
