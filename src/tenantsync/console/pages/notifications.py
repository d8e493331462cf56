"""Notifications: your subscriptions, the delivery log, and (super administrators) SMTP."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select

from tenantsync.console.api.schemas import Id
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageReader, Principal, require_page
from tenantsync.console.ops import notify as ops
from tenantsync.console.ops.errors import FieldErrors
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.console.state import state_of
from tenantsync.store import notify
from tenantsync.store.models import Organization, Role

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]
PageSmtpAdmin = Annotated[Principal, Depends(require_page(Role.SUPER_ADMIN, ops.SMTP))]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _page(
    request: Request,
    db: DbSession,
    me: Principal,
    status_code: int = 200,
    *,
    page: int = 1,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    made: str | None = None,
) -> HTMLResponse:
    organizations = db.execute(
        select(Organization.id, Organization.name).order_by(Organization.name)
    )
    return render(
        request,
        "notifications.html",
        me,
        status_code,
        subscriptions=ops.subscriptions(db, me),
        deliveries=ops.deliveries(db, me, page, 50),
        organizations=list(organizations),
        events=notify.EVENT_TITLES,
        smtp=ops.smtp(db) if me.super else None,
        errors=errors or {},
        values=values or {},
        made=made,
    )


@router.get("/notifications", response_class=HTMLResponse)
def notifications(
    request: Request, db: DbSession, me: PageReader, page: PageNo = 1
) -> HTMLResponse:
    """Subscriptions, the delivery log and the SMTP server."""
    return _page(request, db, me, page=page)


@router.post("/notifications", response_class=HTMLResponse, response_model=None)
def subscribe(
    request: Request, db: DbSession, me: PageReader, form: Form
) -> HTMLResponse | RedirectResponse:
    """Subscribe yourself; a webhook secret tenantsync made is shown this once."""
    org = form.get("organization_id", "")
    data = ops.SubscriptionInput(
        organization_id=int(org) if org.isdigit() else 0,
        channel=form.get("channel", ""),
        events=[e for e in notify.EVENTS if form.get(f"event_{e}")],
        email=form.get("email") or None,
        url=form.get("url") or None,
        secret=form.get("secret") or None,
    )
    try:
        view, made = ops.subscribe(db, state_of(request).box, me, data)
    except FieldErrors as exc:
        kept = {k: v for k, v in form.items() if k not in ("csrf", "secret")}
        return _page(request, db, me, 422, errors=exc.errors, values=kept)
    record(db, me, "notification.subscribe", view.target, {"events": view.events})
    if made is None:
        return redirect(request, "/notifications", f"Subscribed: {view.target}")
    return _page(request, db, me, made=made)


@router.post("/notifications/{subscription_id}/remove")
def unsubscribe(
    request: Request, subscription_id: Id, db: DbSession, me: PageReader, form: Form
) -> RedirectResponse:
    """End a subscription."""
    ops.unsubscribe(db, me, subscription_id)
    record(db, me, "notification.unsubscribe", str(subscription_id))
    return redirect(request, "/notifications", "Subscription removed")


@router.post("/notifications/{subscription_id}/test")
def send_test(
    request: Request, subscription_id: Id, db: DbSession, me: PageReader, form: Form
) -> RedirectResponse:
    """Queue a test message."""
    ops.send_test(db, me, subscription_id)
    return redirect(request, "/notifications", "Test message queued; see the delivery log")


@router.post("/notifications/smtp", response_class=HTMLResponse, response_model=None)
def set_smtp(
    request: Request, db: DbSession, me: PageSmtpAdmin, form: Form
) -> HTMLResponse | RedirectResponse:
    """Set the SMTP server (an empty password keeps the stored one)."""
    port = form.get("port", "")
    data = ops.SmtpInput(
        host=form.get("host", ""),
        port=int(port) if port.isdigit() else 0,
        starttls=bool(form.get("starttls")),
        username=form.get("username") or None,
        password=form.get("password") or None,
        from_address=form.get("from_address", ""),
    )
    try:
        row = ops.set_smtp(db, state_of(request).box, me, data)
    except FieldErrors as exc:
        kept: dict[str, Any] = {k: v for k, v in form.items() if k not in ("csrf", "password")}
        return _page(request, db, me, 422, errors=exc.errors, values=kept)
    record(db, me, "notification.smtp", row.host, {"port": row.port, "starttls": row.starttls})
    return redirect(request, "/notifications", "SMTP server saved")
