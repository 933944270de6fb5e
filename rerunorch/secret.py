"""A string that never shows itself."""

from __future__ import annotations

__all__ = ["Secret"]


class Secret:
    """Wraps an API key, a webhook URL or a password so that reprs, logs and
    tracebacks show ``Secret('***')`` instead of the value.

    >>> Secret("abc")
    Secret('***')
    >>> Secret("abc").reveal()
    'abc'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The value itself: only for the one place that must send it."""
        return self._value

    def redact(self, text: str) -> str:
        """``text`` with every occurrence of the value replaced by ``***``."""
        return text.replace(self._value, "***") if self._value else text

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__
