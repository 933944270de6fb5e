"""The flake ledger: every night's observations, and each test's history (docs/verdicts.md)."""
