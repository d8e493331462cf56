"""Connections: credentials go into encrypted storage and are never shown again, and are only
ever sent where they were stored for (see ``store.secret_binding``). A connection's fields
are its kind's: parameters from its parameters model, defaults included, and its secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenantsync.config.schema import name_problem
from tenantsync.connectors.kinds import ConnectionKind, connection_kind
from tenantsync.console.ops.errors import FieldErrors, from_validation
from tenantsync.console.ops.health import remove_checks
from tenantsync.errors import ConfigError, TenantSyncError
from tenantsync.store.models import Connection, ScheduledTask
from tenantsync.store.secret_binding import kept_secrets, moved_params, require_secret_again
from tenantsync.store.secretbox import SecretBox


@dataclass(frozen=True)
class ConnectionInput:
    """What an administrator gives for a connection: its name and kind, the kind's parameters
    (one left out takes its default) and the secrets entered. Empty secrets keep the stored
    ones unless the kind or what a secret is bound to changes."""

    name: str
    kind: str
    params: Mapping[str, Any] = field(default_factory=dict)
    secrets: Mapping[str, str | None] = field(default_factory=dict)


def _checked(data: ConnectionInput) -> tuple[ConnectionKind[Any, Any], dict[str, Any]]:
    """The kind and its parameters as they will be stored; every bad field named."""
    kind = connection_kind(data.kind)
    errors: dict[str, str] = {}
    params: dict[str, Any] = {}
    try:
        params = kind.params_model.model_validate(dict(data.params)).model_dump(mode="json")
    except ValidationError as exc:
        errors.update(from_validation(exc).errors)
    if not data.name.strip():
        errors["name"] = "must not be empty"
    if errors:
        raise FieldErrors(errors)
    return kind, params


def _secret(kind: ConnectionKind[Any, Any], data: ConnectionInput) -> dict[str, str]:
    return {
        k: v.strip() for k, v in data.secrets.items() if k in kind.secret_names and v and v.strip()
    }


def _enough(kind: ConnectionKind[Any, Any], secret: Mapping[str, str]) -> None:
    problem = kind.secret_problem(secret)
    if problem is not None:
        raise FieldErrors({problem[0]: problem[1]})


def create_connection(
    session: Session, box: SecretBox, org_id: int, data: ConnectionInput
) -> Connection:
    """A new connection; its secret goes straight into encrypted storage."""
    kind, params = _checked(data)
    secret = _secret(kind, data)
    _enough(kind, secret)
    _name_free(session, org_id, data.name.strip())
    conn = Connection(
        organization_id=org_id,
        name=data.name.strip(),
        kind=kind.name,
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

    Changing the kind or what a secret is bound to (for Microsoft 365 the tenant, the app
    or an endpoint) is refused unless a secret it concerns is entered with it; the stored
    secrets it concerns are then dropped (what is entered replaces them), the others kept.
    Otherwise entered secrets update the stored ones."""
    kind, params = _checked(data)
    secret = _secret(kind, data)
    moved = moved_params(kind, conn.params, params, before_kind=conn.kind)
    require_secret_again(kind, moved, secret)
    stored = box.decrypt(conn.secret_ciphertext) if conn.secret_ciphertext else {}
    kept = kept_secrets(kind, moved, stored) if conn.kind == kind.name else {}
    if moved:  # what is kept and what is entered must be enough together
        _enough(kind, {**kept, **secret})
    before = shown_params(conn) if conn.kind == kind.name else {}
    changed = ["kind"] if conn.kind != kind.name else []
    changed += [k for k, v in params.items() if before.get(k) != v]
    name = data.name.strip()
    if name != conn.name:
        _name_free(session, conn.organization_id, name)
        conn.name = name
        changed.append("name")
    conn.kind = kind.name
    conn.params = params
    if secret:
        kept.update(secret)
        conn.secret_ciphertext = box.encrypt(kept)
        conn.secret_ref = _refs_still_true(conn.secret_ref, kept, entered=secret)
        changed.extend(sorted(secret))
    session.flush()
    return changed


def _refs_still_true(
    secret_ref: str | None, kept: Mapping[str, str], *, entered: Mapping[str, str]
) -> str | None:
    """The file references that still say where a stored secret came from: one entered here
    replaced its file's value (``export`` then writes it as stored)."""
    parts = [
        part
        for part in (secret_ref or "").split(";")
        if part and (key := part.partition("=")[0]) in kept and key not in entered
    ]
    return ";".join(parts) or None


def delete_connection(session: Session, conn: Connection) -> None:
    """Remove a connection no task uses (its health checks go with it)."""
    remove_checks(session, conn)
    used = session.scalar(select(ScheduledTask.name).where(ScheduledTask.connection_id == conn.id))
    if used:
        raise ConfigError(f"task {used!r} uses this connection", field="connection")
    session.delete(conn)
    session.flush()


def shown_params(conn: Connection) -> dict[str, Any]:
    """The connection's parameters as its kind reads them (defaults filled in); as stored
    when its kind is unknown here or they no longer fit it."""
    try:
        params: BaseModel = connection_kind(conn.kind).stored_params(conn.params)
    except ConfigError:
        return dict(conn.params)
    return params.model_dump(mode="json")


def secret_kinds(conn: Connection, box: SecretBox) -> list[str]:
    """Which kinds of secret are stored (names only, never values)."""
    if not conn.secret_ciphertext:
        return []
    try:
        return sorted(box.decrypt(conn.secret_ciphertext))
    except TenantSyncError:
        return ["(cannot be decrypted with this key file)"]


def _name_free(session: Session, org_id: int, name: str) -> None:
    """Refuse a new name a configuration file could not write, or one that is taken."""
    if problem := name_problem(name):
        raise FieldErrors({"name": problem})
    taken = session.scalar(
        select(Connection.id).where(Connection.organization_id == org_id, Connection.name == name)
    )
    if taken:
        raise FieldErrors({"name": f"a connection named {name!r} exists"})
