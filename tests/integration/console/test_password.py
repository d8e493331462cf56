"""Changing your own password: any role, from "Your account" or the API, with the current
password; a wrong current password counts as a failed sign-in; the change signs out every
other session of the account while the one that made it stays in; API tokens keep working;
the change is audited and no password is ever shown or logged. A super administrator (or
the command line) sets a new password for someone who lost theirs."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from tenantsync.cli import main
from tenantsync.console.ratelimit import SignInLimiter
from tenantsync.settings import Settings
from tenantsync.store.accounts import verify_password
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, ConsoleAccount, Role
from tests.support.console import EMAILS, PASSWORD, seed_accounts

NEW = "a much longer passphrase 2026"


def stored_hash(db: Database, email: str) -> str:
    with db.session() as session:
        found = session.scalar(
            select(ConsoleAccount.password_hash).where(ConsoleAccount.email == email)
        )
        assert found is not None
        return found


def audit_log(db: Database) -> list[tuple[str, str, str, str]]:
    """(actor, action, target, detail as JSON) of every password entry, oldest first."""
    with db.session() as session:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.action.like("account.password%")).order_by("id")
        )
        return [(e.actor, e.action, e.target, json.dumps(e.detail)) for e in rows]


def change(client: Any, current: str, new: str, confirm: str | None = None) -> httpx.Response:
    """Submit the change-password form of "Your account"."""
    client.page("/account")
    response: httpx.Response = client.submit(
        "/account/password",
        {
            "current_password": current,
            "new_password": new,
            "confirm_password": new if confirm is None else confirm,
        },
    )
    return response


def error_of(response: httpx.Response, field: str) -> str:
    found = re.search(rf'id="err-{field}">([^<]*)<', response.text)
    return found.group(1) if found else ""


def test_a_read_only_account_changes_its_password_from_your_account(
    make_client: Any, db: Database
) -> None:
    reader = make_client(Role.READ_ONLY)
    home = reader.page("/")
    assert '<a href="/account">Your account</a>' in home.text
    page = reader.page("/account")
    assert page.status_code == 200
    assert "Change password" in page.text and "API tokens are separate credentials" in page.text
    before = stored_hash(db, EMAILS[Role.READ_ONLY])

    changed = change(reader, PASSWORD, NEW)
    assert changed.status_code == 303 and changed.headers["location"] == "/account"
    assert "Password changed; your other sessions were signed out" in reader.page("/account").text
    after = stored_hash(db, EMAILS[Role.READ_ONLY])
    assert after != before and after.startswith("$argon2id$") and NEW not in after

    assert make_client().sign_in(EMAILS[Role.READ_ONLY], PASSWORD).status_code == 401
    assert make_client().sign_in(EMAILS[Role.READ_ONLY], NEW).status_code == 303
    entries = audit_log(db)
    assert [(actor, action, target) for actor, action, target, _ in entries] == [
        (EMAILS[Role.READ_ONLY], "account.password", EMAILS[Role.READ_ONLY])
    ]
    assert all(PASSWORD not in str(e) and NEW not in str(e) for e in entries)


def test_changing_the_password_signs_out_every_other_session_but_this_one(
    make_client: Any, api: Any, db: Database
) -> None:
    here, elsewhere = make_client(Role.ADMIN), make_client(Role.ADMIN)
    token = api(Role.ADMIN)
    assert elsewhere.get("/runs").status_code == 200

    assert change(here, PASSWORD, NEW).status_code == 303
    assert here.get("/runs").status_code == 200  # the session that made the change stays in
    ended = elsewhere.get("/runs")
    assert ended.status_code == 303 and ended.headers["location"].startswith("/signin")
    assert token.get("/api/v1/me").json()["email"] == EMAILS[Role.ADMIN]  # tokens keep working
    # The remaining session can still submit forms (its CSRF token came with the new epoch).
    assert change(here, NEW, PASSWORD).status_code == 303
    assert make_client().sign_in(EMAILS[Role.ADMIN], PASSWORD).status_code == 303


def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_sign_in(
    make_client: Any, db: Database, limiter: SignInLimiter
) -> None:
    admin = make_client(Role.ADMIN)
    before = stored_hash(db, EMAILS[Role.ADMIN])
    for _ in range(limiter.per_account):
        wrong = change(admin, "not my password at all", NEW)
        assert wrong.status_code == 422
        assert error_of(wrong, "current_password") == "the current password is wrong"
        assert "not my password at all" not in wrong.text and NEW not in wrong.text
    locked = change(admin, PASSWORD, NEW)  # even the right password waits now
    assert locked.status_code == 429 and int(locked.headers["retry-after"]) > 0
    assert "too many failed sign-in attempts" in error_of(locked, "current_password")
    assert make_client().sign_in(EMAILS[Role.ADMIN]).status_code == 429  # the same limit
    assert stored_hash(db, EMAILS[Role.ADMIN]) == before
    assert admin.get("/runs").status_code == 200  # refusals do not sign anyone out
    actions = [action for _, action, _, _ in audit_log(db)]
    assert actions == ["account.password.refused"] * (limiter.per_account + 1)


def test_a_mismatched_short_or_unchanged_new_password_is_refused_naming_the_field(
    make_client: Any, db: Database
) -> None:
    admin = make_client(Role.ADMIN)
    before = stored_hash(db, EMAILS[Role.ADMIN])

    differ = change(admin, PASSWORD, NEW, NEW + "!")
    assert differ.status_code == 422
    assert error_of(differ, "confirm_password") == "the two new passwords differ"
    assert error_of(differ, "current_password") == ""

    short = change(admin, PASSWORD, "short")
    assert short.status_code == 422
    assert error_of(short, "new_password") == "the new password must be at least 12 characters"

    same = change(admin, PASSWORD, PASSWORD)
    assert error_of(same, "new_password") == "the new password is the same as the current one"

    empty = change(admin, "", "tiny", "other")
    assert empty.status_code == 422
    assert error_of(empty, "current_password") == "give your current password"
    assert error_of(empty, "new_password") and error_of(empty, "confirm_password")

    assert stored_hash(db, EMAILS[Role.ADMIN]) == before
    assert audit_log(db) == []  # no current password was guessed wrong
    for response in (differ, short, same, empty):
        assert PASSWORD not in response.text and NEW not in response.text


def test_the_api_changes_the_password_with_a_bearer_token(
    api: Any, make_client: Any, db: Database
) -> None:
    client, browser = api(Role.READ_ONLY), make_client(Role.READ_ONLY)
    url = "/api/v1/me/password"

    wrong = client.post(url, json={"current_password": "guess guess guess", "new_password": NEW})
    assert wrong.status_code == 422
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["errors"] == {"current_password": "the current password is wrong"}
    short = client.post(url, json={"current_password": PASSWORD, "new_password": "short"})
    assert short.status_code == 422 and "12 characters" in short.json()["errors"]["new_password"]
    assert client.post(url, json={"new_password": NEW}).status_code == 422
    assert make_client().sign_in(EMAILS[Role.READ_ONLY], PASSWORD).status_code == 303

    done = client.post(url, json={"current_password": PASSWORD, "new_password": NEW})
    assert done.status_code == 204 and done.content == b""
    assert browser.get("/runs").status_code == 303  # every console session ended
    assert client.get("/api/v1/me").status_code == 200  # the token keeps working
    assert make_client().sign_in(EMAILS[Role.READ_ONLY], PASSWORD).status_code == 401
    assert make_client().sign_in(EMAILS[Role.READ_ONLY], NEW).status_code == 303

    for response in (wrong, short, done):
        assert PASSWORD not in response.text and NEW not in response.text
    entries = audit_log(db)
    assert [action for _, action, _, _ in entries] == [
        "account.password.refused",
        "account.password",
    ]
    assert all(PASSWORD not in str(e) and NEW not in str(e) for e in entries)
    listed = api(Role.SUPER_ADMIN).get("/api/v1/audit", params={"action": "account.password"})
    assert len(listed.json()["items"]) == 2
    assert PASSWORD not in listed.text and NEW not in listed.text


def account_id(db: Database, email: str) -> int:
    with db.session() as session:
        found = session.scalar(select(ConsoleAccount.id).where(ConsoleAccount.email == email))
        assert found is not None
        return found


def test_a_super_administrator_sets_a_lost_password_for_another_account(
    root: Any, make_client: Any, api: Any, db: Database
) -> None:
    admin_session, admin_token = make_client(Role.ADMIN), api(Role.ADMIN)
    admin, me = account_id(db, EMAILS[Role.ADMIN]), account_id(db, EMAILS[Role.SUPER_ADMIN])
    listing = root.page("/accounts")
    assert f'action="/accounts/{admin}/password"' in listing.text
    assert f'action="/accounts/{me}/password"' not in listing.text  # yours: Your account

    short = root.submit(f"/accounts/{admin}/password", {"password": "short"})
    assert short.status_code == 422
    assert f"the new password for {EMAILS[Role.ADMIN]} must be at least 12 characters" in short.text
    own = root.submit(f"/accounts/{me}/password", {"password": NEW})
    assert own.status_code == 422 and "under Your account" in own.text
    assert root.submit("/accounts/999999/password", {"password": NEW}).status_code == 404

    done = root.submit(f"/accounts/{admin}/password", {"password": NEW})
    assert done.status_code == 303
    assert "their sessions were signed out" in root.page("/accounts").text
    assert admin_session.get("/runs").status_code == 303
    assert admin_token.get("/api/v1/me").status_code == 200
    assert make_client().sign_in(EMAILS[Role.ADMIN], NEW).status_code == 303
    assert root.get("/runs").status_code == 200  # the super administrator stays signed in

    reader = account_id(db, EMAILS[Role.READ_ONLY])
    url = f"/api/v1/accounts/{reader}/password"
    assert api(Role.ADMIN).put(url, json={"password": NEW}).status_code == 403
    assert api(Role.SUPER_ADMIN).put(url, json={"password": NEW}).status_code == 204
    mine = api(Role.SUPER_ADMIN).put(f"/api/v1/accounts/{me}/password", json={"password": NEW})
    assert mine.status_code == 422 and "asks for the current one" in mine.json()["detail"]
    assert make_client().sign_in(EMAILS[Role.READ_ONLY], NEW).status_code == 303

    entries = audit_log(db)
    assert [(actor, action, target) for actor, action, target, _ in entries] == [
        (EMAILS[Role.SUPER_ADMIN], "account.password", EMAILS[Role.ADMIN]),
        (EMAILS[Role.SUPER_ADMIN], "account.password", EMAILS[Role.READ_ONLY]),
    ]
    assert all(NEW not in str(e) for e in entries)


def test_the_command_line_sets_a_password(
    db: Database, settings: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TENANTSYNC_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TENANTSYNC_DATABASE_URL", database_url)
    monkeypatch.setenv("TENANTSYNC_ADMIN_PASSWORD", NEW)
    seed_accounts(db)
    with pytest.raises(SystemExit) as done:
        main(["accounts", "password", EMAILS[Role.READ_ONLY]])
    assert done.value.code in (0, None)
    with db.session() as session:
        reader = session.scalars(
            select(ConsoleAccount).where(ConsoleAccount.email == EMAILS[Role.READ_ONLY])
        ).one()
        assert verify_password(reader, NEW) and not verify_password(reader, PASSWORD)
        assert reader.session_epoch == 1
    assert audit_log(db)[0][:3] == ("cli", "account.password", EMAILS[Role.READ_ONLY])
