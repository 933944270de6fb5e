"""The sweep's summary as an email: a plain-text part and an HTML part."""

from __future__ import annotations

import email.utils
import html
from collections.abc import Sequence
from email.message import EmailMessage

from rerunorch.notifiers.message import case_detail, case_lists, case_name, problem_text
from rerunorch.report.digest import Digest, digest
from rerunorch.report.model import SweepReport
from rerunorch.report.text import one_line as _one_line

__all__ = ["email_message"]

_NAME_LIMIT = 200
_ERROR_LIMIT = 300
_SUBJECT_LIMIT = 150


def email_message(
    report: SweepReport,
    *,
    sender: str,
    recipients: Sequence[str],
    title: str = "rerunorch",
    max_items: int = 50,
) -> EmailMessage:
    """The ``multipart/alternative`` message (text, then HTML) summing up ``report``.

    Raises:
        ValueError: ``max_items`` is negative.
    """
    d = digest(report, max_items=max_items)
    message = EmailMessage()
    message["Subject"] = email_subject(d, title)
    message["From"] = sender
    message["To"] = ", ".join(recipients)
    message["Date"] = email.utils.formatdate(report.finished_at or report.started_at, usegmt=True)
    domain = sender.rpartition("@")[2].strip("<> ") or "rerunorch.invalid"
    message["Message-ID"] = email.utils.make_msgid("rerunorch", domain=domain)
    message.set_content(email_text(d, title))
    message.add_alternative(email_html(d, title), subtype="html")
    return message


def email_subject(d: Digest, title: str = "rerunorch") -> str:
    return _one_line(f"{title}: {d.headline}", _SUBJECT_LIMIT)


def email_text(d: Digest, title: str = "rerunorch") -> str:
    """The plain-text part."""
    lines = [email_subject(d, title), "", d.timing, ""]
    width = max(len(count.label) for count in d.counts) + 2
    lines += [f"{count.label:<{width}}{count.value}" for count in d.counts]
    for heading, rows, more in _lists(d):
        lines += ["", heading]
        lines += [f"- {row}" for row in rows]
        if more:
            lines.append(f"... and {more} more")
    if d.notes:
        lines += ["", "Notes"]
        lines += [f"- {_one_line(note, _ERROR_LIMIT)}" for note in d.notes]
    lines += ["", "-- ", "Sent by rerunorch."]
    return "\n".join(lines) + "\n"


def email_html(d: Digest, title: str = "rerunorch") -> str:
    """The HTML part (inline styles only: mail clients drop style sheets)."""
    e = html.escape
    cell = 'style="padding:2px 12px 2px 0"'
    out = [
        "<!DOCTYPE html>",
        '<html><body style="font-family:sans-serif">',
        f"<h2>{e(email_subject(d, title))}</h2>",
        f"<p>{e(d.timing)}</p>",
        "<table>",
    ]
    out += [
        f'<tr><td {cell}>{e(c.label)}</td><td style="text-align:right">{c.value}</td></tr>'
        for c in d.counts
    ]
    out.append("</table>")
    for heading, rows, more in _lists(d):
        out.append(f"<h3>{e(heading)}</h3>")
        out.append("<ul>" + "".join(f"<li>{e(row)}</li>" for row in rows) + "</ul>")
        if more:
            out.append(f"<p>... and {more} more</p>")
    if d.notes:
        out.append("<h3>Notes</h3>")
        out.append(
            "<ul>"
            + "".join(f"<li>{e(_one_line(note, _ERROR_LIMIT))}</li>" for note in d.notes)
            + "</ul>"
        )
    out += ['<p style="color:#777">Sent by rerunorch.</p>', "</body></html>"]
    return "\n".join(out) + "\n"


def _lists(d: Digest) -> list[tuple[str, list[str], int]]:
    found: list[tuple[str, list[str], int]] = [
        (
            tests.heading,
            [f"{case_name(t, limit=_NAME_LIMIT)}: {case_detail(t)}" for t in tests.items],
            tests.more,
        )
        for tests in case_lists(d)
    ]
    if d.problems.total:
        rows = [f"{p.where}: {problem_text(p, limit=_ERROR_LIMIT)}" for p in d.problems.items]
        found.append((f"Not rerun to the end ({d.problems.total})", rows, d.problems.more))
    return found
