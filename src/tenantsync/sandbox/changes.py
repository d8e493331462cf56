"""Changes over time: add, modify and remove users, members and permissions (events and
calendars in event_changes.py).

Every method records what it did in the tenant's change log, which is what the delta
endpoints read, so each change surfaces in the next delta round exactly once.
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from tenantsync.sandbox.entities import (
    FULL_ACCESS,
    Group,
    GroupKind,
    MailboxKind,
    User,
)
from tenantsync.sandbox.errors import ChangeError
from tenantsync.sandbox.event_changes import EventChanges

# Python attribute -> Graph property name, for the properties a change may touch.
USER_PROPERTIES = {
    "display_name": "displayName",
    "given_name": "givenName",
    "surname": "surname",
    "department": "department",
    "job_title": "jobTitle",
    "company_name": "companyName",
    "office_location": "officeLocation",
    "account_enabled": "accountEnabled",
    "licenses": "assignedLicenses",
    "mobile_phone": "mobilePhone",
    "business_phones": "businessPhones",
    "user_type": "userType",
    "hidden_from_address_lists": "showInAddressList",
}
GROUP_PROPERTIES = {"display_name": "displayName", "description": "description"}


class TenantChanges(EventChanges):
    """The mutating half of the tenant's rules: users, groups and permissions here, events
    in EventChanges."""

    # ---- users ----------------------------------------------------------------------
    def add_user(
        self,
        display_name: str,
        *,
        alias: str | None = None,
        kind: MailboxKind = "user",
        department: str | None = None,
        job_title: str | None = None,
        licensed: bool = True,
        account_enabled: bool = True,
        domain: str | None = None,
    ) -> User:
        """Create a user with a mailbox of `kind`; returns it."""
        base = alias or display_name.lower().replace(" ", ".")
        alias = base
        n = 1
        while alias.lower() in self._by_alias:
            n += 1
            alias = f"{base}{n}"
        domain = domain or self.domains[0]
        upn = f"{alias}@{domain}"
        now = self.now()
        seq = self.next_index
        self.next_index += 1
        uid = _guid_from(self.tenant_id, "user", seq)
        parts = display_name.split(" ", 1)
        user = User(
            index=seq,
            id=uid,
            display_name=display_name,
            given_name=parts[0] if kind == "user" else None,
            surname=parts[1] if kind == "user" and len(parts) > 1 else None,
            user_principal_name=upn,
            mail=upn,
            mail_nickname=alias,
            proxy_addresses=[f"SMTP:{upn}", f"smtp:{alias}@{self.initial_domain}"],
            department=department,
            company_name=self.organization_name,
            job_title=job_title,
            office_location=None,
            account_enabled=account_enabled,
            licenses=[next(iter(self.skus))] if licensed and kind == "user" else [],
            user_type="Member",
            mailbox=kind,
            created=now,
            when_changed=now,
            exchange_guid=_guid_from(self.tenant_id, "exguid", seq),
            exchange_object_guid=_guid_from(self.tenant_id, "exobj", seq),
        )
        self.users[uid] = user
        self._index_user(user)
        self.log.record("users", uid, "upsert")
        return user

    def update_user(self, user_id: str, **changes: Any) -> User:
        """Change user properties (names as in `USER_PROPERTIES`, plus `mail` and `alias`)."""
        user = self._user(user_id)
        touched: set[str] = set()
        self._unindex_user(user, order=False)
        for key, value in changes.items():
            if key == "mail":
                user.mail = value
                user.proxy_addresses = [f"SMTP:{value}"] + [
                    f"smtp:{p[5:]}" if p.startswith("SMTP:") else p
                    for p in user.proxy_addresses
                    if p[5:].lower() != str(value).lower()
                ]
                touched |= {"mail", "proxyAddresses"}
            elif key == "add_alias":
                user.proxy_addresses = [*user.proxy_addresses, f"smtp:{value}"]
                touched.add("proxyAddresses")
            elif key in USER_PROPERTIES:
                setattr(user, key, value)
                touched.add(USER_PROPERTIES[key])
            else:
                raise ChangeError(f"unknown user property {key!r}")
        self._index_user(user, order=False)
        user.when_changed = self.now()
        self.log.record("users", user.id, "upsert", properties=frozenset(touched))
        return user

    def remove_user(self, user_id: str) -> None:
        """Delete a user: leaves its groups; grants it held on others turn into orphaned SIDs."""
        user = self._user(user_id)
        for group in self.groups.values():
            if user.id in group.members:
                self.remove_group_member(group.id, user.id)
        sid = f"S-1-5-21-{int(self.tenant_id[:8], 16)}-{user.index + 100000}"
        for entries in self.full_access.values():
            entries[:] = [(sid if r == user.id else r, f, d) for r, f, d in entries]
        for sa_entries in self.send_as.values():
            sa_entries[:] = [(sid if r == user.id else r, d) for r, d in sa_entries]
        for folder in self.calendar_permissions.values():
            folder[:] = [(f"NT:{sid}" if r == user.id else r, ro, fl) for r, ro, fl in folder]
        for other in self.users.values():
            if user.id in other.send_on_behalf:
                other.send_on_behalf = [x for x in other.send_on_behalf if x != user.id]
        self.full_access.pop(user.id, None)
        self.send_as.pop(user.id, None)
        self.calendar_permissions.pop(user.id, None)
        self.calendars.pop(user.id, None)
        self._unindex_user(user)
        del self.users[user.id]
        self.log.record("users", user.id, "delete")

    # ---- groups ---------------------------------------------------------------------
    def add_group(self, display_name: str, *, kind: GroupKind = "security") -> Group:
        """Create an empty group."""
        seq = len(self.groups) + 10_000 + self.log.seq
        alias = display_name.lower().replace(" ", ".")
        gid = _guid_from(self.tenant_id, "group", seq)
        mail = f"{alias}@{self.domains[0]}" if kind != "security" else None
        now = self.now()
        last = self._group_keys[-1] if self._group_keys else -1
        group = Group(
            index=last + 1,
            id=gid,
            display_name=display_name,
            description=None,
            kind=kind,
            mail_nickname=alias,
            mail=mail,
            proxy_addresses=[f"SMTP:{mail}"] if mail else [],
            visibility="Private" if kind == "unified" else None,
            created=now,
            when_changed=now,
            security_identifier=f"S-1-12-1-{seq}",
            exchange_object_guid=_guid_from(self.tenant_id, "gexobj", seq),
        )
        self.groups[gid] = group
        self._index_group(group)
        self.log.record("groups", gid, "upsert")
        return group

    def update_group(self, group_id: str, **changes: Any) -> Group:
        """Change group properties (display_name, description)."""
        group = self._group(group_id)
        for key, value in changes.items():
            if key not in GROUP_PROPERTIES:
                raise ChangeError(f"unknown group property {key!r}")
            setattr(group, key, value)
        group.when_changed = self.now()
        props = frozenset(GROUP_PROPERTIES[k] for k in changes)
        self.log.record("groups", group.id, "upsert", properties=props)
        return group

    def remove_group(self, group_id: str) -> None:
        """Delete a group (it leaves the groups it was nested in)."""
        group = self._group(group_id)
        for parent in list(self.groups.values()):
            if group.id in parent.members:
                self.remove_group_member(parent.id, group.id)
        self._unindex_group(group)
        del self.groups[group.id]
        self.log.record("groups", group.id, "delete")

    def add_group_member(self, group_id: str, member_id: str) -> None:
        """Add a user or group to a group (no-op if already a member)."""
        group = self._group(group_id)
        kind = self.object_kind(member_id)
        if kind is None:
            raise ChangeError(f"no user or group {member_id!r}")
        if member_id in group.members:
            return
        group.members[member_id] = None
        group.when_changed = self.now()
        self.log.record("groups", group.id, "member_add", member_id=member_id, member_type=kind)

    def remove_group_member(self, group_id: str, member_id: str) -> None:
        """Remove a member from a group (no-op if not a member)."""
        group = self._group(group_id)
        if member_id not in group.members:
            return
        kind = self.object_kind(member_id) or "user"
        del group.members[member_id]
        group.when_changed = self.now()
        self.log.record("groups", group.id, "member_remove", member_id=member_id, member_type=kind)

    # ---- permissions ------------------------------------------------------------------
    def grant_full_access(self, mailbox_id: str, trustee_id: str, *, deny: bool = False) -> None:
        """Add a Full Access (or Deny) entry for a trustee (user or group id)."""
        # The mailbox's security descriptor changes, so Exchange moves its WhenChanged.
        self._user(mailbox_id).when_changed = self.now()
        entries = self.full_access.setdefault(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]
        entries.append((trustee_id, FULL_ACCESS, deny))

    def revoke_full_access(self, mailbox_id: str, trustee_id: str) -> None:
        """Remove a trustee's explicit Full Access entries."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.full_access.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]

    def grant_send_as(self, mailbox_id: str, trustee_id: str) -> None:
        """Add a Send As grant (an ACL on the account: its WhenChanged moves)."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.send_as.setdefault(mailbox_id, [])
        if (trustee_id, False) not in entries:
            entries.append((trustee_id, False))

    def revoke_send_as(self, mailbox_id: str, trustee_id: str) -> None:
        """Remove a Send As grant."""
        self._user(mailbox_id).when_changed = self.now()
        entries = self.send_as.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee_id]

    def set_send_on_behalf(self, mailbox_id: str, trustee_ids: list[str]) -> None:
        """Replace a mailbox's GrantSendOnBehalfTo list."""
        user = self._user(mailbox_id)
        user.send_on_behalf = list(trustee_ids)
        user.when_changed = self.now()

    def set_remote_mailbox(self, user_id: str, remote: bool = True) -> User:
        """Show a user's mailbox as a remote mailbox (``RemoteUserMailbox``,
        ``RemoteSharedMailbox``, ...), as Exchange does in a hybrid organization for a
        mailbox on the other side; ``remote=False`` shows it as an ordinary one again.
        Graph sees no change; Exchange's change time moves."""
        user = self._user(user_id)
        if user.mailbox is None:
            raise ChangeError(f"user {user_id} has no mailbox")
        user.remote = remote
        user.when_changed = self.now()
        return user

    def set_calendar_permission(
        self, mailbox_id: str, trustee: str, role: str, *, flags: int = 0
    ) -> None:
        """Set a calendar folder role (and SharingPermissionFlags) for a trustee."""
        self._user(mailbox_id)
        entries = self.calendar_permissions.setdefault(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee]
        entries.append((trustee, role, flags))

    def remove_calendar_permission(self, mailbox_id: str, trustee: str) -> None:
        """Remove a trustee's calendar folder entry."""
        entries = self.calendar_permissions.get(mailbox_id, [])
        entries[:] = [e for e in entries if e[0] != trustee]

    # ---- helpers ------------------------------------------------------------------------
    def _group(self, group_id: str) -> Group:
        group = self.groups.get(group_id)
        if group is None:
            raise ChangeError(f"no group {group_id!r}")
        return group


def _guid_from(*parts: object) -> str:
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=16).digest()
    return str(uuid.UUID(bytes=digest, version=4))
