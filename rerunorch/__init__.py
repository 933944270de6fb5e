"""rerunorch: rerun Testsigma test-plan results at scale.

Paced under the API's limits, each rerun triggered exactly once, followed to its
end, and every test told flaky or still failing.

>>> import rerunorch                                                    # doctest: +SKIP
>>> report = await rerunorch.run_sweep([467, 468], api_key="...")       # doctest: +SKIP
"""

from rerunorch._version import __version__
from rerunorch.client import DEFAULT_BASE_URL, TestsigmaClient
from rerunorch.clock import Clock, ScaledClock, SystemClock
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
from rerunorch.outcome import Outcome, OutcomeKind, TestRef
from rerunorch.pacing import ActiveReruns, Pacer
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
    "ExecutionResult",
    "IterationReRunType",
    "IterationResult",
    "NotFound",
    "Outcome",
    "OutcomeKind",
    "OutcomeUnknown",
    "Pacer",
    "PlanBusy",
    "PlanRunRequest",
    "PollPolicy",
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
    "TestRef",
    "TestsigmaClient",
    "TriggeredType",
    "UnexpectedResponse",
    "__version__",
    "read_targets",
    "result_passed",
    "run_sweep",
]
