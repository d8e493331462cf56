"""An organization's delegate grants as one table: sorted, filtered, exported, and manual
grants revoked in bulk. Grant data: callers let super administrators alone reach it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, aliased

from tenantsync.console.ops.directory import remove_manual_grant
from tenantsync.console.ops.paging import MAX_PER_PAGE, Page
from tenantsync.console.ops.tables import EXPORT_BATCH, AnySelect, Column, Sort, ordered
from tenantsync.model.permissions import RIGHT_TITLES
from tenantsync.store.models import DelegateGrant, Mailbox, Right, ScheduledTask, SourceGroup
from tenantsync.store.search import address_matches

OWNER = aliased(Mailbox, name="owner")
DELEGATE = aliased(Mailbox, name="delegate")
COLUMNS = (
    Column("mailbox", "Mailbox", OWNER.primary_address),
    Column("delegate", "Delegate", DELEGATE.primary_address),
    Column("right", "Right", DelegateGrant.right),
    Column("source", "Source", ScheduledTask.name),
    Column("via_group", "Via group", SourceGroup.name),
    Column("since", "Since", DelegateGrant.created_at),
)
DEFAULT_SORT = Sort("mailbox")
EXPORT_HEADER = ("mailbox", "delegate", "right", "source", "run", "via_group", "since")


@dataclass(frozen=True)
class GrantFilter:
    """How the grant table is narrowed: an address on either side, a right, manual or not."""

    q: str = ""
    right: Right | None = None
    manual: bool | None = None


@dataclass(frozen=True)
class GrantRow:
    """One grant as the table shows it."""

    id: int
    mailbox_id: int
    mailbox: str
    delegate_id: int
    delegate: str
    right: str
    task_id: int | None
    task: str | None
    run_id: int | None
    granted_by: str | None
    via_group_id: int | None
    via_group: str | None
    since: datetime

    @property
    def manual(self) -> bool:
        """Whether a person added it (only those are revoked here)."""
        return self.task_id is None

    @property
    def source(self) -> str:
        """Where it comes from, as one line."""
        if self.task_id is not None:
            return f"task {self.task}"
        return f"manual, by {self.granted_by}" if self.granted_by else "manual"


def _select(org_id: int, f: GrantFilter) -> AnySelect:
    stmt = (
        select(
            DelegateGrant.id,
            OWNER.id,
            OWNER.primary_address,
            DELEGATE.id,
            DELEGATE.primary_address,
            DelegateGrant.right,
            DelegateGrant.origin_task_id,
            ScheduledTask.name,
            DelegateGrant.run_id,
            DelegateGrant.granted_by,
            DelegateGrant.via_group_id,
            SourceGroup.name,
            DelegateGrant.created_at,
        )
        .join(OWNER, OWNER.id == DelegateGrant.mailbox_id)
        .join(DELEGATE, DELEGATE.id == DelegateGrant.delegate_id)
        .outerjoin(ScheduledTask, ScheduledTask.id == DelegateGrant.origin_task_id)
        .outerjoin(SourceGroup, SourceGroup.id == DelegateGrant.via_group_id)
        .where(DelegateGrant.organization_id == org_id)
    )
    return stmt.where(*_conditions(f))


def _conditions(f: GrantFilter) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if f.q.strip():
        out.append(
            or_(
                address_matches(OWNER.primary_address, f.q),
                address_matches(DELEGATE.primary_address, f.q),
            )
        )
    if f.right is not None:
        out.append(DelegateGrant.right == f.right)
    if f.manual is not None:
        manual = DelegateGrant.origin_task_id.is_(None)
        out.append(manual if f.manual else ~manual)
    return out


def _row(values: Sequence[Any]) -> GrantRow:
    gid, mid, mailbox, did, delegate, right, task_id, task, run_id, by, via, group, at = values
    return GrantRow(
        gid, mid, mailbox, did, delegate, RIGHT_TITLES[right], task_id, task, run_id, by,
        via, group, at,
    )  # fmt: skip


def list_grants(
    session: Session, org_id: int, f: GrantFilter, page: int, per_page: int, sort: Sort
) -> Page[GrantRow]:
    """One page of the organization's grants matching ``f``, sorted by a column (then id)."""
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    stmt = _select(org_id, f)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    paged = ordered(stmt, sort, COLUMNS, DelegateGrant.id)
    rows = session.execute(paged.limit(per_page).offset((page - 1) * per_page))
    return Page([_row(r) for r in rows], total, page, per_page)


def export_rows(
    session: Session, org_id: int, f: GrantFilter, sort: Sort
) -> Iterator[tuple[object, ...]]:
    """Every grant matching ``f`` in the table's order as CSV rows (:data:`EXPORT_HEADER`),
    streamed a batch at a time."""
    stmt = ordered(_select(org_id, f), sort, COLUMNS, DelegateGrant.id)
    for values in session.execute(stmt.execution_options(yield_per=EXPORT_BATCH)):
        g = _row(values)
        since = g.since.isoformat(timespec="seconds")
        yield (g.mailbox, g.delegate, g.right, g.source, g.run_id or "", g.via_group, since)


def revoke_manual(
    session: Session, org_id: int, ids: Sequence[int], removed_by: str
) -> list[GrantRow]:
    """Remove the manual grants among ``ids`` (of this organization), each recorded as a
    change (so the change feed carries it) like a single removal; what was removed. A
    sync's grants belong to its task and are left alone."""
    stmt = _select(org_id, GrantFilter(manual=True)).where(DelegateGrant.id.in_(set(ids)))
    removed = [_row(r) for r in session.execute(stmt)]
    for grant in removed:
        remove_manual_grant(session, grant.id, removed_by)
    return removed
