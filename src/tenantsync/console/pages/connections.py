"""Connections: add, edit (secrets never shown), delete, run the health check."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from tenantsync.console.api.schemas import Id
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter, Principal
from tenantsync.console.ops import connections as ops
from tenantsync.console.ops import health
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.errors import FieldErrors, field_errors
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.state import state_of
from tenantsync.errors import ConfigError
from tenantsync.store.limits import too_long
from tenantsync.store.models import Connection, Organization

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]
FIELDS = ("name", *ops.PARAM_FIELDS)


def _input(form: dict[str, str]) -> ops.ConnectionInput:
    if errors := too_long(Connection, name=form.get("name", "").strip()):
        raise FieldErrors(errors)
    return ops.ConnectionInput(
        name=form.get("name", ""),
        tenant_id=form.get("tenant_id", ""),
        client_id=form.get("client_id", ""),
        authority_host=form.get("authority_host", ""),
        graph_url=form.get("graph_url", ""),
        exchange_url=form.get("exchange_url", ""),
        ca_file=form.get("ca_file") or None,
        client_secret=form.get("client_secret") or None,
        certificate=form.get("certificate") or None,
    )


def _form(
    request: Request,
    db: Session,
    me: Principal,
    org: Organization,
    conn: Connection | None,
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    # Secret inputs are always rendered empty: a stored secret is never sent back.
    box = state_of(request).box
    return render(
        request,
        "connection.html",
        me,
        status,
        org=org,
        conn=conn,
        values={k: values.get(k, "") for k in FIELDS},
        errors=errors,
        stored=ops.secret_kinds(conn, box) if conn else [],
        can_check=health.available(state_of(request).registry),
        check_run=health.last_check_run(db, conn) if conn else None,
    )


@router.get("/organizations/{org_id}/connections/new", response_class=HTMLResponse)
def new_connection(request: Request, org_id: Id, db: DbSession, me: PageWriter) -> HTMLResponse:
    """The form for a new connection."""
    org = get_or_404(db, Organization, org_id, "organization")
    return _form(request, db, me, org, None, dict(ops.DEFAULTS), {})


@router.post("/organizations/{org_id}/connections/new", response_model=None)
def create_connection(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a new connection; the secret goes into encrypted storage."""
    org = get_or_404(db, Organization, org_id, "organization")
    try:
        conn = ops.create_connection(db, state_of(request).box, org.id, _input(form))
    except ConfigError as exc:
        return _form(request, db, me, org, None, form, field_errors(exc), 422)
    record(db, me, "connection.create", conn.name, {"organization_id": org.id})
    return redirect(request, f"/connections/{conn.id}", f"Connection {conn.name} saved")


@router.get("/connections/{connection_id}", response_class=HTMLResponse)
def connection(request: Request, connection_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A connection: parameters, stored secret kinds, the last health check."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    values = {"name": conn.name, **{k: str(v or "") for k, v in conn.params.items()}}
    return _form(request, db, me, conn.organization, conn, values, {})


@router.post("/connections/{connection_id}", response_model=None)
def update_connection(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save changes; empty secret fields keep the stored secrets, unless the tenant, the app
    or an endpoint changes: then the secret is asked for again (shown next to its field)."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    try:
        changed = ops.update_connection(db, state_of(request).box, conn, _input(form))
    except ConfigError as exc:
        return _form(request, db, me, conn.organization, conn, form, field_errors(exc), 422)
    record(db, me, "connection.update", conn.name, {"changed": changed})
    return redirect(request, f"/connections/{conn.id}", f"Connection {conn.name} saved")


@router.post("/connections/{connection_id}/check")
def check_connection(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Queue a health check; its run page shows the lines, the connection keeps them."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    registry = state_of(request).registry
    if not health.available(registry):
        raise ConfigError("this installation has no connection health check", field="connection")
    run = health.queue_check(db, registry, conn, me.email)
    record(db, me, "connection.check", conn.name, {"run": run.id})
    return redirect(request, f"/runs/{run.id}", f"Health check queued as run {run.id}")


@router.post("/connections/{connection_id}/delete")
def delete_connection(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Remove a connection that no task uses."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    org_id = conn.organization_id
    ops.delete_connection(db, conn)
    record(db, me, "connection.delete", conn.name)
    return redirect(request, f"/organizations/{org_id}", f"Connection {conn.name} deleted")
