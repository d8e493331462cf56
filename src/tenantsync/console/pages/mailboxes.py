"""The mailbox list (sorted, paged, filtered in the URL, exported, restored in bulk), the
mailbox page at the centre, and the search box in the header."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageWriter
from tenantsync.console.downloads import csv_response
from tenantsync.console.ops import directory as ops
from tenantsync.console.ops import mailbox_page
from tenantsync.console.ops import mailboxes as mailbox_ops
from tenantsync.console.ops import search as search_ops
from tenantsync.console.ops.grant_data import sees_grants
from tenantsync.console.ops.tables import PAGE_SIZES, Sort, page_size, parse_sort
from tenantsync.console.pages.filters import choice, object_id
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.pages.tables import IdsForm, plural
from tenantsync.engine.calendar import views as calendar_views
from tenantsync.errors import ConfigError
from tenantsync.model import LOCATION_TITLES
from tenantsync.store.models import Mailbox, MailboxKind, Organization

router = APIRouter()
HISTORY_PAGE = 20


def _flag(value: str) -> bool | None:
    return {"yes": True, "no": False}.get(value)


@dataclass(frozen=True)
class ListQuery:
    """What the mailbox list's URL asks for: the filter and the sort (the list and its
    export read the same parameters)."""

    f: mailbox_ops.MailboxFilter
    sort: Sort
    billable: str


def list_query(
    q: SearchText = "",
    kind: SearchText = "",
    billable: SearchText = "",
    policy_group_id: SearchText = "",
    removed: SearchText = "",
    sort: SearchText = "",
) -> ListQuery:
    """The list's filters and sort from the query string (empty or unknown: any)."""
    f = mailbox_ops.MailboxFilter(
        q,
        choice(MailboxKind, kind),
        _flag(billable),
        object_id(policy_group_id),
        removed in ("true", "on", "1"),
    )
    order = parse_sort(sort, mailbox_ops.COLUMNS, mailbox_ops.DEFAULT_SORT)
    return ListQuery(f, order, billable)


Listing = Annotated[ListQuery, Depends(list_query)]


@router.get("/organizations/{org_id}/mailboxes", response_class=HTMLResponse)
def mailboxes(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageReader,
    listing: Listing,
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """Mailboxes: search by address or name, filter by kind, billable, policy group, removed;
    sort by any column; every choice stays in the URL."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    f, order = listing.f, listing.sort
    found = mailbox_ops.search_mailboxes(db, org.id, f, page, page_size(per_page), order)
    return render(
        request,
        "mailboxes.html",
        me,
        org=org,
        found=found,
        f=f,
        billable=listing.billable,
        sort=order,
        columns={c.key: c.title for c in mailbox_ops.COLUMNS},
        page_sizes=PAGE_SIZES,
        kinds=[k.value for k in MailboxKind],
        policy_groups=ops.policy_groups(db, org.id),
    )


@router.get("/organizations/{org_id}/mailboxes.csv", response_class=StreamingResponse)
def export_mailboxes(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageReader,
    listing: Listing,
) -> StreamingResponse:
    """Every mailbox the list's filters match, in its order, as CSV streamed row by row."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    f, order, org_id = listing.f, listing.sort, org.id
    return csv_response(
        request,
        f"{org.name}-mailboxes.csv",
        mailbox_ops.EXPORT_HEADER,
        lambda session: mailbox_ops.export_rows(session, org_id, f, order),
    )


Form = Annotated[dict[str, str], Depends(form_data)]


@router.post("/organizations/{org_id}/mailboxes/restore")
def restore_mailboxes(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: IdsForm
) -> RedirectResponse:
    """Restore the removed mailboxes ticked in the list."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    ids, query = form
    restored = mailbox_ops.restore_mailboxes(db, org.id, ids, me.email)
    if restored:
        record(db, me, "mailbox.restore", org.name, {"mailboxes": restored[:100]})
    notice = f"{plural(len(restored), 'mailbox', 'mailboxes')} restored"
    return redirect(request, f"/organizations/{org.id}/mailboxes{query}", notice)


@router.get("/mailboxes/{mailbox_id}", response_class=HTMLResponse)
def mailbox(
    request: Request, mailbox_id: Id, db: DbSession, me: PageReader, history: PageNo = 1
) -> HTMLResponse:
    """A mailbox: addresses, kind, where it lives, billable and why, policy group, groups,
    delegate access both ways (super administrators), its history, restore when removed."""
    mbx = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    grants = sees_grants(me)
    return render(
        request,
        "mailbox.html",
        me,
        mbx=mbx,
        org=db.get(Organization, mbx.organization_id),
        groups=ops.groups_of_mailbox(db, mbx),
        location_titles=LOCATION_TITLES,
        calendar_states=calendar_views.states_of(db, mbx),
        on_it=mailbox_page.access(db, mbx, held=False) if grants else [],
        held=mailbox_page.access(db, mbx, held=True) if grants else [],
        history=mailbox_page.history(db, mbx, history, HISTORY_PAGE, grants=grants),
    )


@router.post("/mailboxes/{mailbox_id}/restore")
def restore_mailbox(
    request: Request, mailbox_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Restore one removed mailbox from its page."""
    mbx = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    if mbx.deleted_at is None:
        raise ConfigError(f"{mbx.primary_address} is not removed", field="mailbox")
    mailbox_ops.restore_mailboxes(db, mbx.organization_id, [mbx.id], me.email)
    record(db, me, "mailbox.restore", mbx.primary_address)
    return redirect(request, f"/mailboxes/{mbx.id}", f"{mbx.primary_address} restored")


@router.get("/search", response_class=HTMLResponse)
def search(request: Request, db: DbSession, me: PageReader, q: SearchText = "") -> HTMLResponse:
    """People, mailboxes, groups and organizations whose name or address contains ``q``, in
    every organization, whatever the case and accents."""
    found: dict[str, Any] = search_ops.everywhere(db, q) if q.strip() else {}
    return render(request, "search.html", me, q=q, found=found)
