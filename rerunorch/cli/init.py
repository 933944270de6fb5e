"""``rerunorch init``: a commented ``rerunorch.toml`` and a CI job that sweeps every morning.

The files are templates in this module; :func:`files` renders them, so tests (and the
README's example, which must equal the GitHub workflow) read exactly what ``init`` writes.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import click

__all__ = [
    "CI_FILES",
    "CONFIG_FILE",
    "EXAMPLE_PLANS",
    "GITHUB_WORKFLOW",
    "GITLAB_JOB",
    "GITLAB_PIPELINE",
    "files",
    "init",
]

CONFIG_FILE = "rerunorch.toml"
GITHUB_WORKFLOW = ".github/workflows/rerunorch.yml"
GITLAB_JOB = ".gitlab/rerunorch.gitlab-ci.yml"
GITLAB_PIPELINE = ".gitlab-ci.yml"
CI_FILES = {"github": GITHUB_WORKFLOW, "gitlab": GITLAB_JOB}
"""The job file each ``--ci`` writes."""

EXAMPLE_PLANS = (274, 275)
"""The plan ids written when ``--plan`` is not given: examples, to be replaced."""

GETTING_STARTED = "https://github.com/rerunorch/rerunorch/blob/main/docs/getting-started.md"
_PLANS = "@PLANS@"  # where the templates take the plans, as `--plan N` words

_CONFIG = """\
# rerunorch's settings, read by `rerunorch sweep --config rerunorch.toml` (written by
# `rerunorch init`). Each key of [sweep] is a sweep option with `_` for `-` (docs/cli.md);
# a flag on the command line wins over the file. "${NAME}" reads the environment variable
# NAME, so that secrets stay out of this file. The API key comes from TESTSIGMA_API_KEY.

[sweep]
base_url = "https://app.testsigma.com"   # a self-hosted server: its address

# What to sweep. The CI job names the plans and the window on its command line
# (--plan, --since); name them here instead to sweep the same from anywhere.
# plans = [274, 275]
# since = "24h"

strategy = "failed"   # rerun the failed tests only (all, failed-iterations, ...: docs/cli.md)
max_active = 10       # reruns running on the server at once (at most your key's parallel cap)
# timeout = 14400     # seconds a rerun may run before it is timed out
# rate = 5            # requests per second (left out: adapt to the server)

# Reports. The CI job adds --markdown (the job summary) on its command line.
junit = "rerunorch.xml"
report = "rerunorch-report.json"
# markdown = "rerunorch-summary.md"

# The journal (--resume, --last-failed) is .rerunorch/journal.sqlite unless named here.
# journal = ".rerunorch/journal.sqlite"

# Tell the team when the sweep ends (docs/notifiers.md: what to install and set).
# notify = ["slack"]
# [notify.slack]
# webhook_url = "${SLACK_WEBHOOK_URL}"
"""

_GITHUB = """\
# Rerun last night's failed Testsigma runs every morning (written by `rerunorch init --ci github`).
# Add the secret TESTSIGMA_API_KEY (Settings > Secrets and variables > Actions).
name: rerunorch
on:
  schedule:
    - cron: "30 6 * * *"    # every morning at 06:30 UTC, after the nightly test plans
  workflow_dispatch:         # and by hand, from the Actions tab
    inputs:
      resume:
        description: Continue the last sweep, cut short, instead of starting a new one
        type: boolean
        default: false
permissions:
  contents: read
concurrency:
  group: rerunorch           # one sweep at a time: they share the journal
jobs:
  rerunorch:
    runs-on: ubuntu-latest
    timeout-minutes: 360     # a hosted runner's most; --budget or --deadline end rounds sooner
    steps:
      - uses: actions/checkout@v4    # your rerunorch.toml
      - uses: actions/setup-python@v5
        with:
          python-version: "3.12"
      # rerunorch is not on PyPI: install it from its repository (pin a release with
      # @<tag>, e.g. .../rerunorch@v0.1.0), or a wheel you keep.
      - name: Install rerunorch
        run: pip install "rerunorch @ git+https://github.com/rerunorch/rerunorch"
      # The journal and the ledger (.rerunorch/: journal.sqlite, history.sqlite) of the last
      # run, for --resume, --last-failed and each test's history. Runners that keep nothing
      # can keep the ledger in PostgreSQL instead: --history postgresql://... (from a secret).
      - name: Restore the journal and the ledger
        uses: actions/cache/restore@v4
        with:
          path: .rerunorch
          key: rerunorch-${{ github.run_id }}-${{ github.run_attempt }}
          restore-keys: rerunorch-
      - name: Rerun last night's failures
        env:
          TESTSIGMA_API_KEY: ${{ secrets.TESTSIGMA_API_KEY }}
          RESUME: ${{ inputs.resume && '--resume' || '' }}
        run: >-
          rerunorch sweep --config rerunorch.toml @PLANS@ --since 24h $RESUME
          --markdown "$GITHUB_STEP_SUMMARY"
      - name: Keep the journal and the ledger for the next run
        if: success() || failure()
        uses: actions/cache/save@v4
        with:
          path: .rerunorch
          key: rerunorch-${{ github.run_id }}-${{ github.run_attempt }}
      - name: Upload the reports
        if: always()
        uses: actions/upload-artifact@v4
        with:
          name: rerunorch-reports
          path: |
            rerunorch.xml
            rerunorch-report.json
