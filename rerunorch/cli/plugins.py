"""``rerunorch plugins``: the plugins loaded, what each provides, and those that failed."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

__all__ = ["plugins"]


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
@click.option(
    "--plugins-dir",
    type=click.Path(file_okay=False),
    help="Load each *.py file and package folder here as a plugin too.",
)
def plugins(as_json: bool, plugins_dir: str | None) -> None:
    """List loaded plugins: distribution, version, hooks, strategies, notifiers.

    Each strategy and notifier is shown with its description. Plugins that
    failed to import or register are listed with the reason.
    RERUNORCH_PLUGINS / RERUNORCH_DISABLE_PLUGINS choose which plugins load.
    """
    # Imported here so that `rerunorch --help` does not pay for loading plugins.
    from rerunorch.errors import ConfigError
    from rerunorch.plugins import load_plugins

    try:
        manager = load_plugins(plugins_dir) if plugins_dir else load_plugins()
        infos = manager.describe()
    except ConfigError as exc:
        click.echo(f"error: {exc}", err=True)
        raise SystemExit(2) from None
    about = {
        "strategies": _descriptions(manager.strategies()),
        "notifiers": _descriptions(manager.notifiers()),
    }
    if as_json:
        data = {
            "plugins": [info.to_json() for info in infos],
            "failed": [failure.to_json() for failure in manager.failed],
            "descriptions": about,
        }
        click.echo(json.dumps(data, indent=2))
        return
    for info in infos:
        click.echo(f"{info.name}: {_where(info.distribution, info.version, info.path)}")
        if info.hooks:
            click.echo(f"  hooks: {', '.join(info.hooks)}")
        for label, names in (("strategies", info.strategies), ("notifiers", info.notifiers)):
            if names:
                click.echo(f"  {label}:")
                for name in names:
                    text = about[label].get(name)
                    click.echo(f"    {name}" + (f": {text}" if text else ""))
        if info.commands:
            click.echo(f"  commands: {', '.join(info.commands)}")
    for failure in manager.failed:
        click.echo(f"failed: {failure.name}: {failure.reason}", err=True)


def _where(distribution: str | None, version: str | None, path: str | None) -> str:
    if path:
        return f"(local: {path})"
    return f"{distribution} {version}" if distribution else "(not installed)"


def _descriptions(items: Mapping[str, Any]) -> dict[str, str]:
    found = {name: getattr(item, "description", "") for name, item in items.items()}
    return {name: text for name, text in sorted(found.items()) if isinstance(text, str) and text}
