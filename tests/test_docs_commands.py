"""Every ``rerunorch`` command line in the docs' console blocks names a command and flags
that exist, so that a renamed or removed option cannot leave a page a user copies from."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from rerunorch.cli import cli

ROOT = Path(__file__).resolve().parent.parent
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").glob("*.md")])


def command_lines(page: Path) -> list[list[str]]:
    """The ``rerunorch ...`` commands of the page's console blocks, as the shell splits them."""
    found = []
    for block in re.findall(r"(?ms)^```console\n(.*?)^```", page.read_text(encoding="utf-8")):
        for line in block.replace("\\\n", " ").splitlines():
            match = re.search(r"(?:^|[\s;&|(])(rerunorch\s.*)", line)
            if match:
                found.append(shlex.split(match.group(1), comments=True))
    return found


def flags_of(command: click.Command) -> set[str]:
    return {flag for param in command.params for flag in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_command_and_flag_in_the_docs_exists(page: Path) -> None:
    ctx = click.Context(cli, info_name="rerunorch", **cli.context_settings)
    for words in command_lines(page):
        if len(words) < 2 or not re.fullmatch(r"-.*|[a-z][a-z-]*", words[1]):
            continue  # output such as `rerunorch 0.1.0`
        if words[1].startswith("-"):
            command, args = cli, words[1:]
        else:
            found = cli.get_command(ctx, words[1])
            assert found is not None, f"{page.name}: no command {words[1]!r} in {words}"
            command, args = found, words[2:]
        known = flags_of(command) | {"-h", "--help"}
        for word in args:
            if word.startswith("-") and word != "-":
                flag = word.split("=", 1)[0]
                together = re.fullmatch(r"-[a-zA-Z]{2,}", flag)  # short flags as one: -vv
                for one in [f"-{c}" for c in flag[1:]] if together else [flag]:
                    assert one in known, f"{page.name}: {' '.join(words[:2])} has no {one}"


def test_the_docs_show_commands() -> None:
    assert any(command_lines(page) for page in PAGES)
    assert ["rerunorch", "init", "--ci", "github", "--plan", "336"] in command_lines(
        ROOT / "docs" / "getting-started.md"
    )
