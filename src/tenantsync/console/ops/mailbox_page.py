"""The mailbox page: delegate access both ways as admins name it, and the mailbox's history.

Grants are grant data: callers show them (and the history's grant changes) to super
administrators only (``grant_data.sees_grants``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, or_, select, union_all
from sqlalchemy.orm import Session, aliased

from tenantsync.console.ops.grant_data import GRANT_ENTITY
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.model.permissions import RIGHT_TITLES
from tenantsync.store.models import (
    ChangeRecord,
    DelegateGrant,
    Mailbox,
    MailboxAlias,
    Run,
    ScheduledTask,
    SourceGroup,
)

# How a grant's key names its parts in change records ("mailbox | delegate | right").
KEY_SEPARATOR = " | "


@dataclass(frozen=True)
class Access:
    """One grant seen from a mailbox: the other side, the right as admins say it, since when,
    where it comes from (a task and the run that granted it, or a person) and via which group."""

    grant_id: int
    other_id: int
    other: str
    right: str
    since: datetime
    task_id: int | None
    task: str | None
    run_id: int | None
    granted_by: str | None
    via_group_id: int | None
    via_group: str | None

    @property
    def manual(self) -> bool:
        """Whether a person added it (syncs never touch it)."""
        return self.task_id is None


def access(session: Session, mailbox: Mailbox, *, held: bool) -> list[Access]:
    """Grants on ``mailbox`` (who can open it), or with ``held`` the grants its owner holds
    (which mailboxes it can open), by the other side's address and right."""
    other = aliased(Mailbox)
    mine, theirs = (
        (DelegateGrant.delegate_id, DelegateGrant.mailbox_id)
        if held
        else (DelegateGrant.mailbox_id, DelegateGrant.delegate_id)
    )
    rows = session.execute(
        select(DelegateGrant, other.id, other.primary_address, ScheduledTask.name, SourceGroup.name)
        .join(other, other.id == theirs)
        .outerjoin(ScheduledTask, ScheduledTask.id == DelegateGrant.origin_task_id)
        .outerjoin(SourceGroup, SourceGroup.id == DelegateGrant.via_group_id)
        .where(mine == mailbox.id)
        .order_by(other.primary_address, DelegateGrant.right, DelegateGrant.id)
    ).all()
    return [
        Access(
            grant_id=grant.id,
            other_id=other_id,
            other=address,
            right=RIGHT_TITLES[grant.right],
            since=grant.created_at,
            task_id=grant.origin_task_id,
            task=task,
            run_id=grant.run_id,
            granted_by=grant.granted_by,
            via_group_id=grant.via_group_id,
            via_group=group,
        )
        for grant, other_id, address, task, group in rows
    ]


@dataclass(frozen=True)
class HistoryRow:
    """A change that touched the mailbox, with the run and task that made it (none: a person)."""

    id: int
    at: datetime
    actor: str
    action: str
    entity: str
    key: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    run_id: int | None
    task_id: int | None
    task: str | None


def addresses_of(session: Session, mailbox: Mailbox) -> list[str]:
    """The mailbox's primary address and aliases (how change records name it)."""
    aliases = session.scalars(
        select(MailboxAlias.address).where(MailboxAlias.mailbox_id == mailbox.id)
    )
    return [mailbox.primary_address, *aliases]


def _touches(org_id: int, addresses: list[str], grants: bool) -> ColumnElement[bool]:
    """Change records naming the mailbox: its own (by address), and with ``grants`` the
    grants on it or held by it (keys "mailbox | delegate | right"); each part read off the
    (organization, entity, key) index."""
    own = select(ChangeRecord.id).where(
        ChangeRecord.organization_id == org_id,
        ChangeRecord.entity == "mailbox",
        ChangeRecord.key.in_(addresses),
    )
    if not grants:
        return ChangeRecord.id.in_(own)
    sep = KEY_SEPARATOR
    named = [ChangeRecord.key.like(f"{_escape(a)}{sep}%", escape="\\") for a in addresses] + [
        ChangeRecord.key.like(f"%{sep}{_escape(a)}{sep}%", escape="\\") for a in addresses
    ]
    granted = select(ChangeRecord.id).where(
        ChangeRecord.organization_id == org_id,
        ChangeRecord.entity == GRANT_ENTITY,
        or_(*named),
    )
    return ChangeRecord.id.in_(union_all(own, granted))


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def history(
    session: Session, mailbox: Mailbox, page: int, per_page: int, *, grants: bool
) -> Page[HistoryRow]:
    """The changes that touched the mailbox, newest first: its own, and with ``grants`` the
    grants on it or held by it."""
    stmt = (
        select(ChangeRecord)
        .where(_touches(mailbox.organization_id, addresses_of(session, mailbox), grants))
        .order_by(ChangeRecord.id.desc())
    )
    found: Page[ChangeRecord] = paginate(session, stmt, page, per_page)
    run_ids = {c.run_id for c in found.items if c.run_id is not None}
    tasks = {
        run_id: (task_id, name)
        for run_id, task_id, name in session.execute(
            select(Run.id, ScheduledTask.id, ScheduledTask.name)
            .join(ScheduledTask, ScheduledTask.id == Run.task_id)
            .where(Run.id.in_(run_ids))
        )
    }
    rows = []
    for c in found.items:
        task_id, task = tasks.get(c.run_id, (None, None)) if c.run_id is not None else (None, None)
        rows.append(
            HistoryRow(
                c.id,
                c.at,
                c.actor,
                c.action,
                c.entity,
                c.key,
                c.before,
                c.after,
                c.run_id,
                task_id,
                task,
            )
        )
    return Page(items=rows, total=found.total, page=found.page, per_page=found.per_page)
