"""docs/cli.md is the reference made from the commands, and it names every command and option."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click

from rerunorch.cli import cli
from rerunorch.cli.reference import REGENERATE, reference

CLI_MD = Path(__file__).resolve().parent.parent / "docs" / "cli.md"


def test_docs_cli_md_is_up_to_date() -> None:
    assert CLI_MD.read_text(encoding="utf-8") == reference(), (
        f"docs/cli.md is out of date with the commands: run `{REGENERATE}`"
    )


def test_the_module_prints_the_reference() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "rerunorch.cli.reference"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout == reference()


def test_every_command_and_option_is_in_the_reference() -> None:
    text = reference()
    ctx = click.Context(cli, info_name="rerunorch", **cli.context_settings)
    names = cli.list_commands(ctx)
    assert {"sweep", "init", "report", "status", "demo", "simulate", "plugins"} <= set(names)
    for name in names:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert f"\n## `rerunorch {name}`\n" in text
        assert f"(#rerunorch-{name})" in text  # the link from the command list
        section = text.split(f"\n## `rerunorch {name}`\n", 1)[1].split("\n## ", 1)[0]
        for param in command.params:
            if isinstance(param, click.Option) and not param.hidden:
                for flag in param.opts:
                    assert f"`{flag}" in section or f" {flag}" in section, (name, flag)
    # Only what the commands declare: no plugin's strategy or notifier, which vary by machine.
    assert "(installed)" not in text


def test_a_command_a_plugin_adds_is_left_out() -> None:
    before = reference()

    @click.command()
    def hello() -> None:
        """A plugin's command."""

    cli.add_command(hello)
    try:
        assert reference() == before
    finally:
        del cli.commands["hello"]
