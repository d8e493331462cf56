"""The cloud side as the store holds it: the mailboxes user sync wrote (with where each
lives) and the permission entries permission sync last read per mailbox.

Permission sync keeps every relevant entry it read, resolved or not (``mailbox_sync_state``
rows); a trustee it could not resolve in the store (a person whose mailbox is on-premises,
a MailUser in the cloud) is resolved here against both sides. Groups and their transitive
members are the synced ones (``source_group`` and its closure).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.engine.hybrid.people import People
from tenantsync.engine.permission_sync.directory import load_directory
from tenantsync.engine.permission_sync.state import FEATURE, load_state
from tenantsync.errors import ConfigError
from tenantsync.model.directory import Location
from tenantsync.model.hybrid import Recipient, Side
from tenantsync.model.permissions import AclEntry
from tenantsync.store.bulk import chunks
from tenantsync.store.models import (
    Connection,
    Definition,
    LinkKind,
    Mailbox,
    MailboxAlias,
    MailboxKind,
    ScheduledTask,
    SourceLink,
)

# The recipient type a synced mailbox has in the cloud when the store did not keep one.
KIND_TYPES = {
    MailboxKind.USER: "UserMailbox",
    MailboxKind.SHARED: "SharedMailbox",
    MailboxKind.ROOM: "RoomMailbox",
    MailboxKind.EQUIPMENT: "EquipmentMailbox",
    MailboxKind.SCHEDULING: "SchedulingMailbox",
}
LIVES = {
    Location.CLOUD: Side.CLOUD,
    Location.ON_PREMISES: Side.ON_PREMISES,
    Location.REMOTE: Side.ON_PREMISES,
}


@dataclass
class StoreSide:
    """What the store gave: where each person lives by it, entries, and counts."""

    locations: dict[int, Side] = field(default_factory=dict)
    entries: list[AclEntry] = field(default_factory=list)
    mailboxes: int = 0
    tasks: list[str] = field(default_factory=list)


def load_store_side(
    session: Session, organization_id: int, people: People, connection: str | None
) -> StoreSide:
    """Add the store's mailboxes and groups to ``people``; the entries permission sync read."""
    connection_id = _connection_id(session, organization_id, connection)
    side = StoreSide()
    ids = _mailbox_ids(session, organization_id, connection_id)
    aliases: dict[int, list[str]] = {}
    for chunk in chunks(sorted(ids)):
        for mid, address in session.execute(
            select(MailboxAlias.mailbox_id, MailboxAlias.address).where(
                MailboxAlias.mailbox_id.in_(chunk)
            )
        ):
            aliases.setdefault(mid, []).append(address.lower())
    person_of: dict[int, int] = {}
    for chunk in chunks(sorted(ids)):
        rows = session.execute(
            select(
                Mailbox.id,
                Mailbox.primary_address,
                Mailbox.display_name,
                Mailbox.kind,
                Mailbox.location,
                Mailbox.recipient_type,
                Mailbox.source_id,
                Mailbox.exchange_guid,
                Mailbox.source_dn,
                Mailbox.attributes,
            ).where(Mailbox.id.in_(chunk))
        )
        for mid, address, name, kind, location, rtype, source_id, guid, dn, attrs in rows:
            names = [
                n
                for n in (source_id, dn, *(str(v) for v in attrs.values() if isinstance(v, str)))
                if n
            ]
            recipient = Recipient(
                side=Side.CLOUD,
                recipient_type=rtype or KIND_TYPES.get(kind, "UserMailbox"),
                addresses=(address.lower(), *aliases.get(mid, [])),
                names=tuple(names),
                display_name=name,
                exchange_guid=guid.lower() if guid else None,
            )
            person = people.add(recipient)
            if person is not None:
                person_of[mid] = person.id
                side.locations[person.id] = LIVES[Location(location)]
    side.mailboxes = len(person_of)
    _add_groups(session, organization_id, people, person_of)
    for task_id, task_name in _permission_tasks(session, organization_id, connection_id):
        side.tasks.append(task_name)
        state = load_state(session, task_id)
        for mid, read in state.mailboxes.items():
            if mid in person_of:
                side.entries.extend(read.entries)
    return side


def _connection_id(session: Session, organization_id: int, name: str | None) -> int | None:
    if name is None:
        return None
    found = session.scalar(
        select(Connection.id).where(
            Connection.organization_id == organization_id, Connection.name == name
        )
    )
    if found is None:
        raise ConfigError(
            f"no connection named {name!r} in this organization", field="cloud_connection"
        )
    return found


def _mailbox_ids(session: Session, organization_id: int, connection_id: int | None) -> set[int]:
    query = select(Mailbox.id).where(
        Mailbox.organization_id == organization_id,
        Mailbox.deleted_at.is_(None),
        Mailbox.kind != MailboxKind.GROUP,
    )
    if connection_id is not None:
        linked = select(SourceLink.mailbox_id).where(
            SourceLink.connection_id == connection_id, SourceLink.object_kind == LinkKind.MAILBOX
        )
        query = query.where(Mailbox.id.in_(linked))
    return set(session.scalars(query))


def _add_groups(
    session: Session, organization_id: int, people: People, person_of: dict[int, int]
) -> None:
    """The synced groups, with their transitive members as people."""
    stored = load_directory(session, organization_id)
    directory = people.directory
    keys: dict[int, list[str]] = {}
    for key, ids in stored.group_keys.items():
        for gid in ids:
            keys.setdefault(gid, []).append(key)
    for gid, name in stored.group_names.items():
        directory.add_group(gid, name, keys.get(gid, []))
        reached = stored.expand(gid)
        directory.closure[gid] = frozenset(person_of[m] for m in reached if m in person_of)


def _permission_tasks(
    session: Session, organization_id: int, connection_id: int | None
) -> list[tuple[int, str]]:
    query = (
        select(ScheduledTask.id, ScheduledTask.name)
        .join(Definition, Definition.id == ScheduledTask.definition_id)
        .where(ScheduledTask.organization_id == organization_id, Definition.type == FEATURE)
        .order_by(ScheduledTask.id)
    )
    if connection_id is not None:
        query = query.where(ScheduledTask.connection_id == connection_id)
    return [(tid, name) for tid, name in session.execute(query)]
