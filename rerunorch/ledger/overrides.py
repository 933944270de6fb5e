"""The quarantine's manual override file (``.rerunorch/quarantine.toml``, ``--quarantine-file``).

::

    [[quarantine]]            # quarantine by hand (flaky or not)
    test = 1234               # a test case id, or its exact name
    until = 2026-12-31        # optional: the entry ends after this day (UTC)
    reason = "QA-12: the payment sandbox is down"

    [[release]]               # never quarantine automatically
    test = "Checkout as guest #3"

An entry past its ``until`` is ignored (and said so in the sweep's notes).
"""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from rerunorch.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["DEFAULT_QUARANTINE_FILE", "Overrides", "read_overrides"]

DEFAULT_QUARANTINE_FILE = ".rerunorch/quarantine.toml"
_KEYS = frozenset({"test", "until", "reason"})


@attrs.frozen(kw_only=True)
class Overrides:
    """What the file says, its expired entries left out.

    Attributes:
        quarantine: Test (id or name) -> why it is quarantined by hand.
        release: Tests never quarantined automatically.
        expired: One line per entry ignored because its ``until`` has passed.
    """

    quarantine: Mapping[int | str, str] = attrs.field(factory=dict)
    release: frozenset[int | str] = frozenset()
    expired: tuple[str, ...] = ()

    def quarantined(self, test_case_id: int | None, name: str | None) -> str | None:
        """Why this test is quarantined by hand, if it is."""
        for key in (test_case_id, name):
            if key is not None and key in self.quarantine:
                return self.quarantine[key]
        return None

    def released(self, test_case_id: int | None, name: str | None) -> bool:
        return any(key is not None and key in self.release for key in (test_case_id, name))


def _until(value: Any, where: str) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value[:10])
        except ValueError:
            pass
    raise ConfigError(f"{where}: until must be a date (2026-12-31), not {value!r}")


def read_overrides(path: str | Path, *, today: dt.date) -> Overrides:
    """The override file at ``path`` (none there: no overrides).

    Raises:
        ConfigError: It cannot be read or parsed, or an entry is malformed (file and entry named).
    """
    path = Path(path)
    if not path.exists():
        return Overrides()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the quarantine file {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"quarantine file {path} is not valid TOML: {exc}") from None
    unknown = set(data) - {"quarantine", "release"}
    if unknown:
        raise ConfigError(f"{path}: unknown table(s) {', '.join(sorted(unknown))}")
    quarantine: dict[int | str, str] = {}
    release: set[int | str] = set()
    expired: list[str] = []
    for kind in ("quarantine", "release"):
        entries = data.get(kind, [])
        if not isinstance(entries, list):
            raise ConfigError(f"{path}: {kind} must be a list of tables ([[{kind}]])")
        for number, entry in enumerate(entries, 1):
            where = f"{path}: {kind} #{number}"
            if not isinstance(entry, dict) or "test" not in entry:
                raise ConfigError(f"{where}: needs test = ID or NAME")
            extra = set(entry) - _KEYS
            if extra:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(sorted(extra))}")
            test = entry["test"]
            if isinstance(test, bool) or not isinstance(test, int | str):
                raise ConfigError(f"{where}: test must be an id or a name, not {test!r}")
            until = _until(entry.get("until"), where)
            if until is not None and until < today:
                expired.append(f"{kind} of {test!r} ended on {until.isoformat()}")
                continue
            if kind == "quarantine":
                quarantine[test] = "by hand" + (f": {entry['reason']}" if "reason" in entry else "")
            else:
                release.add(test)
    return Overrides(quarantine=quarantine, release=frozenset(release), expired=tuple(expired))
