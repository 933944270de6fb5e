"""Text clean-up shared by the report writers."""

from __future__ import annotations

import re

__all__ = ["clean", "one_line", "shorten"]

# Characters XML 1.0 does not allow at all (not even as &#...; references),
# plus lone surrogates, which cannot be encoded as UTF-8. Tab, LF and CR stay.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


def clean(text: str) -> str:
    """*text* without characters XML 1.0 forbids, and with ``\\n`` line ends."""
    return _ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def one_line(text: str) -> str:
    """*text* cleaned, with each run of whitespace (newlines included) as one space."""
    return _SPACES.sub(" ", clean(text)).strip()


def shorten(text: str, limit: int) -> str:
    """*text*, cut to at most *limit* characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
