"""Connections: credentials go into encrypted storage and are never shown again, and are only
ever sent where they were stored for (see ``store.secret_binding``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.console.ops.errors import FieldErrors
from tenantsync.errors import ConfigError, TenantSyncError
from tenantsync.store.models import Connection, ScheduledTask
from tenantsync.store.secret_binding import BOUND_PARAMS, require_secret_to_move
from tenantsync.store.secretbox import SecretBox

PARAM_FIELDS = BOUND_PARAMS
URL_FIELDS = ("authority_host", "graph_url", "exchange_url")
DEFAULTS = {
    "authority_host": "https://login.microsoftonline.com",
    "graph_url": "https://graph.microsoft.com",
    "exchange_url": "https://outlook.office365.com",
}


@dataclass(frozen=True)
class ConnectionInput:
    """What an administrator types for a connection; empty secrets keep the stored ones
    unless the tenant, the app or an endpoint changes."""

    name: str
    tenant_id: str
    client_id: str
    authority_host: str = DEFAULTS["authority_host"]
    graph_url: str = DEFAULTS["graph_url"]
    exchange_url: str = DEFAULTS["exchange_url"]
    ca_file: str | None = None
    client_secret: str | None = None
    certificate: str | None = None


def _params(data: ConnectionInput) -> dict[str, Any]:
    errors: dict[str, str] = {}
    params: dict[str, Any] = {}
    for name in PARAM_FIELDS:
        value = (getattr(data, name) or "").strip()
        if name in URL_FIELDS:
            value = value.rstrip("/") or DEFAULTS[name]
            if not value.startswith("https://"):
                errors[name] = "must be an https:// URL"
        elif name in ("tenant_id", "client_id") and not value:
            errors[name] = "must not be empty"
        params[name] = value or None
    if not data.name.strip():
        errors["name"] = "must not be empty"
    if errors:
        raise FieldErrors(errors)
    return params


def _secret(data: ConnectionInput) -> dict[str, str]:
    secret: dict[str, str] = {}
    if data.client_secret and data.client_secret.strip():
        secret["client_secret"] = data.client_secret.strip()
    if data.certificate and data.certificate.strip():
        secret["certificate"] = data.certificate.strip()
    return secret


def create_connection(
    session: Session, box: SecretBox, org_id: int, data: ConnectionInput
) -> Connection:
    """A new connection; its secret goes straight into encrypted storage."""
    params = _params(data)
    secret = _secret(data)
    if not secret:
        raise FieldErrors({"client_secret": "give a client secret or a certificate"})
    _name_free(session, org_id, data.name.strip())
    conn = Connection(
        organization_id=org_id,
        name=data.name.strip(),
        kind="m365",
        params=params,
        secret_ciphertext=box.encrypt(secret),
    )
    session.add(conn)
    session.flush()
    return conn


def update_connection(
    session: Session, box: SecretBox, conn: Connection, data: ConnectionInput
) -> list[str]:
    """Change a connection; returns the names of the fields that changed (secrets by name only).

    Changing the tenant, the app or an endpoint is refused unless a secret is entered with it,
    which then replaces every stored one; otherwise entered secrets update the stored ones."""
    params = _params(data)
    secret = _secret(data)
    moved = require_secret_to_move(conn.params, params, secret)
    changed = [k for k in PARAM_FIELDS if conn.params.get(k) != params[k]]
    name = data.name.strip()
    if name != conn.name:
        _name_free(session, conn.organization_id, name)
        conn.name = name
        changed.append("name")
    conn.params = params
    if secret:
        kept = {} if moved or not conn.secret_ciphertext else box.decrypt(conn.secret_ciphertext)
        kept.update(secret)
        conn.secret_ciphertext = box.encrypt(kept)
        changed.extend(sorted(secret))
    session.flush()
    return changed


def delete_connection(session: Session, conn: Connection) -> None:
    """Remove a connection no task uses."""
    used = session.scalar(select(ScheduledTask.name).where(ScheduledTask.connection_id == conn.id))
    if used:
        raise ConfigError(f"task {used!r} uses this connection", field="connection")
    session.delete(conn)
    session.flush()


def secret_kinds(conn: Connection, box: SecretBox) -> list[str]:
    """Which kinds of secret are stored (names only, never values)."""
    if not conn.secret_ciphertext:
        return []
    try:
        return sorted(box.decrypt(conn.secret_ciphertext))
    except TenantSyncError:
        return ["(cannot be decrypted with this key file)"]


def _name_free(session: Session, org_id: int, name: str) -> None:
    taken = session.scalar(
        select(Connection.id).where(Connection.organization_id == org_id, Connection.name == name)
    )
    if taken:
        raise FieldErrors({"name": f"a connection named {name!r} exists"})
