"""A mailbox's calendar (week and agenda, in the viewer's zone), its replication state and
its feeds (super administrators); and the feeds themselves, which answer without a console
session: the secret in their URL is the credential."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenantsync.console.api.calendar import feed_url
from tenantsync.console.api.schemas import Id, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, PageSuper
from tenantsync.console.ops import calendar as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.errors import field_errors
from tenantsync.console.pages.render import form_data, redirect, render
from tenantsync.engine.calendar import feeds, views
from tenantsync.engine.calendar.ical import feed
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.models import Mailbox, Organization
from tenantsync.timeutil import utcnow

router = APIRouter()
Form = Annotated[dict[str, str], Depends(form_data)]
VIEWS = {"week": 7, "agenda": 14}
ZONES = (
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Warsaw",
    "America/New_York",
    "America/Los_Angeles",
    "Asia/Tokyo",
    "Asia/Singapore",
    "Australia/Sydney",
    "Australia/Lord_Howe",
)


@router.get("/mailboxes/{mailbox_id}/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    mailbox_id: Id,
    db: DbSession,
    me: PageSuper,
    view: SearchText = "week",
    start: SearchText = "",
    tz: SearchText = "UTC",
) -> HTMLResponse:
    """The mailbox's calendar, a week or two weeks of agenda from ``start`` in zone ``tz``
    (private items masked), its replication state and its feeds."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    view = view if view in VIEWS else "week"
    zone = ops.zone(tz)
    first = _first_day(start, view, zone)
    begin, end = ops.span(first, VIEWS[view], zone)
    shown = ops.events(db, mailbox, begin, end, zone)
    days = [first + timedelta(days=n) for n in range(VIEWS[view])]
    by_day = {d: [s for s in shown if s.first_date <= d <= s.last_date] for d in days}
    return render(
        request,
        "calendar.html",
        me,
        mbx=mailbox,
        org=db.get(Organization, mailbox.organization_id),
        view=view,
        tz=zone.key,
        zones=ZONES if zone.key in ZONES else (zone.key, *ZONES),
        days=days,
        by_day=by_day,
        first=first,
        earlier=(first - timedelta(days=VIEWS[view])).isoformat(),
        later=(first + timedelta(days=VIEWS[view])).isoformat(),
        states=views.states_of(db, mailbox),
        delegates=views.delegates(db, mailbox),
        feeds=feeds.feeds_of(db, mailbox),
        errors={},
    )


@router.post("/mailboxes/{mailbox_id}/calendar/feeds", response_model=None)
def issue_feed(
    request: Request, mailbox_id: Id, db: DbSession, me: PageSuper, form: Form
) -> RedirectResponse:
    """Issue a secret feed URL for the owner or a delegate; it is shown once."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    viewer = db.get(Mailbox, _int(form.get("viewer", "")))
    back = f"/mailboxes/{mailbox.id}/calendar"
    if viewer is None or viewer.organization_id != mailbox.organization_id:
        return redirect(request, back, "Pick the owner or a delegate")
    try:
        issued = feeds.issue_feed(db, mailbox, viewer, me.email)
    except ConfigError as exc:
        return redirect(request, back, field_errors(exc).get("viewer", str(exc)))
    record(
        db, me, "delegate.calendar_feed.issue", mailbox.primary_address, {"viewer": issued.viewer}
    )
    url = feed_url(request, issued.path)
    return redirect(
        request, back, f"Feed for {issued.viewer} (copy it now, it is shown once): {url}"
    )


@router.post("/calendar-feeds/{feed_id}/revoke")
def revoke_feed(
    request: Request, feed_id: Id, db: DbSession, me: PageSuper, form: Form
) -> RedirectResponse:
    """Revoke a feed: its URL stops answering at once."""
    revoked = feeds.revoke_feed(db, feed_id)
    record(db, me, "delegate.calendar_feed.revoke", str(revoked.mailbox_id), {"feed": feed_id})
    return redirect(request, f"/mailboxes/{revoked.mailbox_id}/calendar", "Feed revoked")


@router.get("/calendar-feeds/{secret}.ics")
def calendar_feed(secret: str, db: DbSession) -> Response:
    """A viewer's feed of a mailbox's calendar (RFC 5545); 404 for a secret that is
    unknown or revoked, or whose viewer may no longer view the calendar."""
    opened = feeds.open_feed(db, secret)
    if opened is None:
        raise NotFound("no such calendar feed")
    mailbox, viewer = opened
    return Response(
        feed(db, mailbox, viewer),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'inline; filename="calendar.ics"'},
    )


def _first_day(start: str, view: str, zone: ZoneInfo) -> date:
    today = utcnow().astimezone(zone).date()
    try:
        first = date.fromisoformat(start) if start else today
    except ValueError:
        first = today
    # A week starts on Monday; an agenda where it is asked to.
    return first - timedelta(days=first.weekday()) if view == "week" else first


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        return 0
