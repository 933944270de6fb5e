"""The ``rerunorch`` command.

Heavy modules (aiohttp, rich, the engine) are imported inside the commands so
that ``rerunorch --help`` starts fast.
"""

from __future__ import annotations

from typing import ClassVar

import click

from rerunorch._version import __version__
from rerunorch.cli.sweep import sweep

__all__ = ["cli", "main"]


class LazyGroup(click.Group):
    """A group whose extra commands are imported only when used."""

    lazy: ClassVar[dict[str, tuple[str, str]]] = {
        "simulate": ("rerunorch.testing.cli", "simulate"),
        "demo": ("rerunorch.cli.demo", "demo"),
        "status": ("rerunorch.cli.status", "status"),
        "plugins": ("rerunorch.cli.plugins", "plugins"),
        "report": ("rerunorch.cli.report", "report"),
        "init": ("rerunorch.cli.init", "init"),
    }
    plugin_commands_added: bool = False

    def list_commands(self, ctx: click.Context) -> list[str]:
        names = {*super().list_commands(ctx), *self.lazy}
        return sorted(n for n in names if self.get_command(ctx, n) is not None)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name]
            try:
                command: click.Command = getattr(importlib.import_module(module), attr)
            except ModuleNotFoundError as exc:
                if exc.name != module:
                    raise
                return None  # not in this build
            return command
        found = super().get_command(ctx, name)
        if found is None and not self.plugin_commands_added:
            self.add_plugin_commands()
            found = super().get_command(ctx, name)
        return found

    def add_plugin_commands(self) -> None:
        """Add the commands of plugins (``rerunorch_register_commands``), once.

        Only done for a name that is not built in, so that ``--help`` and the
        built-in commands never pay for loading plugins.
        """
        from rerunorch.errors import ConfigError
        from rerunorch.plugins import load_plugins

        self.plugin_commands_added = True
        try:
            load_plugins().add_commands(self)
        except ConfigError as exc:  # a strict plugin failure
            raise click.UsageError(str(exc)) from None


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="rerunorch")
def cli() -> None:
    """Rerun Testsigma test-plan results at scale.

    Reruns what each result needs, under the API's limits, exactly once,
    follows every rerun to its end and tells flaky tests from failing ones.

    \b
    Exit codes: 0 all ended well, 1 some rerun still fails,
    3 some target could not be rerun (or the key was refused mid-sweep),
    2 bad usage, config or API key (nothing triggered).
    """


cli.add_command(sweep)


def main() -> None:
    """The console script's entry point."""
    cli(prog_name="rerunorch")
