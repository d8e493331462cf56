"""API tokens: created in the console and shown once, stored hashed, revoked at once."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tenantsync.store.database import Database
from tenantsync.store.models import ApiToken, Role


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(
    make_client: Any, db: Database
) -> None:
    admin = make_client(Role.ADMIN)
    created = admin.submit("/tokens", {"name": "billing export"})
    assert created.status_code == 200
    found = re.search(r'<code id="new-token">([^<]+)</code>', created.text)
    assert found is not None
    value = found.group(1)
    assert value not in admin.page("/tokens").text  # never shown again
    with db.session() as session:
        stored = session.scalars(select(ApiToken).where(ApiToken.name == "billing export")).one()
        assert value not in (stored.token_hash, stored.prefix) and len(stored.token_hash) == 64
        token_id = stored.id
    bearer = make_client()
    bearer.headers["Authorization"] = f"Bearer {value}"
    me = bearer.get("/api/v1/me")
    assert me.status_code == 200 and me.json() == {
        "email": "admin@example.com",
        "role": "admin",
        "timezone": "UTC",
    }
    assert admin.submit(f"/tokens/{token_id}/revoke").status_code == 303
    assert bearer.get("/api/v1/me").status_code == 401
    assert "revoked" in admin.page("/tokens").text


def test_a_token_revoked_through_the_api_stops_at_once(api: Any, tokens: dict[Role, str]) -> None:
    admin = api(Role.ADMIN)
    issued = admin.post("/api/v1/tokens", json={"name": "ci"})
    assert issued.status_code == 201
    body = issued.json()
    ci = api(None)
    ci.headers["Authorization"] = f"Bearer {body['token']}"
    assert ci.get("/api/v1/dashboard").status_code == 200
    listed = admin.get("/api/v1/tokens").json()
    assert all("token" not in t for t in listed)
    assert admin.delete(f"/api/v1/tokens/{body['id']}").status_code == 204
    assert ci.get("/api/v1/dashboard").status_code == 401
    assert api(Role.ADMIN).get("/api/v1/me").status_code == 200  # other tokens unaffected


def test_only_super_administrators_issue_tokens_for_others(api: Any) -> None:
    admin = api(Role.ADMIN)
    refused = admin.post("/api/v1/tokens", json={"name": "x", "account": "reader@example.com"})
    assert refused.status_code == 403
    root = api(Role.SUPER_ADMIN)
    made = root.post("/api/v1/tokens", json={"name": "x", "account": "reader@example.com"})
    assert made.status_code == 201
    reader = api(None)
    reader.headers["Authorization"] = f"Bearer {made.json()['token']}"
    assert reader.post("/api/v1/organizations", json={"name": "x"}).status_code == 403
