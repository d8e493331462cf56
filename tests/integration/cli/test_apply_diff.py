"""`tenantsync apply` shows, per object, every field it changes (`--diff`: would change, and
writes nothing); a definition's options in a file are its whole options, so what a partial
file resets is in the diff; a task may use stored objects by name."""

from __future__ import annotations

from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import Definition, ScheduledTask
from tests.integration.cli.test_apply import Apply, apply, count

__all__ = ["apply"]  # the fixture

FULL = """\
organizations:
  - name: contoso
    domains: [contoso.com, contoso.de]
    connections:
      - name: m365
        tenant_id: 00000000-0000-0000-0000-000000000000
        client_id: 11111111-1111-1111-1111-111111111111
        client_secret: {env: CONTOSO_CLIENT_SECRET}
    definitions:
      - name: users
        type: user_sync
        options:
          domains: [contoso.com, contoso.de]
          max_removals: 100
          rules:
            - {field: department, operator: equals, value: Vertrieb Süd, policy_group: Süd}
    schedules:
      - name: nightly
        cron: "30 2 * * *"
      - name: hourly
        interval: 1h
    tasks:
      - name: users
        definition: users
        connection: m365
        schedule: nightly
"""
ONLY_RULES = """\
organizations:
  - name: contoso
    definitions:
      - name: users
        type: user_sync
        options:
          rules:
            - {field: department, operator: equals, value: Sales, policy_group: Sales}
"""
MOVE_TASK = """\
organizations:
  - name: contoso
    tasks: [{name: users, definition: users, connection: m365, schedule: hourly}]
"""


def options(db: Database) -> dict[str, object]:
    with db.session() as session:
        return dict(session.scalars(select(Definition.options)).one())


def test_a_partial_file_shows_every_option_it_resets_before_and_when_applied(
    apply: Apply, db: Database
) -> None:
    assert apply(FULL).code == 0
    stored = options(db)
    diff = apply(ONLY_RULES, "--diff")
    assert diff.code == 0, diff.err
    lines = diff.out.splitlines()
    header = "would update definition users (organization contoso)"
    assert header in lines
    block = lines[lines.index(header) + 1 :]
    assert (
        '    options.domains: ["contoso.com", "contoso.de"] → [] (not in the file: its default)'
        in block
    )
    assert "    options.max_removals: 100 → 500 (not in the file: its default)" in block
    rules = next(line for line in block if line.startswith("    options.rules: "))
    assert '"value": "Vertrieb Süd"' in rules and '"value": "Sales"' in rules
    assert not any("options.include_guests" in line for line in block)  # unchanged
    assert "organization contoso" not in " ".join(lines[: lines.index(header)])
    assert lines[-1] == "0 created, 1 updated, 1 unchanged (nothing written)"
    assert options(db) == stored

    applied = apply(ONLY_RULES)
    assert applied.code == 0
    assert [line for line in applied.out.splitlines() if line.startswith("    ")] == [
        line for line in lines if line.startswith("    ")
    ]
    assert "updated definition users (organization contoso)" in applied.out
    assert options(db) == {
        "rules": [
            {
                "name": None,
                "field": "department",
                "operator": "equals",
                "value": "Sales",
                "case_sensitive": False,
                "policy_group": "Sales",
                "exclude": False,
            }
        ]
    }
    assert apply(ONLY_RULES, "--diff").out.splitlines() == [
        "0 created, 0 updated, 2 unchanged (nothing written)"
    ]


def test_a_three_line_file_moves_a_task_to_a_stored_schedule(apply: Apply, db: Database) -> None:
    assert apply(FULL).code == 0
    moved = apply(MOVE_TASK)
    assert moved.code == 0, moved.err
    assert "updated task users (organization contoso)" in moved.out
    assert "    schedule: nightly → hourly" in moved.out
    assert count(db, Definition) == 1 and count(db, ScheduledTask) == 1
    with db.session() as session:
        task = session.scalars(select(ScheduledTask)).one()
        assert task.schedule is not None and task.schedule.name == "hourly"


def test_a_task_naming_what_neither_the_file_nor_the_store_has_is_refused(
    apply: Apply, db: Database
) -> None:
    assert apply(FULL).code == 0
    message = apply(MOVE_TASK.replace("hourly", "weekly")).refused_at(3)
    assert "tasks[users].schedule: no schedule 'weekly' in contoso (in this file or stored)" in (
        message
    )
    first = apply(MOVE_TASK.replace("contoso", "fabrikam")).refused_at(3)
    assert "no definition 'users' in fabrikam" in first
