"""Upgrading a store that has data to revision 0005 and back: what was stored keeps its
meaning (links of synced mailboxes, a mailbox's location, ...)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from alembic import command
from sqlalchemy import Connection, MetaData, select, text

from tenantsync.engine.permission_sync.state import MailboxRead, load_state
from tenantsync.model.permissions import AclEntry, Right, Trustee
from tenantsync.store.database import Database, alembic_config
from tenantsync.store.models import DelegateGrant, Run, RunStatus, Trigger
from tenantsync.timeutil import utcnow

LAST_FULL = datetime(2026, 11, 1, tzinfo=UTC)
# An entry as permission sync stored it: mailbox, trustee name, SID, UPN, id, right, deny.
ENTRY = [
    "info@contoso.com",
    "Adele Vance",
    None,
    "adele@contoso.com",
    "aad-adele",
    "send_as",
    False,
]


def _downgrade(database: Database, revision: str) -> None:
    with database.engine.begin() as conn:
        cfg = alembic_config(database.url)
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def _insert(conn: Connection, tables: MetaData, table: str, **values: Any) -> int:
    """A row in ``table`` as the schema of the database's revision has it; its id."""
    result = conn.execute(tables.tables[table].insert().values(**values))
    key = result.inserted_primary_key
    return int(key[0]) if key else 0


def _legacy_store(database: Database) -> dict[str, int]:
    """An organization as revision 0004 held it: a user sync task over a connection and the
    mailboxes it synced, and one mailbox nobody synced."""
    now = utcnow()
    with database.engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        org = _insert(conn, tables, "organization", name="contoso", display_name="", created_at=now)
        connection = _insert(
            conn,
            tables,
            "connection",
            organization_id=org,
            name="m365",
            kind="m365",
            params={},
            created_at=now,
            updated_at=now,
        )
        definition = _insert(
            conn,
            tables,
            "definition",
            organization_id=org,
            name="users",
            type="user_sync",
            options={},
            created_at=now,
            updated_at=now,
        )
        task = _insert(
            conn,
            tables,
            "scheduled_task",
            organization_id=org,
            name="users",
            definition_id=definition,
            connection_id=connection,
            scope_kind="all",
            enabled=True,
            created_at=now,
        )
        perms_definition = _insert(
            conn,
            tables,
            "definition",
            organization_id=org,
            name="perms",
            type="mailbox_permission_sync",
            options={},
            created_at=now,
            updated_at=now,
        )
        perms = _insert(
            conn,
            tables,
            "scheduled_task",
            organization_id=org,
            name="perms",
            definition_id=perms_definition,
            connection_id=connection,
            scope_kind="all",
            enabled=True,
            created_at=now,
        )
        ids = {"org": org, "connection": connection, "task": task, "perms": perms}
        for name, owner in (("adele", task), ("info", task), ("hand", None)):
            ids[name] = _insert(
                conn,
                tables,
                "mailbox",
                organization_id=org,
                primary_address=f"{name}@contoso.com",
                display_name=name,
                kind="user",
                licensed=True,
                enabled=True,
                source_id=f"aad-{name}",
                attributes={},
                synced_by_task_id=owner,
                first_seen=now,
                last_seen=now,
            )
        _insert(
            conn,
            tables,
            "mailbox_alias",
            organization_id=org,
            mailbox_id=ids["adele"],
            address="av@contoso.com",
        )
        ids["run"] = _insert(
            conn,
            tables,
            "run",
            task_id=task,
            trigger="manual",
            status="succeeded",
            created_at=now,
            attempts=1,
            retried=False,
            cancel_requested=False,
            confirm_removals=False,
            counts={},
            messages=[],
        )
        _insert(
            conn,
            tables,
            "change_record",
            run_id=ids["run"],
            organization_id=org,
            at=now,
            actor="task users",
            entity="mailbox",
            key="adele@contoso.com",
            action="add",
        )
        grant = {"organization_id": org, "mailbox_id": ids["info"], "created_at": now}
        ids["task_grant"] = _insert(
            conn,
            tables,
            "delegate_grant",
            **grant,
            delegate_id=ids["adele"],
            right="full_access",
            origin=f"task:{perms}",
            origin_task_id=perms,
        )
        ids["manual_grant"] = _insert(
            conn,
            tables,
            "delegate_grant",
            **grant,
            delegate_id=ids["hand"],
            right="send_as",
            origin="manual",
            granted_by="ops@msp.example",
        )
        # A grant of a task deleted long ago: its task id was set to NULL with the task.
        _insert(
            conn,
            tables,
            "delegate_grant",
            **grant,
            delegate_id=ids["hand"],
            right="full_access",
            origin="task:999",
        )
        conn.execute(
            tables.tables["sync_state"]
            .insert()
            .values(
                task_id=perms,
                key="permission_sync",
                updated_at=now,
                value={
                    "version": 2,
                    "last_full_at": LAST_FULL.isoformat(),
                    "rights": ["full_access", "send_as"],
                    "unresolved": 2,
                    "mailboxes": {
                        str(ids["info"]): ["stamp-info", [ENTRY]],
                        str(ids["adele"]): [None, []],
                        "999999": ["gone", []],  # a mailbox removed from the store since
                    },
                },
            )
        )
    return ids


