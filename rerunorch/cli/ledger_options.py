"""The flake ledger's options of ``rerunorch sweep`` (docs/verdicts.md, "The ledger")."""

from __future__ import annotations

from typing import Any

import click

__all__ = ["history_options"]


def history_options(command: Any) -> Any:
    """``--history``, ``--no-history``, ``--rerun-broken`` and ``--quarantine-file``."""
    options = [
        click.option(
            "--history",
            metavar="URL|PATH",
            help="The flake ledger: a SQLite file (default .rerunorch/history.sqlite) or "
            "postgresql://USER@HOST/DB (env RERUNORCH_HISTORY).",
        ),
        click.option(
            "--no-history", is_flag=True, help="Neither read the flake ledger nor record in it."
        ),
        click.option(
            "--rerun-broken",
            is_flag=True,
            help="Rerun the tests the ledger knows broken for nights too.",
        ),
        click.option(
            "--quarantine-file",
            metavar="PATH",
            help="Quarantine by hand (TOML; default .rerunorch/quarantine.toml).",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command
