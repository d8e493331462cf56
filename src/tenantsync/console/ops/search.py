"""The header's search: people, mailboxes, groups and organizations in every organization,
whatever the case and accents (``store.search``). No grant is ever part of an answer."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from tenantsync.console.ops.tables import AnySelect
from tenantsync.store.directory import mailbox_matches
from tenantsync.store.models import Mailbox, MailboxKind, Organization, SourceGroup
from tenantsync.store.search import contains

SHOWN = 25  # of each kind; the count says how many more the organization's list holds


@dataclass
class Found:
    """What a search found of one kind: the first rows and how many there are."""

    rows: list[tuple[object, ...]] = field(default_factory=list)
    total: int = 0


def everywhere(session: Session, q: str) -> dict[str, Found]:
    """People (user mailboxes), other mailboxes, groups and organizations matching ``q``:
    each as (object, organization id, organization name) rows, live ones first."""
    people, others = _mailboxes(session, mailbox_matches(q))
    group_hit = contains(SourceGroup.search_text, q)
    org_hit = contains(Organization.search_text, q)
    return {
        "people": people,
        "mailboxes": others,
        "groups": _found(
            session,
            select(SourceGroup, Organization.id, Organization.name)
            .join(Organization, Organization.id == SourceGroup.organization_id)
            .where(group_hit, SourceGroup.deleted_at.is_(None))
            .order_by(SourceGroup.name, SourceGroup.id),
        ),
        "organizations": _found(
            session,
            select(Organization, Organization.id, Organization.name)
            .where(org_hit)
            .order_by(Organization.name),
        ),
    }


def _mailboxes(session: Session, hit: ColumnElement[bool]) -> tuple[Found, Found]:
    """(people, other mailboxes) matching: the first of each (live first, by name) and
    their counts, from one pass over the matches; then only those rows are loaded (joined
    in the same statement, PostgreSQL expected every match and read every mailbox)."""
    person = case((Mailbox.kind == MailboxKind.USER, 1), else_=0)
    order = (Mailbox.deleted_at.is_not(None), Mailbox.display_name, Mailbox.primary_address)
    ranked = (
        select(
            Mailbox.id.label("id"),
            person.label("person"),
            func.row_number().over(partition_by=person, order_by=(*order, Mailbox.id)).label("n"),
            func.count().over(partition_by=person).label("total"),
        )
        .where(hit)
        .subquery()
    )
    first = session.execute(
        select(ranked.c.id, ranked.c.person, ranked.c.total)
        .where(ranked.c.n <= SHOWN)
        .order_by(ranked.c.n)
    ).all()
    loaded = {
        mailbox.id: (mailbox, org_id, org_name)
        for mailbox, org_id, org_name in session.execute(
            select(Mailbox, Organization.id, Organization.name)
            .join(Organization, Organization.id == Mailbox.organization_id)
            .where(Mailbox.id.in_([mailbox_id for mailbox_id, _, _ in first]))
        )
    }
    found = {1: Found(), 0: Found()}
    for mailbox_id, is_person, total in first:
        found[is_person].rows.append(loaded[mailbox_id])
        found[is_person].total = total
    return found[1], found[0]


def _found(session: Session, stmt: AnySelect) -> Found:
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    rows = [tuple(r) for r in session.execute(stmt.limit(SHOWN))]
    return Found(rows, total or 0)
