"""What a threshold stop of a user sync would remove, as the run page counts it: how many,
of which kinds, how many bill, and the names a page at a time."""

from __future__ import annotations

from sqlalchemy import select

from tenantsync.console.ops.run_view import impact, removal_count, removal_page
from tenantsync.sandbox import SandboxTenant
from tenantsync.store.database import Database
from tenantsync.store.models import Mailbox, Run
from tests.integration.user_sync.harness import UserSync


def test_a_stop_counts_its_removals_by_kind_and_billable_and_pages_their_names(
    sync: UserSync, tenant: SandboxTenant, db: Database
) -> None:
    sync.run()
    leaving = [u for u in tenant.users.values() if u.mailbox in ("user", "shared")][:12]
    for user in leaving:
        tenant.remove_user(user.id)
    stopped = sync.run()
    assert stopped.status == "awaiting_confirmation"
    with db.session() as session:
        run = session.get_one(Run, stopped.id)
        doomed = session.scalars(
            select(Mailbox).where(Mailbox.primary_address.in_(stopped.review or []))
        ).all()
        found = impact(session, run)
        assert found.total == removal_count(session, run) == len(stopped.review or []) == 12
        assert found.by_entity == {"mailbox": 12}
        kinds: dict[str, int] = {}
        for mailbox in doomed:
            kinds[mailbox.kind.value] = kinds.get(mailbox.kind.value, 0) + 1
        assert found.by_kind == kinds and sum(kinds.values()) == 12
        assert found.billable == sum(1 for m in doomed if m.billable)
        first = removal_page(session, run, "", 1, 5)
        rest = removal_page(session, run, "", 3, 5)
        assert (first.total, len(first.items), len(rest.items)) == (12, 5, 2)
        assert [r.key for r in first.items] == (stopped.review or [])[:5]
        one = doomed[0]
        named = removal_page(session, run, one.primary_address.upper(), 1, 5)
        assert [(r.key, r.kind, r.billable) for r in named.items] == [
            (one.primary_address, one.kind.value, one.billable)
        ]
