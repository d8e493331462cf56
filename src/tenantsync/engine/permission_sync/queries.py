"""Who can open which mailbox: delegate grants looked up by delegate or by mailbox, with the
task or person that granted each. Callers enforce who may see them (super administrators)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session, aliased

from tenantsync.errors import ConfigError, NotFound
from tenantsync.model.permissions import origin_label
from tenantsync.store.models import (
    DelegateGrant,
    Mailbox,
    MailboxAlias,
    Organization,
    ScheduledTask,
    SourceGroup,
)


@dataclass(frozen=True)
class DelegateRow:
    """One grant as people read it: whose mailbox, who, which right, granted by what."""

    organization: str
    mailbox: str
    delegate: str
    right: str
    source: str
    origin: str
    via_group: str | None
    granted_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The row as plain data for JSON output."""
        return asdict(self)


def find_mailbox(session: Session, address: str, organization: str | None = None) -> Mailbox:
    """The mailbox with this primary address or alias (in ``organization`` when given)."""
    wanted = address.strip().lower()
    alias_owner = select(MailboxAlias.mailbox_id).where(func.lower(MailboxAlias.address) == wanted)
    query = select(Mailbox).where(
        or_(func.lower(Mailbox.primary_address) == wanted, Mailbox.id.in_(alias_owner))
    )
    if organization is not None:
        query = query.join(Organization).where(Organization.name == organization)
    found = session.scalars(query).all()
    if not found:
        raise NotFound(f"no mailbox has the address {address!r}")
    if len(found) > 1:
        orgs = ", ".join(sorted({_org_name(session, m.organization_id) for m in found}))
        raise ConfigError(
            f"{address!r} is in several organizations ({orgs}); name one", field="org"
        )
    return found[0]


def delegates_of(
    session: Session, address: str, organization: str | None = None
) -> list[DelegateRow]:
    """The mailboxes the person with ``address`` can open or send as, and who granted each."""
    return grants_held_by(session, find_mailbox(session, address, organization))


def grants_held_by(session: Session, person: Mailbox) -> list[DelegateRow]:
    """The mailboxes the owner of ``person`` can open or send as, and who granted each."""
    return _rows(session, DelegateGrant.delegate_id == person.id)


def delegates_on(
    session: Session, address: str, organization: str | None = None
) -> list[DelegateRow]:
    """Who holds which right on the mailbox with ``address``, and who granted each."""
    mailbox = find_mailbox(session, address, organization)
    return _rows(session, DelegateGrant.mailbox_id == mailbox.id)


def _rows(session: Session, condition: Any) -> list[DelegateRow]:
    owner = aliased(Mailbox)
    delegate = aliased(Mailbox)
    query = (
        select(
            Organization.name,
            owner.primary_address,
            delegate.primary_address,
            DelegateGrant.right,
            DelegateGrant.origin_task_id,
            ScheduledTask.name,
            DelegateGrant.granted_by,
            SourceGroup.name,
            DelegateGrant.created_at,
        )
        .join(owner, owner.id == DelegateGrant.mailbox_id)
        .join(delegate, delegate.id == DelegateGrant.delegate_id)
        .join(Organization, Organization.id == DelegateGrant.organization_id)
        .outerjoin(ScheduledTask, ScheduledTask.id == DelegateGrant.origin_task_id)
        .outerjoin(SourceGroup, SourceGroup.id == DelegateGrant.via_group_id)
        .where(condition)
        .order_by(owner.primary_address, delegate.primary_address, DelegateGrant.right)
    )
    rows = []
    for org, mbx, dlg, right, task_id, task, granted_by, group, at in session.execute(query):
        rows.append(
            DelegateRow(
                organization=org,
                mailbox=mbx,
                delegate=dlg,
                right=right.value,
                source=_source(task, granted_by),
                origin=origin_label(task_id),
                via_group=group,
                granted_at=at,
            )
        )
    return rows


def _source(task: str | None, granted_by: str | None) -> str:
    """Who granted it: the task (by name) or the person of a manual grant."""
    if task is not None:
        return f"task {task}"
    return f"manual by {granted_by}" if granted_by else "manual"


def _org_name(session: Session, organization_id: int) -> str:
    return session.get_one(Organization, organization_id).name
