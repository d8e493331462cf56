"""Connection secrets go into encrypted storage and are never rendered, returned or logged."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from sqlalchemy import select

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import AuditEntry, Connection, Role
from tenantsync.store.secretbox import SecretBox
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


BODY = {
    "name": "contoso tenant",
    "tenant_id": "11111111-2222-3333-4444-555555555555",
    "client_id": "66666666-7777-8888-9999-000000000000",
    "authority_host": "https://login.microsoftonline.com",
    "graph_url": "https://graph.microsoft.com",
    "exchange_url": "https://outlook.office365.com",
}
# Each would send the stored secret (or a token signed with it) somewhere else.
MOVES = {
    "authority_host": "https://login.attacker.example",
    "graph_url": "https://graph.attacker.example",
    "exchange_url": "https://exchange.attacker.example",
    "ca_file": "/tmp/attacker-ca.pem",
    "tenant_id": "99999999-2222-3333-4444-555555555555",
    "client_id": "99999999-7777-8888-9999-000000000000",
}


def stored(db: Database, settings: Settings, conn_id: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """The connection's parameters and its decrypted secret."""
    box = SecretBox.from_key_file(settings.effective_key_file, create=False)
    with db.session() as session:
        conn = session.get_one(Connection, conn_id)
        assert conn.secret_ciphertext is not None
        return dict(conn.params), box.decrypt(conn.secret_ciphertext)


def test_the_api_refuses_to_move_a_stored_secret_to_other_endpoints(
    api: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = api(Role.ADMIN)
    created = admin.post(
        f"/api/v1/organizations/{org}/connections", json={**BODY, "client_secret": SECRET}
    )
    assert created.status_code == 201, created.text
    url = f"/api/v1/connections/{created.json()['id']}"
    before = stored(db, settings, created.json()["id"])
    for field, value in MOVES.items():
        refused = admin.put(url, json={**BODY, field: value})
        assert refused.status_code == 422, (field, refused.text)
        message = refused.json()["errors"]["client_secret"]
        assert field in message and "enter the client secret again" in message
        assert stored(db, settings, created.json()["id"]) == before
    # What the secret is not bound to changes without it, and the secret stays.
    renamed = admin.put(url, json={**BODY, "name": "renamed"})
    assert renamed.status_code == 200 and renamed.json()["secrets_stored"] == ["client_secret"]
    assert stored(db, settings, created.json()["id"])[1] == {"client_secret": SECRET}
    # With the secret entered again the move is made, and only what was entered is stored.
    moved = admin.put(url, json={**BODY, **MOVES, "client_secret": NEW_SECRET})
    assert moved.status_code == 200, moved.text
    params, secret = stored(db, settings, created.json()["id"])
    assert secret == {"client_secret": NEW_SECRET}
    assert {k: params[k] for k in MOVES} == MOVES


def test_a_stored_certificate_is_not_carried_to_new_endpoints(
    api: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = api(Role.ADMIN)
    both = {**BODY, "client_secret": SECRET, "certificate": "-----BEGIN PRIVATE KEY-----x"}
    created = admin.post(f"/api/v1/organizations/{org}/connections", json=both)
    assert created.json()["secrets_stored"] == ["certificate", "client_secret"]
    url = f"/api/v1/connections/{created.json()['id']}"
    kept = admin.put(url, json={**BODY, "client_secret": NEW_SECRET})
    assert kept.json()["secrets_stored"] == ["certificate", "client_secret"]
    moved = admin.put(url, json={**BODY, **MOVES, "client_secret": NEW_SECRET})
    assert moved.json()["secrets_stored"] == ["client_secret"]
    assert stored(db, settings, created.json()["id"])[1] == {"client_secret": NEW_SECRET}


def test_the_connection_form_asks_for_the_secret_again_when_an_endpoint_changes(
    make_client: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = make_client(Role.ADMIN)
    form = {**BODY, "ca_file": ""}
    created = admin.submit(
        f"/organizations/{org}/connections/new", {**form, "client_secret": SECRET}
    )
    assert created.status_code == 303
    conn_url = created.headers["location"]
    conn_id = int(conn_url.rsplit("/", 1)[1])
    page = admin.page(conn_url)
    assert "needs it entered again with the change" in page.text
    # The client secret is bound to every endpoint of the kind: the form names them.
    bound = re.search(r'<p class="help">Bound to ([^<]*)\.</p>', page.text)
    assert bound is not None and "Authority host" in bound.group(1)
    before = stored(db, settings, conn_id)
    refused = admin.submit(conn_url, {**form, "authority_host": MOVES["authority_host"]})
    assert refused.status_code == 422
    error = re.search(r'id="f-client_secret".*?<p class="error">([^<]*)</p>', refused.text, re.S)
    assert error is not None and "authority_host" in error.group(1)
    assert SECRET not in refused.text
    assert stored(db, settings, conn_id) == before
    moved = admin.submit(
        conn_url, {**form, "authority_host": MOVES["authority_host"], "client_secret": NEW_SECRET}
    )
    assert moved.status_code == 303
    assert stored(db, settings, conn_id)[1] == {"client_secret": NEW_SECRET}
