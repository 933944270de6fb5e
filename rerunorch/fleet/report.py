"""The fleet's one report, merged from its records: at any time (partial while it runs).

Its requests, device time and rerun span are those of the workers that have ended (each
adds its own); a worker killed takes its own with it.
"""

from __future__ import annotations

from rerunorch.fleet.records import Fleet
from rerunorch.outcome import Outcome, OutcomeKind
from rerunorch.report.model import DEFAULT_FAIL_ON, SweepReport

__all__ = ["fleet_report"]


async def fleet_report(fleet: Fleet) -> SweepReport:
    """Every published target's outcome, in the order published; a target without one
    yet is ``interrupted`` (with the rerun known, if any), and a note says how many.

    Raises:
        ConfigError: There is no such fleet.
        redis.RedisError, OSError: Redis does not answer.
    """
    from rerunorch.errors import ConfigError

    config = await fleet.config()
    if config is None:
        raise ConfigError(f"{fleet.shown}: no such fleet (nothing was published under this name)")
    redis = fleet.redis
    started = float(await redis.get(fleet.key["started_at"]) or 0)
    report = SweepReport(
        started_at=started,
        config={**config, "fleet": fleet.name},
        fail_on=tuple(config.get("fail_on") or DEFAULT_FAIL_ON),
    )
    missing = 0
    async for page in fleet.published():
        ids = [target.id for target in page]
        states = await fleet.states(ids)
        for target, outcome, state in zip(ids, await fleet.outcomes(ids), states, strict=True):
            if outcome is None:
                missing += 1
                where = f"was {state.state}" if state is not None else "was not begun"
                outcome = Outcome(
                    target=target,
                    outcome=OutcomeKind.INTERRUPTED,
                    rerun_id=state.rerun_id if state is not None else None,
                    adopted=state.adopted if state is not None else False,
                    error=f"no outcome yet: it {where}",
                )
            report.add(outcome)
    finished = await redis.get(fleet.key["finished_at"])
    report.finished_at = float(finished) if finished is not None and not missing else None
    totals = {k.decode(): v.decode() for k, v in (await redis.hgetall(fleet.key["totals"])).items()}
    summary = report.summary
    summary.requests = int(totals.get("requests", 0))
    if "device_seconds" in totals:
        summary.device_seconds = float(totals["device_seconds"])
    if "first_start" in totals and "last_end" in totals:
        summary.first_start = float(totals["first_start"])
        summary.last_end = float(totals["last_end"])
    reclaimed = int(await redis.get(fleet.key["reclaimed"]) or 0)
    if reclaimed:
        report.notes.append(
            f"{reclaimed} claim(s) taken over from a worker lost or stopped (after its lease)"
        )
    if missing:
        report.notes.append(
            f"partial: {missing} of {report.summary.targets} target(s) of {fleet.shown} "
            "have no outcome yet"
        )
    return report
