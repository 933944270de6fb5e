"""The error a simulated endpoint answers with."""

from __future__ import annotations

__all__ = ["ApiError"]


class ApiError(Exception):
    """An HTTP error answered with Testsigma's JSON error body.

    Attributes:
        status: The HTTP status.
        message: The ``error`` field of the body.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def body(self) -> dict[str, object]:
        """Testsigma's JSON error body."""
        return {
            "timeStamp": None,
            "error": self.message,
            "code": None,
            "fieldErrors": None,
            "objectErrors": None,
        }
