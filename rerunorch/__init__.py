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
    from rerunorch.api import DEFAULT_BASE_URL
    from rerunorch.api.client import TestsigmaClient
    from rerunorch.api.enums import (
        IterationReRunType,
        ReRunType,
        Result,
        ResultType,
        Status,
        TriggeredType,
        result_passed,
    )
    from rerunorch.api.models import (
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
    from rerunorch.clock import Clock, ScaledClock, SystemClock
    from rerunorch.engine import Sweep, SweepProgress, run_sweep
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
    from rerunorch.events import (
        RequestsPaused,
        RerunFinished,
        RerunTriggered,
        SweepFinished,
        SweepListener,
        SweepStarted,
    )
    from rerunorch.notify import Notifier, run_notifiers
    from rerunorch.outcome import Outcome, OutcomeKind, TestRef
    from rerunorch.pacing.headers import RateLimitInfo, parse_retry_after
    from rerunorch.pacing.local import ActiveReruns, Pacer
    from rerunorch.plugins import PluginManager, hookimpl
    from rerunorch.plugins.settings import read_settings
    from rerunorch.polling import PollPolicy
    from rerunorch.report.digest import Count, Digest, Listing, Problem, TestLine, digest
    from rerunorch.report.model import Summary, SweepReport
    from rerunorch.report.text import duration_text, one_line, plural
    from rerunorch.secret import Secret
    from rerunorch.settings import SweepSettings
    from rerunorch.strategies.base import Decision, DecisionContext, Selection, Skip, Strategy
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
    "Count",
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
    "RequestsPaused",
    "RerunAlreadyExists",
    "RerunFinished",
    "RerunRequest",
    "RerunTriggered",
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
    "SweepFinished",
    "SweepListener",
    "SweepProgress",
    "SweepReport",
    "SweepSettings",
    "SweepStarted",
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
    "parse_retry_after",
    "plural",
    "read_settings",
    "read_targets",
    "result_passed",
    "run_notifiers",
    "run_sweep",
]

_HOMES: dict[str, str] = {
    "run_notifiers": "rerunorch.notify",
    "Count": "rerunorch.report.digest",
    "Digest": "rerunorch.report.digest",
    "Listing": "rerunorch.report.digest",
    "Problem": "rerunorch.report.digest",
    "TestLine": "rerunorch.report.digest",
    "digest": "rerunorch.report.digest",
    "duration_text": "rerunorch.report.text",
    "one_line": "rerunorch.report.text",
    "plural": "rerunorch.report.text",
    "DEFAULT_BASE_URL": "rerunorch.api",
    "TestsigmaClient": "rerunorch.api.client",
    "Clock": "rerunorch.clock",
    "ScaledClock": "rerunorch.clock",
    "SystemClock": "rerunorch.clock",
    "Sweep": "rerunorch.engine",
    "SweepProgress": "rerunorch.engine",
    "run_sweep": "rerunorch.engine",
    "IterationReRunType": "rerunorch.api.enums",
    "ReRunType": "rerunorch.api.enums",
    "Result": "rerunorch.api.enums",
    "ResultType": "rerunorch.api.enums",
    "Status": "rerunorch.api.enums",
    "TriggeredType": "rerunorch.api.enums",
    "result_passed": "rerunorch.api.enums",
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
    "SweepListener": "rerunorch.events",
    "SweepStarted": "rerunorch.events",
    "RerunTriggered": "rerunorch.events",
    "RerunFinished": "rerunorch.events",
    "RequestsPaused": "rerunorch.events",
    "SweepFinished": "rerunorch.events",
    "ApiErrorBody": "rerunorch.api.models",
    "ExecutionResult": "rerunorch.api.models",
    "IterationResult": "rerunorch.api.models",
    "PlanRunRequest": "rerunorch.api.models",
    "RerunRequest": "rerunorch.api.models",
    "StopRequest": "rerunorch.api.models",
    "TestCaseResult": "rerunorch.api.models",
    "TestCaseResultRequest": "rerunorch.api.models",
    "TestCaseResults": "rerunorch.api.models",
    "Notifier": "rerunorch.notify",
    "Outcome": "rerunorch.outcome",
    "OutcomeKind": "rerunorch.outcome",
    "TestRef": "rerunorch.outcome",
    "ActiveReruns": "rerunorch.pacing.local",
    "Pacer": "rerunorch.pacing.local",
    "PluginManager": "rerunorch.plugins",
    "hookimpl": "rerunorch.plugins",
    "read_settings": "rerunorch.plugins.settings",
    "PollPolicy": "rerunorch.polling",
    "RateLimitInfo": "rerunorch.pacing.headers",
    "parse_retry_after": "rerunorch.pacing.headers",
    "Summary": "rerunorch.report.model",
    "SweepReport": "rerunorch.report.model",
    "Secret": "rerunorch.secret",
    "SweepSettings": "rerunorch.settings",
    "Decision": "rerunorch.strategies.base",
    "DecisionContext": "rerunorch.strategies.base",
    "Selection": "rerunorch.strategies.base",
    "Skip": "rerunorch.strategies.base",
    "Strategy": "rerunorch.strategies.base",
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
