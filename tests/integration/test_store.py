"""The store: migrations, schema checks, defaults that every organization gets."""

from __future__ import annotations

import itertools

import pytest
from alembic import command
from sqlalchemy import select, text

from tenantsync.errors import SchemaMismatch
from tenantsync.model import is_billable
from tenantsync.store.database import Database, alembic_config
from tenantsync.store.models import Mailbox, MailboxKind, PolicyGroup
from tenantsync.timeutil import utcnow
from tests.support.factory import make_org


def test_migrations_go_up_from_empty_and_match_the_models(database_url: str) -> None:
    database = Database(database_url)
    assert database.current_revision() is None
    database.upgrade()
    with database.engine.begin() as conn:
        cfg = alembic_config(database_url)
        cfg.attributes["connection"] = conn
        command.check(cfg)  # raises when the models and the migrations disagree
    database.check_schema()
    database.dispose()


def test_a_process_on_an_unmigrated_database_is_told_to_run_db_upgrade(database_url: str) -> None:
    database = Database(database_url)
    with pytest.raises(SchemaMismatch, match="run `tenantsync db upgrade`"):
        database.check_schema()
    database.dispose()


def test_a_database_from_a_newer_tenantsync_is_refused(db: Database) -> None:
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaMismatch, match=r"newer than this tenantsync.*upgrade tenantsync"):
        db.check_schema()


def test_every_organization_gets_a_main_policy_group(db: Database) -> None:
    with db.session() as session:
        org = make_org(session)
        groups = session.scalars(
            select(PolicyGroup).where(PolicyGroup.organization_id == org.id)
        ).all()
    assert [(g.name, g.is_default) for g in groups] == [("Main", True)]


def test_only_licensed_enabled_user_mailboxes_are_billable(db: Database) -> None:
    with db.session() as session:
        org = make_org(session)
        rows = [
            ("user@contoso.com", MailboxKind.USER, True, True),
            ("unlicensed@contoso.com", MailboxKind.USER, False, True),
            ("shared@contoso.com", MailboxKind.SHARED, True, True),
            ("room@contoso.com", MailboxKind.ROOM, False, True),
        ]
        for address, kind, licensed, enabled in rows:
            session.add(
                Mailbox(
                    organization_id=org.id,
                    primary_address=address,
                    kind=kind,
                    licensed=licensed,
                    enabled=enabled,
                )
            )
        session.flush()
        billable = session.scalars(select(Mailbox.primary_address).where(Mailbox.billable)).all()
        reasons = {
            m.primary_address: m.non_billable_reason for m in session.scalars(select(Mailbox))
        }
    assert billable == ["user@contoso.com"]
    assert reasons == {
        "user@contoso.com": None,
        "unlicensed@contoso.com": "unlicensed",
        "shared@contoso.com": "shared mailbox",
        "room@contoso.com": "room mailbox",
    }


def test_times_come_back_aware_utc(db: Database) -> None:
    with db.session() as session:
        org = make_org(session)
        created = org.created_at
    with db.session() as session:
        again = session.get(type(org), org.id)
        assert again is not None
        assert again.created_at.tzinfo is not None
        assert abs((again.created_at - created).total_seconds()) < 1
        assert again.created_at <= utcnow()


def test_the_billable_filter_agrees_with_the_one_definition_of_billable(db: Database) -> None:
    combos = list(itertools.product(MailboxKind, (True, False), (True, False), (True, False)))
    now = utcnow()
    with db.session() as session:
        org = make_org(session)
        for n, (kind, licensed, enabled, removed) in enumerate(combos):
            session.add(
                Mailbox(
                    organization_id=org.id,
                    primary_address=f"m{n}@contoso.com",
                    kind=kind,
                    licensed=licensed,
                    enabled=enabled,
                    deleted_at=now if removed else None,
                )
            )
        session.flush()
        by_sql = set(session.scalars(select(Mailbox.primary_address).where(Mailbox.billable)))
        rows = session.scalars(select(Mailbox)).all()
        by_model = {
            m.primary_address
            for m in rows
            if is_billable(
                m.kind, licensed=m.licensed, enabled=m.enabled, removed=m.deleted_at is not None
            )
        }
        reasons = {m.primary_address: m.non_billable_reason for m in rows}
    assert by_sql == by_model == {m.primary_address for m in rows if m.billable}
    assert len(by_sql) == 1
    assert {a for a, reason in reasons.items() if reason is None} == by_sql
