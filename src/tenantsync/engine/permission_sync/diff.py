"""Diff by origin: the task's own grants against what it now reads. Grants of other origins
never enter the diff, so manual grants and other tasks' grants are never touched."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.model.permissions import Grant, Right
from tenantsync.store.models import DelegateGrant

GrantKey = tuple[int, int, Right]


@dataclass(frozen=True, slots=True)
class StoredGrant:
    """A grant row of this task's origin, as stored."""

    id: int
    mailbox_id: int
    delegate_id: int
    right: Right
    via_group_id: int | None

    @property
    def key(self) -> GrantKey:
        """What identifies the grant within one origin."""
        return (self.mailbox_id, self.delegate_id, self.right)


@dataclass
class GrantPlan:
    """What applying changes: grants to add, rows to remove, rows whose group changed."""

    adds: list[Grant] = field(default_factory=list)
    removes: list[StoredGrant] = field(default_factory=list)
    updates: list[tuple[StoredGrant, int | None]] = field(default_factory=list)
    unchanged: int = 0
    kept_unread: int = 0
    kept_unresolved: list[StoredGrant] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.adds) + len(self.removes) + len(self.updates)


def own_grants(session: Session, organization_id: int, task_id: int) -> list[StoredGrant]:
    """Every grant whose origin is this task."""
    rows = session.execute(
        select(
            DelegateGrant.id,
            DelegateGrant.mailbox_id,
            DelegateGrant.delegate_id,
            DelegateGrant.right,
            DelegateGrant.via_group_id,
        ).where(
            DelegateGrant.organization_id == organization_id,
            DelegateGrant.origin_task_id == task_id,
        )
    )
    return [StoredGrant(i, m, d, Right(r.value), v) for i, m, d, r, v in rows]


def diff_grants(
    desired: Iterable[Grant],
    stored: Iterable[StoredGrant],
    keep_mailboxes: set[int],
    keep_parts: Collection[tuple[int, Right]] = frozenset(),
) -> GrantPlan:
    """Adds, removes and group changes that turn ``stored`` into ``desired``.

    Rows on mailboxes in ``keep_mailboxes`` (their read failed) are kept as they are.
    Rows of a (mailbox, right) in ``keep_parts`` (an entry of that right named a trustee
    that could not be resolved) are never removed; they may still gain grants.
    """
    plan = GrantPlan()
    wanted: dict[GrantKey, Grant] = {g.key: g for g in desired}
    seen: set[GrantKey] = set()
    for row in stored:
        if row.mailbox_id in keep_mailboxes:
            plan.kept_unread += 1
            seen.add(row.key)
            continue
        grant = wanted.get(row.key)
        if grant is None and (row.mailbox_id, row.right) in keep_parts and row.key not in seen:
            plan.kept_unresolved.append(row)
        elif grant is None or row.key in seen:
            plan.removes.append(row)
        elif grant.via_group_id != row.via_group_id:
            plan.updates.append((row, grant.via_group_id))
        else:
            plan.unchanged += 1
        seen.add(row.key)
    plan.adds = [
        g for key, g in wanted.items() if key not in seen and g.mailbox_id not in keep_mailboxes
    ]
    plan.adds.sort()
    return plan
