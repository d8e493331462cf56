"""Mailboxes, groups and memberships written into the store the way user sync leaves them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from tenantsync.store.models import (
    GroupKind,
    Mailbox,
    MailboxKind,
    Organization,
    SourceGroup,
    SourceGroupClosure,
    SourceGroupMember,
)


class Directory:
    """Builds one organization's directory rows; ids by address or group name."""

    def __init__(self, session: Session, org: Organization, domain: str = "contoso.com") -> None:
        self.session = session
        self.org = org
        self.domain = domain
        self.mailboxes: dict[str, Mailbox] = {}
        self.groups: dict[str, SourceGroup] = {}

    def mailbox(
        self, local: str, *, kind: MailboxKind = MailboxKind.USER, dn: str | None = None
    ) -> Mailbox:
        address = f"{local}@{self.domain}"
        row = Mailbox(
            organization_id=self.org.id,
            primary_address=address,
            display_name=local.title(),
            kind=kind,
            source_id=f"user-{local}",
            source_dn=dn,
        )
        self.session.add(row)
        self.session.flush()
        self.mailboxes[local] = row
        return row

    def group(
        self,
        name: str,
        members: Iterable[str] = (),
        *,
        kind: GroupKind = GroupKind.MAIL_SECURITY,
        mail: str | None = None,
        dn: str | None = None,
        source_id: str | None = None,
    ) -> SourceGroup:
        row = SourceGroup(
            organization_id=self.org.id,
            source_id=source_id or f"group-{name}",
            name=name,
            mail=mail,
            dn=dn,
            kind=kind,
        )
        self.session.add(row)
        self.session.flush()
        self.groups[name] = row
        for member in members:
            self.add_member(name, member)
        return row

    def add_member(self, group: str, member: str) -> None:
        """A direct member: a mailbox local part, or ``group:NAME``."""
        is_group = member.startswith("group:")
        source_id = f"group-{member[6:]}" if is_group else f"user-{member}"
        self.session.add(
            SourceGroupMember(
                group_id=self.groups[group].id, member_source_id=source_id, member_is_group=is_group
            )
        )
        self.session.flush()

    def close(self) -> None:
        """Write the transitive closure of every group (cycle-safe), as user sync does."""
        self.session.query(SourceGroupClosure).filter(
            SourceGroupClosure.group_id.in_([g.id for g in self.groups.values()])
        ).delete(synchronize_session=False)
        by_source = {g.source_id: g for g in self.groups.values()}
        direct: dict[int, list[SourceGroupMember]] = {}
        for m in self.session.query(SourceGroupMember):
            direct.setdefault(m.group_id, []).append(m)
        mailbox_by_source = {m.source_id: m for m in self.mailboxes.values()}
        for group in self.groups.values():
            seen, pending, reached = {group.id}, [group.id], set()
            while pending:
                for m in direct.get(pending.pop(), []):
                    if m.member_is_group:
                        nested = by_source.get(m.member_source_id)
                        if nested is not None and nested.id not in seen:
                            seen.add(nested.id)
                            pending.append(nested.id)
                    elif m.member_source_id in mailbox_by_source:
                        reached.add(mailbox_by_source[m.member_source_id].id)
            for mid in reached:
                self.session.add(SourceGroupClosure(group_id=group.id, mailbox_id=mid))
        self.session.flush()
