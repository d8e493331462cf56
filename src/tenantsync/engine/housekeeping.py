"""Housekeeping: purge mailboxes past their restore window and run history past retention."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenantsync.engine.plan import Change, Plan
from tenantsync.store.changes import record_changes
from tenantsync.store.models import Mailbox, Run, ScheduledTask
from tenantsync.timeutil import utcnow
from tenantsync.worker.context import Outcome, RunContext
from tenantsync.worker.registry import DefinitionType

PREVIEW_LIMIT = 1000


class HousekeepingOptions(BaseModel):
    """Options of a housekeeping definition."""

    model_config = ConfigDict(extra="forbid")

    retention_days: int | None = Field(
        default=None, ge=1, description="days of run history kept; default: the setting"
    )
    purge_mailboxes: bool = Field(
        default=True, description="remove mailboxes whose restore window has passed"
    )


def plan_housekeeping(session: Session, ctx: RunContext) -> Plan:
    """What housekeeping would remove in the task's organization, oldest first."""
    options = ctx.options
    assert isinstance(options, HousekeepingOptions)
    now = utcnow()
    org = ctx.task.organization_id
    plan = Plan()
    if options.purge_mailboxes:
        expired = session.scalars(
            select(Mailbox)
            .where(
                Mailbox.organization_id == org,
                Mailbox.deleted_at.is_not(None),
                Mailbox.restore_until < now,
            )
            .order_by(Mailbox.restore_until)
        )
        for mailbox in expired:
            plan.add(
                Change(
                    action="purge",
                    entity="mailbox",
                    key=mailbox.primary_address,
                    reason=f"restore window ended {mailbox.restore_until:%Y-%m-%d %H:%M} UTC",
                    before={"id": mailbox.id, "kind": mailbox.kind.value},
                )
            )
    days = options.retention_days or ctx.settings.retention_days
    cutoff = now - timedelta(days=days)
    old_runs = session.execute(
        select(Run.id, Run.status, Run.finished_at, ScheduledTask.name)
        .join(ScheduledTask, ScheduledTask.id == Run.task_id)
        .where(
            ScheduledTask.organization_id == org,
            Run.finished_at < cutoff,
            Run.id != ctx.run_id,
        )
        .order_by(Run.id)
    )
    for run_id, status, finished_at, task_name in old_runs:
        plan.add(
            Change(
                action="purge",
                entity="run",
                key=str(run_id),
                reason=f"older than {days} days",
                before={"task": task_name, "status": status.value, "finished_at": str(finished_at)},
            )
        )
    return plan


def apply_housekeeping(session: Session, ctx: RunContext, plan: Plan) -> None:
    """Remove what the plan lists, recording each removal against the run, in one transaction."""
    mailbox_ids = [c.before["id"] for c in plan.of("purge", "mailbox") if c.before]
    run_ids = [int(c.key) for c in plan.of("purge", "run")]
    if mailbox_ids:
        session.execute(delete(Mailbox).where(Mailbox.id.in_(mailbox_ids)))
    if run_ids:
        session.execute(delete(Run).where(Run.id.in_(run_ids)))
    if plan.changes:
        record_changes(session, ctx, plan.changes)


def run_housekeeping(ctx: RunContext) -> Outcome:
    """The housekeeping handler: plan, then apply unless previewing."""
    with ctx.db.session() as session:
        plan = plan_housekeeping(session, ctx)
        ctx.check_cancelled()
        counts: dict[str, object] = {
            "mailboxes_purged": len(plan.of("purge", "mailbox")),
            "runs_purged": len(plan.of("purge", "run")),
        }
        if ctx.preview:
            return Outcome(counts=counts, plan=plan.to_json(limit=PREVIEW_LIMIT))
        apply_housekeeping(session, ctx, plan)
    return Outcome(counts=counts, plan=plan.to_json(limit=PREVIEW_LIMIT))


DEFINITION_TYPE = DefinitionType(
    name="housekeeping",
    title="Housekeeping",
    options_model=HousekeepingOptions,
    handler=run_housekeeping,
)
