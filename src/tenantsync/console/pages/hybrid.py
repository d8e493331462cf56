"""Hybrid pages: an exported-files connection's files (upload, list, remove), a run's
cross-premises report (filters, counts per category) and its migration batches, with
CSV and JSON exports. Grants show to super administrators only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter, check_csrf
from tenantsync.console.ops import hybrid as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.grant_data import HIDDEN
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.state import state_of
from tenantsync.engine.hybrid import views
from tenantsync.engine.hybrid.files import (
    MAX_UPLOAD_BYTES,
    add_file,
    check_file,
    list_files,
    parse_side,
    remove_file,
)
from tenantsync.errors import ConfigError
from tenantsync.store.models import Connection, Run

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]
BatchName = Annotated[str, PathParam(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
EXPORT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


@router.get("/connections/{connection_id}/files", response_class=HTMLResponse)
def files(request: Request, connection_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """The files uploaded to an exported-files connection, and the upload form."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    found = list_files(state_of(request).settings, conn.id)
    return render(request, "hybrid_files.html", me, conn=conn, files=found, errors=[])


@router.post("/connections/{connection_id}/files", response_model=None)
async def upload(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter
) -> HTMLResponse | RedirectResponse:
    """Upload files: each is read whole first; one that cannot be read is refused with its
    line and column, and none of the upload is kept."""
    form = await request.form(max_part_size=MAX_UPLOAD_BYTES)
    check_csrf(request, str(form.get("csrf") or ""))
    conn = get_or_404(db, Connection, connection_id, "connection")
    settings = state_of(request).settings
    uploads = [u for u in form.getlist("files") if isinstance(u, UploadFile) and u.filename]
    errors: list[str] = []
    try:
        side = parse_side(str(form.get("side") or ""))
        contents = [(u.filename or "upload", await u.read()) for u in uploads]
        if not contents:
            raise ConfigError("choose at least one file", field="files")
        for name, data in contents:  # every file checked before any is kept
            check_file(conn, name, data, side)
        kept = [add_file(settings, conn, name, data, side) for name, data in contents]
    except ConfigError as exc:
        errors.append(str(exc))
    if errors:
        found = list_files(settings, conn.id)
        return render(request, "hybrid_files.html", me, 422, conn=conn, files=found, errors=errors)
    record(db, me, "connection.files", conn.name, {"files": [k.name for k in kept]})
    names = ", ".join(f"{k.name} ({k.cmdlet}, {k.side})" for k in kept)
    return redirect(request, f"/connections/{conn.id}/files", f"Kept {names}")


@router.post("/connections/{connection_id}/files/remove")
def remove(
    request: Request, connection_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Forget one uploaded file."""
    conn = get_or_404(db, Connection, connection_id, "connection")
    name = form.get("name", "")
    remove_file(state_of(request).settings, conn.id, name)
    record(db, me, "connection.files.remove", conn.name, {"file": name})
    return redirect(request, f"/connections/{conn.id}/files", f"Removed {name}")


@router.get("/runs/{run_id}/hybrid", response_class=HTMLResponse)
def report(
    request: Request,
    run_id: Id,
    db: DbSession,
    me: PageReader,
    category: SearchText = "",
    right: SearchText = "",
    direction: SearchText = "",
    search: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """A cross-premises report: counts per category, prerequisites, grants with filters."""
    run = get_or_404(db, Run, run_id, "run")
    f = views.GrantFilter(category, right, direction, search)
    view = ops.report_view(me, run, f, page)
    return render(request, "hybrid_report.html", me, run=run, view=view, f=f, hidden=HIDDEN)


@router.get("/runs/{run_id}/export")
def export(
    run_id: Id,
    db: DbSession,
    me: PageReader,
    what: SearchText = "grants",
    format: SearchText = "csv",
    category: SearchText = "",
    right: SearchText = "",
    direction: SearchText = "",
    search: SearchText = "",
    batch: SearchText = "",
) -> Response:
    """Download a report: grants, commands, batches, broken, migration (CSV or JSON)."""
    run = get_or_404(db, Run, run_id, "run")
    fmt = format if format in EXPORT_TYPES else "csv"
    f = views.GrantFilter(category, right, direction, search)
    body = ops.export(me, run, what, fmt, f, batch or None)
    suffix = f"-{batch}" if batch else ""
    filename = f"run-{run.id}-{what}{suffix}.{fmt}"
    return PlainTextResponse(
        body,
        media_type=EXPORT_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get("/runs/{run_id}/batches", response_class=HTMLResponse)
def batches(request: Request, run_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """A migration batch plan: batches, totals, service accounts."""
    run = get_or_404(db, Run, run_id, "run")
    return render(
        request, "batches.html", me, run=run, view=ops.batches_view(me, run), hidden=HIDDEN
    )


@router.get("/runs/{run_id}/batches/{name}", response_class=HTMLResponse)
def batch(
    request: Request, run_id: Id, name: BatchName, db: DbSession, me: PageReader, page: PageNo = 1
) -> HTMLResponse:
    """One batch: its mailboxes, completion groups, and the grants its boundary breaks."""
    run = get_or_404(db, Run, run_id, "run")
    view = ops.batch_view(me, run, name, page)
    return render(request, "batch.html", me, run=run, view=view, hidden=HIDDEN)
