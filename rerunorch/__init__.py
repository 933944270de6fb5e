"""rerunorch: rerun Testsigma test-plan results at scale.

Paced under the API's limits, each rerun triggered exactly once, followed to its
end, and every test told flaky or still failing.

>>> import rerunorch                                                    # doctest: +SKIP
>>> report = await rerunorch.run_sweep([467, 468], api_key="...")       # doctest: +SKIP
"""

# Names are imported on first use, so that `rerunorch --help` does not pay for aiohttp.
# Each exported name is written in two places that tests/test_public_api.py keeps equal:
# `_HOMES` (where the name is imported from at run time; `__all__` is made from it) and
# the block below, which type checkers read instead (`X as X` marks an explicit export,
# since they cannot evaluate a computed `__all__`). The helpers' names start with `_` so
# that the module offers nothing public beyond `__all__`.
import importlib as _importlib
import typing as _typing

from rerunorch._version import __version__ as __version__

if _typing.TYPE_CHECKING:
    from rerunorch.api import DEFAULT_BASE_URL as DEFAULT_BASE_URL
    from rerunorch.api.client import TestsigmaClient as TestsigmaClient
    from rerunorch.api.enums import IterationReRunType as IterationReRunType
    from rerunorch.api.enums import ReRunType as ReRunType
    from rerunorch.api.enums import Result as Result
    from rerunorch.api.enums import ResultType as ResultType
    from rerunorch.api.enums import Status as Status
    from rerunorch.api.enums import TriggeredType as TriggeredType
    from rerunorch.api.enums import result_passed as result_passed
    from rerunorch.api.models import ExecutionResult as ExecutionResult
    from rerunorch.api.models import IterationResult as IterationResult
    from rerunorch.api.models import PlanRunRequest as PlanRunRequest
    from rerunorch.api.models import RerunRequest as RerunRequest
    from rerunorch.api.models import StopRequest as StopRequest
    from rerunorch.api.models import TestCaseResult as TestCaseResult
    from rerunorch.api.models import TestCaseResultRequest as TestCaseResultRequest
    from rerunorch.api.models import TestCaseResults as TestCaseResults
    from rerunorch.clock import Clock as Clock
    from rerunorch.clock import ScaledClock as ScaledClock
    from rerunorch.clock import SystemClock as SystemClock
    from rerunorch.discovery import RunDiscovery as RunDiscovery
    from rerunorch.discovery import Window as Window
    from rerunorch.engine import Sweep as Sweep
    from rerunorch.engine import SweepProgress as SweepProgress
    from rerunorch.engine import run_sweep as run_sweep
    from rerunorch.errors import ApiError as ApiError
    from rerunorch.errors import AuthError as AuthError
    from rerunorch.errors import BadRequest as BadRequest
    from rerunorch.errors import ConfigError as ConfigError
    from rerunorch.errors import JournalError as JournalError
    from rerunorch.errors import NotFound as NotFound
    from rerunorch.errors import OutcomeUnknown as OutcomeUnknown
    from rerunorch.errors import PlanBusy as PlanBusy
    from rerunorch.errors import RateLimited as RateLimited
    from rerunorch.errors import RequestNotSent as RequestNotSent
    from rerunorch.errors import RerunAlreadyExists as RerunAlreadyExists
    from rerunorch.errors import RerunorchError as RerunorchError
    from rerunorch.errors import ResponseError as ResponseError
    from rerunorch.errors import ServerError as ServerError
    from rerunorch.errors import UnexpectedResponse as UnexpectedResponse
    from rerunorch.events import RequestsPaused as RequestsPaused
    from rerunorch.events import RerunFinished as RerunFinished
    from rerunorch.events import RerunTriggered as RerunTriggered
    from rerunorch.events import SweepFinished as SweepFinished
    from rerunorch.events import SweepListener as SweepListener
    from rerunorch.events import SweepStarted as SweepStarted
    from rerunorch.journal import Journal as Journal
    from rerunorch.notify import Notifier as Notifier
    from rerunorch.notify import run_notifiers as run_notifiers
    from rerunorch.outcome import Outcome as Outcome
    from rerunorch.outcome import OutcomeKind as OutcomeKind
    from rerunorch.outcome import TestRef as TestRef
    from rerunorch.pacing import PacingStats as PacingStats
    from rerunorch.pacing import RequestPacer as RequestPacer
    from rerunorch.pacing import RerunSlots as RerunSlots
    from rerunorch.pacing.headers import RateLimitInfo as RateLimitInfo
    from rerunorch.pacing.headers import parse_retry_after as parse_retry_after
    from rerunorch.pacing.limits import SharedLimits as SharedLimits
    from rerunorch.pacing.local import ActiveReruns as ActiveReruns
    from rerunorch.pacing.local import Pacer as Pacer
    from rerunorch.plugins import FailedPlugin as FailedPlugin
    from rerunorch.plugins import PluginInfo as PluginInfo
    from rerunorch.plugins import PluginManager as PluginManager
    from rerunorch.plugins import hookimpl as hookimpl
    from rerunorch.plugins.settings import read_settings as read_settings
    from rerunorch.polling import PollPolicy as PollPolicy
    from rerunorch.report.digest import Count as Count
    from rerunorch.report.digest import Digest as Digest
    from rerunorch.report.digest import Listing as Listing
    from rerunorch.report.digest import Problem as Problem
    from rerunorch.report.digest import TestLine as TestLine
    from rerunorch.report.digest import digest as digest
    from rerunorch.report.model import ResultLog as ResultLog
    from rerunorch.report.model import Summary as Summary
    from rerunorch.report.model import SweepReport as SweepReport
    from rerunorch.report.text import duration_text as duration_text
    from rerunorch.report.text import one_line as one_line
    from rerunorch.report.text import plural as plural
    from rerunorch.secret import Secret as Secret
    from rerunorch.secret import mask_url as mask_url
    from rerunorch.settings import SweepSettings as SweepSettings
    from rerunorch.strategies.base import Decision as Decision
    from rerunorch.strategies.base import DecisionContext as DecisionContext
    from rerunorch.strategies.base import Selection as Selection
    from rerunorch.strategies.base import Skip as Skip
    from rerunorch.strategies.base import Strategy as Strategy
    from rerunorch.targets import Target as Target
    from rerunorch.targets import read_targets as read_targets
    from rerunorch.verdicts import RoundContext as RoundContext
    from rerunorch.verdicts import TestVerdict as TestVerdict
    from rerunorch.verdicts import Verdict as Verdict

