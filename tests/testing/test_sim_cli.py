"""``rerunorch simulate``: options, cheap import, and serving until stopped."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys

import aiohttp
import click
import pytest
from click.testing import CliRunner

from rerunorch.clock import ScaledClock
from rerunorch.testing import SimulatorConfig
from rerunorch.testing.cli import _serve, build_config, simulate


def test_help_lists_the_options() -> None:
    result = CliRunner().invoke(simulate, ["--help"])
    assert result.exit_code == 0
    for option in ("--port", "--seed", "--targets", "--time-scale", "--rate-limit", "--burst",
                   "--retry-after", "--fault-503-rate", "--ambiguous-rate", "--auto-rerun",
                   "--max-active", "--latency"):  # fmt: skip
        assert option in result.output


def test_options_become_a_config() -> None:
    config = build_config(seed=3, targets=7, rate_limit=5.0, rate_burst=None, max_active_runs=4)
    assert config == SimulatorConfig(seed=3, targets=7, rate_limit=5.0, max_active_runs=4)


def test_nightly_makes_nights_of_the_plans() -> None:
    from rerunorch.testing import NightlyConfig

    config = build_config(seed=2, plans=4, nights=7, nightly=True)
    assert config == SimulatorConfig(seed=2, nightly=NightlyConfig(plans=4, nights=7))
    assert build_config(nightly=True).nightly == NightlyConfig()
    result = CliRunner().invoke(simulate, ["--nightly", "--plans", "0"])
    assert result.exit_code == 2
    assert "plans" in result.output


def test_bad_option_value_is_a_usage_error() -> None:
    result = CliRunner().invoke(simulate, ["--fault-503-rate", "2"])
    assert result.exit_code == 2
    assert "fault_503_rate" in result.output


def test_importing_the_command_does_not_load_the_server() -> None:
    code = (
        "import sys, rerunorch.testing.cli; "
        "print(any(m.startswith('rerunorch.testing.') and m != 'rerunorch.testing.cli' "
        "for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


async def test_serves_and_prints_url_and_key(monkeypatch: pytest.MonkeyPatch) -> None:
    printed: list[str] = []
    new_line = asyncio.Event()

    def echo(message: object = None, **_: object) -> None:
        printed.append(str(message))
        new_line.set()

    monkeypatch.setattr(click, "echo", echo)
    config = SimulatorConfig(seed=1, targets=2)
    task = asyncio.create_task(_serve(config, ScaledClock(10), "127.0.0.1", 0))
    try:
        url = None
        while url is None:  # woken by each line the command prints, never by a timer
            await asyncio.wait_for(new_line.wait(), timeout=30)
            new_line.clear()
            found = (re.search(r"on (http://127\.0\.0\.1:\d+)", line) for line in printed)
            url = next((m.group(1) for m in found if m), None)
        headers = {"Authorization": "Bearer sim-api-key"}
        async with (
            aiohttp.ClientSession(headers=headers) as session,
            session.get(f"{url}/_simulator/targets") as response,
        ):
            assert (await response.json())["targets"] == [2000, 2001]
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert any('"requests": 0' in line for line in printed), "its counters at the end"
