"""Revision 0010 indexes a run's change records by action and entity, and its downgrade drops
the index, leaving the records as they were."""

from __future__ import annotations

from alembic import command
from sqlalchemy import inspect, select

from tenantsync.engine.plan import Change
from tenantsync.store.changes import record_changes
from tenantsync.store.database import Database, alembic_config
from tenantsync.store.models import ChangeRecord
from tests.support.factory import make_org

INDEX = "ix_change_record_run_action_entity"


def _indexes(database: Database) -> dict[str, list[str | None]]:
    found = inspect(database.engine).get_indexes("change_record")
    return {i["name"]: i["column_names"] for i in found if i["name"]}


def _downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as conn:
        cfg = alembic_config(database.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def test_0010_indexes_a_runs_changes_by_action_and_entity_and_its_downgrade_drops_it(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade()
    assert _indexes(database)[INDEX] == ["run_id", "action", "entity"]
    with database.session() as s:
        org = make_org(s)
        change = Change("add", "mailbox", "a@contoso.example", "in the source")
        record_changes(s, [change], run_id=None, organization_id=org.id, actor="test")
    _downgrade(database, "0009")
    assert INDEX not in _indexes(database)
    database.upgrade()
    database.check_schema()
    with database.session() as s:
        assert s.scalars(select(ChangeRecord.key)).all() == ["a@contoso.example"]
    database.dispose()
