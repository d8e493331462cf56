"""Group membership as plain data: direct members, parents, and transitive closure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tenantsync.model import MemberRef, MembershipChange


@dataclass
class MembershipGraph:
    """Which groups each user is directly in, and which groups each group is directly in.

    ``groups_of(user)`` follows parents transitively (cycles are visited once), which is
    the closure the scope, the member-of rules and the closure table use.
    """

    user_groups: dict[str, set[str]] = field(default_factory=dict)
    parents: dict[str, set[str]] = field(default_factory=dict)
    _up: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_members(cls, members: Mapping[str, Iterable[MemberRef]]) -> MembershipGraph:
        """From each group's direct members."""
        graph = cls()
        for group_id, refs in members.items():
            for ref in refs:
                graph.add(group_id, ref)
        return graph

    def add(self, group_id: str, ref: MemberRef) -> None:
        """Record ``ref`` as a direct member of ``group_id``."""
        index = self.parents if ref.is_group else self.user_groups
        index.setdefault(ref.source_id, set()).add(group_id)
        self._up.clear()

    def remove(self, group_id: str, ref: MemberRef) -> None:
        """Forget ``ref`` as a direct member of ``group_id``."""
        index = self.parents if ref.is_group else self.user_groups
        index.get(ref.source_id, set()).discard(group_id)
        self._up.clear()

    def apply(self, changes: Iterable[MembershipChange]) -> None:
        """Apply a delta read's membership changes."""
        for change in changes:
            for ref in change.added:
                self.add(change.group_id, ref)
            for ref in change.removed:
                self.remove(change.group_id, ref)

    def drop_groups(self, group_ids: Iterable[str]) -> None:
        """Forget removed groups everywhere."""
        gone = set(group_ids)
        if not gone:
            return
        for index in (self.user_groups, self.parents):
            for groups in index.values():
                groups -= gone
        for gid in gone:
            self.parents.pop(gid, None)
        self._up.clear()

    def groups_of(self, user_id: str) -> frozenset[str]:
        """Every group a user is in, directly or through nesting."""
        out: set[str] = set()
        for gid in self.user_groups.get(user_id, ()):
            out |= self._ancestors(gid)
        return frozenset(out)

    def _ancestors(self, group_id: str) -> frozenset[str]:
        cached = self._up.get(group_id)
        if cached is not None:
            return cached
        seen = {group_id}
        stack = [group_id]
        while stack:
            for parent in self.parents.get(stack.pop(), ()):
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        result = frozenset(seen)
        self._up[group_id] = result
        return result


def member_changes_touch_groups(changes: Iterable[MembershipChange]) -> bool:
    """Whether a delta changed group-in-group nesting (not just user members)."""
    return any(ref.is_group for c in changes for ref in (*c.added, *c.removed))
