"""A change of a definition's options takes effect on the next preview and run: stored
mailboxes are evaluated again without reading the source, unless the change may take in
users the store never held; a delta run that found nothing says so."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from tenantsync.sandbox import SandboxTenant, sandbox_of
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import MailboxKind
from tests.integration.user_sync.harness import UserSync


def seen(app: Starlette) -> dict[str, int]:
    """The requests the sandbox saw since the last call, per endpoint family."""
    requests = sandbox_of(app).gate.requests
    taken = dict(requests)
    requests.clear()
    return taken


def biggest_department(tenant: SandboxTenant) -> str:
    people = [u.department for u in tenant.users.values() if u.mailbox == "user" and u.department]
    return max(sorted(set(people)), key=people.count)


def test_a_changed_rule_moves_stored_mailboxes_on_the_next_preview_and_run_without_a_read(
    sync: UserSync, tenant: SandboxTenant, app: Starlette
) -> None:
    sync.run()
    seen(app)
    quiet = sync.run()
    assert quiet.counts["read"] == "delta"
    assert "delta read: no changes at the source" in [m["text"] for m in quiet.messages]
    delta_only = seen(app)
    dept = biggest_department(tenant)
    rule = {"field": "department", "operator": "equals", "value": dept, "policy_group": "Sales"}
    sync.set_options(rules=[rule])

    preview = sync.run(preview=True)
    moved = [c for c in (preview.plan or {})["changes"] if c["action"] == "move"]
    in_dept = {
        m.primary_address
        for m in sync.where(lambda m: m.kind is MailboxKind.USER)
        if m.attributes.get("department") == dept
    }
    assert in_dept and {c["key"] for c in moved} == in_dept
    assert all(c["after"] == {"policy_group": "Sales"} for c in moved)
    assert preview.counts["read"] == "delta" and preview.counts["users_read"] == 0
    assert seen(app) == delta_only  # the same calls as a delta run that found nothing

    result = sync.run()
    assert result.status == "succeeded", result.error
    assert result.counts["mailboxes_moved"] == len(in_dept)
    assert result.counts["users_read"] == 0
    assert seen(app) == delta_only
    routed = sync.where(lambda m: m.policy_group is not None and m.policy_group.name == "Sales")
    assert {m.primary_address for m in routed} == in_dept

    after = sync.run()
    assert after.counts["changes"] == 0 and after.counts["reevaluated"] == 0
    assert "delta read: no changes at the source" in after.texts()


def test_an_option_that_may_take_in_new_users_reads_everything(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    first, *others = tenant.domains
    sync = UserSync(db, settings, tenant, app, tmp_path, {"domains": [first]})
    sync.run()
    assert sync.run().counts["read"] == "delta"
    sync.set_options(domains=[])
    widened = sync.run()
    assert widened.counts["read"] == "full"
    assert "full read: the definition's options changed (domains)" in widened.texts()
    assert any(
        m.primary_address.endswith("@" + d) for m in sync.mailboxes().values() for d in others
    )


def test_narrowing_the_domains_removes_their_mailboxes_without_a_read(
    sync: UserSync, tenant: SandboxTenant, app: Starlette
) -> None:
    sync.run()
    seen(app)
    sync.run()
    delta_only = seen(app)
    first = tenant.domains[0]
    kept = sync.where(lambda m: m.primary_address.endswith("@" + first))
    assert kept and len(kept) < len(sync.mailboxes())
    sync.set_options(domains=[first], max_removal_percent=100)
    narrowed = sync.run()
    assert narrowed.status == "succeeded", narrowed.error
    assert narrowed.counts["read"] == "delta" and narrowed.counts["users_read"] == 0
    assert seen(app) == delta_only
    assert narrowed.counts["mailboxes_removed"] > 0
    assert all(m.primary_address.endswith("@" + first) for m in sync.mailboxes().values())
    assert sync.run().counts["changes"] == 0


def test_a_threshold_or_interval_change_evaluates_nothing_again(sync: UserSync) -> None:
    sync.run()
    sync.set_options(max_removals=10, full_reconciliation_hours=48)
    again = sync.run()
    assert again.counts["read"] == "delta" and again.counts["reevaluated"] == 0
    assert again.texts() == "delta read: no changes at the source"
