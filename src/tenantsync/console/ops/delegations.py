"""Delegations looked up by person or by mailbox, with the task or person that granted each.

The queries are permission_sync's (the ``tenantsync delegates of|on`` commands use the same);
callers let super administrators alone see them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.ops.errors import FieldErrors
from tenantsync.engine.permission_sync.queries import (
    DelegateRow,
    delegates_of,
    delegates_on,
    grants_held_by,
)
from tenantsync.store.models import Mailbox


def can_open(session: Session, mailbox: Mailbox) -> list[DelegateRow]:
    """The mailboxes the owner of ``mailbox`` can open or send as, and who granted each."""
    return grants_held_by(session, mailbox)


def lookup(
    session: Session, of: str = "", on: str = "", organization: str = ""
) -> list[DelegateRow]:
    """Grants held by the person ``of``, or on the mailbox ``on`` (exactly one of them),
    in ``organization`` when the address exists in several."""
    of, on = of.strip(), on.strip()
    if bool(of) == bool(on):
        raise FieldErrors({"of": "give either of=ADDRESS (a person) or on=ADDRESS (a mailbox)"})
    org = organization.strip() or None
    return delegates_of(session, of, org) if of else delegates_on(session, on, org)


def mailbox_ids(session: Session, organization_id: int, addresses: list[str]) -> dict[str, int]:
    """The ids of the live mailboxes with these primary addresses (for links)."""
    if not addresses:
        return {}
    rows = session.execute(
        select(Mailbox.primary_address, Mailbox.id).where(
            Mailbox.organization_id == organization_id,
            Mailbox.primary_address.in_(set(addresses)),
        )
    )
    return dict(rows.all())
