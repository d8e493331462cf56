"""Organizations, domains, mailboxes, source groups and delegate grants."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, aliased

from tenantsync.config.schema import name_problem
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.ops.paging import Page, paginate
from tenantsync.console.ops.tables import AnySelect, Column, Sort, ordered
from tenantsync.engine.permission_sync.apply import ENTITY as GRANT_ENTITY
from tenantsync.engine.plan import Change
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.changes import record_changes
from tenantsync.store.directory import create_organization
from tenantsync.store.limits import too_long
from tenantsync.store.models import (
    DelegateGrant,
    Domain,
    GroupKind,
    Mailbox,
    MailboxAlias,
    Organization,
    PolicyGroup,
    Right,
    ScheduledTask,
    SourceGroup,
    SourceGroupClosure,
)
from tenantsync.store.search import contains

M = TypeVar("M")


def get_or_404(session: Session, model: type[M], object_id: int, what: str) -> M:
    """The object with this id, or NotFound naming it."""
    obj = session.get(model, object_id)
    if obj is None:
        raise NotFound(f"no {what} {object_id}")
    return obj


ORGANIZATION_COLUMNS = (
    Column("name", "Name", Organization.name),
    Column("display_name", "Display name", Organization.display_name),
    Column("created", "Added", Organization.created_at),
)
ORGANIZATION_SORT = Sort("name")
ORGANIZATION_HEADER = ("name", "display_name", "domains", "mailboxes", "billable", "added")


def _organizations(q: str) -> AnySelect:
    stmt = select(Organization)
    if q.strip():
        stmt = stmt.where(contains(Organization.search_text, q))
    return stmt


def list_organizations(
    session: Session, page: int, per_page: int, q: str = "", sort: Sort = ORGANIZATION_SORT
) -> Page[Organization]:
    """Organizations sorted by a column, optionally those whose name contains ``q``."""
    stmt = ordered(_organizations(q), sort, ORGANIZATION_COLUMNS, Organization.id)
    return paginate(session, stmt, page, per_page)


def organization_rows(session: Session, q: str, sort: Sort) -> Iterator[tuple[object, ...]]:
    """The organizations matching ``q`` in the list's order as CSV rows
    (:data:`ORGANIZATION_HEADER`): domains, live and billable mailboxes counted."""
    live = (
        select(Mailbox.organization_id, func.count().label("n"))
        .where(Mailbox.deleted_at.is_(None))
        .group_by(Mailbox.organization_id)
    )
    billable = live.where(Mailbox.billable)
    counts: dict[int, int] = dict(session.execute(live).all())
    bills: dict[int, int] = dict(session.execute(billable).all())
    stmt = ordered(_organizations(q), sort, ORGANIZATION_COLUMNS, Organization.id)
    for org in session.scalars(stmt):
        yield (
            org.name,
            org.display_name,
            " ".join(d.name for d in org.domains),
            counts.get(org.id, 0),
            bills.get(org.id, 0),
            org.created_at.isoformat(timespec="seconds"),
        )


def add_organization(session: Session, name: str, display_name: str = "") -> Organization:
    """A new organization with its Main policy group; the name must be free."""
    name, display_name = name.strip(), display_name.strip()
    errors = too_long(Organization, name=name, display_name=display_name)
    if not name:
        errors["name"] = "must not be empty"
    elif problem := name_problem(name):
        errors.setdefault("name", problem)
    if errors:
        raise FieldErrors(errors)
    if session.scalar(select(Organization.id).where(Organization.name == name)):
        raise ConfigError(f"an organization named {name!r} exists", field="name")
    return create_organization(session, name, display_name)


def add_domain(session: Session, org: Organization, name: str) -> Domain:
    """Add an internal domain to an organization."""
    name = name.strip().lower()
    if not name or "." not in name or " " in name or "@" in name:
        raise ConfigError(f"{name!r} is not a domain name", field="name")
    if errors := too_long(Domain, name=name):
        raise FieldErrors(errors)
    if any(d.name == name for d in org.domains):
        raise ConfigError(f"{name} is already a domain of {org.name}", field="name")
    domain = Domain(organization_id=org.id, name=name)
    session.add(domain)
    session.flush()
    return domain


def policy_groups(session: Session, org_id: int) -> list[PolicyGroup]:
    """The policy groups of an organization, by name."""
    return list(
        session.scalars(
            select(PolicyGroup)
            .where(PolicyGroup.organization_id == org_id)
            .order_by(PolicyGroup.name)
        )
    )


def groups_of_mailbox(session: Session, mailbox: Mailbox) -> list[SourceGroup]:
    """The source groups a mailbox belongs to, directly or through nesting."""
    return list(
        session.scalars(
            select(SourceGroup)
            .join(SourceGroupClosure, SourceGroupClosure.group_id == SourceGroup.id)
            .where(SourceGroupClosure.mailbox_id == mailbox.id, SourceGroup.deleted_at.is_(None))
            .order_by(SourceGroup.name)
        )
    )


def group_members(session: Session, group: SourceGroup, page: int, per_page: int) -> Page[Mailbox]:
    """The live mailboxes in a group, directly or through nesting, by address."""
    stmt = (
        select(Mailbox)
        .join(SourceGroupClosure, SourceGroupClosure.mailbox_id == Mailbox.id)
        .where(SourceGroupClosure.group_id == group.id, Mailbox.deleted_at.is_(None))
        .order_by(Mailbox.primary_address, Mailbox.id)
    )
    return paginate(session, stmt, page, per_page)


def list_groups(
    session: Session,
    org_id: int,
    page: int,
    per_page: int,
    q: str = "",
    kind: GroupKind | None = None,
) -> Page[SourceGroup]:
    """The synced source groups of an organization."""
    stmt = (
        select(SourceGroup)
        .where(SourceGroup.organization_id == org_id, SourceGroup.deleted_at.is_(None))
        .order_by(SourceGroup.name)
    )
    if q.strip():
        stmt = stmt.where(contains(SourceGroup.search_text, q))
    if kind is not None:
        stmt = stmt.where(SourceGroup.kind == kind)
    return paginate(session, stmt, page, per_page)


@dataclass(frozen=True)
class GrantView:
    """A delegate grant as administrators read it: who, which right, its source, via which group."""

    id: int
    delegate_id: int
    delegate: str
    right: Right
    origin: str
    source: str
    via_group: str | None
    manual: bool


def grants_of_mailbox(session: Session, mailbox: Mailbox) -> list[GrantView]:
    """Every grant on a mailbox with its source named (the task, or the person who added it)."""
    delegate = aliased(Mailbox)
    rows = session.execute(
        select(DelegateGrant, delegate.primary_address, ScheduledTask.name, SourceGroup.name)
        .join(delegate, delegate.id == DelegateGrant.delegate_id)
        .outerjoin(ScheduledTask, ScheduledTask.id == DelegateGrant.origin_task_id)
        .outerjoin(SourceGroup, SourceGroup.id == DelegateGrant.via_group_id)
        .where(DelegateGrant.mailbox_id == mailbox.id)
        .order_by(delegate.primary_address, DelegateGrant.right)
    ).all()
    out = []
    for grant, address, task_name, group_name in rows:
        manual = grant.manual
        source = f"manual, by {grant.granted_by or 'unknown'}" if manual else f"task {task_name}"
        out.append(
            GrantView(
                id=grant.id,
                delegate_id=grant.delegate_id,
                delegate=address,
                right=grant.right,
                origin=grant.origin,
                source=source,
                via_group=group_name,
                manual=manual,
            )
        )
    return out


def add_manual_grant(
    session: Session, mailbox: Mailbox, delegate_address: str, right: Right, granted_by: str
) -> DelegateGrant:
    """A grant added by hand (no origin task: manual); syncs never touch it."""
    address = delegate_address.strip().lower()
    delegate = session.scalar(
        select(Mailbox).where(
            Mailbox.organization_id == mailbox.organization_id,
            Mailbox.deleted_at.is_(None),
            or_(
                Mailbox.primary_address == address,
                Mailbox.id.in_(
                    select(MailboxAlias.mailbox_id).where(MailboxAlias.address == address)
                ),
            ),
        )
    )
    if delegate is None:
        raise ConfigError(f"no mailbox {address!r} in this organization", field="delegate")
    if delegate.id == mailbox.id:
        raise ConfigError("a mailbox cannot be its own delegate", field="delegate")
    exists = session.scalar(
        select(DelegateGrant.id).where(
            and_(
                DelegateGrant.mailbox_id == mailbox.id,
                DelegateGrant.delegate_id == delegate.id,
                DelegateGrant.right == right,
                DelegateGrant.origin_task_id.is_(None),
            )
        )
    )
    if exists:
        raise ConfigError(f"{address} already holds {right.value} by hand", field="delegate")
    grant = DelegateGrant(
        organization_id=mailbox.organization_id,
        mailbox_id=mailbox.id,
        delegate_id=delegate.id,
        right=right,
        granted_by=granted_by,
    )
    session.add(grant)
    session.flush()
    _record_grant(session, "add", grant, mailbox, delegate, granted_by)
    return grant


def remove_manual_grant(session: Session, grant_id: int, removed_by: str) -> DelegateGrant:
    """Remove a grant added by hand; grants of a sync belong to their task."""
    grant = get_or_404(session, DelegateGrant, grant_id, "delegate grant")
    if not grant.manual:
        raise ConfigError(
            f"this grant comes from {grant.origin}; only manual grants are removed by hand",
            field="grant",
        )
    mailbox, delegate = (
        session.get(Mailbox, grant.mailbox_id),
        session.get(Mailbox, grant.delegate_id),
    )
    assert mailbox is not None and delegate is not None
    _record_grant(session, "remove", grant, mailbox, delegate, removed_by)
    session.delete(grant)
    session.flush()
    return grant


def _record_grant(
    session: Session,
    action: str,
    grant: DelegateGrant,
    mailbox: Mailbox,
    delegate: Mailbox,
    by: str,
) -> None:
    """A change record of a manual grant (named as permission sync names grants), so the
    run history's readers and the change feed see it like a sync's."""
    key = f"{mailbox.primary_address} | {delegate.primary_address} | {grant.right.value}"
    manual = {"origin": "manual", "granted_by": grant.granted_by}
    added = action == "add"
    change = Change(
        action,
        GRANT_ENTITY,
        key,
        f"by hand: {by}",
        None if added else manual,
        manual if added else None,
    )
    record_changes(
        session, [change], run_id=None, organization_id=mailbox.organization_id, actor=by
    )
