"""What is done on the command line is in the audit log, as what is done in the console is:
`init`, `apply` with what it changed, console accounts, runs started, confirmed and
cancelled."""

from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, select

from tenantsync.store.models import AuditEntry, Run, RunStatus, ScheduledTask, Trigger
from tests.integration.cli.test_commands import EXAMPLE
from tests.support.cli import Cli


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, f"sqlite:///{tmp_path / 'tenantsync.db'}")


def audit(cli: Cli) -> list[tuple[str, str, str, dict[str, Any]]]:
    engine = create_engine(cli.url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(
                    AuditEntry.actor, AuditEntry.action, AuditEntry.target, AuditEntry.detail
                ).order_by(AuditEntry.id)
            ).all()
    finally:
        engine.dispose()
    return [(a, b, c, dict(d)) for a, b, c, d in rows]


def stop_a_run(cli: Cli) -> int:
    """A run of the housekeeping task that stopped at the removal threshold."""
    engine = create_engine(cli.url)
    try:
        with engine.begin() as conn:
            task_id = conn.scalar(select(ScheduledTask.id))
            return int(
                conn.execute(
                    Run.__table__.insert()
                    .values(
                        task_id=task_id,
                        trigger=Trigger.MANUAL,
                        status=RunStatus.AWAITING_CONFIRMATION,
                        attempts=1,
                        retried=False,
                        cancel_requested=False,
                        confirm_removals=False,
                        counts={},
                        messages=[],
                        review=["old@contoso.com"],
                    )
                    .returning(Run.__table__.c.id)
                ).scalar_one()
            )
    finally:
        engine.dispose()


def test_command_line_actions_are_in_the_audit_log(cli: Cli, tmp_path: Path) -> None:
    cli("init", "--admin", "Admin@Contoso.com")
    cli("apply", str(EXAMPLE))
    changed = tmp_path / "changed.yaml"
    changed.write_text(EXAMPLE.read_text().replace("retention_days: 90", "retention_days: 30"))
    cli("apply", str(changed), "--diff")  # writes nothing, so it is not an action
    cli("apply", str(changed))
    cli("accounts", "add", "reader@contoso.com", "--role", "read_only")
    cli("accounts", "role", "reader@contoso.com", "admin")
    cli("task", "run", "contoso/housekeeping", "--wait")
    queued = json.loads(cli("task", "run", "contoso/housekeeping", "--preview", "--json").stdout)
    cli("runs", "cancel", str(queued["id"]))
    stopped = stop_a_run(cli)
    cli("runs", "confirm", str(stopped))

    entries = audit(cli)
    assert [(actor, action) for actor, action, _target, _detail in entries] == [
        ("cli", "init"),
        ("cli", "config.apply"),
        ("cli", "config.apply"),
        ("cli", "account.create"),
        ("cli", "account.role"),
        ("cli", "task.run"),
        ("cli", "task.preview"),
        ("cli", "run.cancel"),
        ("cli", "run.confirm"),
    ]
    assert all(detail["user"] == getpass.getuser() for *_rest, detail in entries)
    assert entries[0][2] == "admin@contoso.com"
    first, second = entries[1][3], entries[2][3]
    assert entries[2][2] == str(changed)
    assert "organization contoso" in first["created"]
    assert second["updated"] == ["definition housekeeping"]
    (definition,) = second["diff"]
    assert definition["changes"] == [{"field": "options.retention_days", "before": 90, "after": 30}]
    assert entries[6][3]["run"] == queued["id"] and entries[7][3] == {
        "run": queued["id"],
        "user": getpass.getuser(),
    }
    assert entries[8][3]["run"] == stopped and entries[8][3]["confirmed_by_run"] > stopped
