"""The change feed as a viewer reads it: grant changes only for super administrators."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tenantsync.console.auth import Principal
from tenantsync.console.ops.directory import get_or_404
from tenantsync.console.ops.grant_data import sees_grants
from tenantsync.store import feed
from tenantsync.store.models import Organization


def changes(
    session: Session, viewer: Principal, org_id: int, after: int | None, limit: int
) -> feed.FeedPage | feed.ResyncNeeded:
    """The organization's feed after ``after`` for ``viewer`` (store.feed.read)."""
    get_or_404(session, Organization, org_id, "organization")
    return feed.read(session, org_id, after, limit, grants=sees_grants(viewer))
