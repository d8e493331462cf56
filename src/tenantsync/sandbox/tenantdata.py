"""The tenant's stored data and its lookups (by id, address, alias, name, DN)."""

from __future__ import annotations

import bisect
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice

from tenantsync.sandbox.changelog import ChangeLog
from tenantsync.sandbox.entities import (
    CalendarEvent,
    ClientApp,
    DynamicGroup,
    FolderEntry,
    FullAccessEntry,
    Group,
    SendAsEntry,
    User,
)

Recipient = User | Group | DynamicGroup


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class TenantData:
    """Everything one sandbox tenant holds; `SandboxTenant` adds the rules on top."""

    tenant_id: str
    seed: int
    organization_name: str
    initial_domain: str
    domains: list[str]
    clients: list[ClientApp]
    skus: dict[str, str]
    created: datetime
    calendar_start: datetime
    calendar_end: datetime
    forest: str
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    dynamic_groups: dict[str, DynamicGroup] = field(default_factory=dict)
    full_access: dict[str, list[FullAccessEntry]] = field(default_factory=dict)
    send_as: dict[str, list[SendAsEntry]] = field(default_factory=dict)
    calendar_permissions: dict[str, list[FolderEntry]] = field(default_factory=dict)
    calendars: dict[str, dict[str, CalendarEvent]] = field(default_factory=dict)
    # Events per mailbox when set (the benchmark's tenants); None: the usual mix.
    calendar_events: int | None = None
    # Mailboxes an application access policy keeps the application out of (403).
    restricted: set[str] = field(default_factory=set)
    # Per mailbox: how many calendar delta generations were handed out (Outlook keeps the
    # last few; an older link answers 410 SyncStateNotFound).
    calendar_generations: dict[str, int] = field(default_factory=dict)
    # Moves on every change to any calendar, logged or not (what served views key on).
    calendar_version: int = 0
    log: ChangeLog = field(default_factory=ChangeLog)
    now: Callable[[], datetime] = field(default=_utcnow, repr=False, compare=False)
    # Generated calendars recently served (generation is deterministic, so a cache of the
    # last few keeps paging through one mailbox from generating it page after page).
    generated_calendars: OrderedDict[str, dict[str, CalendarEvent]] = field(
        default_factory=OrderedDict, repr=False, compare=False
    )
    next_index: int = 0
    _user_keys: list[int] = field(default_factory=list, repr=False)
    _user_ids: list[str] = field(default_factory=list, repr=False)
    _group_keys: list[int] = field(default_factory=list, repr=False)
    _group_ids: list[str] = field(default_factory=list, repr=False)
    _by_address: dict[str, str] = field(default_factory=dict, repr=False)
    _by_alias: dict[str, str] = field(default_factory=dict, repr=False)
    _by_upn: dict[str, str] = field(default_factory=dict, repr=False)
    _by_guid: dict[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for user in self.users.values():
            self._index_user(user)
        for group in self.groups.values():
            self._index_group(group)
        self.next_index = max(self._user_keys, default=-1) + 1
        for dyn in self.dynamic_groups.values():
            self._by_address[dyn.primary_smtp_address.lower()] = dyn.id
            self._by_alias[dyn.alias.lower()] = dyn.id

    # ---- identity -------------------------------------------------------------------
    @property
    def all_domains(self) -> list[str]:
        """Verified domains, the default first, then the initial onmicrosoft.com domain."""
        return [*self.domains, self.initial_domain]

    @property
    def default_client(self) -> ClientApp:
        """The app registration with every role (the one `serve` prints)."""
        return self.clients[0]

    @property
    def client_id(self) -> str:
        """The default client's application id."""
        return self.default_client.client_id

    @property
    def client_secret(self) -> str:
        """The default client's secret."""
        return self.default_client.client_secret

    def client(self, client_id: str) -> ClientApp | None:
        """The app registration with this id, if any."""
        return next((c for c in self.clients if c.client_id == client_id), None)

    def answers_to(self, tenant: str) -> bool:
        """Whether a path segment names this tenant (its GUID or any of its domains)."""
        key = tenant.lower()
        return key == self.tenant_id or key in (d.lower() for d in self.all_domains)

    # ---- ordered views (keyset paging) ---------------------------------------------
    def users_after(self, index: int) -> Iterator[str]:
        """User ids in creation order whose index is greater than `index`."""
        return islice(self._user_ids, bisect.bisect_right(self._user_keys, index), None)

    def groups_after(self, index: int) -> Iterator[str]:
        """Group ids in creation order whose index is greater than `index`."""
        return islice(self._group_ids, bisect.bisect_right(self._group_keys, index), None)

    @property
    def user_ids(self) -> list[str]:
        """All user ids in creation order (do not modify)."""
        return self._user_ids

    # ---- lookups ----------------------------------------------------------------------
    def user_by_key(self, key: str) -> User | None:
        """A user by object id or user principal name (Graph's /users/{id|upn})."""
        found = self.users.get(key.lower()) or self.users.get(key)
        if found:
            return found
        uid = self._by_upn.get(key.lower())
        return self.users.get(uid) if uid else None

    def object_kind(self, object_id: str) -> str | None:
        """'user', 'group' or None for an id."""
        if object_id in self.users:
            return "user"
        if object_id in self.groups:
            return "group"
        return None

    def recipient(self, identity: str) -> Recipient | None:
        """Resolve an Exchange -Identity: id, GUID, UPN, address, alias, name or DN."""
        key = identity.strip()
        low = key.lower()
        for table in (self.users, self.groups, self.dynamic_groups):
            if low in table:
                return table[low]
        for oid in (self._by_upn.get(low), self._by_address.get(low), self._by_alias.get(low)):
            if oid:
                return self._any(oid)
        if low.startswith("smtp:"):
            oid = self._by_address.get(low[5:])
            return self._any(oid) if oid else None
        oid = self._by_guid.get(low)
        if oid:
            return self._any(oid)
        named = self._recipients_by_name(key)
        return named[0] if named else None

    def _recipients_by_name(self, name: str) -> list[Recipient]:
        low = name.lower()
        if low.startswith("cn="):
            alias = low[3:].split(",", 1)[0]
            oid = self._by_alias.get(alias)
            found = self._any(oid) if oid else None
            return [found] if found else []
        out: list[Recipient] = []
        for user in self.users.values():
            if user.display_name.lower() == low and user.mailbox is not None:
                out.append(user)
        for group in self.groups.values():
            if group.display_name.lower() == low:
                out.append(group)
        for dyn in self.dynamic_groups.values():
            if dyn.name.lower() == low:
                out.append(dyn)
        return out

    def _any(self, object_id: str) -> Recipient | None:
        return (
            self.users.get(object_id)
            or self.groups.get(object_id)
            or self.dynamic_groups.get(object_id)
        )

    def distinguished_name(self, alias: str) -> str:
        """The Exchange Online DN of a recipient with this alias."""
        return (
            f"CN={alias},OU={self.initial_domain},OU=Microsoft Exchange Hosted Organizations,"
            f"DC={self.forest},DC=PROD,DC=OUTLOOK,DC=COM"
        )

    # ---- index maintenance -------------------------------------------------------------
    def _index_user(self, user: User, *, order: bool = True) -> None:
        if order:
            pos = bisect.bisect_left(self._user_keys, user.index)
            self._user_keys.insert(pos, user.index)
            self._user_ids.insert(pos, user.id)
        self._by_upn[user.user_principal_name.lower()] = user.id
        self._by_guid[user.exchange_object_guid] = user.id
        self._by_alias[user.mail_nickname.lower()] = user.id
        for address in user.proxy_addresses:
            if address.lower().startswith("smtp:"):
                self._by_address[address[5:].lower()] = user.id

    def _unindex_user(self, user: User, *, order: bool = True) -> None:
        if order:
            pos = bisect.bisect_left(self._user_keys, user.index)
            del self._user_keys[pos]
            del self._user_ids[pos]
        self._by_upn.pop(user.user_principal_name.lower(), None)
        self._by_alias.pop(user.mail_nickname.lower(), None)
        for address in user.proxy_addresses:
            if address.lower().startswith("smtp:"):
                self._by_address.pop(address[5:].lower(), None)

    def _index_group(self, group: Group) -> None:
        pos = bisect.bisect_left(self._group_keys, group.index)
        self._group_keys.insert(pos, group.index)
        self._group_ids.insert(pos, group.id)
        self._by_guid[group.exchange_object_guid] = group.id
        self._by_alias[group.mail_nickname.lower()] = group.id
        for address in group.proxy_addresses:
            if address.lower().startswith("smtp:"):
                self._by_address[address[5:].lower()] = group.id

    def _unindex_group(self, group: Group) -> None:
        pos = bisect.bisect_left(self._group_keys, group.index)
        del self._group_keys[pos]
        del self._group_ids[pos]
        self._by_alias.pop(group.mail_nickname.lower(), None)
        for address in group.proxy_addresses:
            if address.lower().startswith("smtp:"):
                self._by_address.pop(address[5:].lower(), None)
