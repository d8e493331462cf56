"""Connections: add, edit (secrets never shown), delete, run the health check. The form's
fields are those of the connection's kind: its parameters (defaults filled in) and secrets."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from tenantsync.connectors.kinds import (
    DEFAULT_KIND,
    ConnectionKind,
    connection_kind,
    connection_kinds,
)
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
KindQuery = Annotated[str, Query(max_length=32, pattern=r"^\w*$", description="its kind")]


@dataclass(frozen=True)
class FormField:
    """One input of the form, from a parameter of the connection's kind."""

    name: str
    label: str
    input: str
    required: bool
    help: str
    # "other=value": the form shows the field only while that parameter has that value.
    shown_when: str = ""


def _fields(kind: ConnectionKind[Any, Any]) -> list[FormField]:
    inputs = {bool: "checkbox", int: "number"}
    return [
        FormField(
            p.name,
            p.title,
            inputs.get(p.type, "text"),
            p.required,
            p.help,
            "=".join(p.shown_when) if p.shown_when else "",
        )
        for p in kind.param_fields
    ]


def _shown(kind: ConnectionKind[Any, Any], params: Mapping[str, Any]) -> dict[str, str]:
    """Parameter values as the form shows them (empty for none, "true"/"false" for yes/no)."""
    return {p.name: _text(params.get(p.name)) for p in kind.param_fields}


def _text(value: Any) -> str:
    if value is None:
        return ""
    return str(value).lower() if isinstance(value, bool) else str(value)


def _input(form: dict[str, str], kind: ConnectionKind[Any, Any]) -> ops.ConnectionInput:
    if errors := too_long(Connection, name=form.get("name", "").strip()):
        raise FieldErrors(errors)
    # A field left empty takes the kind's default (a required one is then named as missing).
    params = {p.name: v for p in kind.param_fields if (v := form.get(p.name, "").strip())}
    secrets = {name: form.get(name) or None for name in kind.secret_names}
    return ops.ConnectionInput(form.get("name", ""), kind.name, params, secrets)


def _form(
    request: Request,
    db: Session,
    me: Principal,
    org: Organization,
    conn: Connection | None,
    kind: ConnectionKind[Any, Any],
    values: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    # Secret inputs are always rendered empty: a stored secret is never sent back.
    box = state_of(request).box
    fields = _fields(kind)
    labels = {f.name: f.label for f in fields}
    # Per secret, the fields it is sent to: changing one needs that secret entered again.
    bound = {
        s.name: [labels[n] for n in (s.bound_to or kind.endpoint_fields) if n in labels]
        for s in kind.secret_fields
    }
    return render(
        request,
        "connection.html",
        me,
        status,
        org=org,
        conn=conn,
        kind=kind,
        kinds=connection_kinds(),
        fields=fields,
        bound=bound,
        values={k: values.get(k, "") for k in ("name", *(f.name for f in fields))},
        errors=errors,
        stored=ops.secret_kinds(conn, box) if conn else [],
        can_check=health.available(state_of(request).registry),
        check_run=health.last_check_run(db, conn) if conn else None,
    )


@router.get("/organizations/{org_id}/connections/new", response_class=HTMLResponse)
def new_connection(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, kind: KindQuery = DEFAULT_KIND
) -> HTMLResponse:
    """The form for a new connection of ``kind``, its parameters' defaults filled in."""
    org = get_or_404(db, Organization, org_id, "organization")
    chosen = connection_kind(kind)
    defaults = {p.name: p.default for p in chosen.param_fields}
    return _form(request, db, me, org, None, chosen, _shown(chosen, defaults), {})


@router.post("/organizations/{org_id}/connections/new", response_model=None)
def create_connection(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save a new connection; the secret goes into encrypted storage."""
    org = get_or_404(db, Organization, org_id, "organization")
    kind = connection_kind(form.get("kind") or DEFAULT_KIND)
    try:
        conn = ops.create_connection(db, state_of(request).box, org.id, _input(form, kind))
    except ConfigError as exc:
        return _form(request, db, me, org, None, kind, form, field_errors(exc), 422)
    record(db, me, "connection.create", conn.name, {"organization_id": org.id})
    return redirect(request, f"/connections/{conn.id}", f"Connection {conn.name} saved")


@router.get("/connections/{connection_id}", response_class=HTMLResponse)
def connection(request: Request, connection_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A connection: parameters, stored secret kinds, the last health check."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    kind = connection_kind(conn.kind)
    values = {"name": conn.name, **_shown(kind, ops.shown_params(conn))}
    return _form(request, db, me, conn.organization, conn, kind, values, {})


@router.post("/connections/{connection_id}", response_model=None)
def update_connection(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Save changes; empty secret fields keep the stored secrets, unless the tenant, the app
    or an endpoint changes: then the secret is asked for again (shown next to its field)."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    kind = connection_kind(conn.kind)
    try:
        changed = ops.update_connection(db, state_of(request).box, conn, _input(form, kind))
    except ConfigError as exc:
        return _form(request, db, me, conn.organization, conn, kind, form, field_errors(exc), 422)
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
