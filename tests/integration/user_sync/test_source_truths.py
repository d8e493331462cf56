"""What a read is allowed to conclude from what the source said: a lost page, a record that
leaves properties out, a mailbox kind Graph does not name, one answer cut short, one
mailbox the application may not read, a scope that takes in nobody."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tenantsync.sandbox import SandboxOptions, SandboxTenant, create_app, generate_tenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import MailboxKind
from tests.integration.user_sync.harness import UserSync

PAGE = 25


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(120, seed=17)


def make_sync(
    db: Database,
    settings: Settings,
    tenant: SandboxTenant,
    tmp_path: Path,
    **options: object,
) -> UserSync:
    app = create_app(
        tenant,
        latency=0,
        options=SandboxOptions(graph_page_cap=PAGE, **options),  # type: ignore[arg-type]
    )
    return UserSync(db, settings, tenant, app, tmp_path)


def staff(tenant: SandboxTenant, kind: str = "user") -> list[str]:
    return sorted(
        uid
        for uid, u in tenant.users.items()
        if u.mailbox == kind and u.account_enabled and u.user_type == "Member"
    )


def test_a_full_read_that_loses_its_last_page_removes_nobody(
    db: Database, settings: Settings, tmp_path: Path
) -> None:
    # 104 mailboxes and 3 guests: the last of five pages holds 7 users, a loss well under
    # the 10% removal threshold, so only the proof of completeness can stop it.
    tenant = generate_tenant(104, seed=17)
    sync = make_sync(db, settings, tenant, tmp_path)
    assert sync.run().status == "succeeded"
    before = set(sync.mailboxes())
    pages = math.ceil(len(tenant.users) / PAGE)
    tenant.expire_delta_tokens()
    # The expired link is answered first; then the page before the last loses its next link,
    # so the read ends one page early: a few users short, well under any threshold.
    sync.set_faults(f"graph.users:drop-next@1/after={pages - 1}/count=1")
    result = sync.run()
    assert result.status == "warning", (result.error, result.texts())
    assert "neither @odata.nextLink nor @odata.deltaLink" in result.texts()
    assert "nothing is removed" in result.texts()
    assert set(sync.mailboxes()) == before


def test_a_delta_record_that_leaves_properties_out_changes_only_what_it_names(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path, partial_delta_records=True)
    assert sync.run().status == "succeeded"
    before = sync.mailboxes()
    moved = staff(tenant)[:3]
    for uid in moved:
        tenant.update_user(uid, department="Partial records")
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    assert result.counts["read"] == "delta"
    after = sync.mailboxes()
    assert set(after) == set(before)
    for uid in moved:
        assert after[uid].attributes["department"] == "Partial records"
        assert after[uid].primary_address == before[uid].primary_address


def test_a_group_record_without_its_mail_keeps_the_group_address(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path, partial_delta_records=True)
    sync.set_options(sync_groups=True)
    assert sync.run().status == "succeeded"
    listed = [g for g in tenant.groups.values() if g.mail and g.kind == "unified"]
    assert listed
    group = listed[0]
    addresses = {m.primary_address for m in sync.mailboxes().values()}
    assert group.mail.lower() in addresses
    tenant.update_group(group.id, display_name=f"{group.display_name} (renamed)")
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    assert group.mail.lower() in {m.primary_address for m in sync.mailboxes().values()}


def test_a_mailbox_kind_graph_does_not_name_comes_from_exchange(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path, user_purposes={"shared": "unknownFutureValue"})
    assert sync.run().status == "succeeded"
    shared = staff(tenant, "shared") or sorted(
        uid for uid, u in tenant.users.items() if u.mailbox == "shared"
    )
    uid = shared[0]
    tenant.update_user(uid, department="Still shared")
    result = sync.run()
    assert result.counts["read"] == "delta"
    assert result.status == "succeeded", (result.error, result.texts())
    stored = sync.mailboxes()[uid]
    assert stored.kind is MailboxKind.SHARED
    assert stored.attributes["department"] == "Still shared"


def test_one_answer_cut_short_is_read_again(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path)
    sync.set_faults("graph.users:truncate@1/after=1/count=1")
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    assert len(sync.mailboxes()) == result.counts["mailboxes_added"] > 0


def test_one_mailbox_the_app_may_not_read_is_named_and_the_run_goes_on(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path)
    assert sync.run().status == "succeeded"
    changed = staff(tenant)[:4]
    for uid in changed:
        tenant.update_user(uid, job_title="Refused once")
    sync.set_faults("graph.mailboxSettings:403@1/count=1")
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    text = result.texts()
    assert "mailbox settings of 1 users could not be read (HTTP 403 ErrorAccessDenied)" in text
    assert any(tenant.users[uid].mail in text for uid in changed)
    stored = sync.mailboxes()
    assert all(stored[uid].attributes["job_title"] == "Refused once" for uid in changed)
    sync.set_faults(None)
    tenant.update_user(changed[0], job_title="Read again")
    following = sync.run()
    assert following.status == "succeeded" and following.counts["read"] == "delta"


def test_a_mailbox_unreadable_in_both_graph_and_exchange_is_kept_and_read_next_run(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path)
    assert sync.run().status == "succeeded"
    uid = staff(tenant)[0]
    tenant.update_user(uid, job_title="Unreadable now")
    sync.set_faults("graph.mailboxSettings:403@1/count=1;exchange.Get-Mailbox:503@1")
    kept = sync.run()
    assert kept.status == "warning", kept.error
    assert "left as they were and will be read again" in kept.texts()
    assert kept.counts["unreadable"] == 1
    assert sync.mailboxes()[uid].deleted_at is None
    sync.set_faults(None)
    caught_up = sync.run()
    assert caught_up.status == "succeeded", (caught_up.error, caught_up.texts())
    assert caught_up.counts["read"] == "delta"
    assert sync.mailboxes()[uid].attributes["job_title"] == "Unreadable now"


def test_a_scope_that_admits_nobody_warns_and_removes_nothing(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    sync = make_sync(db, settings, tenant, tmp_path)
    assert sync.run().status == "succeeded"
    before = set(sync.mailboxes())
    with db.session() as session:
        from sqlalchemy import select

        from tenantsync.store.models import ScheduledTask

        task = session.scalars(select(ScheduledTask)).one()
        task.scope_kind = "dn"
        task.scope_value = "OU=Nobody,DC=corp,DC=example,DC=com"
    tenant.expire_delta_tokens()
    result = sync.run()
    assert result.status == "warning", (result.error, result.texts())
    assert "admits no mailbox" in result.texts()
    assert set(sync.mailboxes()) == before
