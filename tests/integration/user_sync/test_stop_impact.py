"""A user sync's run as its page sums it up: what a threshold stop would remove (how many, of
which kinds, how many bill, the names a page at a time) and where mailboxes moved."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from starlette.applications import Starlette

from tenantsync.console.ops.run_view import (
    impact,
    plan_head,
    removal_count,
    removal_page,
    summary_words,
)
from tenantsync.sandbox import SandboxTenant
from tenantsync.settings import Settings
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


def test_the_run_page_says_where_mailboxes_moved(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    rule = {"field": "department", "operator": "equals", "value": "Sales", "policy_group": "Sales"}
    sync = UserSync(db, settings, tenant, app, tmp_path, options={"rules": [rule]})
    sync.run()
    staff = [u for u in tenant.users.values() if u.mailbox == "user" and u.department != "Sales"]
    for user in staff[:3]:
        tenant.update_user(user.id, department="Sales")
    moved = sync.run()
    assert moved.plan is not None and moved.plan["moved_to"] == {"Sales": 3}
    with db.session() as session:
        words = summary_words(plan_head(session, moved.id), applied=True)
    assert "3 mailboxes moved to Sales" in words
