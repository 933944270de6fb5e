"""Test helpers for the webhook notifier: a fake clock, a local endpoint, a big report.

(The small sample report is :func:`rerunorch.testing.sample_report`.)

(A uniquely named module rather than a conftest.py: the tests import it by name.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from rerunorch import Outcome, OutcomeKind, SweepReport, TestRef
from rerunorch.testing import MockClock

STARTED = 1_772_330_400.0
PATH = "/workflows/abc/triggers/manual/paths/invoke?sig=T0p-S3cret-Sig"
TEAMS_LIMIT = 28_000


class JumpClock(MockClock):
    """The shared fake clock at the sweep's start, jumping over waits (``sleeps`` records them)."""

    def __init__(self) -> None:
        super().__init__(1000.0, wall_origin=STARTED, autojump=True)


@dataclass
class Delivery:
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class FakeEndpoint:
    """A webhook receiver: answers ``script`` first, then 200 (202 for Teams cards).

    A Teams card over 28 KB gets 413, one of the wrong shape 400; a request whose
    signature does not match ``secret`` (when set) 401.
    """

    secret: str | None = None
    deliveries: list[Delivery] = field(default_factory=list)
    attempts: int = 0
    script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        self.attempts += 1
        body = await request.read()
        if self.script:
            status, headers = self.script.pop(0)
            return web.Response(status=status, headers=headers)
        if request.content_type != "application/json":
            return web.Response(status=415)
        if self.secret is not None:
            want = "sha256=" + hmac.new(self.secret.encode(), body, hashlib.sha256).hexdigest()
            got = request.headers.get("X-Rerunorch-Signature", "")
            if not hmac.compare_digest(want, got):
                self.problems.append("bad signature")
                return web.Response(status=401)
        payload = json.loads(body)
        if payload.get("type") == "message":
            if len(body) > TEAMS_LIMIT:
                self.problems.append(f"card of {len(body)} bytes")
                return web.Response(status=413)
            problems = card_problems(payload)
            if problems:
                self.problems += problems
                return web.Response(status=400)
            self.deliveries.append(Delivery(body, dict(request.headers)))
            return web.Response(status=202)
        self.deliveries.append(Delivery(body, dict(request.headers)))
        return web.Response(status=200)


def card_problems(payload: dict[str, Any]) -> list[str]:
    """How ``payload`` differs from what a Teams Workflows webhook takes."""
    problems = []
    attachments = payload.get("attachments")
    if not isinstance(attachments, list) or len(attachments) != 1:
        return ["attachments must be a list of one"]
    [attachment] = attachments
    if attachment.get("contentType") != "application/vnd.microsoft.card.adaptive":
        problems.append("wrong contentType")
    card = attachment.get("content", {})
    if card.get("type") != "AdaptiveCard" or card.get("version") != "1.4":
        problems.append("not an Adaptive Card 1.4")
    for i, element in enumerate(card.get("body", [])):
        kind = element.get("type")
        if kind == "TextBlock":
            if not isinstance(element.get("text"), str) or not element["text"]:
                problems.append(f"element {i}: TextBlock without text")
        elif kind == "FactSet":
            facts = element.get("facts")
            if not facts or not all(isinstance(f.get("title"), str) for f in facts):
                problems.append(f"element {i}: bad FactSet")
        else:
            problems.append(f"element {i}: unexpected {kind}")
    return problems


@asynccontextmanager
async def serve_endpoint(secret: str | None = None) -> AsyncIterator[tuple[FakeEndpoint, str]]:
    """A running :class:`FakeEndpoint` on 127.0.0.1 and its URL."""
    endpoint = FakeEndpoint(secret=secret)
    app = web.Application()
    app.router.add_post(PATH.split("?")[0], endpoint.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield endpoint, str(server.make_url("")).rstrip("/") + PATH
    finally:
        await server.close()


def big_report(tests: int, name_length: int = 200) -> SweepReport:
    """``tests`` flaky and ``tests`` still-failing tests with long (non-ASCII) names."""
    report = SweepReport(started_at=STARTED, config={})
    for i in range(tests):
        name = f"tést {i} " + "é" * name_length
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
    report.finished_at = STARTED + 60.0
    return report
