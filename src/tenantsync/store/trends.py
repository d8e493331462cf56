"""Numbers over time: an organization's mailbox counts (written when a user sync applies its
plan) and, per task, each finished run's duration and the changes it recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tenantsync.store.models import ChangeRecord, Mailbox, MailboxKind, OrganizationCount, Run
from tenantsync.timeutil import utcnow

POINTS = 200  # the most recent points a trend shows


@dataclass(frozen=True)
class CountPoint:
    """An organization's mailboxes and billable mailboxes at one moment."""

    at: datetime
    mailboxes: int
    billable: int
    run_id: int | None


@dataclass(frozen=True)
class RunPoint:
    """One finished run of a task: when, how long, how many changes, how it ended."""

    run_id: int
    at: datetime
    duration_seconds: float
    changes: int
    status: str


def record_organization_counts(
    session: Session, org_id: int, run_id: int | None, at: datetime | None = None
) -> OrganizationCount:
    """Keep how many live mailboxes (group addresses aside) and billable ones there are now."""
    live = (Mailbox.organization_id == org_id, Mailbox.deleted_at.is_(None))
    mailboxes = session.scalar(select(func.count()).where(*live, Mailbox.kind != MailboxKind.GROUP))
    billable = session.scalar(select(func.count()).where(*live, Mailbox.billable))
    row = OrganizationCount(
        organization_id=org_id,
        run_id=run_id,
        at=at or utcnow(),
        mailboxes=mailboxes or 0,
        billable=billable or 0,
    )
    session.add(row)
    session.flush()
    return row


def organization_trend(
    session: Session, org_id: int, days: int = 366, limit: int = POINTS
) -> list[CountPoint]:
    """The organization's recorded counts of the last ``days``, oldest first; past ``limit``
    of them, the last count of each (UTC) day, so a year of 15-minute syncs stays a year."""
    since = utcnow() - timedelta(days=days)
    rows = session.execute(
        select(
            OrganizationCount.at,
            OrganizationCount.mailboxes,
            OrganizationCount.billable,
            OrganizationCount.run_id,
        )
        .where(OrganizationCount.organization_id == org_id, OrganizationCount.at >= since)
        .order_by(OrganizationCount.at, OrganizationCount.id)
    ).all()
    points = [
        CountPoint(at, mailboxes, billable, run_id) for at, mailboxes, billable, run_id in rows
    ]
    if len(points) <= limit:
        return points
    last_of_day = {p.at.date(): p for p in points}  # later points of a day replace earlier
    return list(last_of_day.values())[-limit:]


def task_trend(session: Session, task_id: int, limit: int = POINTS) -> list[RunPoint]:
    """The task's finished runs, oldest first: duration and changes recorded (latest ``limit``)."""
    runs = session.execute(
        select(Run.id, Run.started_at, Run.finished_at, Run.status)
        .where(Run.task_id == task_id, Run.started_at.is_not(None), Run.finished_at.is_not(None))
        .order_by(Run.finished_at.desc(), Run.id.desc())
        .limit(limit)
    ).all()
    ids = [r.id for r in runs]
    changes = (
        dict(
            session.execute(
                select(ChangeRecord.run_id, func.count())
                .where(ChangeRecord.run_id.in_(ids))
                .group_by(ChangeRecord.run_id)
            ).all()
        )
        if ids
        else {}
    )
    return [
        RunPoint(
            run_id=r.id,
            at=r.finished_at,
            duration_seconds=max((r.finished_at - r.started_at).total_seconds(), 0.0),
            changes=int(changes.get(r.id, 0)),
            status=r.status.value,
        )
        for r in reversed(runs)
    ]
