"""Behind a reverse proxy named in TENANTSYNC_TRUSTED_PROXIES the console takes the client's
address and scheme from the proxy's headers; from any other peer those headers mean nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Role
from tests.support.console import EMAILS, PASSWORD

PROXY = "192.0.2.200"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP behaviour does not depend on the backend: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'console.db'}"


@pytest.fixture
def settings(data_dir: Path, database_url: str) -> Settings:
    return Settings(data_dir=data_dir, database_url=database_url, trusted_proxies=[PROXY])


def sign_in(client: Any, headers: dict[str, str]) -> Any:
    client.page("/signin")
    form = {"csrf": client.csrf, "email": EMAILS[Role.ADMIN], "password": PASSWORD}
    return client.post("/signin", data=form, headers=headers)


def test_sign_ins_are_audited_from_the_address_a_trusted_proxy_names(
    make_client: Any, db: Database
) -> None:
    forwarded = {"X-Forwarded-For": "203.0.113.1, 198.51.100.4"}
    assert sign_in(make_client(address=PROXY), forwarded).status_code == 303
    assert sign_in(make_client(address="198.51.100.9"), forwarded).status_code == 303
    with db.session() as session:
        addresses = list(session.scalars(select(AuditEntry.address).order_by(AuditEntry.id)))
    assert addresses == ["198.51.100.4", "198.51.100.9"]


def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_client_came_over_https(
    make_client: Any,
) -> None:
    https = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.4"}
    behind = sign_in(make_client(address=PROXY), https)
    assert "secure" in behind.headers["set-cookie"].lower()
    assert "max-age" in behind.headers["strict-transport-security"]
    direct = sign_in(make_client(address="198.51.100.9"), https)
    assert "secure" not in direct.headers["set-cookie"].lower()
    assert "strict-transport-security" not in direct.headers
