"""Console accounts: super administrators add accounts, change roles, disable and enable them;
a disabled account's sessions and API tokens stop at once; the last active super
administrator is never disabled or demoted; every change is in the audit log. The
`tenantsync accounts` commands follow the same rules."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.cli import main
from tenantsync.settings import Settings
from tenantsync.store.accounts import account_for_token, issue_token
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, ConsoleAccount, Role
from tests.support.console import EMAILS, PASSWORD


def account_id(db: Database, email: str) -> int:
    with db.session() as session:
        found = session.scalar(select(ConsoleAccount.id).where(ConsoleAccount.email == email))
        assert found is not None
        return found


def audit_actions(db: Database) -> list[tuple[str, str, str]]:
    with db.session() as session:
        rows = session.execute(
            select(AuditEntry.actor, AuditEntry.action, AuditEntry.target)
            .where(AuditEntry.action.like("account.%"))
            .order_by(AuditEntry.id)
        )
        return [(actor, action, target) for actor, action, target in rows]


def test_a_super_administrator_adds_an_account_that_then_signs_in(
    root: Any, make_client: Any, db: Database
) -> None:
    listing = root.page("/accounts")
    assert listing.status_code == 200
    assert '<a href="/accounts">Accounts</a>' in listing.text
    assert all(email in listing.text for email in EMAILS.values())
    admin_home = make_client(Role.ADMIN).page("/")
    assert '<a href="/accounts">Accounts</a>' not in admin_home.text  # nav: super admins only

    short = root.submit(
        "/accounts", {"email": "megan@example.com", "password": "short", "role": "admin"}
    )
    assert short.status_code == 422
    assert re.search(r'id="err-password">[^<]*12 characters', short.text)
    assert 'value="megan@example.com"' in short.text and "short" not in short.text.split("<h2")[-1]
    taken = root.submit(
        "/accounts", {"email": EMAILS[Role.ADMIN], "password": PASSWORD, "role": "admin"}
    )
    assert taken.status_code == 422 and "already exists" in taken.text

    added = root.submit(
        "/accounts", {"email": "Megan@Example.com", "password": PASSWORD, "role": "admin"}
    )
    assert added.status_code == 303
    assert "megan@example.com" in root.page("/accounts").text
    megan = make_client()
    assert megan.sign_in("megan@example.com").status_code == 303
    assert "administrator" in megan.page("/").text
    assert ("root@example.com", "account.create", "megan@example.com") in audit_actions(db)


def test_disabling_an_account_stops_its_session_and_tokens_at_once(
    root: Any, make_client: Any, api: Any, db: Database
) -> None:
    admin_page, admin_api = make_client(Role.ADMIN), api(Role.ADMIN)
    assert admin_api.get("/api/v1/me").status_code == 200
    target = account_id(db, EMAILS[Role.ADMIN])

    disabled = root.submit(f"/accounts/{target}/disable")
    assert disabled.status_code == 303
    assert "1 API token revoked" in root.page("/accounts").text
    assert admin_api.get("/api/v1/me").status_code == 401
    assert admin_page.get("/").status_code == 303  # session no longer signs anyone in
    assert make_client().sign_in(EMAILS[Role.ADMIN]).status_code == 401  # wrong email or password

    assert root.submit(f"/accounts/{target}/enable").status_code == 303
    assert make_client().sign_in(EMAILS[Role.ADMIN]).status_code == 303
    assert admin_api.get("/api/v1/me").status_code == 401  # revoked tokens stay revoked
    actions = [a for _, a, t in audit_actions(db) if t == EMAILS[Role.ADMIN]]
    assert actions == ["account.disable", "account.enable"]


def test_roles_change_through_the_api_and_apply_at_once(api: Any, db: Database) -> None:
    root, reader = api(Role.SUPER_ADMIN), api(Role.READ_ONLY)
    assert reader.get("/api/v1/accounts").status_code == 403
    listed = root.get("/api/v1/accounts", params={"q": "reader"}).json()
    assert listed["total"] == 1
    entry = listed["items"][0]
    assert entry["email"] == EMAILS[Role.READ_ONLY] and entry["role"] == "read_only"
    assert entry["disabled"] is False and "password" not in str(entry).lower()

    changed = root.patch(f"/api/v1/accounts/{entry['id']}", json={"role": "super_admin"})
    assert changed.status_code == 200 and changed.json()["role"] == "super_admin"
    assert reader.get("/api/v1/accounts").status_code == 200

    created = root.post("/api/v1/accounts", json={"email": "ops@example.com", "password": PASSWORD})
    assert created.status_code == 201
    assert created.json()["role"] == "read_only" and created.json()["last_sign_in_at"] is None
    weak = root.post("/api/v1/accounts", json={"email": "x@example.com", "password": "weak"})
    assert weak.status_code == 422 and "password" in weak.json()["errors"]
    off = root.patch(f"/api/v1/accounts/{created.json()['id']}", json={"disabled": True})
    assert off.status_code == 200 and off.json()["disabled"] is True
    assert root.patch("/api/v1/accounts/999999", json={"disabled": True}).status_code == 404
    actions = [a for _, a, _ in audit_actions(db)]
    assert actions == ["account.role", "account.create", "account.disable"]


def test_the_last_active_super_administrator_is_never_disabled_or_demoted(
    root: Any, api: Any, db: Database
) -> None:
    rest = api(Role.SUPER_ADMIN)
    me = account_id(db, EMAILS[Role.SUPER_ADMIN])
    for change in ({"disabled": True}, {"role": "admin"}):
        refused = rest.patch(f"/api/v1/accounts/{me}", json=change)
        assert refused.status_code == 409, refused.text
        assert "last active super administrator" in refused.json()["detail"]
    page = root.submit(f"/accounts/{me}/disable")
    assert page.status_code == 409 and "last active super administrator" in page.text
    demote = root.submit(f"/accounts/{me}/role", {"role": "read_only"})
    assert demote.status_code == 409
    assert rest.get("/api/v1/me").json()["role"] == "super_admin"

    # With a second super administrator the first may step down.
    other = account_id(db, EMAILS[Role.ADMIN])
    assert root.submit(f"/accounts/{other}/role", {"role": "super_admin"}).status_code == 303
    assert rest.patch(f"/api/v1/accounts/{me}", json={"role": "admin"}).status_code == 200
    assert rest.get("/api/v1/accounts").status_code == 403
    assert (
        api(Role.ADMIN)
        .patch(f"/api/v1/accounts/{other}", json={"disabled": True})
        .json()["detail"]
        .startswith(EMAILS[Role.ADMIN])
    )


def cli(*args: str) -> int:
    """Run ``tenantsync ARGS`` in-process; its exit code."""
    with pytest.raises(SystemExit) as done:
        main(list(args))
    return int(done.value.code or 0)


def test_the_command_line_follows_the_same_rules(
    db: Database,
    settings: Settings,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: Any,
) -> None:
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTSYNC_ADMIN_PASSWORD", PASSWORD)
    assert cli("accounts", "add", "boss@example.com", "--role", "super_admin") == 0
    assert cli("accounts", "disable", "boss@example.com") == 2
    assert cli("accounts", "role", "boss@example.com", "admin") == 2
    assert "last active super administrator" in capsys.readouterr().err
    assert cli("accounts", "add", "ops@example.com", "--role", "admin") == 0
    with db.session() as session:
        ops = session.scalars(select(ConsoleAccount).filter_by(email="ops@example.com")).one()
        value = issue_token(session, ops, "nightly").value
    assert cli("accounts", "disable", "ops@example.com") == 0
    with db.session() as session:
        assert account_for_token(session, value) is None
    capsys.readouterr()
    assert cli("accounts", "list", "--json") == 0
    listed = {a["email"]: a for a in json.loads(capsys.readouterr().out)}
    assert listed["ops@example.com"]["disabled"] is True
    assert cli("accounts", "enable", "ops@example.com") == 0
    assert cli("accounts", "role", "ops@example.com", "super_admin") == 0
    assert cli("accounts", "disable", "boss@example.com") == 0  # no longer the last one
    assert [(actor, action) for actor, action, _ in audit_actions(db)] == [
        ("cli", "account.create"),
        ("cli", "account.create"),
        ("cli", "account.disable"),
        ("cli", "account.enable"),
        ("cli", "account.role"),
        ("cli", "account.disable"),
    ]
