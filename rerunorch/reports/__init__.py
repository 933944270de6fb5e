"""The sweep's report in the formats CI systems read: JUnit XML and Markdown.

The JSON report is :meth:`rerunorch.report.SweepReport.write_json`; these
writers read the same :class:`~rerunorch.report.SweepReport`, iterating its
spooled results rather than loading them all.
"""

from __future__ import annotations

from rerunorch.reports.junit import junit_xml, write_junit
from rerunorch.reports.markdown import markdown_summary, write_markdown

__all__ = ["junit_xml", "markdown_summary", "write_junit", "write_markdown"]
