"""Organizations, domains, mailboxes, groups and delegate access (super administrators)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from sqlalchemy import select

from tenantsync.connectors.kinds import points_at
from tenantsync.console.api.schemas import Id, PageNo, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, PageSuper, PageWriter, Principal
from tenantsync.console.downloads import csv_response
from tenantsync.console.ops import delegations
from tenantsync.console.ops import directory as ops
from tenantsync.console.ops.errors import field_errors
from tenantsync.console.ops.paging import Page
from tenantsync.console.ops.runs import mailbox_counts
from tenantsync.console.ops.tables import PAGE_SIZES, Sort, page_size, parse_sort
from tenantsync.console.pages.filters import choice
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.errors import ConfigError
from tenantsync.store.internal import shown
from tenantsync.store.models import (
    Connection,
    Definition,
    Domain,
    GroupKind,
    Mailbox,
    Organization,
    Right,
    Schedule,
    ScheduledTask,
    SourceGroup,
)

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]


@router.get("/organizations", response_class=HTMLResponse)
def organizations(
    request: Request,
    db: DbSession,
    me: PageReader,
    q: SearchText = "",
    sort: SearchText = "",
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """Organizations, sorted and searched, and (for administrators) the form to add one."""
    order = parse_sort(sort, ops.ORGANIZATION_COLUMNS, ops.ORGANIZATION_SORT)
    orgs = ops.list_organizations(db, page, page_size(per_page), q, order)
    return _organizations_page(request, me, orgs, q, order)


def _organizations_page(
    request: Request,
    me: Principal,
    orgs: Page[Organization],
    q: str,
    order: Sort,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    return render(
        request,
        "organizations.html",
        me,
        200 if errors is None else 422,
        orgs=orgs,
        q=q,
        errors=errors or {},
        form=form or {},
        sort=order,
        columns={c.key: c.title for c in ops.ORGANIZATION_COLUMNS},
        page_sizes=PAGE_SIZES,
    )


@router.get("/organizations.csv", response_class=StreamingResponse)
def export_organizations(
    request: Request, me: PageReader, q: SearchText = "", sort: SearchText = ""
) -> StreamingResponse:
    """The organizations the search matches, in the list's order, as CSV."""
    order = parse_sort(sort, ops.ORGANIZATION_COLUMNS, ops.ORGANIZATION_SORT)
    return csv_response(
        request,
        "organizations.csv",
        ops.ORGANIZATION_HEADER,
        lambda session: ops.organization_rows(session, q, order),
    )


