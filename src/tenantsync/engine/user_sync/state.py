"""Loading what the store holds for one organization, as plain data, in bulk queries.

A full run loads every mailbox and group of the organization; a delta run loads only
the mailboxes and memberships its changes touch, so its cost follows the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.user_sync.membership import MembershipGraph
from tenantsync.model import GroupKind, Location, MailboxKind, MemberRef
from tenantsync.store.bulk import chunks
from tenantsync.store.models import (
    Mailbox,
    MailboxAlias,
    PolicyGroup,
    SourceGroup,
    SourceGroupMember,
    SyncState,
)


@dataclass(frozen=True)
class StoredMailbox:
    """A mailbox row as the planner compares it."""

    id: int
    source_id: str | None
    primary_address: str
    display_name: str
    kind: MailboxKind
    licensed: bool
    enabled: bool
    policy_group_id: int | None
    dn: str | None
    exchange_guid: str | None
    attributes: dict[str, Any]
    deleted_at: datetime | None
    restore_until: datetime | None
    owner_task_id: int | None
    aliases: frozenset[str]
    location: Location = Location.CLOUD
    recipient_type: str | None = None


@dataclass(frozen=True)
class StoredGroup:
    """A source group row."""

    id: int
    source_id: str
    name: str
    mail: str | None
    dn: str | None
    kind: GroupKind
    deleted: bool


@dataclass(repr=False)
class StoreView:
    """The part of the store one run compares its snapshot with (repr: a summary)."""

    mailboxes: dict[str, StoredMailbox] = field(default_factory=dict)
    holders: dict[str, str] = field(default_factory=dict)
    removed_holders: dict[str, int] = field(default_factory=dict)
    policy_groups: dict[str, int] = field(default_factory=dict)
    default_policy_group: int | None = None
    groups: dict[str, StoredGroup] = field(default_factory=dict)
    members: dict[str, set[MemberRef]] = field(default_factory=dict)
    graph: MembershipGraph = field(default_factory=MembershipGraph)
    owned_active: int = 0

    def __repr__(self) -> str:
        return f"<StoreView {len(self.mailboxes)} mailboxes, {len(self.groups)} groups>"

    def policy_group_name(self, group_id: int | None) -> str | None:
        """The name of a policy group id."""
        for name, gid in self.policy_groups.items():
            if gid == group_id:
                return name
        return None


def load_view(
    session: Session,
    org_id: int,
    task_id: int,
    *,
    source_ids: set[str] | None,
    addresses: set[str] | None = None,
    member_users: set[str] | None = None,
) -> StoreView:
    """Rows for ``source_ids`` (None: all) and the holders of ``addresses``."""
    view = StoreView()
    for pg in session.scalars(select(PolicyGroup).where(PolicyGroup.organization_id == org_id)):
        view.policy_groups[pg.name] = pg.id
        if pg.is_default:
            view.default_policy_group = pg.id
    base = select(Mailbox).where(Mailbox.organization_id == org_id)
    if source_ids is None:
        rows = list(session.scalars(base.where(Mailbox.source_id.is_not(None))))
    else:
        rows = [
            m
            for batch in chunks(sorted(source_ids))
            for m in session.scalars(base.where(Mailbox.source_id.in_(batch)))
        ]
    aliases = _aliases(session, org_id, None if source_ids is None else [m.id for m in rows])
    for m in rows:
        assert m.source_id is not None
        view.mailboxes[m.source_id] = _stored(m, aliases.get(m.id, frozenset()))
    for stored in view.mailboxes.values():
        for address in (stored.primary_address, *stored.aliases):
            if stored.deleted_at is not None:
                view.removed_holders[address] = stored.id
            else:
                view.holders[address] = stored.source_id or f"#{stored.id}"
    if addresses:
        _holders(session, org_id, addresses, view)
    view.owned_active = _owned_active(session, org_id, task_id)
    for g in session.scalars(select(SourceGroup).where(SourceGroup.organization_id == org_id)):
        view.groups[g.source_id] = StoredGroup(
            g.id,
            g.source_id,
            g.name,
            g.mail,
            g.dn,
            GroupKind(g.kind.value),
            g.deleted_at is not None,
        )
    _memberships(session, org_id, view, member_users)
    return view


def _stored(m: Mailbox, aliases: frozenset[str]) -> StoredMailbox:
    return StoredMailbox(
        id=m.id,
        source_id=m.source_id,
        primary_address=m.primary_address,
        display_name=m.display_name,
        kind=MailboxKind(m.kind.value),
        licensed=m.licensed,
        enabled=m.enabled,
        policy_group_id=m.policy_group_id,
        dn=m.source_dn,
        exchange_guid=m.exchange_guid,
        attributes=dict(m.attributes or {}),
        deleted_at=m.deleted_at,
        restore_until=m.restore_until,
        owner_task_id=m.synced_by_task_id,
        aliases=aliases,
        location=Location(m.location.value),
        recipient_type=m.recipient_type,
    )


def _aliases(
    session: Session, org_id: int, mailbox_ids: list[int] | None
) -> dict[int, frozenset[str]]:
    query = select(MailboxAlias.mailbox_id, MailboxAlias.address)
    found: dict[int, set[str]] = {}
    if mailbox_ids is None:
        pairs = list(session.execute(query.where(MailboxAlias.organization_id == org_id)))
    else:
        pairs = [
            p
            for batch in chunks(mailbox_ids)
            for p in session.execute(query.where(MailboxAlias.mailbox_id.in_(batch)))
        ]
    for mailbox_id, address in pairs:
        found.setdefault(mailbox_id, set()).add(address)
    return {k: frozenset(v) for k, v in found.items()}


def _holders(session: Session, org_id: int, addresses: set[str], view: StoreView) -> None:
    by_primary = select(
        Mailbox.id, Mailbox.source_id, Mailbox.deleted_at, Mailbox.primary_address
    ).where(Mailbox.organization_id == org_id)
    by_alias = (
        select(Mailbox.id, Mailbox.source_id, Mailbox.deleted_at, MailboxAlias.address)
        .join(Mailbox, Mailbox.id == MailboxAlias.mailbox_id)
        .where(MailboxAlias.organization_id == org_id)
    )
    for batch in chunks(sorted(addresses)):
        rows = [
            *session.execute(by_primary.where(Mailbox.primary_address.in_(batch))),
            *session.execute(by_alias.where(MailboxAlias.address.in_(batch))),
        ]
        for mid, sid, deleted_at, address in rows:
            if deleted_at is not None:
                view.removed_holders[address] = mid
            else:
                view.holders[address] = sid or f"#{mid}"


def _owned_active(session: Session, org_id: int, task_id: int) -> int:
    from sqlalchemy import func

    return int(
        session.scalar(
            select(func.count(Mailbox.id)).where(
                Mailbox.organization_id == org_id,
                Mailbox.synced_by_task_id == task_id,
                Mailbox.deleted_at.is_(None),
            )
        )
        or 0
    )


def _memberships(
    session: Session, org_id: int, view: StoreView, member_users: set[str] | None
) -> None:
    """Stored direct members: all of them (None) or group nesting plus these users'."""
    by_id = {g.id: g.source_id for g in view.groups.values() if not g.deleted}
    query = (
        select(
            SourceGroupMember.group_id,
            SourceGroupMember.member_source_id,
            SourceGroupMember.member_is_group,
        )
        .join(SourceGroup, SourceGroup.id == SourceGroupMember.group_id)
        .where(SourceGroup.organization_id == org_id)
    )
    if member_users is None:
        rows = list(session.execute(query))
    else:
        rows = list(session.execute(query.where(SourceGroupMember.member_is_group.is_(True))))
        for batch in chunks(sorted(member_users)):
            rows.extend(session.execute(query.where(SourceGroupMember.member_source_id.in_(batch))))
    for group_id, member, is_group in rows:
        gid = by_id.get(group_id)
        if gid is None:
            continue
        ref = MemberRef(member, bool(is_group))
        if member_users is None:
            view.members.setdefault(gid, set()).add(ref)
        view.graph.add(gid, ref)


def read_state(session: Session, task_id: int, key: str) -> dict[str, Any]:
    """A task's saved sync state (delta links, last full read), or an empty dict."""
    row = session.get(SyncState, (task_id, key))
    return dict(row.value) if row is not None else {}


def write_state(session: Session, task_id: int, key: str, value: dict[str, Any]) -> None:
    """Save a task's sync state."""
    row = session.get(SyncState, (task_id, key))
    if row is None:
        session.add(SyncState(task_id=task_id, key=key, value=value))
    else:
        row.value = value
