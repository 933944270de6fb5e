"""The API's enumerations, kept open.

Testsigma adds values over time, and its docs and server disagree on spellings,
so every enum here accepts a value it does not know: ``Result("NEW")`` gives a
member whose ``value`` is ``"NEW"`` and whose :attr:`~OpenEnum.known` is false.
Such a value is kept, reported and round-tripped, never a crash.
"""

from __future__ import annotations

import enum

__all__ = [
    "IterationReRunType",
    "OpenEnum",
    "ReRunType",
    "Result",
    "ResultType",
    "Status",
    "TriggeredType",
    "result_passed",
]


class OpenEnum(str, enum.Enum):
    """A string enum that keeps unknown values instead of raising."""

    @classmethod
    def _missing_(cls, value: object) -> OpenEnum | None:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value
        member._value_ = value
        return member

    @property
    def known(self) -> bool:
        """Whether this value is one the API documents."""
        return self._name_ in type(self).__members__

    def __str__(self) -> str:
        return str(self.value)


class ReRunType(OpenEnum):
    """What a rerun reruns (``reRunType``)."""

    ALL_TESTS = "ALL_TESTS"
    ONLY_FAILED_TESTS = "ONLY_FAILED_TESTS"
    ALL_ITERATIONS = "ALL_ITERATIONS"
    ONLY_FAILED_ITERATIONS = "ONLY_FAILED_ITERATIONS"
    USER_PICKED = "USER_PICKED"
    ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS = "ONLY_FAILED_ITERATIONS_IN_FAILED_TESTS"
    NONE = "NONE"


class IterationReRunType(OpenEnum):
    """Which iterations of a data-driven case to rerun (``iterationReRunType``)."""

    ALL = "ALL"
    FAILED = "FAILED"
    PASSED = "PASSED"
    USER_PICKED = "USER_PICKED"


_PASSING = frozenset({"SUCCESS", "PASSED"})


class Result(OpenEnum):
    """A run's, test's or iteration's result.

    Real responses say ``SUCCESS``/``FAILURE``; the seed page says
    ``PASSED``/``FAILED``. Both are understood: see :attr:`passed`.
    """

    SUCCESS = "SUCCESS"
    PASSED = "PASSED"
    FAILURE = "FAILURE"
    FAILED = "FAILED"
    ABORTED = "ABORTED"
    NOT_EXECUTED = "NOT_EXECUTED"
    STOPPED = "STOPPED"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"

    @property
    def passed(self) -> bool:
        """True for ``SUCCESS`` and ``PASSED``; every other value is not a pass."""
        return self.value in _PASSING


def result_passed(result: Result | str | None) -> bool:
    """Whether ``result`` (a :class:`Result`, a raw string or None) is a pass."""
    return result is not None and str(result) in _PASSING


class Status(OpenEnum):
    """Where a run is in its life. Only ``STATUS_COMPLETED`` is final."""

    STATUS_CREATED = "STATUS_CREATED"
    STATUS_QUEUED = "STATUS_QUEUED"
    STATUS_PRE_FLIGHT = "STATUS_PRE_FLIGHT"
    STATUS_IN_PROGRESS = "STATUS_IN_PROGRESS"
    STATUS_COMPLETED = "STATUS_COMPLETED"

    @property
    def final(self) -> bool:
        """True only for ``STATUS_COMPLETED`` (a just-created run is not finished)."""
        return self is Status.STATUS_COMPLETED


class TriggeredType(OpenEnum):
    """How a run was started."""

    MANUAL = "MANUAL"
    SCHEDULED = "SCHEDULED"
    API = "API"


class ResultType(OpenEnum):
    """The kind of result (only ``ORIGINAL`` is documented)."""

    ORIGINAL = "ORIGINAL"
