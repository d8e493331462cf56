"""Comparing source groups and their direct members with the store."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from tenantsync.engine.plan import Change, Plan
from tenantsync.engine.user_sync.state import StoredGroup, StoreView
from tenantsync.model import DirectoryGroup, MemberRef, MembershipChange

LISTED_MEMBERS = 200


@dataclass
class GroupWork:
    """What apply does to source groups and memberships (``read``: every group the read
    saw, changed or not)."""

    adds: list[DirectoryGroup] = field(default_factory=list)
    updates: list[tuple[StoredGroup, DirectoryGroup]] = field(default_factory=list)
    removals: list[StoredGroup] = field(default_factory=list)
    member_replace: dict[str, set[MemberRef]] = field(default_factory=dict)
    member_changes: list[MembershipChange] = field(default_factory=list)
    read: set[str] = field(default_factory=set)


def diff_groups(
    plan: Plan,
    view: StoreView,
    groups: dict[str, DirectoryGroup],
    *,
    removed: Iterable[str] = (),
    full: bool,
) -> GroupWork:
    """Adds, updates and removals of source groups (all unseen ones removed on a full read)."""
    work = GroupWork(read=set(groups))
    for sid, group in groups.items():
        stored = view.groups.get(sid)
        if stored is None:
            work.adds.append(group)
            plan.add(
                Change("add", "source_group", group.name, group.kind.value, None, _json(group))
            )
        elif stored.deleted or _changed(stored, group):
            work.updates.append((stored, group))
            plan.add(
                Change(
                    "restore" if stored.deleted else "update",
                    "source_group",
                    group.name,
                    "changed in the source",
                    _stored_json(stored),
                    _json(group),
                )
            )
    gone = set(removed)
    if full:
        gone |= {sid for sid in view.groups if sid not in groups}
    for sid in sorted(gone):
        stored = view.groups.get(sid)
        if stored is not None and not stored.deleted:
            work.removals.append(stored)
            plan.add(Change("remove", "source_group", stored.name, "gone from the source"))
    return work


def diff_members_full(
    plan: Plan,
    view: StoreView,
    members: dict[str, set[MemberRef]],
    work: GroupWork,
    covered: set[str],
) -> None:
    """Groups of ``covered`` whose direct member set differs from the store get it replaced."""
    names = {g.source_id: g.name for g in work.adds} | {
        sid: g.name for sid, g in view.groups.items()
    }
    for sid in sorted((set(members) | set(view.members)) & covered):
        new = members.get(sid, set())
        old = view.members.get(sid, set())
        if new == old:
            continue
        work.member_replace[sid] = new
        plan.add(_members_change(names.get(sid, sid), new - old, old - new))


def diff_members_delta(
    plan: Plan, view: StoreView, changes: list[MembershipChange], work: GroupWork
) -> None:
    """A delta read's membership changes, recorded per group."""
    names = {g.source_id: g.name for g in work.adds} | {
        sid: g.name for sid, g in view.groups.items()
    }
    merged: dict[str, tuple[set[MemberRef], set[MemberRef]]] = {}
    for change in changes:
        added, removed = merged.setdefault(change.group_id, (set(), set()))
        added.update(change.added)
        added.difference_update(change.removed)
        removed.update(change.removed)
        removed.difference_update(change.added)
    for gid, (added, removed) in merged.items():
        if added or removed:
            work.member_changes.append(MembershipChange(gid, tuple(added), tuple(removed)))
            plan.add(_members_change(names.get(gid, gid), added, removed))


def _members_change(name: str, added: set[MemberRef], removed: set[MemberRef]) -> Change:
    def listed(refs: set[MemberRef]) -> list[str]:
        return sorted(r.source_id for r in refs)[:LISTED_MEMBERS]

    return Change(
        "members",
        "source_group",
        name,
        f"{len(added)} added, {len(removed)} removed",
        {"removed": listed(removed)} if removed else None,
        {"added": listed(added)} if added else None,
    )


def _changed(stored: StoredGroup, group: DirectoryGroup) -> bool:
    return (stored.name, stored.mail, stored.kind, stored.dn) != (
        group.name,
        group.mail,
        group.kind,
        group.dn,
    )


def _json(group: DirectoryGroup) -> dict[str, object]:
    return {"name": group.name, "kind": group.kind.value, "mail": group.mail, "dn": group.dn}


def _stored_json(stored: StoredGroup) -> dict[str, object]:
    return {"name": stored.name, "kind": stored.kind.value, "mail": stored.mail, "dn": stored.dn}
