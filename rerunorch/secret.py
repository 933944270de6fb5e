"""Secrets: a string that never shows itself, and the redaction of text that may hold one.

The rule for any text that may quote a secret (a server's answer, an exception
message) is *decode, then redact, then truncate*: decode the bytes to text
first, so that no decoding afterwards turns an escaped key back into the key;
redact before cutting to length, so that no prefix of the key survives.
:meth:`Secret.redact` finds the value in its plain, JSON-escaped, URL-encoded,
HTML-escaped, hex and base64 forms (also inside a base64 ``user:key``).
"""

from __future__ import annotations

import base64
import re
import traceback
import unicodedata
from collections.abc import Iterator

from rerunorch.errors import ConfigError

__all__ = ["Secret", "mask_url", "safe_error", "safe_traceback", "validate_api_key"]

MASK = "***"
_MAX_MESSAGE = 200
_MIN_ENCODED = 6  # shorter base64 or hex runs would match ordinary text
_NAMED_ENTITIES = {"&": "amp", "<": "lt", ">": "gt", '"': "quot", "'": "apos"}
_BASE64_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")


class Secret:
    """Wraps an API key, a webhook URL or a password so that reprs, logs and
    tracebacks show ``Secret('***')`` instead of the value.

    A secret is one line: a control character (a stray newline or tab from a
    file) is refused, as it would also let a header be injected.

    >>> Secret("abc")
    Secret('***')
    >>> Secret("abc").reveal()
    'abc'

    Raises:
        ConfigError: ``value`` contains a control character.
    """

    __slots__ = ("_pattern", "_value")

    def __init__(self, value: str, *, what: str = "a secret") -> None:
        position = _control_character(value)
        if position is not None:
            raise ConfigError(
                f"{what} contains a control character (U+{ord(value[position]):04X} at "
                f"position {position + 1}): a stray newline or tab?"
            )
        self._value = value
        self._pattern: re.Pattern[str] | None = None

    def reveal(self) -> str:
        """The value itself: only for the one place that must send it."""
        return self._value

    def redact(self, text: str, *, limit: int | None = None) -> str:
        """``text`` with the value, in any of its encoded forms, replaced by ``***``.

        Args:
            text: Decoded text (decode bytes first: see the module's rule).
            limit: Then cut the result to at most this many characters.

        >>> Secret("s3cr/t").redact('{"key": "s3cr\\\\/t"} s3cr%2Ft czNjci90')
        '{"key": "***"} *** ***'
        """
        if self._value:
            if self._pattern is None:
                self._pattern = re.compile("|".join(_forms(self._value)))
            text = _redact_base64(self._pattern.sub(MASK, text), self._value)
        return shorten(text, limit) if limit is not None else text

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def validate_api_key(key: str | Secret) -> Secret:
    """The API key as a :class:`Secret`, checked before anything is sent.

    Raises:
        ConfigError: The key is empty or blank, or holds a control character, a
            space or a non-ASCII character (no Testsigma key does; the message
            never quotes the key).
    """
    value = key.reveal() if isinstance(key, Secret) else key
    if not value.strip():
        raise ConfigError("the API key is empty: set TESTSIGMA_API_KEY")
    secret = key if isinstance(key, Secret) else Secret(value, what="the API key")
    bad = next((i for i, c in enumerate(value) if not "!" <= c <= "~"), None)
    if bad is not None:
        raise ConfigError(
            f"the API key contains a space or a non-ASCII character (at position {bad + 1})"
        )
    return secret


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in ``...`` when cut."""
    if len(text) <= limit:
        return text
    return text[: max(limit - 3, 0)] + "..." if limit > 3 else text[:limit]


# -- the forms of a secret ------------------------------------------------------------------


def _control_character(value: str) -> int | None:
    return next((i for i, c in enumerate(value) if unicodedata.category(c) == "Cc"), None)


def _hex(number: int, width: int) -> str:
    """A case-insensitive pattern for ``number`` in hex (``2f`` matches ``2F``)."""
    return "".join(f"[{d}{d.upper()}]" if d.isalpha() else d for d in f"{number:0{width}x}")


def _char_forms(char: str) -> str:
    """A pattern for one character as it may appear once encoded."""
    code = ord(char)
    forms = [re.escape(char)]
    if not char.isalnum():
        forms.append(r"\\{1,3}" + re.escape(char))  # JSON \/ and \", doubly escaped \\/
    encoded = char.encode("utf-8")
    forms.append("".join("%(?:25)?" + _hex(b, 2) for b in encoded))  # %2F, double %252F
    if code < 0x10000:
        forms.append(r"\\{1,3}u" + _hex(code, 4))  # JSON \u002f
    entity = "&(?:amp;){0,2}"  # escaped once, or twice (an escaped page quoted in a page)
    forms.append(f"{entity}#0*{code};|{entity}#[xX]0*{_hex(code, 1)};")
    if char in _NAMED_ENTITIES:
        forms.append(f"{entity}{_NAMED_ENTITIES[char]};")
    if char == " ":
        forms.append(r"\+")  # form encoding
    return "(?:" + "|".join(forms) + ")"


def _forms(value: str) -> Iterator[str]:
    """Patterns for the value: character by character, then in hex."""
    yield "".join(_char_forms(c) for c in value)
    raw = value.encode("utf-8")
    if len(raw) * 2 >= _MIN_ENCODED:
        yield "".join(_hex(b, 2) for b in raw)


def _base64_cores(raw: bytes) -> Iterator[str]:
    """The base64 text that any encoding of data holding ``raw`` contains.

    Where ``raw`` starts inside the data (``user:key``) moves its bits within
    the 6-bit groups, so there is one core per offset modulo 3: the characters
    whose 6 bits all come from ``raw``.
    """
    for offset in range(3):
        full = base64.b64encode(bytes(offset) + raw).decode()
        core = full[-(-8 * offset // 6) : 8 * (offset + len(raw)) // 6]
        if len(core) >= _MIN_ENCODED:
            yield core
            yield core.replace("+", "-").replace("/", "_")


def _redact_base64(text: str, value: str) -> str:
    """``text`` with each base64 run that encodes ``value`` replaced as a whole."""
    cores = set(_base64_cores(value.encode("utf-8")))
    if not cores:
        return text
    pieces: list[str] = []
    done = 0  # text before this is already in pieces; each character is scanned once
    for match in re.finditer("|".join(map(re.escape, cores)), text):
        if match.start() < done:
            continue  # inside a run already replaced
        start, end = match.span()
        while start > done and text[start - 1] in _BASE64_CHARS:
            start -= 1
        while end < len(text) and (text[end] in _BASE64_CHARS or text[end] == "="):
            end += 1
        pieces += [text[done:start], MASK]
        done = end
    return "".join(pieces) + text[done:] if pieces else text


# -- URLs and exception messages ------------------------------------------------------------

_SECRET_PARAMS = re.compile(
    r"(?i)([?&;](?:[a-z0-9_.-]*(?:pass|pwd|secret|token|key|auth|sig)[a-z0-9_.-]*)=)[^&;#]*"
)
_URL = re.compile(
    r"\b[a-zA-Z][a-zA-Z0-9+.-]*(?::|%3[aA])(?://|\\+/\\+/|%2[fF]%2[fF]|(?:\\+u002[fF]){2})\S+"
)


def mask_url(url: str) -> str:
    """``url`` fit to show or store: its password and secret parameters replaced by ``***``.

    ``user:password@`` keeps the user; a lone ``token@`` is masked whole; query
    parameters whose name holds ``pass``, ``pwd``, ``secret``, ``token``,
    ``key``, ``auth`` or ``sig`` keep only their name. Works on malformed URLs
    too (a wrong scheme, a bad port), so that an error message may quote them.

    >>> mask_url("redis://:hunter2@cache:6379/0?password=hunter2")
    'redis://:***@cache:6379/0?password=***'
    >>> mask_url("https://bot:pw@example.com/api")
    'https://bot:***@example.com/api'
    """
    start = url.find("//")
    if start >= 0:
        start += 2
        slash = url.find("/", start)
        at = url.rfind("@", start, len(url) if slash < 0 else slash)
        if at >= 0:
            user, colon, _ = url[start:at].partition(":")
            url = url[:start] + (f"{user}:{MASK}" if colon else MASK) + url[at:]
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + MASK, url)


def safe_error(exc: BaseException, *secrets: Secret) -> str:
    """``"TypeName: message"`` fit for a note, a report or a log line.

    The message has ``secrets`` redacted, any URL (even JSON-escaped or
    percent-encoded) replaced by ``<url>``, and is then shortened: webhook URLs
    carry their secret in the path, so a message that quotes its URL must not
    be shown verbatim.
    """
    message = str(exc)
    for secret in secrets:
        message = secret.redact(message)
    message = shorten(_URL.sub("<url>", message).strip(), _MAX_MESSAGE)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def safe_traceback(exc: BaseException) -> str:
    """``exc``'s traceback for a debug log, each line with its URLs as ``<url>`` and the
    exception's own line as :func:`safe_error` gives it (a raw message may quote a webhook URL).
    """
    frames = traceback.format_tb(exc.__traceback__)
    lines = [_URL.sub("<url>", line) for line in "".join(frames).splitlines()]
    return "\n".join(["Traceback (most recent call last):", *lines, safe_error(exc)])
