"""Revision 0011 stores every organization's, mailbox's and source group's names folded for
the search, filled in for the rows stored before it (so the search finds them at once), with
trigram indexes on PostgreSQL; its downgrade drops them, leaving the rows as they were."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command
from sqlalchemy import inspect, select, text

from tenantsync.console.ops.search import everywhere
from tenantsync.store.database import Database, alembic_config
from tenantsync.store.models import Mailbox, Organization, SourceGroup
from tests.support.postgres import PostgresServer

TRIGRAM_INDEXES = {
    "mailbox": "ix_mailbox_search_text_trgm",
    "source_group": "ix_source_group_search_text_trgm",
}
ROWS_0010 = (
    "INSERT INTO organization (id, name, display_name, created_at)"
    " VALUES (1, 'litware', 'Litware Straße', CURRENT_TIMESTAMP)",
    "INSERT INTO mailbox (id, organization_id, primary_address, display_name, kind, location,"
    " licensed, enabled, attributes, first_seen, last_seen)"
    " VALUES (1, 1, 'jmuller@litware.example', 'Jürgen MÜLLER', 'user', 'cloud', true, true,"
    " '{}', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)",
    "INSERT INTO mailbox_alias (id, organization_id, mailbox_id, address)"
    " VALUES (1, 1, 1, 'juergen@litware.example')",
    "INSERT INTO source_group (id, organization_id, source_id, name, mail, kind, synced_at)"
    " VALUES (1, 1, 'g-1', 'Équipe Montréal', 'EQUIPE@litware.example', 'security',"
    " CURRENT_TIMESTAMP)",
)


def _downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as conn:
        cfg = alembic_config(database.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _columns(database: Database, table: str) -> set[str]:
    return {c["name"] for c in inspect(database.engine).get_columns(table)}


def _indexes(database: Database) -> set[str]:
    found = inspect(database.engine)
    return {str(i["name"]) for table in TRIGRAM_INDEXES for i in found.get_indexes(table)}


def test_0011_folds_what_was_stored_before_and_its_downgrade_drops_the_column(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade("0010")
    with database.engine.begin() as conn:
        for statement in ROWS_0010:
            conn.execute(text(statement))
    database.upgrade()
    with database.session() as s:
        assert s.scalars(select(Organization.search_text)).one() == "litware\nlitware strasse"
        assert s.scalars(select(Mailbox.search_text)).one() == (
            "jurgen muller\njmuller@litware.example\njuergen@litware.example"
        )
        assert s.scalars(select(SourceGroup.search_text)).one() == (
            "equipe montreal\nequipe@litware.example"
        )
        found = everywhere(s, "MULLER")
        assert [m.primary_address for m, _, _ in found["people"].rows] == [
            "jmuller@litware.example"
        ]
        assert everywhere(s, "juergen@")["people"].total == 1  # by its alias
        assert everywhere(s, "équipe")["groups"].total == 1
        assert everywhere(s, "STRASSE")["organizations"].total == 1
    if database.is_postgres:
        assert set(TRIGRAM_INDEXES.values()) <= _indexes(database)
    _downgrade(database, "0010")
    for table in ("organization", "mailbox", "source_group"):
        assert "search_text" not in _columns(database, table)
    assert not set(TRIGRAM_INDEXES.values()) & _indexes(database)
    with database.engine.connect() as conn:
        assert conn.execute(text("SELECT display_name FROM mailbox")).scalars().all() == [
            "Jürgen MÜLLER"
        ]
    database.upgrade()
    database.check_schema()
    database.dispose()


@pytest.mark.postgres
def test_0011_where_pg_trgm_cannot_be_created_the_search_reads_the_column_instead(
    postgres_server: PostgresServer,
) -> None:
    name = f"t_{uuid.uuid4().hex[:12]}"
    url = postgres_server.create_database(name)
    role = f"owner_{name}"  # may create tables, not extensions (no CREATE on the database)
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
    database = Database(url.replace("tenantsync@", f"{role}@"))
    database.upgrade("0010")
    with database.engine.begin() as conn:
        for statement in ROWS_0010:
            conn.execute(text(statement))
    database.upgrade()
    database.check_schema()
    assert not set(TRIGRAM_INDEXES.values()) & _indexes(database)
    with database.session() as s:
        assert everywhere(s, "jurgen müller")["people"].total == 1
    database.dispose()
