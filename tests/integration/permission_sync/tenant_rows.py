"""A sandbox tenant's mailboxes and groups written into the store as user sync leaves them,
and the grants its ACLs should give (computed from the tenant's own data)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.orm import Session

from tenantsync.sandbox import SandboxTenant
from tenantsync.sandbox.entities import FULL_ACCESS
from tenantsync.store.models import (
    GroupKind,
    Mailbox,
    MailboxKind,
    SourceGroup,
    SourceGroupClosure,
    SourceGroupMember,
)

Expected = set[tuple[str, str, str]]
"""(mailbox address, delegate address, right)."""


@dataclass
class Loaded:
    """Store ids of what was loaded, by the sandbox's object ids."""

    mailboxes: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)


def load_tenant(session: Session, organization_id: int, tenant: SandboxTenant) -> Loaded:
    """Every mailbox and group of ``tenant`` as store rows, memberships and closure included."""
    loaded = Loaded()
    users = [u for u in tenant.users.values() if u.mailbox is not None and u.mail]
    mailbox_rows = [
        Mailbox(
            organization_id=organization_id,
            primary_address=(user.mail or "").lower(),
            display_name=user.display_name,
            kind=MailboxKind(user.mailbox),
            source_id=user.id,
            exchange_guid=user.exchange_guid,
            source_dn=tenant.distinguished_name(user.mail_nickname),
            attributes={
                "user_principal_name": user.user_principal_name,
                "alias": user.mail_nickname,
            },
        )
        for user in users
    ]
    groups = list(tenant.groups.values())
    group_rows = [
        SourceGroup(
            organization_id=organization_id,
            source_id=group.id,
            name=group.display_name,
            mail=group.mail.lower() if group.mail else None,
            dn=tenant.distinguished_name(group.mail_nickname),
            kind=GroupKind(group.kind),
        )
        for group in groups
    ]
    session.add_all([*mailbox_rows, *group_rows])
    session.flush()
    loaded.mailboxes = {u.id: row.id for u, row in zip(users, mailbox_rows, strict=True)}
    loaded.groups = {g.id: row.id for g, row in zip(groups, group_rows, strict=True)}
    members: list[dict[str, object]] = []
    closure: list[dict[str, object]] = []
    for group in groups:
        gid = loaded.groups[group.id]
        members += [
            {"group_id": gid, "member_source_id": m, "member_is_group": m in tenant.groups}
            for m in group.members
        ]
        closure += [
            {"group_id": gid, "mailbox_id": loaded.mailboxes[m]}
            for m in tenant.transitive_members(group.id)
            if m in loaded.mailboxes
        ]
    if members:
        session.execute(insert(SourceGroupMember), members)
    if closure:
        session.execute(insert(SourceGroupClosure), closure)
    return loaded


def expected_grants(tenant: SandboxTenant, rights: set[str]) -> Expected:
    """The grants the tenant's ACLs give to mailboxes in the directory: groups expanded,
    Deny applied, system principals, orphans, guests and self left out."""
    allowed: Expected = set()
    denied: Expected = set()
    for mailbox_id, entries in tenant.full_access.items():
        for ref, flags, deny in entries:
            if flags & FULL_ACCESS:
                _add(tenant, mailbox_id, ref, "full_access", denied if deny else allowed)
    if "send_as" in rights:
        for mailbox_id, send_as in tenant.send_as.items():
            for ref, deny in send_as:
                _add(tenant, mailbox_id, ref, "send_as", denied if deny else allowed)
    if "send_on_behalf" in rights:
        for user in tenant.users.values():
            for ref in user.send_on_behalf:
                _add(tenant, user.id, ref, "send_on_behalf", allowed)
    return {g for g in allowed - denied if g[0] != g[1]}


def _add(tenant: SandboxTenant, mailbox_id: str, ref: str, right: str, into: Expected) -> None:
    owner = tenant.users[mailbox_id]
    if owner.mailbox is None or not owner.mail:
        return
    if ref in tenant.groups and _ambiguous(tenant, tenant.groups[ref].display_name):
        # Exchange shows a group trustee by display name only: two groups sharing it
        # cannot be told apart, so the entry is skipped (and reported).
        return
    reached = tenant.transitive_members(ref) if ref in tenant.groups else [ref]
    for member in reached:
        user = tenant.users.get(member)
        if user is not None and user.mailbox is not None and user.mail:
            into.add((owner.mail.lower(), user.mail.lower(), right))


def _ambiguous(tenant: SandboxTenant, name: str) -> bool:
    return sum(1 for g in tenant.groups.values() if g.display_name == name) > 1
