"""Secret iCalendar feed URLs, one per (viewer, calendar mailbox): issued by a super
administrator for the owner or a delegate, shown once, stored as a SHA-256, revocable.

The secret in the URL is the credential: a feed answers without a console session, and
only while it is not revoked and its viewer may still view the calendar.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tenantsync.engine.calendar.views import Viewer, viewer_of
from tenantsync.errors import ConfigError, NotFound
from tenantsync.store.models import CalendarFeed, Mailbox
from tenantsync.timeutil import utcnow

SECRET_BYTES = 32
FEED_PATH = "/calendar-feeds/{secret}.ics"


@dataclass(frozen=True)
class IssuedFeed:
    """A feed just issued: its id and its secret (shown this once, never stored)."""

    id: int
    secret: str
    mailbox: str
    viewer: str

    @property
    def path(self) -> str:
        """The feed's path on the console."""
        return FEED_PATH.format(secret=self.secret)


def digest(secret: str) -> str:
    """How a feed secret is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def issue_feed(session: Session, mailbox: Mailbox, viewer: Mailbox, by: str) -> IssuedFeed:
    """A new secret feed of ``mailbox``'s calendar for ``viewer`` (the owner or one of its
    delegates); the viewer's earlier feed of it is revoked."""
    if viewer_of(session, mailbox, viewer) is None:
        raise ConfigError(
            f"{viewer.primary_address} is neither the owner of {mailbox.primary_address} nor "
            "one of its delegates",
            field="viewer",
        )
    session.execute(
        update(CalendarFeed)
        .where(
            CalendarFeed.mailbox_id == mailbox.id,
            CalendarFeed.viewer_id == viewer.id,
            CalendarFeed.revoked_at.is_(None),
        )
        .values(revoked_at=utcnow())
    )
    secret = secrets.token_urlsafe(SECRET_BYTES)
    row = CalendarFeed(
        organization_id=mailbox.organization_id,
        mailbox_id=mailbox.id,
        viewer_id=viewer.id,
        secret_hash=digest(secret),
        prefix=secret[:8],
        created_by=by,
    )
    session.add(row)
    session.flush()
    return IssuedFeed(row.id, secret, mailbox.primary_address, viewer.primary_address)


def revoke_feed(session: Session, feed_id: int) -> CalendarFeed:
    """Revoke a feed at once (its URL stops answering)."""
    row = session.get(CalendarFeed, feed_id)
    if row is None:
        raise NotFound(f"no calendar feed {feed_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    session.flush()
    return row


def feeds_of(session: Session, mailbox: Mailbox) -> list[tuple[CalendarFeed, str]]:
    """The mailbox's feeds (revoked ones too), with their viewer's address, newest first."""
    rows = session.execute(
        select(CalendarFeed, Mailbox.primary_address)
        .join(Mailbox, Mailbox.id == CalendarFeed.viewer_id)
        .where(CalendarFeed.mailbox_id == mailbox.id)
        .order_by(CalendarFeed.id.desc())
    )
    return [(feed, address) for feed, address in rows]


def open_feed(session: Session, secret: str) -> tuple[Mailbox, Viewer] | None:
    """The calendar and viewer a secret opens, or None (unknown, revoked, or the viewer may
    no longer view the calendar)."""
    if not secret or len(secret) > 200:
        return None
    row = session.scalar(select(CalendarFeed).where(CalendarFeed.secret_hash == digest(secret)))
    if row is None or row.revoked_at is not None:
        return None
    mailbox = session.get(Mailbox, row.mailbox_id)
    viewer_mailbox = session.get(Mailbox, row.viewer_id)
    if mailbox is None or viewer_mailbox is None:
        return None
    viewer = viewer_of(session, mailbox, viewer_mailbox)
    if viewer is None:
        return None
    row.last_used_at = utcnow()
    return mailbox, viewer
