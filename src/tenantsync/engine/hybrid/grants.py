"""Every grant of both sides, resolved to people: permission entries through permission
sync's own resolution (system and inherited entries dropped, trustees found by any name,
groups expanded to their members, a Deny cancelling the allow), folder roles, and whether a
Full Access grant is auto-mapped.

Grants are kept as columns (numpy arrays): a 100,000-mailbox organization holds a million.
"""

from __future__ import annotations

import enum
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tenantsync.engine.hybrid.people import People
from tenantsync.engine.permission_sync.acl import Skips, grants_from, resolve_entries
from tenantsync.engine.permission_sync.directory import Resolved
from tenantsync.model.hybrid import FolderEntry, Side
from tenantsync.model.permissions import AclEntry, Right, Trustee


class HybridRight(enum.StrEnum):
    """A right as the hybrid features weigh it."""

    FULL_ACCESS = "full_access"
    SEND_AS = "send_as"
    SEND_ON_BEHALF = "send_on_behalf"
    FOLDER = "folder"


RIGHTS: tuple[HybridRight, ...] = tuple(HybridRight)
RIGHT_CODE = {r: i for i, r in enumerate(RIGHTS)}
RIGHT_TITLES = {
    HybridRight.FULL_ACCESS: "Full Access",
    HybridRight.SEND_AS: "Send As",
    HybridRight.SEND_ON_BEHALF: "Send on Behalf",
    HybridRight.FOLDER: "Folder permission",
}
# Flags of a grant.
AUTOMAPPED = 1
ON_PREMISES = 2
CLOUD = 4
SIDE_FLAG = {Side.ON_PREMISES: ON_PREMISES, Side.CLOUD: CLOUD}
# Roles that show free/busy only: shared across premises through the organization
# relationship, so not a folder permission that a move can break.
FREE_BUSY_ROLES = frozenset({"none", "availabilityonly", "limiteddetails"})
NOT_TRUSTEES = frozenset({"default", "anonymous"})
IntArray = npt.NDArray[np.int64]


@dataclass
class GrantTable:
    """Grants as columns: mailbox and trustee (person ids), right code, flags (auto-mapped,
    granted on-premises, granted in the cloud), the group it came through (-1: none) and a
    folder role (index into ``roles``, -1: none)."""

    mailbox: IntArray
    trustee: IntArray
    right: IntArray
    flags: IntArray
    via: IntArray
    role: IntArray
    groups: list[str] = field(default_factory=list)
    roles: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.mailbox)


@dataclass
class Collector:
    """Grants gathered from both sides, merged by (mailbox, trustee, right)."""

    people: People
    assume_automapping: bool = True
    skips: Skips = field(default_factory=Skips)
    rows: dict[tuple[int, int, int], list[int]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    roles: dict[str, int] = field(default_factory=dict)
    empty_groups: set[str] = field(default_factory=set)
    unknown_mailboxes: dict[Side, set[str]] = field(default_factory=lambda: defaultdict(set))

    def add_entries(self, side: Side, entries: list[AclEntry]) -> None:
        """Permission entries read on ``side`` (Full Access, Send As, Send on Behalf)."""
        by_mailbox: dict[str, list[AclEntry]] = defaultdict(list)
        for entry in entries:
            by_mailbox[entry.mailbox].append(entry)
        directory = self.people.directory
        for key, group in by_mailbox.items():
            found = directory.resolve(Trustee(key))
            if not isinstance(found, Resolved) or found.kind != "mailbox":
                self.unknown_mailboxes[side].add(key)
                continue
            resolved = resolve_entries(group, directory, self.skips, key)
            for kind, target, _value, _deny in resolved:
                if kind == "group" and not directory.expand(target):
                    self.empty_groups.add(directory.group_names.get(target, str(target)))
            for grant in grants_from(found.id, resolved, directory, self.skips):
                right = _right(grant.right)
                flags = SIDE_FLAG[side]
                if right is HybridRight.FULL_ACCESS and grant.via_group_id is None:
                    flags |= self._automapped(found.id, grant.delegate_id)
                self._put(grant.mailbox_id, grant.delegate_id, right, flags, grant.via_group_id)

    def add_folders(self, side: Side, entries: list[FolderEntry]) -> None:
        """Folder (calendar) roles read on ``side``; free/busy roles are not folder access."""
        directory = self.people.directory
        for entry in entries:
            if entry.trustee.lower() in NOT_TRUSTEES or entry.role.lower() in FREE_BUSY_ROLES:
                continue
            owner = directory.resolve(Trustee(entry.mailbox))
            if not isinstance(owner, Resolved) or owner.kind != "mailbox":
                self.unknown_mailboxes[side].add(entry.mailbox)
                continue
            name = entry.trustee.removeprefix("NT:")
            found = directory.resolve(Trustee(name))
            if not isinstance(found, Resolved):
                self.skips.add(found.reason, f"{entry.trustee} on {entry.mailbox}")
                continue
            members = (
                [(m, found.id) for m in sorted(directory.expand(found.id))]
                if found.kind == "group"
                else [(found.id, None)]
            )
            role = self.roles.setdefault(entry.role, len(self.roles))
            for member, via in members:
                if member != owner.id:
                    self._put(owner.id, member, HybridRight.FOLDER, SIDE_FLAG[side], via, role)

    def _automapped(self, mailbox: int, trustee: int) -> int:
        listed = self.people.persons[mailbox].automapped
        if listed is None:
            return AUTOMAPPED if self.assume_automapping else 0
        keys = self.people.persons[trustee].keys
        return AUTOMAPPED if listed & keys else 0

    def _put(
        self,
        mailbox: int,
        trustee: int,
        right: HybridRight,
        flags: int,
        via: int | None,
        role: int = -1,
    ) -> None:
        key = (mailbox, trustee, RIGHT_CODE[right])
        row = self.rows.get(key)
        if via is not None and via not in self.groups:
            self.groups[via] = self.people.directory.group_names.get(via, str(via))
        if row is None:
            self.rows[key] = [flags, -1 if via is None else via, role]
        else:
            row[0] |= flags
            if via is None:
                row[1] = -1

    def table(self) -> GrantTable:
        """The grants gathered, as columns (rows in mailbox, trustee, right order)."""
        keys = sorted(self.rows)
        group_index = {gid: i for i, gid in enumerate(sorted(self.groups))}
        n = len(keys)
        mailbox = np.fromiter((k[0] for k in keys), np.int64, n)
        trustee = np.fromiter((k[1] for k in keys), np.int64, n)
        right = np.fromiter((k[2] for k in keys), np.int64, n)
        flags = np.fromiter((self.rows[k][0] for k in keys), np.int64, n)
        via = np.fromiter(
            (group_index[self.rows[k][1]] if self.rows[k][1] != -1 else -1 for k in keys),
            np.int64,
            n,
        )
        role = np.fromiter((self.rows[k][2] for k in keys), np.int64, n)
        return GrantTable(
            mailbox,
            trustee,
            right,
            flags,
            via,
            role,
            groups=[self.groups[g] for g in sorted(self.groups)],
            roles=sorted(self.roles, key=self.roles.__getitem__),
        )


def _right(right: Right) -> HybridRight:
    return HybridRight(right.value)
