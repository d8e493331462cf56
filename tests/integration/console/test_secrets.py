"""Connection secrets go into encrypted storage and are never rendered, returned or logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Connection, Role
from tests.support.console import Seeded, seed_directory

SECRET = "Zq8~client-secret-value-41f2"
NEW_SECRET = "rotated-secret-value-77aa"


def test_a_connection_secret_is_stored_encrypted_and_never_shown(
    make_client: Any, api: Any, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seeded: Seeded = seed_directory(db)
    admin = make_client(Role.ADMIN)
    form = {
        "name": "contoso tenant",
        "tenant_id": "11111111-2222-3333-4444-555555555555",
        "client_id": "66666666-7777-8888-9999-000000000000",
        "authority_host": "https://login.microsoftonline.com",
        "graph_url": "https://graph.microsoft.com",
        "exchange_url": "https://outlook.office365.com",
        "client_secret": SECRET,
    }
    refused = admin.submit(
        f"/organizations/{seeded.org_id}/connections/new",
        {**form, "graph_url": "http://plain.example"},
    )
    assert refused.status_code == 422 and "must be an https:// URL" in refused.text
    assert SECRET not in refused.text  # not even echoed back into the form
    created = admin.submit(f"/organizations/{seeded.org_id}/connections/new", form)
    assert created.status_code == 303
    page = admin.page(created.headers["location"])
    assert "Stored: client_secret" in page.text
    conn_url = created.headers["location"]
    assert admin.submit(conn_url, {**form, "client_secret": NEW_SECRET}).status_code == 303
    with db.session() as session:
        conn = session.scalars(select(Connection)).one()
        ciphertext = conn.secret_ciphertext or b""
        conn_id = conn.id
        audit = " ".join(
            f"{a.action} {a.target} {a.detail}" for a in session.scalars(select(AuditEntry))
        )
    assert SECRET.encode() not in ciphertext and NEW_SECRET.encode() not in ciphertext
    seen = [
        admin.page(conn_url).text,
        make_client(Role.READ_ONLY).page(conn_url).text,
        admin.page(f"/organizations/{seeded.org_id}").text,
        admin.page("/audit").text,
        api(Role.ADMIN).get(f"/api/v1/connections/{conn_id}").text,
        api(Role.ADMIN).get(f"/api/v1/organizations/{seeded.org_id}/connections").text,
        api(Role.ADMIN).get("/api/v1/audit").text,
        audit,
        caplog.text,
    ]
    for text in seen:
        assert SECRET not in text and NEW_SECRET not in text
    assert api(Role.ADMIN).get(f"/api/v1/connections/{conn_id}").json()["secrets_stored"] == [
        "client_secret"
    ]
