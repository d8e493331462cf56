"""Creating and finding what administrators name: organizations, tasks, connections."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.models import (
    Connection,
    Mailbox,
    Organization,
    PolicyGroup,
    ScheduledTask,
)
from tenantsync.store.search import contains

MAIN_POLICY_GROUP = "Main"
Named = TypeVar("Named", ScheduledTask, Connection)


def mailbox_matches(text: str) -> ColumnElement[bool]:
    """Mailboxes whose name, address or an alias contains ``text``, whatever the case and
    accents of either (``store.search``): the console's search and ``users list --search``.
    All three are in the mailbox's search text, so one index finds them on PostgreSQL."""
    return contains(Mailbox.search_text, text)


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
    return find_named(session, ScheduledTask, name, "scheduled task")


def find_connection(session: Session, name: str) -> Connection:
    """The connection named ``NAME`` (unique across organizations) or ``ORG/NAME``."""
    return find_named(session, Connection, name, "connection")


def find_named(session: Session, model: type[Named], name: str, what: str) -> Named:
    """The ``model`` row named ``NAME`` (unique across organizations) or ``ORG/NAME``."""
    query = select(model)
    if "/" in name:
        org_name, _, own_name = name.partition("/")
        query = query.join(Organization).where(
            Organization.name == org_name, model.name == own_name
        )
    else:
        query = query.where(model.name == name)
    found = session.scalars(query).all()
    if not found:
        raise NotFound(f"no {what} named {name!r}")
    if len(found) > 1:
        names = ", ".join(sorted(f"{f.organization.name}/{f.name}" for f in found))
        raise ConfigError(f"{name!r} names several {what}s; say which: {names}", field=what)
    return found[0]
