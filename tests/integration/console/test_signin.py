"""Signing in and out: argon2 passwords, cookie flags, security headers, the rate limit."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.console.ratelimit import SignInLimiter
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, ConsoleAccount, Role
from tests.support.console import EMAILS, PASSWORD


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP behaviour does not depend on the backend: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'console.db'}"


def test_an_account_signs_in_and_out_and_both_are_audited(make_client: Any, db: Database) -> None:
    client = make_client()
    assert client.page("/").status_code == 303  # not signed in: off to the sign-in page
    assert client.sign_in(EMAILS[Role.ADMIN]).headers["location"] == "/"
    home = client.page("/")
    assert home.status_code == 200
    assert "admin@example.com" in home.text
    assert client.submit("/signout").headers["location"] == "/signin"
    assert client.page("/").status_code == 303
    with db.session() as session:
        actions = list(session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["sign_in", "sign_out"]
        stored = session.scalar(select(ConsoleAccount.password_hash).limit(1))
        assert stored is not None and stored.startswith("$argon2")


def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(make_client: Any) -> None:
    client = make_client()
    refused = client.sign_in(EMAILS[Role.ADMIN], "not the password")
    assert refused.status_code == 401
    assert "wrong email or password" in refused.text
    assert client.sign_in("nobody@example.com").status_code == 401


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(make_client: Any) -> None:
    plain = make_client().get("/signin").headers["set-cookie"].lower()
    assert "httponly" in plain and "samesite=lax" in plain and "secure" not in plain
    https = make_client(base="https://console.test").get("/signin").headers["set-cookie"]
    assert "secure" in https.lower()


def test_every_answer_carries_the_security_headers(make_client: Any, root: Any) -> None:
    for response in (make_client().get("/signin"), root.get("/"), root.get("/api/v1/me")):
        csp = response.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp
        assert response.headers["x-content-type-options"] == "nosniff"
    https = make_client(base="https://console.test").get("/signin")
    assert "max-age" in https.headers["strict-transport-security"]


def test_repeated_failures_lock_the_account_even_for_the_right_password(
    make_client: Any, limiter: SignInLimiter
) -> None:
    client = make_client()
    for _ in range(limiter.per_account):
        assert client.sign_in(EMAILS[Role.ADMIN], "guess").status_code == 401
    locked = client.sign_in(EMAILS[Role.ADMIN], PASSWORD)
    assert locked.status_code == 429
    assert int(locked.headers["retry-after"]) > 0
    # Another account from another address is not affected.
    other = make_client(address="198.51.100.7")
    assert other.sign_in(EMAILS[Role.READ_ONLY]).status_code == 303


def test_one_address_guessing_across_accounts_is_stopped(
    make_client: Any, limiter: SignInLimiter
) -> None:
    client = make_client(address="203.0.113.66")
    for i in range(limiter.per_address):
        assert client.sign_in(f"user{i}@example.com", "guess").status_code == 401
    assert client.sign_in(EMAILS[Role.READ_ONLY]).status_code == 429
    elsewhere = make_client(address="203.0.113.67")
    assert elsewhere.sign_in(EMAILS[Role.READ_ONLY]).status_code == 303


def test_a_forged_or_foreign_session_cookie_is_ignored(make_client: Any) -> None:
    client = make_client()
    client.cookies.set("tenantsync_session", "eyJhaWQiOjF9.forged", domain="console.test")
    assert client.page("/").status_code == 303
