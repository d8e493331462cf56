"""The change feed follows a real user sync: the first sync's mailboxes, groups and policy
groups, then a changed address as one update with before and after, after the cursor."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select

from tenantsync.sandbox import SandboxTenant
from tenantsync.store import feed
from tenantsync.store.models import Organization
from tests.integration.user_sync.harness import UserSync
from tests.integration.user_sync.test_delta import a_licensed_user


def follow(sync: UserSync, after: int) -> feed.FeedPage:
    with sync.db.session() as session:
        org_id = session.scalars(select(Organization.id)).one()
        page = feed.read(session, org_id, after, feed.MAX_LIMIT, grants=True)
    assert isinstance(page, feed.FeedPage) and not page.more
    return page


def test_the_feed_follows_a_user_sync(sync: UserSync, tenant: SandboxTenant) -> None:
    first = sync.run()
    assert first.status == "succeeded", first.error
    page = follow(sync, 0)
    kinds = Counter((e.entity, e.action) for e in page.events)
    assert kinds[("mailbox", "add")] == first.counts["mailboxes_added"] > 0
    assert kinds[("source_group", "add")] > 0
    assert [e.seq for e in page.events] == list(range(1, page.next + 1))
    assert {e.run_id for e in page.events} == {first.id}

    uid = a_licensed_user(tenant)
    old = tenant.users[uid].mail.lower()
    new = "renamed." + old
    tenant.update_user(uid, mail=new)
    second = sync.run()
    later = follow(sync, page.next)
    [event] = [e for e in later.events if e.entity == "mailbox"]
    assert (event.action, event.key, event.run_id) == ("update", new, second.id)
    assert event.before is not None and event.after is not None
    assert (event.before["primary_address"], event.after["primary_address"]) == (old, new)
    assert old in event.after["aliases"]
