"""Role rules on every route, derived from the route table so a new route is covered at once:
reading needs any account, changing (or opening a form to change) needs an administrator,
except changing your own password, which every account may; delegate access, console
accounts and confirming removals need a super administrator; the API needs a bearer token,
pages a session."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tenantsync.console.auth import RANK
from tenantsync.store.models import Role
from tests.support.console import fill, routes_of


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP behaviour does not depend on the backend: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'console.db'}"


# Delegates, delegations, console accounts, confirming or rejecting removals; a calendar's
# contents and feeds.
SUPER_ONLY = (
    "delegat",
    "/accounts",
    "/confirm",
    "/reject",
    "/calendar/events",
    "/calendar/feeds",
    "/calendar-feeds",
    "/notifications/smtp",
)
SUPER_ONLY_PAGES = ("/calendar",)
FORM_PAGES = ("/new", "/edit")  # pages that only show a form to change something
# A calendar feed's secret is its credential: it answers without a session.
PUBLIC_PAGES = {
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/calendar-feeds/{secret}.ics"),
}
SELF_SERVICE = {
    ("POST", "/account/password"),
    ("POST", "/api/v1/me/password"),
    # Any account subscribes itself to notifications and ends its own subscriptions.
    ("POST", "/notifications"),
    ("POST", "/notifications/{subscription_id}/remove"),
    ("POST", "/notifications/{subscription_id}/test"),
    ("POST", "/api/v1/notifications/subscriptions"),
    ("DELETE", "/api/v1/notifications/subscriptions/{subscription_id}"),
    ("POST", "/api/v1/notifications/subscriptions/{subscription_id}/test"),
    ("POST", "/account/timezone"),
    ("PUT", "/api/v1/me/timezone"),
}


def minimum_role(method: str, path: str) -> Role:
    """The least role a route must demand."""
    if (method, path) in SELF_SERVICE:
        return Role.READ_ONLY
    if any(word in path for word in SUPER_ONLY) or path.endswith(SUPER_ONLY_PAGES):
        return Role.SUPER_ADMIN
    if method == "GET" and not path.endswith(FORM_PAGES):
        return Role.READ_ONLY
    return Role.ADMIN


def api_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (m, p) for m, p in routes_of(app) if p.startswith("/api/v1/") and not p.endswith(".json")
    ]


def page_routes(app: FastAPI) -> list[tuple[str, str]]:
    return [
        (m, p)
        for m, p in routes_of(app)
        if not p.startswith(("/api/", "/static")) and (m, p) not in PUBLIC_PAGES
    ]


def test_the_route_tables_are_not_empty(app: FastAPI) -> None:
    assert len(api_routes(app)) > 40
    assert len(page_routes(app)) > 40


def test_every_api_route_wants_a_bearer_token(app: FastAPI, api: Any, root: Any) -> None:
    anonymous = api(None)
    for method, path in api_routes(app):
        response = anonymous.request(method, fill(path), json={})
        assert response.status_code == 401, (method, path, response.status_code)
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.headers["content-type"].startswith("application/problem+json")
        # A signed-in browser session is not an API credential.
        assert root.request(method, fill(path), json={}).status_code == 401, (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_every_api_route_enforces_its_role(app: FastAPI, api: Any, role: Role) -> None:
    client = api(role)
    for method, path in api_routes(app):
        response = client.request(method, fill(path, "999999"), json={})
        if RANK[role] < RANK[minimum_role(method, path)]:
            assert response.status_code == 403, (role, method, path, response.status_code)
            assert response.json()["title"] == "forbidden"
        else:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
            assert response.status_code < 500, (role, method, path, response.text)


@pytest.mark.parametrize("role", list(Role))
def test_every_page_enforces_its_role(app: FastAPI, make_client: Any, role: Role) -> None:
    client = make_client(role)
    for method, path in page_routes(app):
        url = fill(path, "999999")
        response = client.get(url) if method == "GET" else client.submit(url, {})
        if RANK[role] < RANK[minimum_role(method, path)]:
            assert response.status_code == 403, (role, method, path, response.status_code)
        else:
            assert response.status_code not in (401, 403), (role, method, path, response.text)
            assert response.status_code < 500, (role, method, path, response.text)


def test_pages_send_strangers_to_the_sign_in_page(app: FastAPI, make_client: Any) -> None:
    stranger = make_client()
    for method, path in page_routes(app):
        if method == "GET":
            response = stranger.get(fill(path))
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/signin?next=")