def test_an_upgrade_links_synced_mailboxes_and_places_them_in_the_cloud(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade("0004")
    ids = _legacy_store(database)
    database.upgrade()
    with database.engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        link = tables.tables["source_link"]
        links = conn.execute(
            select(link.c.connection_id, link.c.object_kind, link.c.source_id, link.c.mailbox_id)
        ).all()
        mailbox = tables.tables["mailbox"]
        places = set(conn.execute(select(mailbox.c.location, mailbox.c.recipient_type)).all())
    assert sorted(tuple(r) for r in links) == [
        (ids["connection"], "mailbox", "aad-adele", ids["adele"]),
        (ids["connection"], "mailbox", "aad-info", ids["info"]),
    ]
    assert places == {("cloud", None)}
    _downgrade(database, "0004")
    with database.engine.begin() as conn:
        # Nothing that hangs off a mailbox or a run is lost on the way down.
        counts = {
            name: conn.execute(text(f"SELECT COUNT(*) FROM {name}")).scalar_one()
            for name in ("mailbox", "mailbox_alias", "run", "change_record", "delegate_grant")
        }
    assert counts == {
        "mailbox": 3,
        "mailbox_alias": 1,
        "run": 1,
        "change_record": 1,
        "delegate_grant": 2,
    }
    database.upgrade()
    database.check_schema()
    database.dispose()


def test_what_permission_sync_remembered_moves_into_rows_and_back(database_url: str) -> None:
    database = Database(database_url)
    database.upgrade("0004")
    ids = _legacy_store(database)
    database.upgrade()
    with database.session() as session:
        state = load_state(session, ids["perms"])
    entry = AclEntry(
        "info@contoso.com",
        Trustee("Adele Vance", None, "adele@contoso.com", "aad-adele"),
        Right.SEND_AS,
    )
    assert state.last_full_at == LAST_FULL
    assert state.rights == frozenset({Right.FULL_ACCESS, Right.SEND_AS})
    assert state.unresolved == 2
    assert state.mailboxes == {
        ids["info"]: MailboxRead("stamp-info", (entry,)),
        ids["adele"]: MailboxRead(None),
    }
    _downgrade(database, "0004")
    with database.engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        sync_state = tables.tables["sync_state"]
        value = conn.execute(
            select(sync_state.c.value).where(sync_state.c.task_id == ids["perms"])
        ).scalar_one()
    assert value["version"] == 2
    assert value["mailboxes"] == {
        str(ids["info"]): ["stamp-info", [ENTRY]],
        str(ids["adele"]): [None, []],
    }
    database.upgrade()
    with database.session() as session:
        assert load_state(session, ids["perms"]) == state
    database.dispose()


def test_a_downgrade_turns_a_run_awaiting_confirmation_into_the_warning_it_was(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade("0004")
    ids = _legacy_store(database)
    database.upgrade()
    with database.session() as session:
        run = Run(
            task_id=ids["task"],
            trigger=Trigger.MANUAL,
            status=RunStatus.AWAITING_CONFIRMATION,
            stop_reason="this run would remove 600 mailboxes (more than 500)",
        )
        session.add(run)
        session.flush()
        run_id = run.id
    _downgrade(database, "0004")
    with database.engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        runs = tables.tables["run"]
        row = conn.execute(select(runs.c.status, runs.c.error).where(runs.c.id == run_id)).one()
    assert tuple(row) == ("warning", "this run would remove 600 mailboxes (more than 500)")
    database.dispose()


def test_a_grants_origin_is_kept_once_and_written_out_again_on_the_way_down(
    database_url: str,
) -> None:
    database = Database(database_url)
    database.upgrade("0004")
    ids = _legacy_store(database)
    database.upgrade()
    with database.session() as session:
        grants = {
            g.id: (g.origin_task_id, g.origin, g.granted_by)
            for g in session.scalars(select(DelegateGrant))
        }
    assert grants == {
        ids["task_grant"]: (ids["perms"], f"task:{ids['perms']}", None),
        ids["manual_grant"]: (None, "manual", "ops@msp.example"),
    }
    _downgrade(database, "0004")
    with database.engine.begin() as conn:
        tables = MetaData()
        tables.reflect(conn)
        table = tables.tables["delegate_grant"]
        rows = conn.execute(select(table.c.id, table.c.origin, table.c.origin_task_id)).all()
    assert sorted(tuple(r) for r in rows) == sorted(
        [
            (ids["task_grant"], f"task:{ids['perms']}", ids["perms"]),
            (ids["manual_grant"], "manual", None),
        ]
    )
    database.upgrade()
    database.check_schema()
    database.dispose()
