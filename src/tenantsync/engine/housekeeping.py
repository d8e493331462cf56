"""Housekeeping: purge mailboxes past their restore window, and run history and the
notification delivery log past retention."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList, Limits, NothingMissing
from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.registry import DefinitionType
from tenantsync.engine.run import RunContext
from tenantsync.store import notify
from tenantsync.store.feed import prune_runs
from tenantsync.store.models import Mailbox, Run, ScheduledTask
from tenantsync.timeutil import utcnow

PREVIEW_LIMIT = 1000
DELIVERIES = "notification_delivery"  # the delivery log's finished entries


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
    deliveries = notify.count_old_deliveries(session, org, cutoff)
    if deliveries:
        plan.add(
            Change(
                action="purge",
                entity=DELIVERIES,
                key=f"queued before {cutoff:%Y-%m-%d %H:%M} UTC",
                reason=f"older than {days} days",
                before={"count": deliveries, "cutoff": cutoff.isoformat()},
            )
        )
    return plan


def apply_housekeeping(session: Session, plan: Plan, organization_id: int) -> None:
    """Remove what the plan lists, in the caller's transaction."""
    mailbox_ids = [c.before["id"] for c in plan.of("purge", "mailbox") if c.before]
    run_ids = [int(c.key) for c in plan.of("purge", "run")]
    for c in plan.of("purge", DELIVERIES):
        assert c.before is not None
        cutoff = datetime.fromisoformat(c.before["cutoff"])
        notify.prune_deliveries(session, organization_id, cutoff)
    if mailbox_ids:
        session.execute(delete(Mailbox).where(Mailbox.id.in_(mailbox_ids)))
    if run_ids:
        prune_runs(session, run_ids)
        session.execute(delete(Run).where(Run.id.in_(run_ids)))


class Housekeeping:
    """The housekeeping feature: reads the store only, plans purges, applies them."""

    def limits(self, options: object) -> Limits | None:
        """Housekeeping reads no connection."""
        return None

    def read(self, ctx: RunContext, source: object, *, full: str | None = None) -> NothingMissing:
        """Nothing to read: the plan is made from the store."""
        return NothingMissing()

    def plan(self, ctx: RunContext, session: Session, reading: NothingMissing) -> ChangeList:
        """The purges due now."""
        plan = plan_housekeeping(session, ctx)
        counts: dict[str, object] = {
            "mailboxes_purged": len(plan.of("purge", "mailbox")),
            "runs_purged": len(plan.of("purge", "run")),
        }
        for c in plan.of("purge", DELIVERIES):  # counted only where notifications are used
            counts["deliveries_purged"] = (c.before or {}).get("count", 0)
        return ChangeList(plan, counts, preview_limit=PREVIEW_LIMIT)

    def apply(self, ctx: RunContext, session: Session, planned: ChangeList) -> None:
        """Purge what the plan lists."""
        apply_housekeeping(session, planned.plan, ctx.task.organization_id)


DEFINITION_TYPE = DefinitionType(
    name="housekeeping",
    title="Housekeeping",
    options_model=HousekeepingOptions,
    feature=Housekeeping(),
)
