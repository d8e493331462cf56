"""A new connection kind is one module plus a registry entry: registered here in-process,
with its own parameters, defaults and secret, it is applied from YAML, created and changed
through the API and the console form, exported back, and checked with its own checks,
with no other code knowing it."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from tenantsync.config.apply import apply_document
from tenantsync.config.export import export_organization
from tenantsync.config.loader import parse_document
from tenantsync.connectors.health import check_connection
from tenantsync.connectors.http import HttpOptions, httpx
from tenantsync.connectors.kinds import ConnectionKind, SecretField, register, unregister
from tenantsync.engine.registry import Registry, default_registry
from tenantsync.errors import ConfigError, SourceError
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Connection, Role
from tenantsync.store.secretbox import SecretBox
from tests.support.console import seed_directory


class RemotingParams(BaseModel):
    """An on-premises Exchange server reached over PowerShell remoting (for these tests)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    server: str = Field(min_length=1, title="Exchange server")
    username: str = Field(min_length=1, title="User name")
    port: int = Field(5986, ge=1, le=65535, title="Port")
    use_ssl: bool = Field(True, title="Use TLS")


class RemotingConnector:
    """Stands for a PowerShell remoting session; opening it changes nothing."""

    def __init__(self, params: RemotingParams, password: str) -> None:
        self.params = params
        self.password = password

    async def __aenter__(self) -> RemotingConnector:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None


async def _signed_in(connector: RemotingConnector) -> str:
    if connector.password != "right":
        raise SourceError(f"{connector.params.username} cannot sign in")
    return f"signed in as {connector.params.username}"


async def _port(connector: RemotingConnector) -> str:
    return f"{connector.params.server}:{connector.params.port} answers"


def _connect(
    params: RemotingParams,
    secret: Mapping[str, str],
    transport: httpx.AsyncBaseTransport | None,
    http_options: HttpOptions | None,
) -> RemotingConnector:
    return RemotingConnector(params, secret["password"])


REMOTING = ConnectionKind(
    name="exchange_remoting",
    title="Exchange over PowerShell remoting",
    params_model=RemotingParams,
    secret_fields=(SecretField("password", "password", required=True),),
    endpoint_fields=("server", "username", "port", "use_ssl"),
    serves=frozenset({"connection_check"}),
    checks=(("sign in", _signed_in), ("reach the server", _port)),
    connector_type=RemotingConnector,
    connect=_connect,
)

FILE = """\
organizations:
  - name: contoso
    connections:
      - name: onprem
        kind: exchange_remoting
        server: ex01.contoso.local
        username: svc-sync
        use_ssl: false
        password: {env: ONPREM_PASSWORD}
"""


@pytest.fixture
def remoting(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConnectionKind[Any, Any]]:
    monkeypatch.setenv("ONPREM_PASSWORD", "right")
    register(REMOTING)
    yield REMOTING
    unregister(REMOTING.name)


def stored(db: Database, settings: Settings) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The one stored connection's kind, parameters and decrypted secret."""
    box = SecretBox.from_key_file(settings.effective_key_file, create=False)
    with db.session() as session:
        conn = session.scalars(select(Connection)).one()
        assert conn.secret_ciphertext is not None
        return conn.kind, dict(conn.params), box.decrypt(conn.secret_ciphertext)


def apply(db: Database, settings: Settings, text: str) -> dict[str, list[str]]:
    box = SecretBox.from_key_file(settings.effective_key_file, create=True)
    with db.session() as session:
        report = apply_document(
            session, parse_document(text, "kinds.yaml"), default_registry(), box
        )
    return {"created": report.created, "updated": report.updated, "unchanged": report.unchanged}


def test_a_new_kind_is_applied_with_its_defaults_and_exported_back_the_same(
    remoting: ConnectionKind[Any, Any], db: Database, settings: Settings
) -> None:
    assert apply(db, settings, FILE)["created"] == ["organization contoso", "connection onprem"]
    kind, params, secret = stored(db, settings)
    assert kind == "exchange_remoting" and secret == {"password": "right"}
    assert params == {
        "server": "ex01.contoso.local",
        "username": "svc-sync",
        "port": 5986,
        "use_ssl": False,
    }
    with db.session() as session:
        exported = export_organization(session, "contoso")
    entry = yaml.safe_load(exported)["organizations"][0]["connections"][0]
    assert entry == {
        "name": "onprem",
        "kind": "exchange_remoting",
        "server": "ex01.contoso.local",
        "username": "svc-sync",
        "use_ssl": False,
        "password": {"env": "ONPREM_PASSWORD"},
    }
    assert "connection onprem" in apply(db, settings, exported)["unchanged"]


def test_a_bad_value_of_a_new_kind_names_its_file_line_and_field(
    remoting: ConnectionKind[Any, Any],
) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_document(FILE.replace("use_ssl: false", "port: 0"), "kinds.yaml")
    assert str(refused.value).startswith(
        "kinds.yaml:8: organizations[contoso].connections[onprem].port: "
    )
    without = "\n".join(line for line in FILE.splitlines() if "password" not in line)
    with pytest.raises(ConfigError, match="connections\\[onprem\\]: give password"):
        parse_document(without, "kinds.yaml")


def test_a_task_needs_a_connection_whose_kind_serves_its_type(
    remoting: ConnectionKind[Any, Any], db: Database, settings: Settings
) -> None:
    task = "    definitions: [{name: users, type: user_sync}]\n"
    task += "    tasks: [{name: users, definition: users, connection: onprem}]\n"
    with pytest.raises(ConfigError) as refused:
        apply(db, settings, FILE + task)
    message = str(refused.value)
    assert "tasks[users].connection" in message and "cannot serve user_sync" in message


