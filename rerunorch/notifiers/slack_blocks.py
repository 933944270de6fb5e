"""The sweep's summary as a Slack Block Kit message, within Slack's limits.

Slack refuses (``invalid_blocks``/``invalid_payload``) a message of more than 50
blocks, a section text over 3,000 characters, a header over 150, or more than 10
fields in a section; lists are cut to fit and end with "... and N more".
"""

from __future__ import annotations

from typing import Any

from rerunorch.notifiers.message import CaseList, case_detail, case_lists, case_name, problem_text
from rerunorch.report.digest import Digest, Listing, Problem, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import duration_text
from rerunorch.report.text import one_line as _one_line

__all__ = ["MAX_BLOCKS", "MAX_HEADER_TEXT", "MAX_SECTION_TEXT", "slack_message"]

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_FIELDS = 10
# Room kept in a section for its "... and N more" line.
_MORE_ROOM = 40
_ERROR_LIMIT = 200
_NOTE_LIMIT = 300

_EMOJI = {
    "passed": ":white_check_mark:",
    "failing": ":x:",
    "incomplete": ":warning:",
    "none": ":information_source:",
}


def slack_message(
    report: SweepReport, *, title: str = "rerunorch", max_items: int = 30
) -> dict[str, Any]:
    """The incoming-webhook payload (``text`` and ``blocks``) summing up ``report``.

    Args:
        report: The sweep's report (its results are read once).
        title: The header's first words.
        max_items: How many tests each list shows at most.

    Raises:
        ValueError: ``max_items`` is negative.
    """
    d = digest(report, max_items=max_items)
    header = _one_line(f"{_EMOJI[d.status]} {title}: {d.headline}", MAX_HEADER_TEXT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        *_counts(d),
        _context(d.timing),
    ]
    tail = [_context(_notes(d))] if d.notes else []
    lists = [(f"*{found.title}*: {found.meaning}", _tests(found)) for found in case_lists(d)]
    lists.append((f"*Not rerun to the end ({d.problems.total})*", _problems(d.problems)))
    present = [(heading, rows) for heading, rows in lists if rows[1]]
    budget = MAX_BLOCKS - len(blocks) - len(tail) - (1 if present else 0)
    if present:
        blocks.append({"type": "divider"})
    for i, (heading, (rows, total)) in enumerate(present):
        # A fair share of the blocks left; what a list leaves goes to the next ones.
        sections = _sections(heading, rows, total, max(1, budget // (len(present) - i)))
        budget -= len(sections)
        blocks += sections
    blocks += tail
    return {"text": _fallback(title, d), "blocks": blocks}


def escape(text: str) -> str:
    """``text`` safe in Slack's mrkdwn: ``&``, ``<`` and ``>`` as entities, so that names
    cannot form links or mentions (``<!channel>``)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _italic(text: str) -> str:
    return f"_{text}_"


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _counts(d: Digest) -> list[dict[str, Any]]:
    """The counts as fields, in as many sections as Slack's ten fields a section need."""
    fields = [_mrkdwn(f"*{c.label}*\n{c.value}") for c in d.counts]
    return [
        {"type": "section", "fields": fields[i : i + MAX_FIELDS]}
        for i in range(0, len(fields), MAX_FIELDS)
    ]


def _notes(d: Digest) -> str:
    text = "\n".join(f"• {escape(_one_line(note, _NOTE_LIMIT))}" for note in d.notes)
    return "*Notes*\n" + text[: MAX_SECTION_TEXT - 20]


def _tests(found: CaseList) -> tuple[list[str], int]:
    rows = [
        f"• {case_name(t, escape=escape, blank=_italic)}: {escape(case_detail(t))}"
        for t in found.items
    ]
    return rows, found.total


def _problems(listing: Listing[Problem]) -> tuple[list[str], int]:
    rows = [
        f"• {p.where}: {problem_text(p, escape=escape, limit=_ERROR_LIMIT)}" for p in listing.items
    ]
    return rows, listing.total


def _sections(heading: str, rows: list[str], total: int, max_blocks: int) -> list[dict[str, Any]]:
    """``heading`` and ``rows`` packed into at most ``max_blocks`` sections (at least one)."""
    texts: list[str] = []
    current = heading
    shown = 0
    for row in rows:
        if len(current) + 1 + len(row) <= MAX_SECTION_TEXT - _MORE_ROOM:
            current += "\n" + row
        elif len(texts) + 1 < max_blocks:
            texts.append(current)
            current = row
        else:
            break
        shown += 1
    if total > shown:
        current += f"\n... and {total - shown} more"
    texts.append(current)
    return [{"type": "section", "text": _mrkdwn(text)} for text in texts]


def _fallback(title: str, d: Digest) -> str:
    s = d.summary
    took = f", took {duration_text(d.duration)}" if d.duration is not None else ""
    return escape(
        f"{title}: {d.headline} ({s.targets} targets, {s.triggered} reruns, "
        f"{s.flaky_tests} flaky tests{took})"
    )
