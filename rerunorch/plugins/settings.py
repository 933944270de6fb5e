"""Plugin settings: a ``[strategy.NAME]`` or ``[notify.NAME]`` table read into a typed object.

A strategy or notifier that takes settings gives itself an optional
``configure(options)`` method that returns the configured plugin (or raises
:class:`~rerunorch.errors.ConfigError`); rerunorch calls it once, before the
first request. :func:`read_settings` does the dull part of it: unknown keys,
missing ones and wrong types, each message naming the table and the key.

>>> @attrs.frozen
... class Settings:
...     pattern: str
...     ignore_case: bool = False
>>> read_settings(Settings, {"pattern": "^Timeout"}, table="strategy.failed-matching")
Settings(pattern='^Timeout', ignore_case=False)
>>> read_settings(Settings, {}, table="strategy.failed-matching")
Traceback (most recent call last):
rerunorch.errors.ConfigError: strategy.failed-matching.pattern is required
"""

from __future__ import annotations

import dataclasses
import re
import sys
import typing
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

import attrs

from rerunorch.errors import ConfigError
from rerunorch.secret import Secret

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "MASK",
    "configure_plugin",
    "mask_settings",
    "parse_option",
    "read_settings",
]

T = TypeVar("T")
P = TypeVar("P")

MASK = "***"
# A key that names one of these is a secret: its value never reaches a report or the journal.
_SECRET_KEY = re.compile(r"url|webhook|password|passwd|token|secret|key|dsn|credential", re.I)
_SCALARS: dict[type, tuple[type, ...]] = {
    str: (str,),
    bool: (bool,),
    int: (int,),
    float: (int, float),
}


def read_settings(cls: type[T], options: Mapping[str, Any], *, table: str) -> T:
    """An attrs class (or dataclass) ``cls`` made from ``options`` (a table and ``-o`` values).

    Each field is a key; a field without a default is required. Fields typed
    ``str``, ``int``, ``float``, ``bool``, ``tuple[str, ...]`` (a TOML list) or
    :class:`~rerunorch.Secret` (given as a string) are checked; an ``X | None``
    field takes X. A validator's ``ValueError`` is reported with the key.

    Args:
        cls: The settings class (``@attrs.frozen`` or ``@dataclasses.dataclass(frozen=True)``).
        options: The keys given.
        table: The table's name for messages, e.g. ``"strategy.failed-matching"``.

    Raises:
        ConfigError: A key is unknown, missing or of the wrong type (never quoting
            the value of a ``Secret`` field).
    """
    fields = _fields(cls)
    unknown = sorted(set(options) - set(fields))
    if unknown:
        known = ", ".join(sorted(fields)) or "none"
        raise ConfigError(f"{table}: unknown key {unknown[0]!r} (known: {known})")
    hints = typing.get_type_hints(cls)
    values: dict[str, Any] = {}
    for name, required in fields.items():
        if name in options:
            values[name] = _checked(options[name], hints.get(name, Any), f"{table}.{name}")
        elif required:
            raise ConfigError(f"{table}.{name} is required")
    try:
        return cls(**values)
    except (ValueError, TypeError) as exc:
        # attrs validators put the message first and the attribute after it.
        first = exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)
        raise ConfigError(f"{table}: {first}") from None


def _fields(cls: type) -> dict[str, bool]:
    """Each init field of an attrs class or a dataclass, and whether it is required."""
    if attrs.has(cls):
        return {f.name: f.default is attrs.NOTHING for f in attrs.fields(cls) if f.init}
    if dataclasses.is_dataclass(cls):
        return {
            f.name: f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            for f in dataclasses.fields(cls)
            if f.init
        }
    raise TypeError(f"{cls.__name__} is not an attrs class or a dataclass")


def _checked(value: Any, hint: Any, where: str) -> Any:
    """``value`` if it is of type ``hint`` (as far as settings go); raises ConfigError."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) in (typing.Union, _union_type()) and len(args) == 1:
        hint = args[0]
    if hint is Secret:
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str):
            raise ConfigError(f"{where} must be a string")
        return Secret(value)
    if hint in _SCALARS:
        # bool is an int in Python, but `max_items = true` is a mistake.
        if not isinstance(value, _SCALARS[hint]) or (isinstance(value, bool) and hint is not bool):
            raise ConfigError(f"{where} must be {hint.__name__}, not {value!r}")
        return float(typing.cast(float, value)) if hint is float else value
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, list | tuple) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where} must be a list of strings, not {value!r}")
        return tuple(value)
    return value


def _union_type() -> Any:
    import types

    return types.UnionType


def parse_option(text: str, *, flag: str) -> tuple[str, Any]:
    """``"key=value"`` from the command line as ``(key, value)``.

    The value is read as a TOML value where it is one (``5``, ``true``,
    ``["a", "b"]``, ``"quoted"``) and is the text itself otherwise
    (``pattern=^Timeout.*``).

    Raises:
        ConfigError: There is no ``=`` or no key (the message names ``flag``).
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ConfigError(f"{flag} takes KEY=VALUE, not {text!r}")
    try:
        value: Any = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return key, value


def mask_settings(options: Mapping[str, Any], secret: Collection[str] = ()) -> dict[str, Any]:
    """``options`` for a report or the journal: secrets shown as ``***``.

    A key is secret when it is in ``secret``, its name looks like one (url,
    webhook, password, token, secret, key, dsn) or its value is a
    :class:`~rerunorch.Secret`.
    """
    return {
        key: MASK
        if key in secret or _SECRET_KEY.search(key) or isinstance(value, Secret)
        else _plain(value)
        for key, value in sorted(options.items())
    }


def _plain(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return str(value)


def configure_plugin(
    plugin: P, options: Mapping[str, Any], *, table: str, unchecked: bool = False
) -> P:
    """``plugin.configure(options)``, or ``plugin`` itself if it has no ``configure``.

    Args:
        plugin: A strategy or notifier.
        options: Its settings.
        table: Its table's name, e.g. ``"notify.slack"``, for messages.
        unchecked: A plugin without ``configure`` may still be given settings
            (notifiers: their ``notify`` reads them, as before ``configure`` existed).

    Raises:
        ConfigError: A bad or missing setting (the message names ``table``), or
            settings given to a plugin that takes none.
    """
    configure = getattr(plugin, "configure", None)
    if configure is None:
        if options and not unchecked:
            raise ConfigError(f"{table}: takes no settings (got {', '.join(sorted(options))})")
        return plugin
    try:
        configured = configure(dict(options))
    except (ConfigError, ValueError, TypeError) as exc:
        message = str(exc)
        raise ConfigError(message if table in message else f"{table}: {message}") from None
    if configured is None:  # a configure that checks and returns nothing
        return plugin
    return typing.cast(P, configured)
