"""The ledger's one schema, as numbered migrations for SQLite and PostgreSQL alike.

Each migration is a list of statements in which ``{id}``, ``{real}`` and
``{big}`` stand for the dialect's types; the store applies, in one transaction
each, those above the version that ``ledger_meta`` records. A ledger whose
version is above :data:`LATEST` was written by a newer rerunorch and is refused.
"""

from __future__ import annotations

__all__ = ["LATEST", "MIGRATIONS", "TYPES"]

TYPES = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "real": "REAL", "big": "INTEGER"},
    "postgresql": {"id": "BIGSERIAL PRIMARY KEY", "real": "DOUBLE PRECISION", "big": "BIGINT"},
}

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: observations, as they were seen, and their tallies (one row per test, plan,
    # machine and night: what `rerunorch flaky` reads).
    (
        "CREATE TABLE IF NOT EXISTS ledger_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        """CREATE TABLE observations (
            id {id},
            test_key TEXT NOT NULL,
            test_case_id {big},
            test_case_name TEXT,
            suite TEXT,
            plan_id {big} NOT NULL,
            machine TEXT NOT NULL,
            set_name TEXT NOT NULL,
            target {big} NOT NULL,
            run_id {big} NOT NULL,
            round INTEGER NOT NULL,
            result TEXT,
            seen TEXT NOT NULL,
            at {real} NOT NULL,
            duration {real},
            build_no TEXT,
            night TEXT NOT NULL,
            verdict TEXT,
            UNIQUE (run_id, test_key, set_name)
        )""",
        "CREATE INDEX observations_by_test ON observations (test_key, night)",
        "CREATE INDEX observations_by_name ON observations (test_case_name)",
        """CREATE TABLE tallies (
            test_key TEXT NOT NULL,
            test_case_id {big},
            test_case_name TEXT,
            plan_id {big} NOT NULL,
            machine TEXT NOT NULL,
            night TEXT NOT NULL,
            runs INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            first TEXT NOT NULL,
            last TEXT NOT NULL,
            tail INTEGER NOT NULL,
            flips INTEGER NOT NULL,
            rerun_passed INTEGER NOT NULL,
            first_at {real} NOT NULL,
            last_at {real} NOT NULL,
            verdict TEXT,
            PRIMARY KEY (test_key, plan_id, machine, night)
        )""",
        "CREATE INDEX tallies_by_night ON tallies (night, plan_id)",
    ),
    # 2: what `rerunorch flaky` reads without reading every tally: each test's totals
    # (its passes summed with their decay weight at a fixed reference time), and each
    # night's plans and machines with how many of their tests failed first (outages).
    # The store fills them from the tallies after this migration.
    (
        """CREATE TABLE test_totals (
            test_key TEXT PRIMARY KEY,
            test_case_id {big},
            test_case_name TEXT,
            plan_id {big} NOT NULL,
            runs INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            tally_rows INTEGER NOT NULL,
            nights INTEGER NOT NULL,
            weighted_passes {real} NOT NULL,
            last_at {real} NOT NULL
        )""",
        """CREATE TABLE night_groups (
            kind TEXT NOT NULL,
            night TEXT NOT NULL,
            value TEXT NOT NULL,
            tests INTEGER NOT NULL,
            failed INTEGER NOT NULL,
            PRIMARY KEY (kind, night, value)
        )""",
        "CREATE INDEX tallies_by_machine ON tallies (night, machine)",
    ),
    # 3: each test that ever failed, summed up as the flake model sums it (outages aside,
    # its failures and passes weighted at the reference time), with its newest tally's
    # place in time, so that a newer night is added to the sums: `rerunorch flaky` reads
    # one row a failing test instead of its every tally. The store fills it after this
    # migration, and keeps beside it the outages it was summed with (ledger_meta
    # 'rollup_outages').
    (
        """CREATE TABLE test_rollup (
            test_key TEXT PRIMARY KEY,
            test_case_id {big},
            test_case_name TEXT,
            plan_id {big} NOT NULL,
            runs INTEGER NOT NULL,
            failures INTEGER NOT NULL,
            counted_rows INTEGER NOT NULL,
            weighted_failures {real} NOT NULL,
            weighted_passes {real} NOT NULL,
            flips INTEGER NOT NULL,
            final TEXT,
            streak INTEGER NOT NULL,
            streak_nights INTEGER NOT NULL,
            streak_night TEXT NOT NULL,
            last_failed {real},
            newest_first_at {real} NOT NULL,
            newest_last_at {real} NOT NULL,
            newest_plan {big} NOT NULL,
            newest_machine TEXT NOT NULL
        )""",
    ),
)

LATEST = len(MIGRATIONS)
"""The schema version this rerunorch writes."""
