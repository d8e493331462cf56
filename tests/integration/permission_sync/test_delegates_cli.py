"""`tenantsync delegates of/on ADDRESS`: who can open which mailbox, and who granted each."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from tenantsync.cli import app
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import DelegateGrant, Right
from tests.integration.permission_sync.store_rows import Directory
from tests.support.factory import make_org, make_task


@pytest.fixture
def cli_env(db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", settings.effective_database_url)
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    with db.session() as s:
        org = make_org(s)
        d = Directory(s, org)
        for name in ("shared", "alice", "bob"):
            d.mailbox(name)
        d.group("Helpdesk", ["bob"])
        task = make_task(s, org, "perms", type_="mailbox_permission_sync")
        m = d.mailboxes
        s.add_all(
            [
                DelegateGrant(
                    organization_id=org.id,
                    mailbox_id=m["shared"].id,
                    delegate_id=m["alice"].id,
                    right=Right.FULL_ACCESS,
                    origin_task_id=task.id,
                ),
                DelegateGrant(
                    organization_id=org.id,
                    mailbox_id=m["shared"].id,
                    delegate_id=m["bob"].id,
                    right=Right.SEND_AS,
                    origin_task_id=task.id,
                    via_group_id=d.groups["Helpdesk"].id,
                ),
                DelegateGrant(
                    organization_id=org.id,
                    mailbox_id=m["bob"].id,
                    delegate_id=m["alice"].id,
                    right=Right.SEND_ON_BEHALF,
                    granted_by="admin@msp.example",
                ),
            ]
        )


def invoke(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.usefixtures("cli_env")
def test_delegates_of_lists_the_mailboxes_a_person_can_open_and_who_granted_each() -> None:
    code, output = invoke("delegates", "of", "alice@contoso.com", "--json")
    assert code == 0, output
    rows = json.loads(output)
    assert [(r["mailbox"], r["right"], r["source"]) for r in rows] == [
        ("bob@contoso.com", "send_on_behalf", "manual by admin@msp.example"),
        ("shared@contoso.com", "full_access", "task perms"),
    ]


@pytest.mark.usefixtures("cli_env")
def test_delegates_on_lists_who_holds_which_right_and_through_which_group() -> None:
    code, output = invoke("delegates", "on", "SHARED@contoso.com", "--json")
    assert code == 0, output
    rows = json.loads(output)
    assert [(r["delegate"], r["right"], r["via_group"]) for r in rows] == [
        ("alice@contoso.com", "full_access", None),
        ("bob@contoso.com", "send_as", "Helpdesk"),
    ]
    code, output = invoke("delegates", "on", "shared@contoso.com")
    assert code == 0, output
    assert "Send As" in output and "Helpdesk" in output and "task perms" in output


@pytest.mark.usefixtures("cli_env")
def test_an_unknown_address_is_an_error_that_names_it() -> None:
    result = CliRunner().invoke(app, ["delegates", "of", "nobody@contoso.com"])
    assert result.exit_code != 0
    assert "nobody@contoso.com" in str(result.exception)


@pytest.mark.usefixtures("cli_env")
def test_delegates_on_and_of_narrow_to_one_right() -> None:
    code, output = invoke("delegates", "on", "shared@contoso.com", "--right", "send_as", "--json")
    assert code == 0, output
    assert [(r["delegate"], r["right"]) for r in json.loads(output)] == [
        ("bob@contoso.com", "send_as")
    ]
    code, output = invoke("delegates", "of", "alice@contoso.com", "--right", "full_access")
    assert code == 0, output
    assert "(Full Access)" in output and "shared@contoso.com" in output
    assert "bob@contoso.com" not in output
    code, output = invoke("delegates", "of", "bob@contoso.com", "--right", "send_on_behalf")
    assert code == 0 and "none" in output, output
    code, output = invoke("delegates", "of", "bob@contoso.com", "--right", "owner")
    assert code != 0 and "full_access" in output, output
