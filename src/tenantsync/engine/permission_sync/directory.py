"""The organization's directory as trustee lookups: who a name, address, SID or id denotes,
and which mailboxes a group reaches (transitively, cycle-safe)."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.model.canonical import canonical_name
from tenantsync.model.permissions import Trustee
from tenantsync.store.bulk import chunks
from tenantsync.store.models import (
    Mailbox,
    MailboxAlias,
    MailboxKind,
    SourceGroup,
    SourceGroupClosure,
    SourceGroupMember,
)

DOMAIN_SID = re.compile(r"^S-1-5-21(-\d+)+$", re.IGNORECASE)
# Attribute keys user sync may keep on a mailbox that name it in an ACL.
IDENTITY_ATTRIBUTES = ("upn", "user_principal_name", "sid", "on_premises_sid", "alias")


@dataclass(frozen=True, slots=True)
class Resolved:
    """A trustee found in the directory: a mailbox or a group, by store id."""

    kind: Literal["mailbox", "group"]
    id: int


@dataclass(frozen=True, slots=True)
class Unresolved:
    """A trustee not found; ``reason`` is a skip reason (orphaned_sid, not_in_directory, ...)."""

    reason: str


@dataclass
class Directory:
    """Lookups over one organization's mailboxes and groups (keys lower-cased)."""

    mailbox_keys: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    group_keys: dict[str, set[int]] = field(default_factory=lambda: defaultdict(set))
    addresses: dict[int, str] = field(default_factory=dict)
    group_names: dict[int, str] = field(default_factory=dict)
    closure: dict[int, frozenset[int]] = field(default_factory=dict)
    members: dict[int, list[tuple[str, bool]]] = field(default_factory=dict)
    mailbox_by_source: dict[str, int] = field(default_factory=dict)
    group_by_source: dict[str, int] = field(default_factory=dict)

    def add_mailbox(self, mailbox_id: int, address: str, keys: Iterable[str | None]) -> None:
        """Make a mailbox findable by its address and every other key given."""
        self.addresses[mailbox_id] = address
        for key in (address, *keys):
            if key:
                self.mailbox_keys[key.strip().lower()].add(mailbox_id)

    def add_group(self, group_id: int, name: str, keys: Iterable[str | None]) -> None:
        """Make a group findable by its name and every other key given."""
        self.group_names[group_id] = name
        for key in (name, *keys):
            if key:
                self.group_keys[key.strip().lower()].add(group_id)

    def resolve(self, trustee: Trustee) -> Resolved | Unresolved:
        """The mailbox or group a trustee names, or why it names none."""
        candidates = [trustee.source_id, trustee.upn, trustee.sid, trustee.name]
        name = trustee.name.strip()
        if "\\" in name:
            # DOMAIN\sam (on-premises) or FOREST\Group: the part after the backslash.
            candidates.append(name.rsplit("\\", 1)[1])
        ambiguous = False
        for candidate in candidates:
            if not candidate:
                continue
            key = candidate.strip().lower()
            mailboxes = self.mailbox_keys.get(key, set())
            groups = self.group_keys.get(key, set())
            if len(mailboxes) + len(groups) == 1:
                if mailboxes:
                    return Resolved("mailbox", next(iter(mailboxes)))
                return Resolved("group", next(iter(groups)))
            ambiguous = ambiguous or len(mailboxes) + len(groups) > 1
        if ambiguous:
            return Unresolved("ambiguous_name")
        sid = trustee.sid or name
        if DOMAIN_SID.match(sid) and (not trustee.sid or DOMAIN_SID.match(name)):
            return Unresolved("orphaned_sid")
        return Unresolved("not_in_directory")

    def expand(self, group_id: int) -> frozenset[int]:
        """Every mailbox a group reaches, through nested groups, each once even in cycles."""
        known = self.closure.get(group_id)
        if known is not None:
            return known
        reached: set[int] = set()
        seen = {group_id}
        pending = [group_id]
        while pending:
            current = pending.pop()
            for source_id, is_group in self.members.get(current, ()):
                if is_group:
                    nested = self.group_by_source.get(source_id)
                    if nested is not None and nested not in seen:
                        seen.add(nested)
                        pending.append(nested)
                else:
                    mailbox = self.mailbox_by_source.get(source_id)
                    if mailbox is not None:
                        reached.add(mailbox)
        result = frozenset(reached)
        self.closure[group_id] = result
        return result


def load_directory(session: Session, organization_id: int) -> Directory:
    """The directory of one organization: live mailboxes and groups, closure and memberships."""
    directory = Directory()
    rows = session.execute(
        select(
            Mailbox.id,
            Mailbox.primary_address,
            Mailbox.source_id,
            Mailbox.exchange_guid,
            Mailbox.source_dn,
            Mailbox.attributes,
        ).where(
            Mailbox.organization_id == organization_id,
            Mailbox.deleted_at.is_(None),
            # A group's address row is the group, found among the groups.
            Mailbox.kind != MailboxKind.GROUP,
        )
    )
    for mid, address, source_id, guid, dn, attributes in rows:
        extra = [str(attributes.get(k)) for k in IDENTITY_ATTRIBUTES if attributes.get(k)]
        # A DN is also known by its canonical name, as Exchange's cmdlets show it.
        directory.add_mailbox(mid, address, [source_id, guid, dn, _canonical(dn), *extra])
        if source_id:
            directory.mailbox_by_source[source_id] = mid
    aliases = session.execute(
        select(MailboxAlias.mailbox_id, MailboxAlias.address).where(
            MailboxAlias.organization_id == organization_id
        )
    )
    for mid, address in aliases:
        if mid in directory.addresses:
            directory.mailbox_keys[address.lower()].add(mid)
    groups = session.execute(
        select(
            SourceGroup.id,
            SourceGroup.name,
            SourceGroup.mail,
            SourceGroup.dn,
            SourceGroup.source_id,
        ).where(SourceGroup.organization_id == organization_id, SourceGroup.deleted_at.is_(None))
    )
    for gid, name, mail, dn, source_id in groups:
        directory.add_group(gid, name, [mail, dn, _canonical(dn), source_id])
        directory.group_by_source[source_id] = gid
    _load_memberships(session, directory)
    return directory


def _canonical(dn: str | None) -> str | None:
    return canonical_name(dn) if dn else None


def _load_memberships(session: Session, directory: Directory) -> None:
    group_ids = list(directory.group_names)
    closure: dict[int, set[int]] = defaultdict(set)
    members: dict[int, list[tuple[str, bool]]] = defaultdict(list)
    for chunk in chunks(group_ids, 5000):
        for gid, mid in session.execute(
            select(SourceGroupClosure.group_id, SourceGroupClosure.mailbox_id).where(
                SourceGroupClosure.group_id.in_(chunk)
            )
        ):
            if mid in directory.addresses:
                closure[gid].add(mid)
        for gid, source_id, is_group in session.execute(
            select(
                SourceGroupMember.group_id,
                SourceGroupMember.member_source_id,
                SourceGroupMember.member_is_group,
            ).where(SourceGroupMember.group_id.in_(chunk))
        ):
            members[gid].append((source_id, is_group))
    directory.members = dict(members)
    # A group with a closure uses it; one without (closure not computed) is expanded from
    # its direct members, cycle-safe.
    directory.closure = {gid: frozenset(mids) for gid, mids in closure.items()}
