"""The mailboxes a task covers: all of them, or the members of one group named by a synced
group (name or id), a full DN, or a distribution group's address."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.feature import ChangeList
from tenantsync.engine.permission_sync.directory import Directory
from tenantsync.engine.plan import Plan
from tenantsync.engine.scope import SyncedDirectory
from tenantsync.errors import ConfigError, SourceError
from tenantsync.model.permissions import MailboxRef
from tenantsync.store.models import Mailbox, MailboxKind, SourceGroup

SCOPE_FORMS = {
    "group": "a group picked from the synced list",
    "dn": "a full DN",
    "address": "a distribution group's address",
}


@dataclass(frozen=True)
class Scope:
    """A resolved scope: what it was given as, the group it names, and its mailboxes."""

    kind: str
    description: str
    mailboxes: list[MailboxRef]
    group_id: int | None = None


@dataclass
class EmptyScope:
    """A scope that takes in nobody: nothing read, nothing removed, and the run says so."""

    scope: Scope
    incomplete: list[str] = field(default_factory=list)
    retry: SourceError | None = None

    def plan(self, kept: str, **message: object) -> ChangeList:
        """The run's only output: a warning that no ``kept`` (grant, replica) was removed."""
        text = (
            f"the task's scope ({self.scope.description}) holds no mailbox: "
            f"nothing was read and no {kept} was removed"
        )
        return ChangeList(
            Plan(),
            {"scope": self.scope.description, "mailboxes_in_scope": 0},
            [{"level": "warning", "text": text, **message}],
            warning=True,
        )


class ScopeError(ConfigError):
    """The task's scope names nothing; the message says which form and why."""

    def __init__(self, kind: str, value: str | None, why: str) -> None:
        form = SCOPE_FORMS.get(kind, kind)
        super().__init__(f"scope {kind} {value!r} ({form}) did not resolve: {why}", field="scope")


def resolve_scope(
    session: Session, organization_id: int, kind: str, value: str | None, directory: Directory
) -> Scope:
    """The mailboxes a scope covers; a scope that resolves to nothing raises ScopeError.

    Groups are found by name, id, address and DN the one way :mod:`tenantsync.engine.scope`
    defines (the way a scope is checked when a task is saved)."""
    if kind == "all":
        return Scope("all", "all mailboxes", synced_mailboxes(session, organization_id))
    if not value or not value.strip():
        raise ScopeError(kind, value, "no value was given")
    value = value.strip()
    synced = SyncedDirectory(session, organization_id)
    if kind == "group":
        group = _by_name_or_id(synced, value)
    elif kind == "dn":
        by_dn = synced.group_by_dn(value)
        if by_dn is None:
            return _dn_without_group(session, organization_id, value)
        group = by_dn
    elif kind == "address":
        group = _by_address(session, synced, organization_id, value)
    else:
        raise ScopeError(kind, value, "unknown scope kind (use all, group, dn or address)")
    reached = directory.expand(group.id)
    members = [m for m in synced_mailboxes(session, organization_id) if m.id in reached]
    return Scope(kind, f"members of {group.name}", members, group.id)


def _by_name_or_id(synced: SyncedDirectory, value: str) -> SourceGroup:
    groups = synced.groups(value, by_row_id=True)
    live = [g for g in groups if g.deleted_at is None]
    if not groups:
        raise ScopeError("group", value, "no synced group has this name or id (run user sync?)")
    if not live:
        raise ScopeError(
            "group", value, f"the group was removed from the source ({_when(groups[0])})"
        )
    if len(live) > 1:
        ids = ", ".join(str(g.id) for g in live)
        raise ScopeError("group", value, f"several synced groups have this name (ids {ids})")
    return live[0]


def _by_address(session: Session, synced: SyncedDirectory, org: int, value: str) -> SourceGroup:
    group = synced.group_by_address(value)
    if group is not None and group.deleted_at is None:
        return group
    if group is not None:
        raise ScopeError(
            "address", value, f"the group was removed from the source ({_when(group)})"
        )
    if synced.is_mailbox_address(value):
        raise ScopeError("address", value, "it is a mailbox's address, not a group's")
    raise ScopeError("address", value, "no synced group has this address")


def _dn_without_group(session: Session, org: int, value: str) -> Scope:
    """A DN that is not a group's: one mailbox's DN, or an OU holding mailboxes."""
    mailboxes = synced_mailboxes(session, org)
    rows = session.execute(
        select(Mailbox.id, Mailbox.source_dn).where(
            Mailbox.organization_id == org,
            Mailbox.deleted_at.is_(None),
            Mailbox.source_dn.is_not(None),
        )
    )
    dns: dict[int, str | None] = {row.id: row.source_dn for row in rows}
    wanted = value.lower()
    exact = [m for m in mailboxes if (dns.get(m.id) or "").lower() == wanted]
    if exact:
        return Scope("dn", f"the mailbox {exact[0].address}", exact)
    under = [m for m in mailboxes if (dns.get(m.id) or "").lower().endswith("," + wanted)]
    if under:
        return Scope("dn", f"mailboxes under {value}", under)
    why = "no synced group, mailbox or container has this DN"
    if not dns:
        why += " (no synced mailbox carries a DN: the source gives none)"
    raise ScopeError("dn", value, why)


def _when(group: SourceGroup) -> str:
    return f"on {group.deleted_at:%Y-%m-%d}" if group.deleted_at else "deleted"


def synced_mailboxes(session: Session, org: int) -> list[MailboxRef]:
    """The organization's live mailboxes (not group addresses), in store order."""
    query = select(
        Mailbox.id,
        Mailbox.primary_address,
        Mailbox.source_id,
        Mailbox.exchange_guid,
        Mailbox.source_changed_at,
    ).where(
        Mailbox.organization_id == org,
        Mailbox.deleted_at.is_(None),
        # Distribution groups are synced as addresses of kind group: they have no mailbox.
        Mailbox.kind != MailboxKind.GROUP,
    )
    rows = session.execute(query.order_by(Mailbox.id))
    return [MailboxRef(mid, addr, sid, guid, changed) for mid, addr, sid, guid, changed in rows]