@pytest.fixture
def registry() -> Registry:
    """The shipped definition types, user sync among them."""
    return default_registry()


def test_the_api_refuses_a_task_on_a_connection_whose_kind_does_not_serve_its_type(
    remoting: ConnectionKind[Any, Any], api: Any, db: Database
) -> None:
    org = seed_directory(db).org_id
    admin = api(Role.ADMIN)
    body = {"kind": "exchange_remoting", "server": "ex01", "username": "svc", "password": "right"}
    conn = admin.post(f"/api/v1/organizations/{org}/connections", json={"name": "ex", **body})
    definition = admin.post(
        f"/api/v1/organizations/{org}/definitions", json={"name": "users", "type": "user_sync"}
    )
    assert conn.status_code == 201 and definition.status_code == 201, definition.text
    task = {"name": "users", "definition_id": definition.json()["id"]}
    refused = admin.post(
        f"/api/v1/organizations/{org}/tasks", json={**task, "connection_id": conn.json()["id"]}
    )
    assert refused.status_code == 422
    assert "cannot serve user_sync" in refused.json()["errors"]["connection_id"]


def test_the_api_creates_and_changes_a_connection_of_a_new_kind(
    remoting: ConnectionKind[Any, Any], api: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = api(Role.ADMIN)
    body = {"name": "onprem", "kind": "exchange_remoting", "server": "ex01", "username": "svc"}
    refused = admin.post(f"/api/v1/organizations/{org}/connections", json={**body, "port": 0})
    assert refused.status_code == 422 and "port" in json.dumps(refused.json()["errors"])
    created = admin.post(
        f"/api/v1/organizations/{org}/connections", json={**body, "password": "right"}
    )
    assert created.status_code == 201, created.text
    shown = created.json()
    assert shown["kind"] == "exchange_remoting" and shown["secrets_stored"] == ["password"]
    assert shown["params"] == {"server": "ex01", "username": "svc", "port": 5986, "use_ssl": True}
    url = f"/api/v1/connections/{shown['id']}"
    moved = admin.put(url, json={**body, "server": "elsewhere"})
    assert moved.status_code == 422
    assert "enter the password again" in moved.json()["errors"]["password"]
    renamed = admin.put(url, json={**body, "name": "exchange", "port": 443})
    assert renamed.status_code == 422  # the port is an endpoint too
    renamed = admin.put(url, json={**body, "name": "exchange"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "exchange"
    assert stored(db, settings)[2] == {"password": "right"}
    schema = admin.get("/api/v1/openapi.json").json()["components"]["schemas"]
    shapes = {s["title"]: s for s in schema["ConnectionIn"]["oneOf"]}
    assert {"server", "port", "use_ssl", "password"} <= set(
        shapes["ExchangeRemotingConnectionIn"]["properties"]
    )


def test_the_console_form_shows_and_saves_a_connection_of_a_new_kind(
    remoting: ConnectionKind[Any, Any], make_client: Any, db: Database, settings: Settings
) -> None:
    org = seed_directory(db).org_id
    admin = make_client(Role.ADMIN)
    form = admin.page(f"/organizations/{org}/connections/new?kind=exchange_remoting")
    assert 'id="f-server"' in form.text and 'id="f-password"' in form.text
    assert re.search(r'id="f-port" name="port" type="number" value="5986"', form.text)
    assert re.search(r'id="f-use_ssl"[^>]*checked', form.text)
    fields = {"kind": "exchange_remoting", "name": "onprem", "server": "ex01", "username": "svc"}
    refused = admin.submit(f"/organizations/{org}/connections/new", fields)
    assert refused.status_code == 422 and "give password" in refused.text
    created = admin.submit(
        f"/organizations/{org}/connections/new",
        {**fields, "use_ssl": "false", "password": "right"},
    )
    assert created.status_code == 303, created.text
    page = admin.page(created.headers["location"])
    assert "Stored: password" in page.text and "Exchange over PowerShell remoting" in page.text
    assert stored(db, settings)[1]["use_ssl"] is False
    assert "ex01" in admin.page(f"/organizations/{org}").text


def test_a_new_kind_is_checked_with_its_own_checks(remoting: ConnectionKind[Any, Any]) -> None:
    def check(password: str) -> list[tuple[str, bool, str]]:
        connector = remoting.open({"server": "ex01", "username": "svc"}, {"password": password})

        async def run() -> list[tuple[str, bool, str]]:
            async with connector as opened:
                return [(x.name, x.ok, x.detail) for x in await check_connection(opened)]

        return asyncio.run(run())

    assert check("right") == [
        ("sign in", True, "signed in as svc"),
        ("reach the server", True, "ex01:5986 answers"),
    ]
    assert check("wrong") == [
        ("sign in", False, "svc cannot sign in"),
        ("reach the server", False, "skipped: no sign in"),
    ]


def test_forgetting_the_kind_leaves_its_connections_stored_and_shown(
    remoting: ConnectionKind[Any, Any], db: Database, settings: Settings, api: Any
) -> None:
    apply(db, settings, FILE)
    unregister(remoting.name)
    with db.session() as session:
        org = session.scalars(select(Connection.organization_id)).one()
    listed = api(Role.ADMIN).get(f"/api/v1/organizations/{org}/connections")
    assert listed.status_code == 200
    assert listed.json()["items"][0]["params"]["server"] == "ex01.contoso.local"
