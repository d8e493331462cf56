"""A mailbox's replicated calendar: its events in a range, its replication state, its
secret feeds (super administrators: calendar contents are delegate data)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from tenantsync.console.api.schemas import Id, SearchText
from tenantsync.console.audit import record
from tenantsync.console.auth import DbSession, Reader, Super
from tenantsync.console.ops import calendar as ops
from tenantsync.console.ops.directory import get_or_404
from tenantsync.engine.calendar import feeds, views
from tenantsync.engine.permission_sync.queries import find_mailbox
from tenantsync.errors import ConfigError
from tenantsync.store.models import CalendarFeed, Mailbox

router = APIRouter(tags=["calendar"])
When = Annotated[datetime, Query(description="ISO 8601 with an offset (Z for UTC)")]


class EventOut(BaseModel):
    """One instance: a single event, an occurrence of a series or an exception."""

    start: datetime
    end: datetime
    all_day: bool
    first_date: str
    last_date: str
    subject: str
    location: str
    show_as: str
    sensitivity: str
    kind: str = Field(description="single, occurrence or exception")
    masked: bool = Field(description="a private item whose details are not shown")
    event_id: str
    series_id: str | None


class StateOut(BaseModel):
    """How a mailbox calendar's replication stands."""

    model_config = ConfigDict(from_attributes=True)

    calendar_key: str
    calendar_name: str
    state: str
    reason: str | None
    task_id: int | None
    window_start: datetime | None
    window_end: datetime | None
    last_full_at: datetime | None
    last_read_at: datetime | None


class FeedIn(BaseModel):
    """Whose feed: the owner's or a delegate's address."""

    model_config = ConfigDict(extra="forbid")

    viewer: str = Field(min_length=3, max_length=320)


class FeedOut(BaseModel):
    """A feed (never its secret)."""

    id: int
    viewer: str
    prefix: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class FeedIssued(BaseModel):
    """A feed just issued: its URL carries the secret, shown this once."""

    id: int
    viewer: str
    url: str


@router.get("/mailboxes/{mailbox_id}/calendar/events", response_model=list[EventOut])
def calendar_events(
    mailbox_id: Id, db: DbSession, who: Super, start: When, end: When, tz: SearchText = "UTC"
) -> list[EventOut]:
    """The mailbox's events overlapping [start, end), series expanded, in zone ``tz``;
    private items masked (a console account is neither the owner nor a delegate)."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    if start.tzinfo is None or end.tzinfo is None:
        raise ConfigError("give start and end with an offset (Z for UTC)", field="start")
    shown = ops.events(db, mailbox, start, end, ops.zone(tz))
    return [
        EventOut(
            **{
                k: getattr(s, k)
                for k in EventOut.model_fields
                if k not in ("first_date", "last_date")
            },
            first_date=s.first_date.isoformat(),
            last_date=s.last_date.isoformat(),
        )
        for s in shown
    ]


@router.get("/mailboxes/{mailbox_id}/calendar/state", response_model=list[StateOut])
def calendar_state(mailbox_id: Id, db: DbSession, who: Reader) -> list[StateOut]:
    """The replication state of each of the mailbox's calendars."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    return [
        StateOut(
            calendar_key=s.calendar_key,
            calendar_name=s.calendar_name,
            state=s.state.value,
            reason=s.reason,
            task_id=s.task_id,
            window_start=s.window_start,
            window_end=s.window_end,
            last_full_at=s.last_full_at,
            last_read_at=s.last_read_at,
        )
        for s in views.states_of(db, mailbox)
    ]


@router.get("/mailboxes/{mailbox_id}/calendar/feeds", response_model=list[FeedOut])
def list_feeds(mailbox_id: Id, db: DbSession, who: Super) -> list[FeedOut]:
    """The mailbox's calendar feeds, revoked ones too (their secrets are never shown)."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    return [_feed_out(feed, viewer) for feed, viewer in feeds.feeds_of(db, mailbox)]


@router.post("/mailboxes/{mailbox_id}/calendar/feeds", response_model=FeedIssued, status_code=201)
def issue_feed(
    mailbox_id: Id, body: FeedIn, request: Request, db: DbSession, who: Super
) -> FeedIssued:
    """Issue a secret feed URL for the owner or a delegate (their earlier one is revoked)."""
    mailbox = get_or_404(db, Mailbox, mailbox_id, "mailbox")
    viewer = find_mailbox(db, body.viewer)
    issued = feeds.issue_feed(db, mailbox, viewer, who.email)
    record(
        db, who, "delegate.calendar_feed.issue", mailbox.primary_address, {"viewer": issued.viewer}
    )
    return FeedIssued(id=issued.id, viewer=issued.viewer, url=feed_url(request, issued.path))


@router.delete("/calendar-feeds/{feed_id}", response_model=FeedOut)
def revoke_feed(feed_id: Id, db: DbSession, who: Super) -> FeedOut:
    """Revoke a feed: its URL stops answering at once."""
    feed = feeds.revoke_feed(db, feed_id)
    viewer = get_or_404(db, Mailbox, feed.viewer_id, "mailbox")
    record(db, who, "delegate.calendar_feed.revoke", str(feed.mailbox_id), {"feed": feed_id})
    return _feed_out(feed, viewer.primary_address)


def feed_url(request: Request, path: str) -> str:
    """The feed's absolute URL on this console."""
    return str(request.base_url).rstrip("/") + path


def _feed_out(feed: CalendarFeed, viewer: str) -> FeedOut:
    return FeedOut(
        id=feed.id,
        viewer=viewer,
        prefix=feed.prefix,
        created_at=feed.created_at,
        created_by=feed.created_by,
        last_used_at=feed.last_used_at,
        revoked_at=feed.revoked_at,
    )
