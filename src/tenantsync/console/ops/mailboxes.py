"""The mailbox list at real sizes: filters, sortable columns, CSV export, restoring by hand."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session, contains_eager

from tenantsync.console.ops.paging import MAX_PER_PAGE, Page
from tenantsync.console.ops.tables import EXPORT_BATCH, AnySelect, Column, Sort, ordered
from tenantsync.engine.plan import Change
from tenantsync.model import LOCATION_TITLES
from tenantsync.model.directory import non_billable_reason
from tenantsync.store.changes import record_changes
from tenantsync.store.directory import mailbox_matches
from tenantsync.store.models import Mailbox, MailboxKind, PolicyGroup

BILLS = case((Mailbox.billable, 1), else_=0)
COLUMNS = (
    Column("address", "Address", Mailbox.primary_address),
    Column("name", "Name", Mailbox.display_name),
    Column("kind", "Kind", Mailbox.kind),
    Column("billable", "Billable", BILLS),
    # No policy group (group addresses) sorts first on every backend.
    Column("policy_group", "Policy group", func.coalesce(PolicyGroup.name, "")),
    Column("last_seen", "Last seen", Mailbox.last_seen),
    Column("removed", "Removed", Mailbox.deleted_at),
)
DEFAULT_SORT = Sort("address")
EXPORT_HEADER = (
    "primary_address",
    "display_name",
    "kind",
    "billable",
    "non_billable_reason",
    "policy_group",
    "location",
    "licensed",
    "enabled",
    "last_seen",
    "removed_at",
    "restorable_until",
)


@dataclass(frozen=True)
class MailboxFilter:
    """How the mailbox list is narrowed."""

    q: str = ""
    kind: MailboxKind | None = None
    billable: bool | None = None
    policy_group_id: int | None = None
    removed: bool = False


def _filtered(stmt: AnySelect, org_id: int, f: MailboxFilter) -> AnySelect:
    stmt = stmt.where(Mailbox.organization_id == org_id)
    if f.q.strip():
        stmt = stmt.where(mailbox_matches(f.q))
    if f.kind is not None:
        stmt = stmt.where(Mailbox.kind == f.kind)
    if f.billable is not None:
        stmt = stmt.where(Mailbox.billable if f.billable else ~Mailbox.billable)
    if f.policy_group_id is not None:
        stmt = stmt.where(Mailbox.policy_group_id == f.policy_group_id)
    return stmt.where(
        Mailbox.deleted_at.is_not(None) if f.removed else Mailbox.deleted_at.is_(None)
    )


def search_mailboxes(
    session: Session,
    org_id: int,
    f: MailboxFilter,
    page: int,
    per_page: int,
    sort: Sort = DEFAULT_SORT,
) -> Page[Mailbox]:
    """One page of an organization's mailboxes matching ``f``, sorted by a column (then id).

    The page's ids are found first, off the column's index (a deep page skips index entries,
    not rows), then only those mailboxes are loaded.
    """
    per_page = max(1, min(per_page, MAX_PER_PAGE))
    page = max(1, page)
    matching = _filtered(select(Mailbox.id), org_id, f)
    offset = (page - 1) * per_page
    if sort.key in PARTITIONED:
        parts = PARTITIONED[sort.key](session, org_id, f)
        total = sum(n for _, n in parts)
        ids = _partitioned_ids(session, matching, parts, sort.descending, offset, per_page)
    elif f.q.strip():
        # A search reads every name once anyway: the matches are counted in that pass (a
        # window count, in a subquery so the scan is not traded for a walk of the sort
        # index), then sorted for the page.
        hits = matching.add_columns(func.count().over().label("total")).subquery()
        counted = select(Mailbox.id, hits.c.total).join(hits, hits.c.id == Mailbox.id)
        paged = ordered(counted, sort, COLUMNS, Mailbox.id).limit(per_page).offset(offset)
        rows = session.execute(paged).all()
        ids = [mailbox_id for mailbox_id, _ in rows]
        total = rows[0][1] if rows else _count(session, matching)
    else:
        total = _count(session, matching)
        paged = ordered(matching, sort, COLUMNS, Mailbox.id).limit(per_page).offset(offset)
        ids = list(session.scalars(paged))
    loaded = {
        m.id: m
        for m in session.scalars(
            select(Mailbox)
            .outerjoin(PolicyGroup, PolicyGroup.id == Mailbox.policy_group_id)
            .options(contains_eager(Mailbox.policy_group))
            .where(Mailbox.id.in_(ids))
        )
    }
    items = [loaded[i] for i in ids if i in loaded]
    return Page(items=items, total=total, page=page, per_page=per_page)


def _count(session: Session, matching: AnySelect) -> int:
    return session.scalar(select(func.count()).select_from(matching.subquery())) or 0


Parts = list[tuple[ColumnElement[bool], int]]


def _billable_parts(session: Session, org_id: int, f: MailboxFilter) -> Parts:
    stmt = _filtered(select(BILLS, func.count()), org_id, f).group_by(BILLS)
    counts: dict[int, int] = dict(session.execute(stmt).all())
    return [(BILLS == 0, counts.get(0, 0)), (BILLS == 1, counts.get(1, 0))]


def _policy_group_parts(session: Session, org_id: int, f: MailboxFilter) -> Parts:
    group = Mailbox.policy_group_id
    stmt = _filtered(select(group, func.count()), org_id, f).group_by(group)
    counts: dict[int | None, int] = dict(session.execute(stmt).all())
    names = session.execute(
        select(PolicyGroup.id, PolicyGroup.name).where(PolicyGroup.id.in_(set(counts) - {None}))
    ).all()
    ordered_groups = sorted(names, key=lambda g: (g.name, g.id))
    parts: Parts = [(group.is_(None), counts.get(None, 0))] if None in counts else []
    return parts + [(group == g.id, counts[g.id]) for g in ordered_groups]


# Sort keys with a handful of values: a page is read partition by partition (each in id
# order, off an index), never by sorting every mailbox on an expression or a join.
PARTITIONED = {"billable": _billable_parts, "policy_group": _policy_group_parts}


def _partitioned_ids(
    session: Session, matching: AnySelect, parts: Parts, descending: bool, offset: int, limit: int
) -> list[int]:
    """The ids of one page across ``parts`` (in sort order, each by id), skipping whole parts
    before the page by their counts."""
    ids: list[int] = []
    for condition, count in reversed(parts) if descending else parts:
        if offset >= count:
            offset -= count
            continue
        by_id = Mailbox.id.desc() if descending else Mailbox.id.asc()
        stmt = matching.where(condition).order_by(by_id).limit(limit - len(ids)).offset(offset)
        ids += session.scalars(stmt)
        offset = 0
        if len(ids) >= limit:
            break
    return ids


def export_rows(
    session: Session, org_id: int, f: MailboxFilter, sort: Sort
) -> Iterator[tuple[object, ...]]:
    """Every mailbox matching ``f`` in the list's order, as CSV rows (:data:`EXPORT_HEADER`),
    streamed from the database a batch at a time."""
    stmt = select(
        Mailbox.primary_address,
        Mailbox.display_name,
        Mailbox.kind,
        Mailbox.licensed,
        Mailbox.enabled,
        PolicyGroup.name,
        Mailbox.location,
        Mailbox.last_seen,
        Mailbox.deleted_at,
        Mailbox.restore_until,
    ).outerjoin(PolicyGroup, PolicyGroup.id == Mailbox.policy_group_id)
    stmt = ordered(_filtered(stmt, org_id, f), sort, COLUMNS, Mailbox.id)
    result: Iterable[tuple[Any, ...]] = session.execute(
        stmt.execution_options(yield_per=EXPORT_BATCH)
    )
    for address, name, kind, licensed, enabled, group, location, seen, removed, until in result:
        reason = non_billable_reason(
            kind, licensed=licensed, enabled=enabled, removed=removed is not None
        )
        yield (
            address,
            name,
            kind.value,
            "no" if reason else "yes",
            reason or "",
            group or "",
            LOCATION_TITLES[location],
            "yes" if licensed else "no",
            "yes" if enabled else "no",
            _iso(seen),
            _iso(removed),
            _iso(until),
        )


def _iso(value: Any) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def restore_mailboxes(session: Session, org_id: int, ids: Sequence[int], actor: str) -> list[str]:
    """Restore the removed mailboxes among ``ids`` (of this organization), each recorded as a
    change made by ``actor``; their addresses. A sync that still misses a restored mailbox
    in its source removes it again."""
    found = list(
        session.scalars(
            select(Mailbox)
            .where(
                Mailbox.organization_id == org_id,
                Mailbox.id.in_(set(ids)),
                Mailbox.deleted_at.is_not(None),
            )
            .order_by(Mailbox.primary_address)
        )
    )
    changes = []
    for mbx in found:
        before = {"deleted_at": _iso(mbx.deleted_at), "restore_until": _iso(mbx.restore_until)}
        changes.append(
            Change("restore", "mailbox", mbx.primary_address, "restored by hand", before, {})
        )
        mbx.deleted_at = None
        mbx.restore_until = None
    session.flush()
    record_changes(session, changes, run_id=None, organization_id=org_id, actor=actor)
    return [m.primary_address for m in found]
