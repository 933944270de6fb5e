"""Text helpers every report writer and notifier shares: one place for each.

>>> one_line("Login\\n  with SSO", 10)
'Login wit…'
>>> plural(2, "rerun"), duration_text(754.0), utc_text(0.0)
('2 reruns', '12m 34s', '1970-01-01 00:00:00 UTC')
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal

__all__ = ["UtcStyle", "clean", "duration_text", "one_line", "plural", "shorten", "utc_text"]

UtcStyle = Literal["text", "iso", "junit"]

# Characters XML 1.0 does not allow at all (not even as &#...; references),
# plus lone surrogates, which cannot be encoded as UTF-8. Tab, LF and CR stay.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SPACES = re.compile(r"\s+")
_UTC_FORMATS: dict[UtcStyle, str] = {
    "text": "%Y-%m-%d %H:%M:%S UTC",  # what people read: headlines, "Started ..."
    "iso": "%Y-%m-%dT%H:%M:%S+00:00",  # the JSON report (RFC 3339)
    "junit": "%Y-%m-%dT%H:%M:%S",  # the Ant JUnit schema has no zone
}


def clean(text: str) -> str:
    """*text* without characters XML 1.0 forbids, and with ``\\n`` line ends."""
    return _ILLEGAL.sub("", text).replace("\r\n", "\n").replace("\r", "\n")


def one_line(text: str, limit: int | None = None) -> str:
    """*text* cleaned (see :func:`clean`), each run of whitespace (newlines included) as
    one space, and cut to *limit* characters (with an ellipsis) when a limit is given."""
    flat = _SPACES.sub(" ", clean(text)).strip()
    return flat if limit is None else shorten(flat, limit)


def shorten(text: str, limit: int) -> str:
    """*text*, cut to at most *limit* characters with an ellipsis when longer."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def plural(count: int, word: str) -> str:
    """``"1 rerun"``, ``"2 reruns"``: *count* and *word*, with an ``s`` unless it is one."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def duration_text(seconds: float | None) -> str:
    """``"2h 3m 4s"``, ``"3m 2s"``, ``"42s"`` or ``"1.5s"``; ``"not finished"`` for None."""
    if seconds is None:
        return "not finished"
    seconds = max(0.0, seconds)
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m {secs}s"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{seconds:.1f}s" if seconds < 10 else f"{secs}s"


def utc_text(epoch: float, style: UtcStyle = "text") -> str:
    """Epoch seconds as a UTC time, to the second.

    Args:
        epoch: Seconds since the epoch.
        style: ``"text"`` ``2026-03-01 02:00:00 UTC`` (for people), ``"iso"``
            ``2026-03-01T02:00:00+00:00`` (the JSON report), ``"junit"``
            ``2026-03-01T02:00:00`` (JUnit's ``timestamp``, which has no zone).
    """
    when = dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc)
    return when.strftime(_UTC_FORMATS[style])
