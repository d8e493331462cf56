"""Creating and finding the objects administrators name: organizations, tasks, runs."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.models import Organization, PolicyGroup, ScheduledTask

MAIN_POLICY_GROUP = "Main"


def create_organization(session: Session, name: str, display_name: str = "") -> Organization:
    """A new organization with its default "Main" policy group."""
    org = Organization(name=name, display_name=display_name or name)
    session.add(org)
    session.flush()
    session.add(PolicyGroup(organization_id=org.id, name=MAIN_POLICY_GROUP, is_default=True))
    session.flush()
    return org


def organization_by_name(session: Session, name: str) -> Organization:
    org = session.scalar(select(Organization).where(Organization.name == name))
    if org is None:
        raise NotFound(f"no organization named {name!r}")
    return org


def find_task(session: Session, name: str) -> ScheduledTask:
    """The task named ``NAME`` (unique across organizations) or ``ORG/NAME``."""
    query = select(ScheduledTask)
    if "/" in name:
        org_name, _, task_name = name.partition("/")
        query = query.join(Organization).where(
            Organization.name == org_name, ScheduledTask.name == task_name
        )
    else:
        query = query.where(ScheduledTask.name == name)
    tasks = session.scalars(query).all()
    if not tasks:
        raise NotFound(f"no scheduled task named {name!r}")
    if len(tasks) > 1:
        orgs = ", ".join(sorted(f"{t.organization.name}/{t.name}" for t in tasks))
        raise ConfigError(f"{name!r} names several tasks; say which: {orgs}", field="task")
    return tasks[0]
