"""Revision 0006 adds calendar replication's tables and its downgrade drops them, leaving
everything stored before as it was."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select

from tenantsync.store.database import Database, alembic_config
from tenantsync.store.models import Mailbox, MailboxKind
from tests.support.factory import make_org

TABLES = {"calendar_replica", "calendar_sync_state", "calendar_feed"}


def _to(database: Database, revision: str, *, down: bool) -> None:
    with database.engine.begin() as conn:
        cfg = alembic_config(database.url)
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)


def test_0006_adds_the_calendar_tables_and_its_downgrade_drops_them(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade()
    assert set(inspect(database.engine).get_table_names()) >= TABLES
    with database.session() as s:
        org = make_org(s)
        s.add(
            Mailbox(organization_id=org.id, primary_address="a@contoso.com", kind=MailboxKind.USER)
        )
    _to(database, "0005", down=True)
    assert not TABLES & set(inspect(database.engine).get_table_names())
    _to(database, "head", down=False)
    database.check_schema()
    with database.session() as s:
        assert s.scalars(select(Mailbox.primary_address)).all() == ["a@contoso.com"]
    database.dispose()
