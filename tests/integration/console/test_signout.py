"""Signing out ends that session on the server: a cookie copied before sign-out stops working
at once, for reading and for forms, while the account's other sessions stay signed in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tenantsync.console.sessions import COOKIE
from tenantsync.store.database import Database
from tenantsync.store.models import Organization, Role


def organizations(db: Database) -> set[str]:
    with db.session() as session:
        return set(session.scalars(select(Organization.name)))


def test_a_cookie_copied_before_sign_out_is_signed_out_but_other_sessions_stay(
    make_client: Any, db: Database
) -> None:
    browser, other_browser = make_client(Role.ADMIN), make_client(Role.ADMIN)
    copied, csrf = browser.cookies[COOKIE], browser.csrf
    assert browser.submit("/signout").headers["location"] == "/signin"

    thief = make_client(address="203.0.113.99")
    thief.cookies.set(COOKIE, copied, domain="console.test")
    read = thief.get("/runs")
    assert read.status_code == 303 and read.headers["location"].startswith("/signin")
    write = thief.post("/organizations", data={"csrf": csrf, "name": "fabrikam"})
    assert write.status_code == 303 and write.headers["location"].startswith("/signin")
    assert "fabrikam" not in organizations(db)

    # The same account's session in another browser is not affected.
    assert other_browser.get("/runs").status_code == 200
    assert other_browser.submit("/organizations", {"name": "northwind"}).status_code == 303
    assert organizations(db) == {"northwind"}


def test_signing_in_again_ends_the_session_the_browser_had_before(
    make_client: Any, db: Database
) -> None:
    browser = make_client(Role.READ_ONLY)
    before = browser.cookies[COOKIE]
    assert browser.sign_in("reader@example.com").status_code == 303
    assert browser.get("/runs").status_code == 200
    stale = make_client()
    stale.cookies.set(COOKIE, before, domain="console.test")
    assert stale.get("/runs").status_code == 303
