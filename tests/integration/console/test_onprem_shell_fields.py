"""An on-premises connection that reads permissions through the Exchange Management Shell
is created through the API and the console form like any other: the Shell's fields are
shown and stored, its password is stored encrypted and never shown back."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, Role
from tenantsync.store.secretbox import SecretBox
from tests.support.console import seed_directory

SHELL = {
    "permission_path": "ems",
    "ems_url": "https://ex01.corp.example/PowerShell",
    "ems_auth": "basic",
    "ems_user": "svc-exchange@corp.example",
    "ems_ca_file": "/etc/tenantsync/corp-ca.pem",
}
BODY = {
    "name": "corp",
    "kind": "exchange_onprem",
    "server": "dc01.corp.example",
    "bind_user": "CORP\\svc-sync",
    **SHELL,
}
SHELL_PASSWORD = "shell-s3cret-never-shown"


def secrets(db: Database, settings: Settings) -> dict[str, Any]:
    box = SecretBox.from_key_file(settings.effective_key_file, create=False)
    with db.session() as session:
        conn = session.scalars(select(Connection)).one()
        assert conn.secret_ciphertext is not None
        return box.decrypt(conn.secret_ciphertext)


def test_the_api_stores_the_shell_fields_and_never_shows_its_password(
    api: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = api(Role.ADMIN)
    url = f"/api/v1/organizations/{org}/connections"
    wrong = admin.post(url, json={**BODY, "ems_auth": "ntlm", "password": "p"})
    assert wrong.status_code == 422 and "ems_auth" in wrong.text
    # The Shell's rules hold when the connection is saved, each on the field it concerns.
    plain = admin.post(
        url, json={**BODY, "ems_url": "http://ex01.corp.example/PowerShell", "password": "p"}
    )
    assert plain.status_code == 422, plain.text
    assert plain.json()["errors"]["ems_url"] == "Basic sign-in is sent only over https"
    down_level = admin.post(url, json={**BODY, "ems_user": "CORP\\svc", "password": "p"})
    assert down_level.status_code == 422 and "UPN" in down_level.json()["errors"]["ems_user"]
    created = admin.post(url, json={**BODY, "password": "p", "ems_password": SHELL_PASSWORD})
    assert created.status_code == 201, created.text
    shown = created.json()
    assert {k: shown["params"][k] for k in SHELL} == SHELL
    assert sorted(shown["secrets_stored"]) == ["ems_password", "password"]
    again = admin.get(f"/api/v1/connections/{shown['id']}")
    assert SHELL_PASSWORD not in created.text + again.text
    assert secrets(db, settings)["ems_password"] == SHELL_PASSWORD
    # The Shell's URL is its password's endpoint: moving it needs that password again;
    # the bind password, which goes to the DC, is no help and stays as it is.
    elsewhere = {**BODY, "ems_url": "https://elsewhere.example/PowerShell"}
    connection = f"/api/v1/connections/{shown['id']}"
    moved = admin.put(connection, json={**elsewhere, "password": "p2"})
    assert moved.status_code == 422, moved.text
    refusal = moved.json()["errors"]["ems_password"]
    assert "ems_url needs the credentials again" in refusal
    assert "Management Shell password" in refusal
    assert secrets(db, settings) == {"password": "p", "ems_password": SHELL_PASSWORD}
    entered = admin.put(connection, json={**elsewhere, "ems_password": "new-shell-secret"})
    assert entered.status_code == 200, entered.text
    assert secrets(db, settings) == {"password": "p", "ems_password": "new-shell-secret"}
    # Moving the DC asks for the bind password and keeps the Shell's.
    dc_moved = admin.put(connection, json={**elsewhere, "server": "dc2.corp.example"})
    assert dc_moved.status_code == 422 and "password" in dc_moved.json()["errors"]
    dc_entered = admin.put(
        connection, json={**elsewhere, "server": "dc2.corp.example", "password": "p3"}
    )
    assert dc_entered.status_code == 200, dc_entered.text
    assert secrets(db, settings) == {"password": "p3", "ems_password": "new-shell-secret"}
    schema = admin.get("/api/v1/openapi.json").json()["components"]["schemas"]
    shapes = {s["title"]: s for s in schema["ConnectionIn"]["oneOf"]}
    properties = next(s for t, s in shapes.items() if t.startswith("ExchangeOnprem"))["properties"]
    assert {*SHELL, "ems_password"} <= set(properties)


def test_the_console_form_shows_and_saves_the_shell_fields(
    make_client: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = make_client(Role.ADMIN)
    form = admin.page(f"/organizations/{org}/connections/new?kind=exchange_onprem")
    for name in (*SHELL, "ems_password"):
        assert f'id="f-{name}"' in form.text, name
    assert re.search(r'id="f-ems_password"[^>]*type="password"', form.text)
    created = admin.submit(
        f"/organizations/{org}/connections/new",
        {**BODY, "password": "p", "ems_password": SHELL_PASSWORD},
    )
    assert created.status_code == 303, created.text
    page = admin.page(created.headers["location"])
    # The connection's page is its form: the Shell's password is named as stored, not shown.
    assert re.search(r"Stored: [^<.]*ems_password", page.text)
    # Each password says where it goes: the bind password to the DC, the Shell's to Exchange.
    bound = re.findall(r'<p class="help">Bound to ([^<]*)\.</p>', page.text)
    assert len(bound) == 2, bound
    assert bound[0].startswith("Domain controller") and "Management Shell URL" not in bound[0]
    assert bound[1].startswith("Management Shell URL") and "Domain controller" not in bound[1]
    assert SHELL_PASSWORD not in page.text
    assert "https://ex01.corp.example/PowerShell" in page.text
    assert secrets(db, settings)["ems_password"] == SHELL_PASSWORD
