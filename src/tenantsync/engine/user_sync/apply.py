"""Writing a proposal to the store in one transaction, with bulk statements.

Objects before relationships: policy groups, then mailboxes and their aliases, then
source groups, their direct members and the transitive closure, then the links from the
connection's ids to every mailbox and group the run read. The large inserts go to the
tables directly (Core executemany), skipping the ORM's per-row bookkeeping.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import chain
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, tuple_, update
from sqlalchemy.orm import Session

from tenantsync.engine.user_sync.desired import MailboxRow
from tenantsync.engine.user_sync.groups import GroupWork
from tenantsync.engine.user_sync.planner import Proposal
from tenantsync.engine.user_sync.state import StoreView
from tenantsync.model import DirectoryGroup
from tenantsync.store.bulk import chunks, insert_chunked
from tenantsync.store.links import save_links
from tenantsync.store.models import (
    GroupKind,
    LinkKind,
    Location,
    Mailbox,
    MailboxAlias,
    MailboxKind,
    PolicyGroup,
    ScheduledTask,
    SourceGroup,
    SourceGroupClosure,
    SourceGroupMember,
)
from tenantsync.store.search import searchable

MAILBOX = cast(Table, Mailbox.__table__)
ALIAS = cast(Table, MailboxAlias.__table__)
MEMBER = cast(Table, SourceGroupMember.__table__)
CLOSURE = cast(Table, SourceGroupClosure.__table__)


class ProposalWriter:
    """Applies one proposal for one organization and task."""

    def __init__(
        self,
        session: Session,
        view: StoreView,
        *,
        org_id: int,
        task_id: int,
        now: datetime,
        connection_id: int | None = None,
    ) -> None:
        self.session = session
        self.view = view
        self.org_id = org_id
        self.task_id = task_id
        self.now = now
        # The connection the run read through (the task's, when not given).
        if connection_id is None:
            connection_id = session.scalar(
                select(ScheduledTask.connection_id).where(ScheduledTask.id == task_id)
            )
        self.connection_id = connection_id

    def apply(self, proposal: Proposal, restore_window_days: int) -> None:
        """Write every change of ``proposal``."""
        work = proposal.mailboxes
        for purge in chunks(sorted(work.purges)):
            self.session.execute(delete(Mailbox).where(Mailbox.id.in_(purge)))
        policy_ids = self._policy_groups(work.new_policy_groups)
        ids = self._insert_mailboxes(work.adds, work.policy, policy_ids)
        changed_aliases: dict[int, tuple[str, ...]] = {
            ids[r.source_id]: r.aliases for r in work.adds
        }
        values: list[dict[str, Any]] = []
        for stored, row in work.updates:
            values.append(self._values(stored.id, row, work.policy, policy_ids))
            if frozenset(row.aliases) != stored.aliases:
                changed_aliases[stored.id] = row.aliases
        for stored, row in work.restores:
            restored = self._values(stored.id, row, work.policy, policy_ids)
            values.append(restored | {"deleted_at": None, "restore_until": None})
            changed_aliases[stored.id] = row.aliases
        until = self.now + timedelta(days=restore_window_days)
        values.extend(
            {"id": stored.id, "deleted_at": self.now, "restore_until": until}
            for stored, _reason in work.removals
        )
        if values:
            self.session.execute(update(Mailbox), values)
        self._aliases(changed_aliases)
        for stored, row in (*work.updates, *work.restores):
            ids[row.source_id] = stored.id
        group_ids: dict[str, int] = {}
        if proposal.groups is not None:
            group_ids = self._groups(proposal.groups)
            self._members(proposal.groups, group_ids)
            self._closure(proposal, ids, group_ids)
        self._links(proposal, ids, group_ids)

    def _links(self, proposal: Proposal, ids: dict[str, int], group_ids: dict[str, int]) -> None:
        """Link the connection's ids to every mailbox and group this run read and holds."""
        if self.connection_id is None:
            return
        mailboxes: dict[str, int] = {}
        for sid in proposal.mailboxes.synced:
            stored = self.view.mailboxes.get(sid)
            found = ids.get(sid) or (stored.id if stored is not None else None)
            if found is not None:
                mailboxes[sid] = found
        link = {"organization_id": self.org_id, "connection_id": self.connection_id}
        save_links(self.session, **link, kind=LinkKind.MAILBOX, links=mailboxes)
        if proposal.groups is not None:
            groups = {sid: group_ids[sid] for sid in proposal.groups.read if sid in group_ids}
            save_links(self.session, **link, kind=LinkKind.GROUP, links=groups)

    def _policy_groups(self, names: list[str]) -> dict[str, int]:
        known = dict(self.view.policy_groups)
        if names:
            self.session.execute(
                insert(PolicyGroup),
                [{"organization_id": self.org_id, "name": n, "is_default": False} for n in names],
            )
            rows = self.session.execute(
                select(PolicyGroup.name, PolicyGroup.id).where(
                    PolicyGroup.organization_id == self.org_id, PolicyGroup.name.in_(names)
                )
            )
            known.update((name, gid) for name, gid in rows)
        return known

    def _values(
        self,
        mailbox_id: int | None,
        row: MailboxRow,
        policy: dict[str, str | None],
        policy_ids: dict[str, int],
    ) -> dict[str, Any]:
        name = policy.get(row.source_id)
        display_name = row.display_name[:255]
        values: dict[str, Any] = {
            "primary_address": row.primary_address,
            "display_name": display_name,
            "search_text": searchable(display_name, row.primary_address, *row.aliases),
            "kind": MailboxKind(row.kind.value),
            "licensed": row.licensed,
            "enabled": row.enabled,
            "policy_group_id": policy_ids.get(name) if name else None,
            "source_dn": row.dn,
            "attributes": row.attributes,
            "synced_by_task_id": self.task_id,
            "last_seen": self.now,
        }
        if row.exchange_guid is not None:
            values["exchange_guid"] = row.exchange_guid
        if row.placed or mailbox_id is None:
            # A read that did not say where the mailbox lives leaves the stored answer.
            values["location"] = Location(row.location.value)
            values["recipient_type"] = row.recipient_type
        if mailbox_id is not None:
            values["id"] = mailbox_id
        return values

    def _insert_mailboxes(
        self, rows: list[MailboxRow], policy: dict[str, str | None], policy_ids: dict[str, int]
    ) -> dict[str, int]:
        if not rows:
            return {}
        # Built chunk by chunk: a first sync of 100,000 mailboxes never holds all its rows.
        values = (
            self._values(None, row, policy, policy_ids)
            | {
                "organization_id": self.org_id,
                "source_id": row.source_id,
                "first_seen": self.now,
                "exchange_guid": row.exchange_guid,
            }
            for row in rows
        )
        insert_chunked(self.session, MAILBOX, values)
        return self._mailbox_ids([r.source_id for r in rows])

    def _mailbox_ids(self, source_ids: Iterable[str]) -> dict[str, int]:
        found: dict[str, int] = {}
        for batch in chunks(source_ids):
            for sid, mid in self.session.execute(
                select(Mailbox.source_id, Mailbox.id).where(
                    Mailbox.organization_id == self.org_id, Mailbox.source_id.in_(batch)
                )
            ):
                if sid is not None:
                    found[sid] = mid
        return found

    def _aliases(self, changed: dict[int, tuple[str, ...]]) -> None:
        for batch in chunks(sorted(changed)):
            self.session.execute(delete(MailboxAlias).where(MailboxAlias.mailbox_id.in_(batch)))
        rows = (
            {"organization_id": self.org_id, "mailbox_id": mid, "address": address}
            for mid, addresses in changed.items()
            for address in addresses
        )
        insert_chunked(self.session, ALIAS, rows)

    def _groups(self, work: GroupWork) -> dict[str, int]:
        if work.adds:
            self.session.execute(
                insert(SourceGroup),
                [self._group_values(g) | {"deleted_at": None} for g in work.adds],
            )
        values: list[dict[str, Any]] = [
            self._group_values(group) | {"id": stored.id, "deleted_at": None}
            for stored, group in work.updates
        ]
        values.extend({"id": g.id, "deleted_at": self.now} for g in work.removals)
        if values:
            self.session.execute(update(SourceGroup), values)
        rows = self.session.execute(
            select(SourceGroup.source_id, SourceGroup.id).where(
                SourceGroup.organization_id == self.org_id
            )
        )
        ids: dict[str, int] = {}
        for sid, gid in rows:
            ids[sid] = gid
        return ids

    def _group_values(self, group: DirectoryGroup) -> dict[str, Any]:
        name = group.name[:255]
        return {
            "organization_id": self.org_id,
            "source_id": group.source_id,
            "name": name,
            "mail": group.mail,
            "search_text": searchable(name, group.mail),
            "dn": group.dn,
            "kind": GroupKind(group.kind.value),
            "synced_at": self.now,
        }

    def _members(self, work: GroupWork, group_ids: dict[str, int]) -> None:
        replaced = [group_ids[sid] for sid in work.member_replace if sid in group_ids]
        for batch in chunks(replaced):
            self.session.execute(
                delete(SourceGroupMember).where(SourceGroupMember.group_id.in_(batch))
            )
        replaced_rows = (
            {
                "group_id": group_ids[sid],
                "member_source_id": ref.source_id,
                "member_is_group": ref.is_group,
            }
            for sid, refs in work.member_replace.items()
            if sid in group_ids
            for ref in refs
        )
        pairs: list[tuple[int, str]] = []
        added: list[dict[str, Any]] = []
        for change in work.member_changes:
            gid = group_ids.get(change.group_id)
            if gid is None:
                continue
            pairs.extend((gid, ref.source_id) for ref in (*change.added, *change.removed))
            added.extend(
                {"group_id": gid, "member_source_id": r.source_id, "member_is_group": r.is_group}
                for r in change.added
            )
        for pair_batch in chunks(pairs):
            self.session.execute(
                delete(SourceGroupMember).where(
                    tuple_(SourceGroupMember.group_id, SourceGroupMember.member_source_id).in_(
                        pair_batch
                    )
                )
            )
        insert_chunked(self.session, MEMBER, chain(replaced_rows, added))

    def _closure(self, proposal: Proposal, ids: dict[str, int], group_ids: dict[str, int]) -> None:
        missing = [sid for sid in proposal.closure if sid not in ids]
        ids = ids | self._mailbox_ids(missing)
        wanted = {
            (group_ids[gid], ids[sid])
            for sid, groups in proposal.closure.items()
            if sid in ids
            for gid in groups
            if gid in group_ids
        }
        query = select(SourceGroupClosure.group_id, SourceGroupClosure.mailbox_id).join(
            Mailbox, Mailbox.id == SourceGroupClosure.mailbox_id
        )
        if proposal.closure_full:
            stored = {
                (gid, mid)
                for gid, mid in self.session.execute(
                    query.where(Mailbox.organization_id == self.org_id)
                )
            }
        else:
            mailbox_ids = sorted(ids[sid] for sid in proposal.closure if sid in ids)
            stored = {
                (gid, mid)
                for batch in chunks(mailbox_ids)
                for gid, mid in self.session.execute(
                    query.where(SourceGroupClosure.mailbox_id.in_(batch))
                )
            }
        for gone in chunks(sorted(stored - wanted)):
            self.session.execute(
                delete(SourceGroupClosure).where(
                    tuple_(SourceGroupClosure.group_id, SourceGroupClosure.mailbox_id).in_(gone)
                )
            )
        rows = ({"group_id": g, "mailbox_id": m} for g, m in sorted(wanted - stored))
        insert_chunked(self.session, CLOSURE, rows)
