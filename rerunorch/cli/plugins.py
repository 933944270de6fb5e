"""``rerunorch plugins``: the plugins loaded, what each provides, and those that failed."""

from __future__ import annotations

import json

import click

__all__ = ["plugins"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def plugins(as_json: bool) -> None:
    """List loaded plugins: distribution, version, hooks, strategies, notifiers.

    Plugins that failed to import or register are listed with the reason.
    RERUNORCH_PLUGINS / RERUNORCH_DISABLE_PLUGINS choose which plugins load.
    """
    # Imported here so that `rerunorch --help` does not pay for loading plugins.
    from rerunorch.errors import ConfigError
    from rerunorch.plugins import load_plugins

    try:
        manager = load_plugins()
        infos = manager.describe()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    if as_json:
        data = {
            "plugins": [info.to_json() for info in infos],
            "failed": [failure.to_json() for failure in manager.failed],
        }
        click.echo(json.dumps(data, indent=2))
        return
    for info in infos:
        where = f"{info.distribution} {info.version}" if info.distribution else "(not installed)"
        click.echo(f"{info.name}: {where}")
        for label, names in (
            ("hooks", info.hooks),
            ("strategies", info.strategies),
            ("notifiers", info.notifiers),
            ("commands", info.commands),
        ):
            if names:
                click.echo(f"  {label}: {', '.join(names)}")
    for failure in manager.failed:
        click.echo(f"failed: {failure.name}: {failure.reason}", err=True)
