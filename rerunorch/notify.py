"""Notifiers: tell someone (Slack, email, a plugin's service) how a sweep went.

A notifier is any object with a ``name`` and an async ``notify(report, options)``
(a ``description`` and a ``configure(options)`` are optional); plugins register them with the
``rerunorch_register_notifiers`` hook. :func:`run_notifiers` runs the chosen
ones at the end of a sweep, each isolated from the others.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol, runtime_checkable

import anyio

from rerunorch.errors import ConfigError
from rerunorch.report.model import SweepReport
from rerunorch.secret import safe_error  # its home; imported from here by older code

__all__ = ["Notifier", "choose_notifiers", "notify_all", "run_notifiers", "safe_error"]

NOTIFIER_TIME_LIMIT = 120.0  # seconds; each notifier has its own retries within it
log = logging.getLogger(__name__)


@runtime_checkable
class Notifier(Protocol):
    """Sends a sweep's report somewhere. ``name`` is what ``--notify`` takes.

    Optional, where a notifier has them: ``description`` (one line, shown by
    ``rerunorch plugins`` and ``sweep --help``); ``configure(options) -> Notifier``,
    which checks the ``[notify.NAME]`` table (and ``--notify-option`` values) before
    the sweep sends anything, raising :class:`~rerunorch.ConfigError`, and returns
    the notifier to use; ``secret_settings``, keys masked in the report beyond
    those named like url, token, password, secret or key.

    >>> class Printer:
    ...     name = "print"
    ...     description = "print the summary to standard output"
    ...     async def notify(self, report, options):
    ...         print(report.summary.to_json())
    """

    @property
    def name(self) -> str:
        """The name ``--notify`` takes and the config's ``[notify.NAME]`` table."""
        ...

    async def notify(self, report: SweepReport, options: Mapping[str, Any]) -> None:
        """Send ``report``; ``options`` is the ``[notify.NAME]`` table (may be empty).

        Secrets (webhook URLs, passwords) may come from ``options`` or from
        environment variables; never put them in an exception message.
        """
        ...


def choose_notifiers(
    names: Iterable[str], notifiers: Mapping[str, Notifier]
) -> tuple[tuple[str, Notifier], ...]:
    """``(name, notifier)`` for each name in ``names`` (in order, each once).

    The CLI calls this before the sweep sends anything, so that a misspelled
    ``--notify`` fails up front.

    Raises:
        ConfigError: A name is not a known notifier.
    """
    chosen = list(dict.fromkeys(names))
    unknown = [name for name in chosen if name not in notifiers]
    if unknown:
        known = ", ".join(sorted(notifiers)) or "none installed"
        raise ConfigError(f"unknown notifier {unknown[0]!r}; available: {known}")
    return tuple((name, notifiers[name]) for name in chosen)


async def run_notifiers(
    names: Iterable[str],
    notifiers: Mapping[str, Notifier],
    report: SweepReport,
    options_by_name: Mapping[str, Mapping[str, Any]],
    *,
    time_limit: float = NOTIFIER_TIME_LIMIT,
) -> list[str]:
    """Run each notifier in ``names`` (in order) on ``report``.

    One failing never stops the others: each failure becomes a returned
    warning line and a note in ``report.notes`` (without secrets).

    Args:
        names: The notifiers to run (``--notify``), e.g. ``["slack"]``.
        notifiers: The notifiers known, by name (from the plugin manager).
        report: The finished sweep's report.
        options_by_name: Each notifier's ``[notify.NAME]`` table; missing means ``{}``.
        time_limit: Seconds each notifier may take before it counts as failed.

    Returns:
        The warnings, one line per failed notifier (empty if all succeeded).

    Raises:
        ConfigError: A name is not a known notifier (nothing is run then).
    """
    chosen = choose_notifiers(names, notifiers)
    return await notify_all(chosen, report, options_by_name, time_limit=time_limit)


async def notify_all(
    chosen: Iterable[tuple[str, Notifier]],
    report: SweepReport,
    options_by_name: Mapping[str, Mapping[str, Any]],
    *,
    time_limit: float = NOTIFIER_TIME_LIMIT,
) -> list[str]:
    """Run notifiers already chosen (:func:`choose_notifiers`); see :func:`run_notifiers`."""
    warnings: list[str] = []
    for name, notifier in chosen:
        try:
            with anyio.fail_after(time_limit):
                await notifier.notify(report, options_by_name.get(name) or {})
        except TimeoutError:
            line = f"notifier {name} failed: no answer within {time_limit:g}s"
            log.warning("%s", line)
            report.notes.append(line)
            warnings.append(line)
        except Exception as exc:
            line = f"notifier {name} failed: {safe_error(exc)}"
            log.warning("%s", line)
            report.notes.append(line)
            warnings.append(line)
    return warnings
