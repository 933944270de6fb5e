"""The TOML config file of ``rerunorch sweep --config``.

::

    [sweep]
    base_url = "https://app.testsigma.com"
    strategy = "failed"
    rate = 5
    max_active = 10
    junit = "rerunorch-junit.xml"
    notify = ["slack"]

    [notify.slack]
    webhook_url = "${SLACK_WEBHOOK_URL}"

    [strategy.failed-matching]   # the settings of a strategy (see docs/plugins.md)
    pattern = "Timeout"

``${NAME}`` anywhere in a string is replaced by the environment variable NAME
(an unset one is an error naming the key); ``$${`` gives a literal ``${``.
Flags given on the command line override the file.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rerunorch.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = ["PLUGIN_TABLES", "SWEEP_KEYS", "load_config"]

_VAR = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

# The [sweep] keys and the types they take (the flag names with '_' for '-').
SWEEP_KEYS: dict[str, tuple[type, ...]] = {
    "base_url": (str,),
    "api_key": (str,),
    "api_key_file": (str,),
    "strategy": (str,),
    "concurrency": (int,),
    "rate": (int, float),
    "burst": (int,),
    "max_active": (int,),
    "wait": (bool,),
    "poll_interval": (int, float),
    "timeout": (int, float),
    "stop_on_timeout": (bool,),
    "journal": (str,),
    "report": (str,),
    "junit": (str,),
    "markdown": (str,),
    "app_url": (str,),
    "notify": (list,),
    "from_file": (str,),
    "shared_limit": (str,),
    "fleet": (str,),
    "fleet_name": (str,),
    "fleet_lease": (int, float),
    "shard": (str,),
    "plugins_dir": (str,),
    # the rounds (docs/verdicts.md)
    "max_rounds": (int,),
    "budget": (str, int, float),
    "deadline": (str,),
    "round_delay": (str, int, float),
    "fail_on": (str, list),
    # where the targets come from (discovery and reports)
    "plans": (list,),
    "plans_file": (str,),
    "since": (str,),
    "until": (str,),
    "query": (str,),
    "index_path": (str,),
    "page_size": (int,),
    "from_report": (str,),
    "still_failing": (bool,),
    # the flake ledger (docs/verdicts.md)
    "history": (str,),
    "no_history": (bool,),
    "rerun_broken": (bool,),
    "quarantine_file": (str,),
}

PLUGIN_TABLES = ("strategy", "notify")  # [strategy.NAME] and [notify.NAME]: a plugin's settings


def _interpolate(value: Any, where: str) -> Any:
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            if match.group(0) == "$${":
                return "${"
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(f"{where}: environment variable {name} is not set")
            return os.environ[name]

        return _VAR.sub(replace, value)
    if isinstance(value, list):
        return [_interpolate(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _interpolate(v, f"{where}.{k}") for k, v in value.items()}
    return value


def _check_sweep(table: Mapping[str, Any], source: str) -> dict[str, Any]:
    checked: dict[str, Any] = {}
    for key, value in table.items():
        types = SWEEP_KEYS.get(key)
        if types is None:
            close = difflib.get_close_matches(key, SWEEP_KEYS, n=1)
            known = (
                f"did you mean {close[0]}?" if close else f"known: {', '.join(sorted(SWEEP_KEYS))}"
            )
            raise ConfigError(f"{source}: unknown key sweep.{key} ({known})")
        # bool is an int in Python, but `rate = true` is a mistake.
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            want = " or ".join(t.__name__ for t in types)
            raise ConfigError(f"{source}: sweep.{key} must be {want}, not {value!r}")
        if isinstance(value, list) and key == "plans":
            if not all(type(n) is int or isinstance(n, str) for n in value):
                raise ConfigError(f"{source}: sweep.plans must be a list of test plan ids")
        elif isinstance(value, list) and not all(isinstance(n, str) for n in value):
            names = "notifier names" if key == "notify" else "verdicts"
            raise ConfigError(f"{source}: sweep.{key} must be a list of {names}")
        if isinstance(value, float) and not math.isfinite(value):
            raise ConfigError(f"{source}: sweep.{key} must be a finite number, not {value!r}")
        checked[key] = value
    return checked


def load_config(path: str | Path) -> dict[str, Any]:
    """``{"sweep": {...}, "strategy": {name: {...}}, "notify": {name: {...}}}`` from a TOML file.

    Raises:
        ConfigError: The file cannot be read or parsed, a key is unknown or has the
            wrong type, or a ``${VAR}`` is not set; the message names the file and key.
    """
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config {source}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {source} is not valid TOML: {exc}") from None
    unknown = set(data) - {"sweep", *PLUGIN_TABLES}
    if unknown:
        raise ConfigError(
            f"{source}: unknown table(s) {', '.join(sorted(unknown))} "
            "(known: sweep, strategy.NAME, notify.NAME)"
        )
    sweep = data.get("sweep", {})
    if not isinstance(sweep, dict):
        raise ConfigError(f"{source}: [sweep] must be a table")
    loaded: dict[str, Any] = {
        "sweep": _check_sweep(_interpolate(sweep, f"{source}: sweep"), source)
    }
    for kind in PLUGIN_TABLES:
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            raise ConfigError(f"{source}: [{kind}.NAME] must be tables")
        for name, table in tables.items():
            if not isinstance(table, dict):
                raise ConfigError(f"{source}: {kind}.{name} must be a table")
        loaded[kind] = _interpolate(tables, f"{source}: {kind}")
    return loaded
