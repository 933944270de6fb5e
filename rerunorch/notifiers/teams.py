"""The sweep's summary as an Adaptive Card 1.4, wrapped as a Teams Workflows webhook expects.

Teams refuses a message over about 28 KB, so the lists are shortened (ending
with "... and N more") until the whole payload fits in :data:`MAX_BYTES`.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rerunorch.notifiers.message import CaseList, case_detail, case_lists, case_name, problem_text
from rerunorch.report.digest import Digest, Listing, Problem, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import one_line as _one_line

__all__ = ["MAX_BYTES", "encode", "teams_payload"]

MAX_BYTES = 28_000
_ERROR_LIMIT = 200
_NOTE_LIMIT = 300
# What Teams' Markdown (bold, italic, links, lists) would take for formatting: anywhere,
# and at the start of a text.
_MARKDOWN = re.compile(r"([\\*_\[\]])")
_BLOCK_START = re.compile(r"^([-+#>])|^(\d+)\.")

_COLOR = {"passed": "Good", "failing": "Attention", "incomplete": "Warning", "none": "Default"}


def teams_payload(
    report: SweepReport, *, title: str = "rerunorch", max_items: int = 50
) -> dict[str, Any]:
    """The ``{"type": "message", "attachments": [...]}`` payload summing up ``report``,
    at most :data:`MAX_BYTES` once encoded.

    Raises:
        ValueError: ``max_items`` is negative.
    """
    d = digest(report, max_items=max_items)
    shown = max_items
    notes = len(d.notes)
    while True:
        payload = _wrap(_card(d, title, shown, notes))
        if len(encode(payload)) <= MAX_BYTES or (shown == 0 and notes == 0):
            return payload
        if shown:
            shown = shown * 3 // 4
        else:
            notes -= 1


def encode(payload: dict[str, Any]) -> bytes:
    """The bytes posted for ``payload`` (compact UTF-8 JSON)."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def _wrap(card: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def _card(d: Digest, title: str, shown: int, notes: int) -> dict[str, Any]:
    body: list[dict[str, Any]] = [
        _text(
            f"{_escape(title)}: {d.headline}",
            size="Large",
            weight="Bolder",
            color=_COLOR[d.status],
        ),
        _text(d.timing, isSubtle=True, spacing="None"),
        {"type": "FactSet", "facts": [_fact(c.label, str(c.value)) for c in d.counts]},
    ]
    sections = [(found.heading, _tests(found, shown)) for found in case_lists(d)]
    sections.append((f"Not rerun to the end ({d.problems.total})", _problems(d.problems, shown)))
    for heading, (facts, total) in sections:
        if not total:
            continue
        body.append(_text(heading, weight="Bolder", separator=True))
        if facts:
            body.append({"type": "FactSet", "facts": facts})
        if total > len(facts):
            body.append(_text(f"... and {total - len(facts)} more", isSubtle=True))
    if d.notes:
        body.append(_text("Notes", weight="Bolder", separator=True))
        body += [_text(_escape(_one_line(n, _NOTE_LIMIT)), isSubtle=True) for n in d.notes[:notes]]
        if len(d.notes) > notes:
            body.append(_text(f"... and {len(d.notes) - notes} more", isSubtle=True))
    return {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": body,
    }


def _text(text: str, **style: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **style}


def _fact(title: str, value: str) -> dict[str, str]:
    return {"title": title, "value": value}


def _escape(text: str) -> str:
    """``text`` shown literally by Teams' Markdown (names may hold ``*``, ``_``, ``[x](y)``)."""
    escaped = _MARKDOWN.sub(r"\\\1", text)
    return _BLOCK_START.sub(lambda m: "\\" + m[1] if m[1] else m[2] + "\\.", escaped)


def _tests(found: CaseList, shown: int) -> tuple[list[dict[str, str]], int]:
    facts = [_fact(case_name(t, escape=_escape), case_detail(t)) for t in found.items[:shown]]
    return facts, found.total


def _problems(listing: Listing[Problem], shown: int) -> tuple[list[dict[str, str]], int]:
    facts = [
        _fact(p.where, problem_text(p, escape=_escape, limit=_ERROR_LIMIT))
        for p in listing.items[:shown]
    ]
    return facts, listing.total
