"""The command-line reference, docs/cli.md, made from the click commands themselves.

``python -m rerunorch.cli.reference > docs/cli.md`` writes it; a test compares the file
with :func:`reference` and asks for that command when they differ. Only what the commands
declare goes in (never the plugins installed), so every machine makes the same page.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import click

__all__ = ["REGENERATE", "reference"]

REGENERATE = "python -m rerunorch.cli.reference > docs/cli.md"
"""The command that writes docs/cli.md."""

_HEADER = f"""\
# Command-line reference

Every command and option of `rerunorch`, as `--help` gives them. This page is made from
the commands (`{REGENERATE}`), and tests/test_cli_reference.py fails when it is out of
date. A `[sweep]` key of a `--config` file is a `sweep` option, `_` for `-` (README, "Config
file"). `rerunorch sweep --help` also lists the strategies and notifiers installed, and
plugins may add commands (`rerunorch plugins`). The exit codes and what to do about each:
[troubleshooting.md](troubleshooting.md); the words: [glossary.md](glossary.md).
"""


def reference() -> str:
    """The Markdown of docs/cli.md."""
    from rerunorch.cli import cli

    root = click.Context(cli, info_name="rerunorch", **cli.context_settings)
    sections = [_HEADER, *_sections(cli, root)]
    return "\n".join(sections)


def _sections(command: click.Command, ctx: click.Context) -> Iterator[str]:
    yield _section(command, ctx)
    for name, sub in _subcommands(command, ctx):
        yield from _sections(
            sub, click.Context(sub, info_name=name, parent=ctx, **sub.context_settings)
        )


def _subcommands(command: click.Command, ctx: click.Context) -> Iterator[tuple[str, click.Command]]:
    """The group's own visible commands: not those a plugin added (they vary by machine)."""
    if not isinstance(command, click.Group):
        return
    for name in command.list_commands(ctx):
        sub = command.get_command(ctx, name)
        module = getattr(sub.callback, "__module__", "") if sub is not None else ""
        if sub is not None and not sub.hidden and module.startswith("rerunorch."):
            yield name, sub


def _section(command: click.Command, ctx: click.Context) -> str:
    lines = [f"## `{ctx.command_path}`", "", "```text"]
    lines.append(f"{ctx.command_path} {' '.join(command.collect_usage_pieces(ctx))}".rstrip())
    lines += ["```", ""]
    help_text = _help(command.help or "")
    if help_text:
        lines += [help_text, ""]
    records = [
        p.get_help_record(ctx) for p in command.get_params(ctx) if isinstance(p, click.Option)
    ]
    options = [_option(record) for record in records if record]
    if options:
        lines += ["Options:", "", *options, ""]
    names = [name for name, _ in _subcommands(command, ctx)]
    if names:
        lines += ["Commands: " + ", ".join(f"[`{n}`](#{_anchor(ctx, n)})" for n in names), ""]
    return "\n".join(lines)


def _anchor(ctx: click.Context, name: str) -> str:
    """GitHub's anchor of the heading ``## `<path> <name>```."""
    return re.sub(r"[^a-z0-9 -]", "", f"{ctx.command_path} {name}".lower()).replace(" ", "-")


def _help(text: str) -> str:
    """A command's docstring as Markdown: paragraphs, and ``\\b`` blocks kept line by line."""
    paragraphs = []
    for block in re.split(r"\n\s*\n", click.unstyle(text).strip()):
        lines = [line.strip() for line in block.splitlines()]
        if lines and lines[0] == "\b":
            paragraphs.append(" \\\n".join(_escape(line) for line in lines[1:] if line))
        else:
            paragraphs.append(_escape(" ".join(lines)))
    return "\n\n".join(p for p in paragraphs if p)


def _option(record: tuple[str, str]) -> str:
    flags, about = record
    about = _escape(" ".join(about.split()))
    return f"- `{flags}`: {about}" if about else f"- `{flags}`"


def _escape(text: str) -> str:
    """Text safe as Markdown: no HTML, no emphasis from ``*`` (code spans kept as they are)."""
    parts = text.split("`")
    for at in range(0, len(parts), 2):  # outside code spans
        parts[at] = parts[at].replace("<", "&lt;").replace("*", "\\*")
    return "`".join(parts)


if __name__ == "__main__":
    sys.stdout.write(reference())
