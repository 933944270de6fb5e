"""``rerunorch sweep``: rerun many execution results."""

from __future__ import annotations

import math
import sys
from typing import Any

import click

from rerunorch.cli.ledger_options import history_options
from rerunorch.cli.rounds import rounds_options

__all__ = [
    "FiniteFloat",
    "PluginHelpCommand",
    "server_options",
    "sweep",
    "sweep_options",
    "target_options",
]

_CONFIG_HELP = "TOML config ([sweep] keys are these options; flags override it)."


class FiniteFloat(click.FloatRange):
    """A float range that refuses NaN and infinity (which pass every comparison or bound)."""

    name = "float"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


def sweep_options(command: Any) -> Any:
    """The options shared by ``sweep`` and ``demo``."""
    options = [
        click.option("--config", "config_path", type=click.Path(dir_okay=False), help=_CONFIG_HELP),
        click.option("--strategy", default="failed", show_default=True, help="What to rerun."),
        click.option(
            "--concurrency",
            type=click.IntRange(1),
            default=8,
            show_default=True,
            help="HTTP requests in flight.",
        ),
        click.option(
            "--rate",
            type=FiniteFloat(min=0, min_open=True),
            help="Requests per second (default: adapt to the server).",
        ),
        click.option(
            "--burst",
            type=click.IntRange(1),
            default=5,
            show_default=True,
            help="Requests that may go at once after a quiet spell.",
        ),
        click.option(
            "--max-active", type=click.IntRange(1), help="Reruns running on the server at once."
        ),
        click.option(
            "--wait/--no-wait",
            default=True,
            show_default=True,
            help="Follow each rerun to its end.",
        ),
        click.option(
            "--poll-interval",
            type=FiniteFloat(min=0.1),
            default=5.0,
            show_default=True,
            help="First poll after this many seconds; then it adapts.",
        ),
        click.option(
            "--timeout",
            type=FiniteFloat(min=1),
            default=4 * 3600.0,
            show_default=True,
            help="Seconds a rerun may run before it is timed out.",
        ),
        click.option(
            "--stop-on-timeout", is_flag=True, help="Stop timed-out reruns on the server."
        ),
        *rounds_options(),
        click.option(
            "--dry-run", is_flag=True, help="Read and decide, print the plan, trigger nothing."
        ),
        click.option(
            "--report", type=click.Path(dir_okay=False), help="Write the JSON report here."
        ),
        click.option(
            "--json",
            is_flag=True,
            help="Print the JSON report on stdout, and nothing else there (the summary "
            "goes to stderr); the same as --report -.",
        ),
        click.option("--junit", type=click.Path(dir_okay=False), help="Write JUnit XML here."),
        click.option(
            "--markdown",
            type=click.Path(dir_okay=False),
            help="Write a Markdown summary here (e.g. $GITHUB_STEP_SUMMARY).",
        ),
        click.option(
            "--notify",
            multiple=True,
            metavar="NAME",
            help="Send the verdict with this notifier (repeatable).",
        ),
        click.option(
            "-o",
            "--strategy-option",
            "strategy_options",
            multiple=True,
            metavar="KEY=VALUE",
            help="A setting of the strategy (over its [strategy.NAME] table; repeatable).",
        ),
        click.option(
            "--notify-option",
            "notify_options",
            multiple=True,
            metavar="NAME.KEY=VALUE",
            help="A setting of notifier NAME (over its [notify.NAME] table; repeatable).",
        ),
        click.option(
            "--plugins-dir",
            type=click.Path(file_okay=False),
            help="Load each *.py file and package folder here as a plugin.",
        ),
        click.option("-v", "--verbose", count=True, help="More detail; -vv for debug logs."),
        click.option("-q", "--quiet", is_flag=True, help="Only the summary and errors."),
        click.option(
            "--all",
            "show_all",
            is_flag=True,
            help="Name every flaky and still-failing test in the summary (default: 20 of each).",
        ),
        click.option(
            "--app-url",
            metavar="PATTERN",
            help="A run's page in Testsigma, linked from the summary ({id}: the run's id).  "
            "[default: https://app.testsigma.com/ui/td/runs/{id}]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def server_options(command: Any) -> Any:
    """``--base-url`` and ``--api-key-file``, for every command that talks to Testsigma."""
    command = click.option(
        "--api-key-file",
        type=click.Path(dir_okay=False),
        help="Read the API key here instead of TESTSIGMA_API_KEY.",
    )(command)
    return click.option(
        "--base-url",
        envvar="TESTSIGMA_BASE_URL",
        default="https://app.testsigma.com",
        show_default=True,
        help="Testsigma server (env TESTSIGMA_BASE_URL).",
    )(command)


# -- where the targets come from (besides IDS and --from-file) ---------------------------------


def target_options(command: Any) -> Any:
    """``--plan``/``--since``/``--query`` (discovery) and ``--from-report``."""
    options = [
        click.option(
            "--plan",
            "plans",
            multiple=True,
            metavar="ID",
            help="Sweep the failed runs of this test plan (repeatable; needs --since).",
        ),
        click.option("--plans-file", metavar="PATH", help="Test plan ids, one a line."),
        click.option(
            "--since",
            metavar="WHEN",
            help="Runs started since: 12h, 30m, 2d, 1w ago, or an ISO time (UTC if no zone).",
        ),
        click.option("--until", metavar="WHEN", help="Runs started before (as --since)."),
        click.option(
            "--query",
            metavar="QUERY",
            help="Testsigma's run query, e.g. 'testPlanId@274#275,triggeredType:SCHEDULED'.",
        ),
        click.option(
            "--index-path",
            default="/api/v2/test_runs",
            show_default=True,
            help="The run index (the open-source server: /api/v1/test_plan_results).",
        ),
        click.option(
            "--page-size",
            type=click.IntRange(1, 1000),
            default=100,
            show_default=True,
            help="Runs per page of the index.",
        ),
        click.option(
            "--from-report",
            metavar="REPORT.json",
            help="Sweep the targets of a JSON report rerunorch wrote (--report).",
        ),
        click.option(
            "--still-failing",
            is_flag=True,
            help="With --from-report: only the targets whose rerun still failed.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


class PluginHelpCommand(click.Command):
    """A command whose ``--help`` ends with the strategies and notifiers installed.

    Only its own help loads the plugins: ``rerunorch --help`` does not.
    """

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        super().format_epilog(ctx, formatter)
        from rerunorch.errors import ConfigError
        from rerunorch.plugins import load_plugins

        try:
            plugins = load_plugins()
        except ConfigError as exc:  # a strict plugin failure: help still helps
            with formatter.section("Plugins"):
                formatter.write_text(f"not loaded: {exc}")
            return
        for title, items in (
            ("Strategies", plugins.strategies()),
            ("Notifiers", plugins.notifiers()),
        ):
            with formatter.section(f"{title} (installed)"):
                formatter.write_dl(
                    [(name, _about(item)) for name, item in sorted(items.items())]
                    or [("(none)", "")]
                )


def _about(item: object) -> str:
    description = getattr(item, "description", "")
    return description if isinstance(description, str) else ""


@click.command(cls=PluginHelpCommand)
@click.argument("ids", nargs=-1)
@click.option("--from-file", metavar="PATH|-", help="Targets file, one a line (- for stdin).")
@target_options
@server_options
@click.option(
    "--journal",
    type=click.Path(dir_okay=False),
    help="Crash-safe record of the sweep (SQLite; default: one under .rerunorch/); see --resume.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the sweep recorded in --journal (its targets too, unless given again).",
)
@click.option(
    "--last-failed",
    is_flag=True,
    help="Sweep the targets that did not end well in the last sweep (read from --journal).",
)
@click.option(
    "--shared-limit",
    metavar="redis://HOST:PORT/DB",
    help="Share --rate, pauses and --max-active with other sweeps through Redis.",
)
@click.option("--shard", metavar="I/N", help="Sweep only shard I of N of the targets (1-based).")
@click.option(
    "--fleet",
    metavar="redis://HOST:PORT/DB",
    help="Join the fleet of workers sweeping one set of targets through Redis (--fleet-name).",
)
@click.option("--fleet-name", metavar="NAME", help="With --fleet: the fleet's name (e.g. CI run).")
@click.option(
    "--fleet-lease",
    type=FiniteFloat(min=0.1),
    default=60.0,
    show_default=True,
    help="With --fleet: seconds a dead worker's claims wait before others take them.",
)
@click.option(
    "--time-scale",
    type=FiniteFloat(min=0, min_open=True),
    default=1.0,
    help="Run the sweep's clock this much faster (to match `rerunorch simulate --time-scale`).",
)
@click.option("--force", is_flag=True, help="With --resume: accept other targets or settings.")
@history_options
@sweep_options
@click.pass_context
def sweep(ctx: click.Context, /, ids: tuple[str, ...], **options: Any) -> None:
    """Rerun the execution results IDS (and/or those in --from-file), or find them.

    \b
    An id may be pasted as a run's URL (https://app.testsigma.com/ui/td/runs/ID).
    A targets file holds one id a line, or CSV (after its header line) or JSON
    lines with "id" and optional "testCaseResultIds"/"iterationResultIds".
    --plan ID --since 24h finds the failed runs of the last day itself.
    --last-failed sweeps what did not end well last time; --resume needs no ids.
    The API key comes from TESTSIGMA_API_KEY or --api-key-file.
    A strategy's settings come from [strategy.NAME] in --config and -o KEY=VALUE,
    a notifier's from [notify.NAME] and --notify-option NAME.KEY=VALUE.
    """
    from rerunorch.cli.run import run_sweep_command
    from rerunorch.cli.targetfile import NothingToSweep

    try:
        code = run_sweep_command(ctx, ids, options)
    except NothingToSweep as exc:
        click.echo(f"note: {exc}: nothing to sweep", err=True)
        code = 0
    sys.exit(code)
