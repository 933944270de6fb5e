"""What a sweep reports: the report model, its digest, and the writers.

- :mod:`~rerunorch.report.model`: :class:`SweepReport` (the summary, the settings and
  one result per target, spooled to disk) and its JSON form.
- :mod:`~rerunorch.report.digest`: the same report read once into what every
  renderer shows (headline, counts, bounded lists of tests and problems).
- :mod:`~rerunorch.report.junit` and :mod:`~rerunorch.report.markdown`: the formats
  CI systems read.
- :mod:`~rerunorch.report.text`: the text helpers they share.
"""