@router.post("/organizations", response_model=None)
def create_organization(
    request: Request, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Add an organization (with its Main policy group)."""
    try:
        org = ops.add_organization(db, form.get("name", ""), form.get("display_name", ""))
    except ConfigError as exc:
        orgs = ops.list_organizations(db, 1, 50)
        return _organizations_page(
            request, me, orgs, "", ops.ORGANIZATION_SORT, field_errors(exc), form
        )
    record(db, me, "organization.create", org.name)
    return redirect(request, f"/organizations/{org.id}", f"Organization {org.name} created")


def _listing(db: DbSession, model: Any, org_id: int) -> list[object]:
    stmt = select(model).where(model.organization_id == org_id).order_by(model.name)
    if model in (Definition, ScheduledTask):
        stmt = stmt.where(shown(model))
    return list(db.scalars(stmt))


def _organization_page(
    request: Request,
    db: DbSession,
    me: Principal,
    org: Organization,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """The organization page; with ``errors`` the domain form shows them (422)."""
    connections = list(
        db.scalars(
            select(Connection).where(Connection.organization_id == org.id).order_by(Connection.name)
        )
    )
    return render(
        request,
        "organization.html",
        me,
        200 if errors is None else 422,
        org=org,
        counts=mailbox_counts(db, org.id),
        connections=connections,
        points_at={c.id: points_at(c.kind, c.params) for c in connections},
        definitions=_listing(db, Definition, org.id),
        schedules=_listing(db, Schedule, org.id),
        tasks=_listing(db, ScheduledTask, org.id),
        errors=errors or {},
        form=form or {},
    )


@router.get("/organizations/{org_id}", response_class=HTMLResponse)
def organization(request: Request, org_id: Id, db: DbSession, me: PageReader) -> HTMLResponse:
    """An organization: domains, mailbox counts, connections, definitions, schedules, tasks."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    return _organization_page(request, db, me, org)


@router.post("/organizations/{org_id}/domains", response_model=None)
def add_domain(
    request: Request, org_id: Id, db: DbSession, me: PageWriter, form: Form
) -> HTMLResponse | RedirectResponse:
    """Add an internal domain to an organization; a refused one is shown at the field."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    try:
        domain = ops.add_domain(db, org, form.get("name", ""))
    except ConfigError as exc:
        return _organization_page(request, db, me, org, field_errors(exc), form)
    record(db, me, "domain.add", f"{org.name}/{domain.name}")
    return redirect(request, f"/organizations/{org.id}", f"Domain {domain.name} added")


@router.post("/domains/{domain_id}/remove")
def remove_domain(
    request: Request, domain_id: Id, db: DbSession, me: PageWriter, form: Form
) -> RedirectResponse:
    """Remove an internal domain."""
    domain = ops.get_or_404(db, Domain, domain_id, "domain")
    org_id = domain.organization_id
    record(db, me, "domain.remove", f"{domain.organization.name}/{domain.name}")
    db.delete(domain)
    return redirect(request, f"/organizations/{org_id}", f"Domain {domain.name} removed")


@router.get("/organizations/{org_id}/groups", response_class=HTMLResponse)
def groups(
    request: Request,
    org_id: Id,
    db: DbSession,
    me: PageReader,
    q: SearchText = "",
    kind: SearchText = "",
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """The synced source groups of an organization."""
    org = ops.get_or_404(db, Organization, org_id, "organization")
    group_kind = choice(GroupKind, kind)
    found = ops.list_groups(db, org.id, page, page_size(per_page), q, group_kind)
    return render(
        request,
        "groups.html",
        me,
        org=org,
        found=found,
        q=q,
        kind=group_kind,
        kinds=[k.value for k in GroupKind],
        page_sizes=PAGE_SIZES,
    )


@router.get("/groups/{group_id}", response_class=HTMLResponse)
def group(
    request: Request,
    group_id: Id,
    db: DbSession,
    me: PageReader,
    per_page: SearchText = "",
    page: PageNo = 1,
) -> HTMLResponse:
    """A source group: kind, address, DN, and its members (nested groups closed over)."""
    found = ops.get_or_404(db, SourceGroup, group_id, "group")
    return render(
        request,
        "group.html",
        me,
        group=found,
        org=db.get(Organization, found.organization_id),
        members=ops.group_members(db, found, page, page_size(per_page)),
        page_sizes=PAGE_SIZES,
    )


def _delegates_page(
    request: Request,
    db: DbSession,
    me: Principal,
    mbx: Mailbox,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, str] | None = None,
) -> HTMLResponse:
    """Who holds rights on the mailbox, and which mailboxes its owner can open."""
    opens = delegations.can_open(db, mbx)
    return render(
        request,
        "delegates.html",
        me,
        status_code,
        mbx=mbx,
        grants=ops.grants_of_mailbox(db, mbx),
        can_open=opens,
        ids=delegations.mailbox_ids(db, mbx.organization_id, [r.mailbox for r in opens]),
        rights=[r.value for r in Right],
        errors=errors or {},
        form=form or {},
    )


@router.get("/mailboxes/{mailbox_id}/delegates", response_class=HTMLResponse)
def delegates(request: Request, mailbox_id: Id, db: DbSession, me: PageSuper) -> HTMLResponse:
    """Delegate access: who holds which right on the mailbox and which mailboxes its owner can
    open, each with right, source and via-group (super administrators)."""
    mbx = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    return _delegates_page(request, db, me, mbx)


@router.post("/mailboxes/{mailbox_id}/delegates", response_model=None)
def add_delegate(
    request: Request, mailbox_id: Id, db: DbSession, me: PageSuper, form: Form
) -> HTMLResponse | RedirectResponse:
    """Grant a right by hand (origin manual); errors are shown next to the fields."""
    mbx = ops.get_or_404(db, Mailbox, mailbox_id, "mailbox")
    try:
        right = Right(form.get("right", ""))
    except ValueError:
        right = None
    try:
        if right is None:
            raise ConfigError("pick a right", field="right")
        ops.add_manual_grant(db, mbx, form.get("delegate", ""), right, me.email)
    except ConfigError as exc:
        return _delegates_page(request, db, me, mbx, 422, field_errors(exc), form)
    delegate = form.get("delegate", "").strip().lower()
    record(
        db, me, "delegate.grant", mbx.primary_address, {"delegate": delegate, "right": right.value}
    )
    return redirect(
        request, f"/mailboxes/{mbx.id}/delegates", f"{delegate} now holds {right.value}"
    )


@router.post("/delegate-grants/{grant_id}/remove")
def remove_delegate(
    request: Request, grant_id: Id, db: DbSession, me: PageSuper, form: Form
) -> RedirectResponse:
    """Remove a manual grant."""
    grant = ops.remove_manual_grant(db, grant_id, me.email)
    record(db, me, "delegate.revoke", str(grant.mailbox_id), {"grant": grant_id})
    return redirect(request, f"/mailboxes/{grant.mailbox_id}/delegates", "Manual grant removed")
