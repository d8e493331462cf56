"""A grant's origin is stored once: the task that granted it, or none for a person's grant.
The same grant may come from a task and by hand, never twice from one origin, and a task's
grants go with the task while manual grants stay."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tenantsync.store.database import Database
from tenantsync.store.models import (
    DelegateGrant,
    Mailbox,
    MailboxKind,
    Organization,
    Right,
    ScheduledTask,
)
from tests.support.factory import make_org, make_task


def _grant(org: int, mailbox: int, delegate: int, task: int | None) -> DelegateGrant:
    return DelegateGrant(
        organization_id=org,
        mailbox_id=mailbox,
        delegate_id=delegate,
        right=Right.FULL_ACCESS,
        origin_task_id=task,
        granted_by=None if task else "ops@msp.example",
    )


def _setup(session: Session) -> tuple[Organization, ScheduledTask, ScheduledTask, int, int]:
    org = make_org(session)
    first = make_task(session, org, "perms", type_="mailbox_permission_sync")
    second = make_task(session, org, "perms-2", type_="mailbox_permission_sync")
    shared, alice = (
        Mailbox(organization_id=org.id, primary_address=a, kind=MailboxKind.USER)
        for a in ("shared@contoso.com", "alice@contoso.com")
    )
    session.add_all([shared, alice])
    session.flush()
    return org, first, second, shared.id, alice.id


def test_one_grant_may_come_from_each_task_and_by_hand_but_never_twice_from_one(
    db: Database,
) -> None:
    with db.session() as session:
        org, first, second, shared, alice = _setup(session)
        session.add_all(
            [
                _grant(org.id, shared, alice, first.id),
                _grant(org.id, shared, alice, second.id),
                _grant(org.id, shared, alice, None),
            ]
        )
        session.flush()
        ids = (org.id, first.id, shared, alice)
        origins = set(session.scalars(select(DelegateGrant.origin)))
        manual = session.scalars(select(DelegateGrant).where(DelegateGrant.origin == "manual"))
        assert [g.granted_by for g in manual] == ["ops@msp.example"]
    assert origins == {f"task:{first.id}", f"task:{second.id}", "manual"}
    org_id, task_id, shared, alice = ids
    for again in (task_id, None):
        with db.session() as session:
            session.add(_grant(org_id, shared, alice, again))
            with pytest.raises(IntegrityError):
                session.flush()
            session.rollback()


def test_a_deleted_tasks_grants_go_with_it_and_manual_grants_stay(db: Database) -> None:
    with db.session() as session:
        org, first, second, shared, alice = _setup(session)
        session.add_all(
            [
                _grant(org.id, shared, alice, first.id),
                _grant(org.id, shared, alice, second.id),
                _grant(org.id, shared, alice, None),
            ]
        )
        session.flush()
        first_id, second_id = first.id, second.id
    with db.session() as session:
        session.delete(session.get_one(ScheduledTask, first_id))
    with db.session() as session:
        left = {
            (g.origin_task_id, g.origin, g.manual) for g in session.scalars(select(DelegateGrant))
        }
    assert left == {(second_id, f"task:{second_id}", False), (None, "manual", True)}
