"""Run rerunorch's benchmarks: ``python benchmarks/run.py SCENARIO... [--quick]``.

Each measurement is printed as one JSON object on one line (with the machine's
cpu count, CPU model and Python version). Scenarios: overhead, pacing-known,
pacing-unknown, memory, polling, faults, shared-pacing, discovery, verdicts, makespan, ledger,
fleet (or ``all``). ``--quick`` runs small sizes, for a smoke test; the figures are then
meaningless.

The goals and the latest figures are in ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from discovery import discovery
from faults import faults
from fleet import fleet
from ledger import ledger
from makespan import makespan
from memory import memory
from overhead import overhead
from pacing import pacing_known, pacing_unknown
from polling import polling
from shared import shared_pacing
from verdicts import verdicts

Scenario = Callable[..., Awaitable[list[dict[str, Any]]]]

SCENARIOS: dict[str, Scenario] = {
    "overhead": overhead,
    "pacing-known": pacing_known,
    "pacing-unknown": pacing_unknown,
    "memory": memory,
    "polling": polling,
    "faults": faults,
    "shared-pacing": shared_pacing,
    "discovery": discovery,
    "verdicts": verdicts,
    "makespan": makespan,
    "ledger": ledger,
    "fleet": fleet,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="+", choices=[*SCENARIOS, "all"], metavar="SCENARIO")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    args = parser.parse_args(argv)
    names = list(SCENARIOS) if "all" in args.scenarios else args.scenarios
    for name in names:
        asyncio.run(SCENARIOS[name](quick=args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
