"""The email notifier's settings: the ``[notify.email]`` table, then the environment."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

from rerunorch.errors import ConfigError
from rerunorch.secret import Secret

__all__ = ["ENV", "EmailSettings", "TlsMode"]

# The environment variable read for each key when the [notify.email] table lacks it.
ENV = {
    "host": "RERUNORCH_SMTP_HOST",
    "port": "RERUNORCH_SMTP_PORT",
    "tls": "RERUNORCH_SMTP_TLS",
    "user": "RERUNORCH_SMTP_USER",
    "password": "RERUNORCH_SMTP_PASSWORD",
    "from": "RERUNORCH_EMAIL_FROM",
    "to": "RERUNORCH_EMAIL_TO",
}
_OTHER_KEYS = {"title", "max_items", "timeout", "cafile", "validate_certs"}


class TlsMode(str, enum.Enum):
    """How the connection to the SMTP server is encrypted."""

    NONE = "none"  # plain text (a local relay)
    STARTTLS = "starttls"  # plain, then upgraded with STARTTLS (required, usually port 587)
    TLS = "tls"  # TLS from the first byte ("implicit TLS", usually port 465)

    @property
    def default_port(self) -> int:
        return {TlsMode.NONE: 25, TlsMode.STARTTLS: 587, TlsMode.TLS: 465}[self]


@dataclasses.dataclass(frozen=True)
class EmailSettings:
    """Where and how to send the summary.

    Attributes:
        host: The SMTP server.
        port: Its port (default by ``tls``: 25, 587 or 465).
        tls: ``none``, ``starttls`` (the default) or ``tls``.
        user: The login, if the server wants one.
        password: Its password.
        sender: The ``From`` address.
        recipients: The ``To`` addresses.
        title: The subject's first words.
        max_items: How many tests each list shows before "... and N more".
        timeout: Seconds for each step of the SMTP conversation.
        cafile: A PEM file of the certificate authorities to trust (e.g. a private CA).
        validate_certs: Whether to check the server's certificate. Turn off only
            for tests: the password would go to whoever answers.
    """

    host: str
    sender: str
    recipients: tuple[str, ...]
    port: int = 587
    tls: TlsMode = TlsMode.STARTTLS
    user: str | None = None
    password: Secret | None = None
    title: str = "rerunorch"
    max_items: int = 50
    timeout: float = 30.0
    cafile: str | None = None
    validate_certs: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any], env: Mapping[str, str]) -> EmailSettings:
        """Settings from ``[notify.email]`` (``options``), each missing key from its variable.

        Raises:
            ConfigError: A required value (host, from, to) is missing, a key is
                unknown, a value has the wrong type, or a password would be sent
                without encryption (the message never quotes the password).
        """
        unknown = sorted(set(options) - set(ENV) - _OTHER_KEYS)
        if unknown:
            known = ", ".join(sorted({*ENV, *_OTHER_KEYS}))
            raise ConfigError(f"unknown key notify.email.{unknown[0]} (known: {known})")
        value = _Reader(options, env)
        tls_name = value.text("tls") or TlsMode.STARTTLS.value
        try:
            tls = TlsMode(tls_name.lower())
        except ValueError:
            raise ConfigError(
                f"{value.where('tls')} must be none, starttls or tls, not {tls_name!r}"
            ) from None
        host = value.required_text("host")
        sender = value.required_text("from")
        recipients = value.addresses("to")
        if not recipients:
            raise ConfigError(f"no SMTP to: set {ENV['to']} or notify.email.to")
        user = value.text("user")
        password = value.text("password")
        if bool(user) != bool(password):
            raise ConfigError("notify.email: give both user and password, or neither")
        if password and tls is TlsMode.NONE:
            raise ConfigError(
                "notify.email: refusing to send the SMTP password unencrypted (tls = none); "
                "use tls = starttls or tls"
            )
        return cls(
            host=host,
            port=value.port(tls.default_port),
            tls=tls,
            user=user,
            password=Secret(password) if password else None,
            sender=sender,
            recipients=recipients,
            title=value.option("title", str, cls.title),
            max_items=value.option("max_items", int, cls.max_items),
            timeout=float(value.option("timeout", float, cls.timeout)),
            cafile=value.option("cafile", str, None),
            validate_certs=value.option("validate_certs", bool, True),
        )


class _Reader:
    """Each key from the table, else from its environment variable; errors name the source."""

    def __init__(self, options: Mapping[str, Any], env: Mapping[str, str]) -> None:
        self._options = options
        self._env = env

    def where(self, key: str) -> str:
        if key in self._options or key not in ENV:
            return f"notify.email.{key}"
        return ENV[key]

    def _raw(self, key: str) -> Any:
        if key in self._options:
            return self._options[key]
        return self._env.get(ENV[key]) if key in ENV else None

    def text(self, key: str) -> str | None:
        raw = self._raw(key)
        if raw is None:
            return None
        if not isinstance(raw, str):
            raise ConfigError(f"{self.where(key)} must be a string")
        return raw.strip() or None

    def required_text(self, key: str) -> str:
        text = self.text(key)
        if not text:
            raise ConfigError(f"no SMTP {key}: set {ENV[key]} or notify.email.{key}")
        return text

    def addresses(self, key: str) -> tuple[str, ...]:
        raw = self._raw(key)
        if isinstance(raw, str):
            raw = raw.split(",")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            raise ConfigError(f"{self.where(key)} must be a list of addresses or a comma string")
        return tuple(a.strip() for a in raw if a.strip())

    def port(self, default: int) -> int:
        raw = self._raw("port")
        if raw is None or raw == "":
            return default
        try:
            port = int(raw) if not isinstance(raw, bool) else -1
        except (TypeError, ValueError):
            port = -1
        if not 0 < port < 65536:
            raise ConfigError(f"{self.where('port')} must be a port number, not {raw!r}")
        return port

    def option(self, key: str, kind: type, default: Any) -> Any:
        value = self._options.get(key, default)
        if value is None:
            return None
        wanted = (int, float) if kind is float else (kind,)
        # bool is an int in Python, but `max_items = true` is a mistake.
        if not isinstance(value, wanted) or (isinstance(value, bool) and kind is not bool):
            raise ConfigError(f"notify.email.{key} must be {kind.__name__}, not {value!r}")
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"notify.email.{key} must not be negative, not {value!r}")
        return value
