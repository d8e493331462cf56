"""Every form refuses a submission without the CSRF token of the session that rendered it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tenantsync.store.models import Role
from tests.support.console import fill, routes_of


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """HTTP behaviour does not depend on the backend: these tests run on SQLite only."""
    return f"sqlite:///{tmp_path / 'console.db'}"


def form_routes(app: FastAPI) -> list[str]:
    """Every page route that accepts a form, with path parameters filled in."""
    return [
        fill(path)
        for method, path in routes_of(app)
        if method == "POST" and not path.startswith("/api/")
    ]


def test_the_console_has_forms_to_protect(app: FastAPI) -> None:
    assert {"/signin", "/signout", "/tokens", "/accounts", "/accounts/1/disable"} <= set(
        form_routes(app)
    )


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_every_form_refuses_a_missing_or_wrong_csrf_token(
    app: FastAPI, make_client: Any, token: str | None
) -> None:
    client = make_client(Role.SUPER_ADMIN)
    for path in form_routes(app):
        data = {"name": "x", "email": "root@example.com"}
        if token is not None:
            data["csrf"] = token
        response = client.post(path, data=data)
        assert response.status_code == 403, (path, response.status_code)
        assert "form" in response.text.lower()


def test_a_csrf_token_from_another_session_is_refused(make_client: Any) -> None:
    mine, theirs = make_client(Role.SUPER_ADMIN), make_client(Role.SUPER_ADMIN)
    assert mine.csrf != theirs.csrf
    response = mine.post("/organizations", data={"csrf": theirs.csrf, "name": "fabrikam"})
    assert response.status_code == 403
    assert mine.submit("/organizations", {"name": "fabrikam"}).status_code == 303
