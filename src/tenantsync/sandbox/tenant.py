"""SandboxTenant: one emulated organization, its data, its change rules and its derived views."""

from __future__ import annotations

from collections import deque

from tenantsync.sandbox.changes import TenantChanges
from tenantsync.sandbox.entities import DynamicGroup, User
from tenantsync.sandbox.opath import Predicate, compile_filter
from tenantsync.sandbox.recipients import filter_properties

# System entries every mailbox shows in Get-MailboxPermission (not stored per mailbox).
INHERITED_ENTRIES_PER_MAILBOX = 10
SELF_ENTRIES = {"shared": 2}


class SandboxTenant(TenantChanges):
    """One tenant: generate it with `generate_tenant`, serve it with `create_app`.

    Reading: `users`, `groups`, `dynamic_groups`, `full_access`, `send_as`,
    `calendar_permissions`, `calendar(mailbox_id)`, `transitive_members(group_id)`,
    `member_of(object_id)`, `dynamic_members(group_id)`.
    Changing (each change shows up once in the next delta round): `add_user`,
    `update_user`, `remove_user`, `add_group`, `update_group`, `remove_group`,
    `add_group_member`, `remove_group_member`, `grant_full_access`, `revoke_full_access`,
    `grant_send_as`, `revoke_send_as`, `set_send_on_behalf`, `set_calendar_permission`,
    `remove_calendar_permission`, `add_event`, `update_event`, `remove_event`,
    `expire_delta_tokens`.
    """

    def transitive_members(self, group_id: str) -> list[str]:
        """All nested members, nested groups included, each once (cycles are cut)."""
        group = self.groups.get(group_id)
        if group is None:
            return []
        seen: dict[str, None] = {}
        queue = deque(group.members)
        while queue:
            member = queue.popleft()
            if member in seen or member == group_id:
                continue
            seen[member] = None
            nested = self.groups.get(member)
            if nested is not None:
                queue.extend(nested.members)
        return list(seen)

    def member_of(self, object_id: str) -> list[str]:
        """Ids of the groups that directly contain `object_id`."""
        return [g.id for g in self.groups.values() if object_id in g.members]

    def dynamic_members(self, group_id: str) -> list[User]:
        """Mailboxes matching a dynamic distribution group's recipient filter, right now."""
        dyn = self.dynamic_groups.get(group_id)
        if dyn is None:
            return []
        return self.mailboxes_matching(compile_filter(dyn.recipient_filter))

    def mailboxes_matching(self, predicate: Predicate) -> list[User]:
        """Mailboxes whose Exchange properties satisfy an OPATH predicate."""
        out: list[User] = []
        for uid in self.users_after(-1):
            user = self.users[uid]
            if user.mailbox is None:
                continue
            sobo = [self.users[x].mail_nickname for x in user.send_on_behalf if x in self.users]
            if predicate(filter_properties(user, sobo)):
                out.append(user)
        return out

    def dynamic_group(self, key: str) -> DynamicGroup | None:
        """A dynamic distribution group by id, name, alias or address."""
        found = self.recipient(key)
        return found if isinstance(found, DynamicGroup) else None

    def permission_counts(self) -> dict[str, int]:
        """How many entries the permission cmdlets serve, system entries included."""
        mailboxes = [u for u in self.users.values() if u.mailbox is not None]
        self_entries = sum(SELF_ENTRIES.get(u.mailbox or "", 1) for u in mailboxes)
        explicit_full = sum(len(v) for v in self.full_access.values())
        explicit_send_as = sum(len(v) for v in self.send_as.values())
        folder = sum(len(v) for v in self.calendar_permissions.values())
        overridden = sum(
            1 for v in self.calendar_permissions.values() for ref, _, _ in v if ref == "Default"
        )
        sobo = sum(len(u.send_on_behalf) for u in mailboxes)
        counts = {
            "mailbox_permission": self_entries
            + INHERITED_ENTRIES_PER_MAILBOX * len(mailboxes)
            + explicit_full,
            "mailbox_permission_explicit": explicit_full,
            "recipient_permission": len(mailboxes) + explicit_send_as,
            "send_on_behalf": sobo,
            "calendar_folder_permission": 2 * len(mailboxes) + folder - overridden,
        }
        counts["total"] = (
            counts["mailbox_permission"]
            + counts["recipient_permission"]
            + sobo
            + counts["calendar_folder_permission"]
        )
        return counts
