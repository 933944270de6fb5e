"""Test helpers for the Slack notifier: a fake clock, a local Slack, a sample report.

(A uniquely named module rather than a conftest.py: the tests import it by name.)
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from rerunorch import Outcome, OutcomeKind, SweepReport, TestRef
from rerunorch.testing import SAMPLE_STARTED as STARTED
from rerunorch.testing import MockClock

# 2026-03-01 02:00:00 UTC, a nightly sweep's start.


class JumpClock(MockClock):
    """The shared fake clock at the sweep's start, jumping over waits (``sleeps`` records them)."""

    def __init__(self) -> None:
        super().__init__(1000.0, wall_origin=STARTED, autojump=True)


class FakeSlack:
    """An incoming webhook that checks Slack's limits and answers as Slack does.

    ``200 ok`` for a good message; ``400 invalid_payload`` for a body that is not
    JSON, ``400 no_text`` without fallback text, ``400 invalid_blocks`` past a
    limit; ``429`` with ``Retry-After`` for a message less than a second after
    the previous one (recorded in ``violations``), and whatever ``script`` holds.

    Attributes:
        path: The webhook's path (its secret).
        messages: The messages accepted.
        arrivals: Clock readings of every request.
        violations: Limits broken.
        script: Answers ``(status, body, headers)`` to give before judging requests.
    """

    path = "/services/T0001/B0002/s3cr3tT0k3n"

    def __init__(self, clock: JumpClock) -> None:
        self.clock = clock
        self.messages: list[dict[str, Any]] = []
        self.arrivals: list[float] = []
        self.violations: list[str] = []
        self.script: list[tuple[int, str, dict[str, str]]] = []

    async def handle(self, request: web.Request) -> web.Response:
        now = self.clock.monotonic()
        if self.arrivals and now - self.arrivals[-1] < 1.0:
            self.violations.append(f"{now - self.arrivals[-1]:g} s after the previous request")
            self.arrivals.append(now)
            return web.Response(status=429, text="rate_limited", headers={"Retry-After": "1"})
        self.arrivals.append(now)
        if self.script:
            status, body, headers = self.script.pop(0)
            return web.Response(status=status, text=body, headers=headers)
        try:
            message = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(message, dict) or request.content_type != "application/json":
            return web.Response(status=400, text="invalid_payload")
        if not isinstance(message.get("text"), str) or not message["text"]:
            return web.Response(status=400, text="no_text")
        problems = block_problems(message.get("blocks", []))
        if problems:
            self.violations += problems
            return web.Response(status=400, text="invalid_blocks")
        self.messages.append(message)
        return web.Response(text="ok")


def block_problems(blocks: Any) -> list[str]:
    """What in ``blocks`` breaks Slack's Block Kit limits."""
    if not isinstance(blocks, list):
        return ["blocks is not a list"]
    problems = [f"{len(blocks)} blocks"] if len(blocks) > 50 else []
    for i, block in enumerate(blocks):
        kind = block.get("type")
        if kind == "header":
            text = block["text"]
            if text["type"] != "plain_text" or not 0 < len(text["text"]) <= 150:
                problems.append(f"block {i}: bad header")
        elif kind == "section":
            text = block.get("text", {}).get("text", "")
            fields = block.get("fields", [])
            if not text and not fields:
                problems.append(f"block {i}: empty section")
            if len(text) > 3000:
                problems.append(f"block {i}: section text of {len(text)} characters")
            if len(fields) > 10 or any(len(f["text"]) > 2000 for f in fields):
                problems.append(f"block {i}: bad fields")
        elif kind == "context":
            elements = block["elements"]
            if not 0 < len(elements) <= 10 or any(len(e["text"]) > 3000 for e in elements):
                problems.append(f"block {i}: bad context")
        elif kind != "divider":
            problems.append(f"block {i}: unexpected type {kind}")
    return problems


@asynccontextmanager
async def serve_fake_slack(clock: JumpClock) -> AsyncIterator[tuple[FakeSlack, str]]:
    """A running :class:`FakeSlack` on 127.0.0.1 and its webhook URL."""
    slack = FakeSlack(clock)
    app = web.Application()
    app.router.add_post(FakeSlack.path, slack.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield slack, str(server.make_url(FakeSlack.path))
    finally:
        await server.close()


def big_report(tests: int, name_length: int = 200) -> SweepReport:
    """A report with ``tests`` flaky and ``tests`` still-failing tests of long names."""
    report = SweepReport(started_at=STARTED, config={})
    for i in range(tests):
        name = f"test {i} " + "x" * name_length
        report.add(
            Outcome(
                target=10_000 + i,
                execution_id=500,
                rerun_id=20_000 + i,
                outcome=OutcomeKind.FAILED,
                flaky=(TestRef(i, name),),
                still_failing=(TestRef(100_000 + i, name),),
            )
        )
    report.finished_at = STARTED + 3723.0
    return report
