"""Plans, change logs, options and audit details keep non-ASCII text as written wherever
they are shown: the run page, the definition form, the audit log, the API and the CLI."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tenantsync.cli import main
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import (
    AuditEntry,
    ChangeRecord,
    Organization,
    Role,
    Run,
    RunStatus,
    Trigger,
)
from tests.support.console import Seeded, seed_directory
from tests.support.factory import make_task

NAME = "Jóhanna Ørsted-Müller"


@pytest.fixture
def seeded(db: Database) -> Seeded:
    return seed_directory(db)


@pytest.fixture
def run_id(db: Database, seeded: Seeded) -> int:
    """A run whose plan and change log rename a mailbox to a name with accents."""
    change = {
        "action": "update",
        "entity": "mailbox",
        "key": "johanna@contoso.example",
        "reason": "changed in the source: display_name",
        "before": {"display_name": "Johanna Orsted"},
        "after": {"display_name": NAME},
    }
    with db.session() as session:
        run = Run(
            task_id=seeded.task_id,
            trigger=Trigger.MANUAL,
            status=RunStatus.SUCCEEDED,
            plan={"counts": {"mailbox.update": 1}, "changes": [change], "total": 1},
        )
        session.add(run)
        session.flush()
        session.add(
            ChangeRecord(
                run_id=run.id,
                organization_id=seeded.org_id,
                actor="task:nightly probe",
                entity="mailbox",
                key=change["key"],
                action="update",
                before=change["before"],
                after=change["after"],
            )
        )
        session.add(AuditEntry(actor="root@example.com", action="mailbox.note", detail={"n": NAME}))
        return run.id


def test_the_run_page_and_the_api_show_names_as_written(root: Any, api: Any, run_id: int) -> None:
    for tab in ("plan", "changes"):
        page = root.page(f"/runs/{run_id}?tab={tab}").text
        assert "\\u00f3" not in page and "\\u00d8" not in page
        assert NAME in page, tab
    detail = api(Role.ADMIN).get(f"/api/v1/runs/{run_id}")
    assert NAME in detail.text and "\\u00f3" not in detail.text
    changes = api(Role.ADMIN).get(f"/api/v1/runs/{run_id}/changes")
    assert NAME in changes.text and "\\u00f3" not in changes.text
    audit = root.page("/audit").text
    assert NAME in audit and "\\u00f3" not in audit


def test_the_definition_form_shows_rules_as_written(
    root: Any, db: Database, seeded: Seeded
) -> None:
    with db.session() as session:
        org = session.get(Organization, seeded.org_id)
        assert org is not None
        task = make_task(session, org, "router", type_="probe", options={"weights": {"Süd": 1}})
        definition_id = task.definition_id
    page = root.page(f"/definitions/{definition_id}").text
    assert "Süd" in page and "\\u00fc" not in page


def test_the_cli_shows_plans_and_changes_as_written(
    run_id: int, settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    for args in (["runs", "show", str(run_id), "--json"], ["runs", "show", str(run_id)]):
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(args)
        assert not done.value.code
        shown = capsys.readouterr().out
        assert NAME in shown and "\\u00f3" not in shown
    assert json.loads(_json(run_id, capsys))["changes"][0]["after"]["display_name"] == NAME


def _json(run_id: int, capsys: Any) -> str:
    capsys.readouterr()
    with pytest.raises(SystemExit):
        main(["runs", "show", str(run_id), "--json"])
    return str(capsys.readouterr().out)
