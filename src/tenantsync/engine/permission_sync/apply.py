"""Applying a grant plan in one transaction: bulk deletes, updates and inserts (COPY or
executemany at the driver's speed), and the plan as changes for the run's records."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import cast

from sqlalchemy import Table, delete, update
from sqlalchemy.orm import Session

from tenantsync.engine.permission_sync.diff import GrantPlan, StoredGrant
from tenantsync.engine.plan import Change
from tenantsync.engine.run import RunContext
from tenantsync.model.permissions import Grant, Right
from tenantsync.store.bulk import BulkWriter, chunks
from tenantsync.store.models import DelegateGrant
from tenantsync.timeutil import utcnow

ENTITY = "delegate_grant"
GRANT_COLUMNS = (
    "organization_id",
    "mailbox_id",
    "delegate_id",
    "right",
    "origin_task_id",
    "via_group_id",
    "created_at",
    "run_id",
)


class Names:
    """Addresses of mailboxes and names of groups, for readable change records."""

    def __init__(self, addresses: dict[int, str], groups: dict[int, str]) -> None:
        self.addresses = addresses
        self.groups = groups

    def address(self, mailbox_id: int) -> str:
        """A mailbox's address (its store id when it has none here)."""
        return self.addresses.get(mailbox_id, f"#{mailbox_id}")

    def key(self, mailbox_id: int, delegate_id: int, right: Right) -> str:
        """How a grant is named in change records and previews."""
        return f"{self.address(mailbox_id)} | {self.address(delegate_id)} | {right.value}"

    def group(self, group_id: int | None) -> str | None:
        """The name of the group a grant came through, if any."""
        return None if group_id is None else self.groups.get(group_id, f"#{group_id}")


def plan_changes(plan: GrantPlan, names: Names) -> Iterator[Change]:
    """The plan as Changes, in apply order (removals, group changes, additions)."""
    for row in plan.removes:
        yield Change(
            "remove",
            ENTITY,
            names.key(row.mailbox_id, row.delegate_id, row.right),
            "no longer granted in the source",
            before={"via_group": names.group(row.via_group_id)},
        )
    for row, via in plan.updates:
        yield Change(
            "update",
            ENTITY,
            names.key(row.mailbox_id, row.delegate_id, row.right),
            "granted through another group",
            before={"via_group": names.group(row.via_group_id)},
            after={"via_group": names.group(via)},
        )
    for grant in plan.adds:
        yield Change(
            "add",
            ENTITY,
            names.key(grant.mailbox_id, grant.delegate_id, grant.right),
            "granted in the source",
            after={"via_group": names.group(grant.via_group_id)},
        )


def apply_grant_plan(session: Session, ctx: RunContext, plan: GrantPlan) -> None:
    """Execute ``plan`` in the caller's transaction (the pipeline records the changes)."""
    _delete(session, plan.removes)
    if plan.updates:
        session.execute(
            update(DelegateGrant),
            [{"id": row.id, "via_group_id": via} for row, via in plan.updates],
        )
    if plan.adds:
        _insert(session, ctx, plan.adds)


def _delete(session: Session, rows: Sequence[StoredGrant]) -> None:
    for ids in chunks((r.id for r in rows), 5000):
        session.execute(delete(DelegateGrant).where(DelegateGrant.id.in_(ids)))


def _insert(session: Session, ctx: RunContext, grants: Sequence[Grant]) -> None:
    """The grants with this task as their origin, at the driver's bulk speed."""
    writer = BulkWriter(session, cast(Table, DelegateGrant.__table__), GRANT_COLUMNS)
    org, task, run = ctx.task.organization_id, ctx.task.id, ctx.run_id
    rights = {right: writer.bind("right", right) for right in Right}
    now = writer.bind("created_at", utcnow())
    writer.write(
        (org, g.mailbox_id, g.delegate_id, rights[g.right], task, g.via_group_id, now, run)
        for g in grants
    )