"""

_GITLAB = """\
# Rerun last night's failed Testsigma runs (written by `rerunorch init --ci gitlab`).
# .gitlab-ci.yml includes it:  include: [{local: .gitlab/rerunorch.gitlab-ci.yml}]
# Every morning: a pipeline schedule (Build > Pipeline schedules, e.g. "30 6 * * *");
# by hand: Run pipeline. Add TESTSIGMA_API_KEY as a masked CI/CD variable.
rerunorch:
  image: python:3.12    # with git, which pip needs to install from the repository
  rules:
    - if: $CI_PIPELINE_SOURCE == "schedule"
    - if: $CI_PIPELINE_SOURCE == "web"
  variables:
    RERUNORCH_RESUME: ""    # "--resume" (Run pipeline > variables): continue a sweep cut short
  # The journal and the ledger (.rerunorch/: journal.sqlite, history.sqlite) of the last
  # run, for --resume, --last-failed and each test's history. A runner's cache stays on
  # that runner unless a shared cache is set up; or keep the ledger in PostgreSQL:
  # --history postgresql://... (from a masked variable).
  cache:
    key: rerunorch
    paths: [.rerunorch/]
    when: always
  script:
    # rerunorch is not on PyPI: install it from its repository (pin a release with @<tag>).
    - pip install "rerunorch @ git+https://github.com/rerunorch/rerunorch"
    - rerunorch sweep --config rerunorch.toml @PLANS@ --since 24h $RERUNORCH_RESUME
      --markdown rerunorch-summary.md
  artifacts:
    when: always
    reports:
      junit: rerunorch.xml
    paths: [rerunorch.xml, rerunorch-report.json, rerunorch-summary.md]
"""

_GITLAB_INCLUDE = f"""\
# GitLab CI (written by `rerunorch init --ci gitlab`): the rerunorch job is in its own file.
include:
  - local: {GITLAB_JOB}
"""


def files(ci: str | None = None, plans: Sequence[int] = EXAMPLE_PLANS) -> dict[str, str]:
    """The files ``init`` writes: path (relative to the repository) -> text.

    ``ci`` is ``"github"``, ``"gitlab"`` or None (the config file only). For GitLab the
    job is a file of its own; ``.gitlab-ci.yml`` (including it) is written only if absent.
    """
    plan_words = " ".join(f"--plan {plan}" for plan in plans)
    written = {CONFIG_FILE: _CONFIG}
    if ci == "github":
        written[GITHUB_WORKFLOW] = _GITHUB.replace(_PLANS, plan_words)
    elif ci == "gitlab":
        written[GITLAB_JOB] = _GITLAB.replace(_PLANS, plan_words)
        written[GITLAB_PIPELINE] = _GITLAB_INCLUDE
    elif ci is not None:
        raise ValueError(f"unknown CI {ci!r}: choose from {', '.join(CI_FILES)}")
    return written


def _plan(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[int, ...]:
    from rerunorch.targets import parse_id

    try:
        return tuple(parse_id(value, "--plan") for value in values)
    except ValueError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None


@click.command()
@click.option(
    "--ci",
    type=click.Choice(sorted(CI_FILES)),
    help=f"Also write a CI job: {GITHUB_WORKFLOW} or {GITLAB_JOB}.",
)
@click.option(
    "--plan",
    "plans",
    multiple=True,
    metavar="ID",
    callback=_plan,
    help="A test plan the CI job sweeps (repeatable; default: 274 and 275, examples to edit).",
)
@click.option("--force", is_flag=True, help="Replace files that exist.")
def init(ci: str | None, plans: tuple[int, ...], force: bool) -> None:
    """Write rerunorch.toml (commented) and, with --ci, a CI job that sweeps every morning.

    \b
    The files go in the current folder (your repository's root). An existing file is
    left alone unless --force is given (exit 2, nothing written).
    """
    if plans and not ci:
        raise click.UsageError("--plan names the plans of the CI job: add --ci github or gitlab")
    sys.exit(_init(ci, plans, force))


def _init(ci: str | None, plans: tuple[int, ...], force: bool) -> int:
    chosen = files(ci, plans or EXAMPLE_PLANS)
    include = None
    if GITLAB_PIPELINE in chosen and Path(GITLAB_PIPELINE).exists():
        include = chosen.pop(GITLAB_PIPELINE)  # the user's own pipeline is never replaced
    existing = [path for path in chosen if Path(path).exists()]
    if existing and not force:
        click.echo(
            f"error: already there: {', '.join(existing)} "
            "(add --force to replace; nothing was written)",
            err=True,
        )
        return 2
    for path, text in chosen.items():
        target = Path(path)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8", newline="\n")
        except OSError as exc:
            click.echo(f"error: cannot write {path}: {exc.strerror or exc}", err=True)
            return 2
        click.echo(f"wrote {path}")
    _next_steps(ci, plans, include)
    return 0


def _next_steps(ci: str | None, plans: tuple[int, ...], include: str | None) -> None:
    steps: list[str] = []
    if ci and not plans:
        example = " and ".join(map(str, EXAMPLE_PLANS))
        steps.append(f"replace the example plans {example} in {CI_FILES[ci]} by yours")
    if include is not None:
        lines = "\n".join("      " + line for line in include.splitlines())
        steps.append(f"add to your {GITLAB_PIPELINE}:\n{lines}")
    if ci:
        where = {"github": "a repository secret", "gitlab": "a masked CI/CD variable"}[ci]
        steps.append(f"add TESTSIGMA_API_KEY as {where}")
    named = " ".join(f"--plan {plan}" for plan in plans) or "--plan ID"  # the plans given, if any
    steps.append(f"try it: rerunorch sweep --config {CONFIG_FILE} {named} --since 24h --dry-run")
    click.echo("next:")
    for step in steps:
        click.echo(f"  - {step}")
    click.echo(f"  (where the ids and the API key are: {GETTING_STARTED})")
