"""Delegations by person or by mailbox (super administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from tenantsync.console.api.schemas import DelegationOut, Id, SearchText
from tenantsync.console.auth import DbSession, Super
from tenantsync.console.ops import delegations as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.store.models import Mailbox

router = APIRouter(tags=["directory"])


@router.get("/mailboxes/{mailbox_id}/delegations", response_model=list[DelegationOut])
def can_open(mailbox_id: Id, db: DbSession, who: Super) -> list[DelegationOut]:
    """The mailboxes this mailbox's owner can open or send as, with the task or person that
    granted each and the group it came through."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    return [DelegationOut.model_validate(row) for row in ops.can_open(db, mailbox)]


@router.get("/delegates", response_model=list[DelegationOut])
def lookup(
    db: DbSession,
    who: Super,
    of: SearchText = "",
    on: SearchText = "",
    organization: SearchText = "",
) -> list[DelegationOut]:
    """By address (primary or alias): ``of`` a person — the mailboxes they can open — or
    ``on`` a mailbox — who holds rights on it. Name the ``organization`` when the address
    is in several (otherwise 422)."""
    rows = ops.lookup(db, of, on, organization)
    return [DelegationOut.model_validate(row) for row in rows]