# Exported name -> the module it is imported from on first use.
_HOMES: dict[str, str] = {
    "DEFAULT_BASE_URL": "rerunorch.api",
    "TestsigmaClient": "rerunorch.api.client",
    "IterationReRunType": "rerunorch.api.enums",
    "ReRunType": "rerunorch.api.enums",
    "Result": "rerunorch.api.enums",
    "ResultType": "rerunorch.api.enums",
    "Status": "rerunorch.api.enums",
    "TriggeredType": "rerunorch.api.enums",
    "result_passed": "rerunorch.api.enums",
    "ExecutionResult": "rerunorch.api.models",
    "IterationResult": "rerunorch.api.models",
    "PlanRunRequest": "rerunorch.api.models",
    "RerunRequest": "rerunorch.api.models",
    "StopRequest": "rerunorch.api.models",
    "TestCaseResult": "rerunorch.api.models",
    "TestCaseResultRequest": "rerunorch.api.models",
    "TestCaseResults": "rerunorch.api.models",
    "Clock": "rerunorch.clock",
    "ScaledClock": "rerunorch.clock",
    "SystemClock": "rerunorch.clock",
    "Sweep": "rerunorch.engine",
    "SweepProgress": "rerunorch.engine",
    "run_sweep": "rerunorch.engine",
    "ApiError": "rerunorch.errors",
    "AuthError": "rerunorch.errors",
    "BadRequest": "rerunorch.errors",
    "ConfigError": "rerunorch.errors",
    "JournalError": "rerunorch.errors",
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
    "Journal": "rerunorch.journal",
    "RunDiscovery": "rerunorch.discovery",
    "Window": "rerunorch.discovery",
    "Notifier": "rerunorch.notify",
    "run_notifiers": "rerunorch.notify",
    "Outcome": "rerunorch.outcome",
    "OutcomeKind": "rerunorch.outcome",
    "TestRef": "rerunorch.outcome",
    "PacingStats": "rerunorch.pacing",
    "RequestPacer": "rerunorch.pacing",
    "RerunSlots": "rerunorch.pacing",
    "RateLimitInfo": "rerunorch.pacing.headers",
    "parse_retry_after": "rerunorch.pacing.headers",
    "SharedLimits": "rerunorch.pacing.limits",
    "ActiveReruns": "rerunorch.pacing.local",
    "Pacer": "rerunorch.pacing.local",
    "FailedPlugin": "rerunorch.plugins",
    "PluginInfo": "rerunorch.plugins",
    "read_settings": "rerunorch.plugins.settings",
    "PluginManager": "rerunorch.plugins",
    "hookimpl": "rerunorch.plugins",
    "PollPolicy": "rerunorch.polling",
    "Count": "rerunorch.report.digest",
    "Digest": "rerunorch.report.digest",
    "Listing": "rerunorch.report.digest",
    "Problem": "rerunorch.report.digest",
    "TestLine": "rerunorch.report.digest",
    "digest": "rerunorch.report.digest",
    "ResultLog": "rerunorch.report.model",
    "Summary": "rerunorch.report.model",
    "SweepReport": "rerunorch.report.model",
    "duration_text": "rerunorch.report.text",
    "one_line": "rerunorch.report.text",
    "plural": "rerunorch.report.text",
    "Secret": "rerunorch.secret",
    "mask_url": "rerunorch.secret",
    "SweepSettings": "rerunorch.settings",
    "Decision": "rerunorch.strategies.base",
    "DecisionContext": "rerunorch.strategies.base",
    "Selection": "rerunorch.strategies.base",
    "Skip": "rerunorch.strategies.base",
    "Strategy": "rerunorch.strategies.base",
    "Target": "rerunorch.targets",
    "read_targets": "rerunorch.targets",
    "RoundContext": "rerunorch.verdicts",
    "TestVerdict": "rerunorch.verdicts",
    "Verdict": "rerunorch.verdicts",
}

__all__ = sorted(["__version__", *_HOMES])

if not _typing.TYPE_CHECKING:
    # Hidden from type checkers, so that a misspelt name is an error for them.

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module 'rerunorch' has no attribute {name!r}")
        value = getattr(_importlib.import_module(home), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
