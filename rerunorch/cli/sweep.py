"""``rerunorch sweep``: rerun many execution results."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

__all__ = ["sweep"]

log = logging.getLogger("rerunorch.cli")


def _api_key(api_key_file: str | None) -> str:
    from rerunorch.errors import ConfigError

    if api_key_file:
        try:
            key = Path(api_key_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"--api-key-file: cannot read {api_key_file}: {exc.strerror}"
            ) from None
        if not key:
            raise ConfigError(f"--api-key-file: {api_key_file} is empty")
        return key
    key = os.environ.get("TESTSIGMA_API_KEY", "").strip()
    if not key:
        raise ConfigError("no API key: set TESTSIGMA_API_KEY (or use --api-key-file)")
    return key


@click.command()
@click.argument("ids", nargs=-1)
@click.option("--from-file", "from_file", metavar="PATH|-", help="Targets file (- for stdin).")
@click.option(
    "--base-url",
    envvar="TESTSIGMA_BASE_URL",
    default="https://app.testsigma.com",
    show_default=True,
    help="Testsigma server (env TESTSIGMA_BASE_URL).",
)
@click.option("--api-key-file", type=click.Path(dir_okay=False), help="Read the API key here.")
@click.option("--strategy", default="failed", show_default=True, help="What to rerun.")
@click.option(
    "--concurrency",
    type=click.IntRange(1),
    default=8,
    show_default=True,
    help="HTTP requests in flight.",
)
@click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Requests per second.")
@click.option("--burst", type=click.IntRange(1), default=5, show_default=True)
@click.option("--max-active", type=click.IntRange(1), help="Reruns running on the server at once.")
@click.option(
    "--wait/--no-wait", default=True, show_default=True, help="Follow each rerun to its end."
)
@click.option(
    "--poll-interval",
    type=click.FloatRange(min=0.1),
    default=5.0,
    show_default=True,
    help="First poll after this many seconds (then it adapts).",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=1),
    default=4 * 3600.0,
    show_default=True,
    help="Seconds a rerun may run before it counts as timed out.",
)
@click.option("--stop-on-timeout", is_flag=True, help="Stop timed-out reruns on the server.")
@click.option("--dry-run", is_flag=True, help="Read and decide; trigger nothing.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), help="JSON report.")
@click.option("-v", "--verbose", count=True, help="More detail (-vv: debug).")
@click.option("-q", "--quiet", is_flag=True, help="Only the summary and errors.")
def sweep(ids: tuple[str, ...], from_file: str | None, **options: Any) -> None:
    """Rerun the execution results IDS (and/or those in --from-file).

    \b
    A targets file holds one id a line, or CSV/JSON lines with "id" and
    optional "testCaseResultIds"/"iterationResultIds" (for user-picked).
    The API key comes from TESTSIGMA_API_KEY or --api-key-file.
    """
    from rerunorch.cli.run import run_command

    sys.exit(run_command(ids, from_file, options))
