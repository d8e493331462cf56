"""Building store objects for tests, the way `tenantsync apply` would."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from tenantsync.store.directory import create_organization
from tenantsync.store.models import Definition, Organization, Schedule, ScheduledTask
from tenantsync.worker.scheduler import arm


def make_org(session: Session, name: str = "contoso") -> Organization:
    return create_organization(session, name)


def make_task(
    session: Session,
    org: Organization,
    name: str = "housekeeping",
    *,
    type_: str = "housekeeping",
    options: dict[str, Any] | None = None,
    interval_seconds: int | None = None,
    cron: str | None = None,
) -> ScheduledTask:
    definition = Definition(organization_id=org.id, name=name, type=type_, options=options or {})
    session.add(definition)
    session.flush()
    schedule = None
    if interval_seconds is not None or cron is not None:
        schedule = Schedule(
            organization_id=org.id,
            name=f"{name}-schedule",
            interval_seconds=interval_seconds,
            cron=cron,
        )
        session.add(schedule)
        session.flush()
    task = ScheduledTask(
        organization_id=org.id,
        name=name,
        definition_id=definition.id,
        schedule_id=schedule.id if schedule else None,
    )
    arm(task, schedule)
    session.add(task)
    session.flush()
    return task
