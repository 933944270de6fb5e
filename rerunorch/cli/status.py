"""``rerunorch status``: where runs are, and their chains of reruns."""

from __future__ import annotations

import sys
from typing import Any

import click

from rerunorch.cli.sweep import server_options
from rerunorch.targets import parse_id, run_id_from_url

__all__ = ["RunId", "status"]


class RunId(click.ParamType[int]):
    """A run's id, or its page's URL (``https://app.testsigma.com/ui/td/runs/467``), as
    ``sweep`` takes them: ASCII digits within the API's range."""

    name = "id"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        text = value.strip() if isinstance(value, str) else value
        try:
            if isinstance(text, str) and text.lower().startswith(("http://", "https://")):
                return run_id_from_url(text)
            return parse_id(text)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


@click.command()
@click.argument("ids", nargs=-1, required=True, type=RunId())
@server_options
@click.option("--json", "as_json", is_flag=True, help="One JSON object per run.")
def status(ids: tuple[int, ...], base_url: str, api_key_file: str | None, as_json: bool) -> None:
    """Print the status, result and rerun chain of each run in IDS (ids or run URLs)."""
    sys.exit(_status(ids, base_url, api_key_file, as_json))


def _status(ids: tuple[int, ...], base_url: str, api_key_file: str | None, as_json: bool) -> int:
    import json

    import anyio

    from rerunorch.api.client import TestsigmaClient
    from rerunorch.api.models import ExecutionResult
    from rerunorch.cli.invocation import api_key
    from rerunorch.cli.reach import unreachable
    from rerunorch.cli.run import error_exit
    from rerunorch.errors import ApiError, AuthError, ConfigError
    from rerunorch.lifecycle import MAX_CHAIN

    def show(run: ExecutionResult) -> str:
        status = run.status.value if run.status else "?"
        result = run.result.value if run.result else "?"
        return f"{run.id} {status} {result}"

    async def main() -> int:
        code = 0
        async with TestsigmaClient(api_key({"api_key_file": api_key_file}), base_url) as client:
            for result_id in ids:
                try:
                    run = await client.get_run(result_id)
                    chain = [run]
                    while chain[-1].child_id is not None and len(chain) < MAX_CHAIN:
                        chain.append(await client.get_run(chain[-1].child_id))
                except AuthError:
                    raise
                except ApiError as exc:
                    click.echo(f"{result_id}: error: {exc}", err=True)
                    code = 3
                    continue
                if as_json:
                    click.echo(
                        json.dumps(
                            {
                                "id": run.id,
                                "executionId": run.execution_id,
                                "status": run.status.value if run.status else None,
                                "result": run.result.value if run.result else None,
                                "consolidatedResult": (
                                    run.consolidated_result.value
                                    if run.consolidated_result
                                    else None
                                ),
                                "chain": [
                                    {
                                        "id": r.id,
                                        "status": r.status and r.status.value,
                                        "result": r.result and r.result.value,
                                    }
                                    for r in chain
                                ],
                            }
                        )
                    )
                else:
                    links = " -> ".join(show(r) for r in chain)
                    click.echo(f"{result_id} (plan {run.execution_id}): {links}")
        return code

    try:
        problem = anyio.run(unreachable, base_url)
        if problem is not None:  # said once, not once per id after retries
            click.echo(f"error: {problem}", err=True)
            return 2
        return anyio.run(main)
    except (AuthError, ConfigError) as exc:
        return error_exit(exc, verbose=0)
