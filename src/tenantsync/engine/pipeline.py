"""The one pipeline every run goes through: read → plan → hold → guard → preview or apply →
record.

    source   = sources.open(ctx)                 only for types that read a connection;
                                                 a DN scope the directory lacks stops here
    reading  = feature.read(ctx, source)         (in full when the run asks for it)
    planned  = feature.plan(ctx, session, reading)   (a delta that cannot be planned alone
                                                      is read again in full)
    hold     = every removal, when a part of the read is not proven complete
    verdict  = the removal guard, the same for every feature
    preview  → the plan and the verdict a real run would meet
    stop     → awaiting confirmation, with the reason and the removal keys to confirm
    apply    → feature.apply, then every change recorded against the run, one transaction

A transient failure of the read that outlasted the connector's own retries is raised to
the worker (which queues the run again with backoff) unless this is the run's last
attempt; then the run goes on with what it could read and holds its removals.
"""

from __future__ import annotations

from typing import Any

from tenantsync.engine.feature import ChangeList, Feature, Planned, Reading
from tenantsync.engine.guard import verdict
from tenantsync.engine.registry import DefinitionType
from tenantsync.engine.run import Outcome, RunContext
from tenantsync.engine.sources import Sources
from tenantsync.errors import DeltaExpired
from tenantsync.store.changes import record_changes
from tenantsync.store.models import RunStatus


def execute(ctx: RunContext, definition: DefinitionType, sources: Sources) -> Outcome:
    """Run ``ctx``'s task through the pipeline; the outcome to store on the run."""
    feature: Feature[Any, Any] = definition.feature
    with sources.open(ctx, definition) as source:
        if source is not None:
            source.check_scope(ctx.task.scope_kind, ctx.task.scope_value)
        reading: Reading = feature.read(ctx, source, full=ctx.full_read)
        ctx.check_cancelled()
        _retry_if_worth_it(ctx, reading)
        with ctx.db.session() as session:
            try:
                planned: Planned = feature.plan(ctx, session, reading)
            except DeltaExpired as exc:
                reading = feature.read(ctx, source, full=str(exc))
                ctx.check_cancelled()
                _retry_if_worth_it(ctx, reading)
                planned = feature.plan(ctx, session, reading)
            outcome = _decide(ctx, reading, planned)
            if outcome.status is RunStatus.AWAITING_CONFIRMATION or ctx.preview:
                return outcome
            ctx.check_cancelled()
            ctx.report("applying", 0, planned.change_count())
            feature.apply(ctx, session, planned)
            record_changes(
                session,
                planned.changes(),
                run_id=ctx.run_id,
                organization_id=ctx.task.organization_id,
                actor=ctx.actor,
            )
    return outcome


def _retry_if_worth_it(ctx: RunContext, reading: Reading) -> None:
    """Raise the read's transient failure while the run has attempts left."""
    if reading.retry is not None and ctx.attempt < ctx.settings.run_attempts:
        raise reading.retry


def _decide(ctx: RunContext, reading: Reading, planned: Planned) -> Outcome:
    """Hold what an incomplete read may not remove, then meet the guard."""
    why = "; ".join(reading.incomplete)
    held = planned.hold_removals(why) if reading.incomplete else 0
    messages = list(planned.messages)
    if held:
        text = f"read incomplete, so nothing is removed ({held} removals held back): {why}"
        messages.append(_msg("warning", text))
    elif reading.incomplete:
        messages.append(_msg("warning", f"read incomplete: {why}"))
    warning = bool(reading.incomplete) or planned.warning
    counts = dict(planned.counts)
    removals = planned.removal_keys()
    stop = verdict(planned.limits, len(removals), planned.owned) if planned.limits else None
    status = RunStatus.WARNING if warning else RunStatus.SUCCEEDED
    outcome = Outcome(
        status=RunStatus.FAILED if planned.error else status,
        counts=counts,
        messages=messages,
        plan=planned.to_json(),
        error=planned.error,
        report=planned.report if isinstance(planned, ChangeList) else None,
    )
    if stop is None:
        return outcome
    if ctx.preview:
        outcome.stop_reason = stop
        outcome.messages.append(_msg("warning", f"a sync would stop here: {stop}"))
        return outcome
    if ctx.confirm_removals:
        return outcome
    if ctx.review is not None:
        new = [key for key in removals if key not in ctx.review]
        if not new:
            return outcome
        stop = (
            f"{stop}; the source changed since the plan was reviewed: {len(new)} removals "
            "are not in it (e.g. " + ", ".join(new[:5]) + "). Review this run's plan and "
            "confirm again"
        )
    outcome.status = RunStatus.AWAITING_CONFIRMATION
    outcome.stop_reason = (
        f"{stop}; nothing was changed. Confirm with `tenantsync runs confirm {ctx.run_id}` "
        f"(or run `tenantsync task run {ctx.task.name} --confirm-removals`)"
    )
    outcome.error = outcome.stop_reason
    outcome.review = removals
    return outcome


def _msg(level: str, text: str) -> dict[str, Any]:
    return {"level": level, "text": text}
