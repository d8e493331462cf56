"""An organization's delegate grants as a table: who can open whose mailbox, sorted, filtered,
exported, manual grants revoked in bulk (super administrators only, as all grant data)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageSuper
from tenantsync.console.downloads import csv_response
from tenantsync.console.ops import grant_table as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.tables import PAGE_SIZES, Sort, page_size, parse_sort
from tenantsync.console.pages.filters import choice
from tenantsync.console.pages.render import redirect, render
from tenantsync.console.pages.tables import IdsForm, plural
from tenantsync.model.permissions import RIGHT_TITLES
from tenantsync.store.models import Organization, Right

router = APIRouter()


@dataclass(frozen=True)
class TableQuery:
    """What the table's URL asks for (the table and its export read the same parameters)."""

    f: ops.GrantFilter
    sort: Sort
    origin: str


def table_query(
    q: SearchText = "", right: SearchText = "", origin: SearchText = "", sort: SearchText = ""
) -> TableQuery:
    """The filters and sort from the query string (empty or unknown: any)."""
    manual = {"manual": True, "task": False}.get(origin)
    f = ops.GrantFilter(q, choice(Right, right), manual)
    return TableQuery(f, parse_sort(sort, ops.COLUMNS, ops.DEFAULT_SORT), origin)


Table = Annotated[TableQuery, Depends(table_query)]


@router.get("/organizations/{org_id}/delegations", response_class=HTMLResponse)
def delegations(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageSuper,
    table: Table,
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """Every delegate grant of the organization, with its source and since when."""
    org = get_or_404(db, Organization, org_id, "organization")
    f, order = table.f, table.sort
    found = ops.list_grants(db, org.id, f, page, page_size(per_page), order)
    return render(
        request,
        "delegations.html",
        me,
        org=org,
        found=found,
        f=f,
        origin=table.origin,
        sort=order,
        columns={c.key: c.title for c in ops.COLUMNS},
        rights={r.value: t for r, t in RIGHT_TITLES.items()},
        page_sizes=PAGE_SIZES,
    )


@router.get("/organizations/{org_id}/delegations.csv", response_class=StreamingResponse)
def export_delegations(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageSuper,
    table: Table,
) -> StreamingResponse:
    """The grants the table's filters match, in its order, as CSV streamed row by row."""
    org = get_or_404(db, Organization, org_id, "organization")
    f, order, org_id = table.f, table.sort, org.id
    return csv_response(
        request,
        f"{org.name}-delegations.csv",
        ops.EXPORT_HEADER,
        lambda session: ops.export_rows(session, org_id, f, order),
    )


@router.post("/organizations/{org_id}/delegations/revoke")
def revoke(
    request: Request, org_id: Id, db: DbSession, me: PageSuper, form: IdsForm
) -> RedirectResponse:
    """Revoke the manual grants ticked in the table (a sync's grants are its task's)."""
    org = get_or_404(db, Organization, org_id, "organization")
    ids, query = form
    removed = ops.revoke_manual(db, org.id, ids, me.email)
    for g in removed:
        detail = {"grant": g.id, "delegate": g.delegate, "right": g.right}
        record(db, me, "delegate.revoke", g.mailbox, detail)
    notice = f"{plural(len(removed), 'manual grant', 'manual grants')} revoked"
    return redirect(request, f"/organizations/{org.id}/delegations{query}", notice)
