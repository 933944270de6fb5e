"""Every error rerunorch raises, in one tree.

::

    RerunorchError
    ├── ConfigError                  bad usage, options, config or target files
    ├── JournalError                 the journal could not be written: the sweep stopped
    └── ApiError                     a call to the Testsigma API went wrong
        ├── RequestNotSent           never reached the server (refused, DNS): safe to retry
        ├── OutcomeUnknown           sent, then timed out or cut: did it happen?
        └── ResponseError            the server answered with a refusal
            ├── AuthError            401/403: stops the whole sweep
            ├── BadRequest           400/422: the request is wrong
            ├── NotFound             404: no such run
            ├── RateLimited          429/503: slow down (carries retry_after)
            ├── RerunAlreadyExists   "ReRun Parent Id Already Exists": the run has a child
            ├── PlanBusy             "... is currently running": try later
            ├── ServerError          other 5xx: for a POST, the outcome is unknown
            └── UnexpectedResponse   an answer that is not the API's (HTML, bad JSON)

Every :class:`ApiError` carries the HTTP method and path, the status (when
there was an answer) and the server's message, and optionally the target
(execution-result id) it concerns. None of them ever carries the API key: the
client removes it from any text it quotes.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequest",
    "ConfigError",
    "JournalError",
    "NotFound",
    "OutcomeUnknown",
    "PlanBusy",
    "RateLimited",
    "RequestNotSent",
    "RerunAlreadyExists",
    "RerunorchError",
    "ResponseError",
    "ServerError",
    "UnexpectedResponse",
]


class RerunorchError(Exception):
    """The base of every error rerunorch raises."""


class ConfigError(RerunorchError):
    """Bad usage: an option, a config file or a targets file is wrong.

    The message says what was wrong and where (file, line, key).
    """


class JournalError(RerunorchError):
    """The journal could not be written (a full disk, a lock another program holds, a value
    SQLite cannot store). The sweep stops: nothing is triggered without its record.
    """


class ApiError(RerunorchError):
    """A call to the Testsigma API failed.

    Attributes:
        method: The HTTP method, e.g. ``"POST"``.
        path: The request path, e.g. ``"/api/v1/execution_results/42"``.
        status: The HTTP status, or None when no answer came.
        message: The server's message (or what went wrong on the way).
        target: The execution-result id this concerns, when known.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        target: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.method = method
        self.path = path
        self.status = status
        self.target = target

    def __str__(self) -> str:
        status = f" -> {self.status}" if self.status is not None else ""
        return f"{self.method} {self.path}{status}: {self.message}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}({self.message!r}, method={self.method!r}, "
            f"path={self.path!r}, status={self.status!r})"
        )


class RequestNotSent(ApiError):
    """The request never reached the server (connection refused, DNS, connect timeout)."""


class OutcomeUnknown(ApiError):
    """The request was sent but no answer came (timeout, reset): it may have taken effect."""


class ResponseError(ApiError):
    """The server answered with an error status."""


class AuthError(ResponseError):
    """401/403: the API key is missing, wrong or not allowed. Nothing more should be sent."""


class BadRequest(ResponseError):
    """400/422: the server rejected the request as invalid."""


class NotFound(ResponseError):
    """404: the run (or path) does not exist."""


class RateLimited(ResponseError):
    """429/503: the server or a gateway asks to slow down.

    Attributes:
        retry_after: Seconds the server asked to wait, or None if it did not say.
    """

    def __init__(
        self,
        message: str,
        *,
        method: str,
        path: str,
        status: int | None = None,
        target: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, method=method, path=path, status=status, target=target)
        self.retry_after = retry_after


class RerunAlreadyExists(ResponseError):
    """The run already has a rerun ("ReRun Parent Id Already Exists"): find and adopt it."""


class PlanBusy(ResponseError):
    """The plan has an unfinished run ("... is currently running"): try later."""


class ServerError(ResponseError):
    """Any other 5xx. For a POST, whether it took effect is unknown."""


class UnexpectedResponse(ResponseError):
    """An answer that is not the API's: an HTML page from a proxy, or JSON of the wrong shape."""
