"""The dashboard, API tokens and the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter
from tenantsync.console.downloads import csv_response
from tenantsync.console.ops import audit_table
from tenantsync.console.ops import runs as run_ops
from tenantsync.console.ops import tokens as ops
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.ops.grant_data import HIDDEN, audit_rows
from tenantsync.console.ops.progress import running
from tenantsync.console.ops.run_view import awaiting_count
from tenantsync.console.ops.tables import PAGE_SIZES, page_size, parse_sort
from tenantsync.console.pages.render import form_data, redirect, render

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, db: DbSession, me: PageReader) -> HTMLResponse:
    """Every task with its last status, last and next run, last failure; mailbox counts."""
    rows, counts = run_ops.dashboard(db)
    failing = sum(1 for r in rows if r.last_status == "failed")
    return render(
        request,
        "dashboard.html",
        me,
        rows=rows,
        counts=counts,
        failing=failing,
        awaiting=awaiting_count(db),
        running=running(db),
    )


@router.get("/tokens", response_class=HTMLResponse)
def tokens(request: Request, db: DbSession, me: PageReader) -> HTMLResponse:
    """The API tokens the account may see, and the form for a new one."""
    return render(
        request, "tokens.html", me, tokens=ops.visible_tokens(db, me), issued=None, errors={}
    )


@router.post("/tokens", response_class=HTMLResponse)
def create_token(request: Request, db: DbSession, me: PageWriter, form: Form) -> HTMLResponse:
    """Issue a token and show its value this once."""
    try:
        issued = ops.create_token(db, me, form.get("name", ""), form.get("account"))
    except FieldErrors as exc:
        return render(
            request,
            "tokens.html",
            me,
            422,
            tokens=ops.visible_tokens(db, me),
            issued=None,
            errors=exc.errors,
        )
    record(db, me, "token.create", issued.token.name, {"account": issued.token.account.email})
    return render(
        request, "tokens.html", me, tokens=ops.visible_tokens(db, me), issued=issued, errors={}
    )


@router.post("/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, token_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Revoke a token; it stops working at once."""
    token = ops.revoke_token(db, me, token_id)
    record(db, me, "token.revoke", token.name, {"token": token_id})
    return redirect(request, "/tokens", f"Token {token.name} revoked")


@router.get("/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    db: DbSession,
    me: PageReader,
    actor: SearchText = "",
    action: SearchText = "",
    sort: SearchText = "",
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """The audit log of administrative actions, newest first or sorted by a column (the
    grants of delegate actions for super administrators only)."""
    order = parse_sort(sort, audit_table.COLUMNS, audit_table.DEFAULT_SORT)
    found = audit_table.audit_log(db, page, page_size(per_page), actor, action, order)
    return render(
        request,
        "audit.html",
        me,
        entries=audit_rows(me, found),
        actor=actor,
        action=action,
        hidden=HIDDEN,
        sort=order,
        columns={c.key: c.title for c in audit_table.COLUMNS},
        page_sizes=PAGE_SIZES,
    )


@router.get("/audit.csv", response_class=StreamingResponse)
def export_audit(
    request: Request,
    me: PageReader,
    actor: SearchText = "",
    action: SearchText = "",
    sort: SearchText = "",
) -> StreamingResponse:
    """The filtered audit log as CSV, streamed (grant details as the page shows them)."""
    order = parse_sort(sort, audit_table.COLUMNS, audit_table.DEFAULT_SORT)
    return csv_response(
        request,
        "audit-log.csv",
        audit_table.EXPORT_HEADER,
        lambda session: audit_table.export_rows(session, me, actor, action, order),
    )
