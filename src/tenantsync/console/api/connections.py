"""Connections: add and edit (secrets write-only), delete, queue a health check."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from tenantsync.console.api.schemas import (
    ConnectionIn,
    ConnectionOut,
    Id,
    PageNo,
    PageOut,
    PerPage,
    RunOut,
)
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Writer
from tenantsync.console.ops import connections as ops
from tenantsync.console.ops import health
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.paging import paginate
from tenantsync.console.state import state_of
from tenantsync.errors import ConfigError
from tenantsync.store.models import Connection, Organization
from tenantsync.store.secretbox import SecretBox

router = APIRouter(tags=["connections"])


def _out(conn: Connection, box: SecretBox) -> ConnectionOut:
    return ConnectionOut(
        id=conn.id,
        organization_id=conn.organization_id,
        name=conn.name,
        kind=conn.kind,
        params=ops.shown_params(conn),
        secrets_stored=ops.secret_kinds(conn, box),
        last_check_at=conn.last_check_at,
        last_check_ok=conn.last_check_ok,
        last_check_lines=conn.last_check_lines,
    )


def _input(body: ConnectionIn) -> ops.ConnectionInput:
    params = body.parameters().model_dump(mode="json")
    return ops.ConnectionInput(body.name, body.kind, params, body.secrets())


@router.get("/organizations/{org_id}/connections", response_model=PageOut[ConnectionOut])
def list_connections(
    org_id: Id,
    db: DbSession,
    who: Reader,
    request: Request,
    page: PageNo = 1,
    per_page: PerPage = 50,
) -> PageOut[ConnectionOut]:
    """An organization's connections by name (secrets by kind only)."""
    get_or_404(db, Organization, org_id, "organization")
    box = state_of(request).box
    stmt = select(Connection).where(Connection.organization_id == org_id)
    found = paginate(db, stmt.order_by(Connection.name), page, per_page)
    return PageOut.of(found, lambda c: _out(c, box))


@router.post("/organizations/{org_id}/connections", response_model=ConnectionOut, status_code=201)
def create_connection(
    org_id: Id, body: ConnectionIn, db: DbSession, who: Writer, request: Request
) -> ConnectionOut:
    """Add a connection; its secret is encrypted at once and never returned."""
    get_or_404(db, Organization, org_id, "organization")
    box = state_of(request).box
    conn = ops.create_connection(db, box, org_id, _input(body))
    record(db, who, "connection.create", conn.name, {"organization_id": org_id})
    return _out(conn, box)


@router.get("/connections/{connection_id}", response_model=ConnectionOut)
def get_connection(
    connection_id: Id, db: DbSession, who: Reader, request: Request
) -> ConnectionOut:
    """One connection: parameters, stored secret kinds (never values), the last check."""
    return _out(get_or_404(db, Connection, connection_id, "connection"), state_of(request).box)


@router.put("/connections/{connection_id}", response_model=ConnectionOut)
def update_connection(
    connection_id: Id, body: ConnectionIn, db: DbSession, who: Writer, request: Request
) -> ConnectionOut:
    """Change a connection (its kind is ``m365`` when omitted); omitted secrets keep the stored
    ones. Changing the kind or what a secret is bound to (for ``m365`` the tenant id, client
    id, a URL or the CA file) without entering the secret again is refused (422 naming the
    kind's first secret, ``client_secret``); with it, what is entered replaces every stored
    secret."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    box = state_of(request).box
    changed = ops.update_connection(db, box, conn, _input(body))
    record(db, who, "connection.update", conn.name, {"changed": changed})
    return _out(conn, box)


@router.delete("/connections/{connection_id}", status_code=204)
def delete_connection(connection_id: Id, db: DbSession, who: Writer) -> None:
    """Remove a connection that no task uses."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    ops.delete_connection(db, conn)
    record(db, who, "connection.delete", conn.name)


@router.post("/connections/{connection_id}/check", response_model=RunOut, status_code=202)
def check_connection(connection_id: Id, db: DbSession, who: Writer, request: Request) -> RunOut:
    """Queue a health check (needs the connection_check type); the run carries its lines."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    registry = state_of(request).registry
    if not health.available(registry):
        raise ConfigError("this installation has no connection health check", field="connection")
    run = health.queue_check(db, registry, conn, who.email)
    record(db, who, "connection.check", conn.name, {"run": run.id})
    return RunOut.model_validate(run)
