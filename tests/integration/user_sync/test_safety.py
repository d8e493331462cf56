"""What keeps a sync from doing damage: thresholds, incomplete reads, throttling, bad secrets."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette

from tenantsync.sandbox import SandboxTenant, create_app, sandbox_of
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import MailboxKind
from tests.integration.user_sync.harness import UserSync


def people(tenant: SandboxTenant) -> list[str]:
    return [
        u.id
        for u in tenant.users.values()
        if u.mailbox == "user" and u.account_enabled and u.user_type == "Member"
    ]


def test_a_mass_removal_stops_until_confirmed(sync: UserSync, tenant: SandboxTenant) -> None:
    sync.run()
    before = len(sync.mailboxes())
    doomed = people(tenant)[:10]
    for uid in doomed:
        tenant.remove_user(uid)
    stopped = sync.run()
    assert stopped.status == "awaiting_confirmation"
    assert stopped.stop_reason is not None
    assert "would remove 10 of" in stopped.stop_reason
    assert f"runs confirm {stopped.id}" in stopped.stop_reason
    assert "--confirm-removals" in stopped.stop_reason
    assert stopped.plan is not None and stopped.plan["counts"]["mailbox.remove"] == 10
    assert stopped.review is not None and len(stopped.review) == 10
    assert len(sync.mailboxes()) == before
    assert sync.change_records(stopped.id) == []
    confirmed = sync.run(confirm_removals=True)
    assert confirmed.status == "succeeded", confirmed.error
    assert confirmed.counts["mailboxes_removed"] == 10
    assert not set(doomed) & set(sync.mailboxes())


def test_confirming_applies_the_reviewed_removals_and_refuses_new_ones(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    staff = people(tenant)
    for uid in staff[:10]:
        tenant.remove_user(uid)
    stopped = sync.run()
    assert stopped.status == "awaiting_confirmation"
    # More people leave before the administrator confirms: the plan is not the one reviewed.
    for uid in staff[10:12]:
        tenant.remove_user(uid)
    again = sync.run(confirms=stopped.id)
    assert again.status == "awaiting_confirmation"
    assert again.stop_reason is not None
    assert "2 removals are not in it" in again.stop_reason
    assert len(sync.mailboxes()) == len(sync.mailboxes())  # nothing changed
    assert not sync.change_records(again.id)
    confirmed = sync.run(confirms=again.id)
    assert confirmed.status == "succeeded", confirmed.error
    assert confirmed.counts["mailboxes_removed"] == 12
    assert not set(staff[:12]) & set(sync.mailboxes())


def test_the_threshold_is_configurable(sync: UserSync, tenant: SandboxTenant) -> None:
    sync.run()
    sync.set_options(max_removals=0)
    tenant.remove_user(people(tenant)[0])
    assert sync.run().status == "awaiting_confirmation"
    sync.set_options(max_removals=5, max_removal_percent=50)
    assert sync.run().counts["mailboxes_removed"] == 1


def test_a_preview_shows_the_removals_a_sync_would_stop_on(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    for uid in people(tenant)[:10]:
        tenant.remove_user(uid)
    preview = sync.run(preview=True)
    assert preview.status == "succeeded"
    assert "a sync would stop here" in preview.texts()


def test_an_incomplete_read_removes_nobody(sync: UserSync, tenant: SandboxTenant) -> None:
    sync.run()
    gone = people(tenant)[0]
    tenant.remove_user(gone)
    tenant.expire_delta_tokens()
    sync.set_faults("exchange.Get-DistributionGroup:503@1")
    result = sync.run()
    assert result.status == "warning", result.error
    assert result.counts["read"] == "full"
    assert result.counts["removals_held"] == 1
    assert "nothing is removed" in result.texts()
    assert gone in sync.mailboxes()
    sync.set_faults(None)
    healed = sync.run()
    assert healed.counts["read"] == "full"
    assert gone not in sync.mailboxes()


def test_throttling_and_unavailable_answers_still_give_a_correct_sync(
    db: Database, settings: Settings, tenant: SandboxTenant, tmp_path: Path
) -> None:
    faults = (
        "graph.users:429@0.4/retry-after=0.01;graph.groups:503@0.3;"
        "exchange:503@0.3/retry-after=0.01;exchange:429@0.2/retry-after=0.01;token:503@0.2"
    )
    flaky: Starlette = create_app(tenant, latency=0, faults=faults, fault_seed=3)
    stormy = UserSync(db, settings, tenant, flaky, tmp_path)
    result = stormy.run()
    assert result.status == "succeeded", result.error
    injected = sandbox_of(flaky).gate.injected
    assert injected.get("429", 0) >= 2 and injected.get("503", 0) >= 2, injected
    stored = set(stormy.mailboxes())
    stormy.set_faults(None)
    tenant.expire_delta_tokens()
    calm = stormy.run()
    assert calm.counts["read"] == "full"
    assert calm.counts["changes"] == 0
    assert set(stormy.mailboxes()) == stored


def test_a_wrong_secret_fails_with_a_clear_message(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    sync = UserSync(db, settings, tenant, app, tmp_path)
    (tmp_path / "client-secret.txt").write_text("not-the-secret")
    from tenantsync.config.apply import apply_document
    from tenantsync.config.loader import parse_document
    from tenantsync.engine.registry import Registry
    from tenantsync.engine.user_sync import DEFINITION_TYPE
    from tenantsync.store.secretbox import SecretBox
    from tests.integration.user_sync.harness import document

    loaded = parse_document(document(tenant, tmp_path / "client-secret.txt", {}), "t.yaml")
    with db.session() as session:
        apply_document(
            session,
            loaded,
            Registry([DEFINITION_TYPE]),
            SecretBox.from_key_file(settings.effective_key_file),
        )
    result = sync.run()
    assert result.status == "failed"
    assert result.error is not None
    assert "invalid_client" in result.error
    assert sync.mailboxes(active=False) == {}


def test_without_exchange_rights_users_still_sync_with_kinds_from_graph(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    sync = UserSync(db, settings, tenant, app, tmp_path, client=1)  # no Exchange.ManageAsApp
    first = sync.run()
    assert first.status == "succeeded", first.error
    assert "Exchange.ManageAsApp" in first.texts()
    stored = sync.mailboxes()
    people_ = {sid: m for sid, m in stored.items() if m.kind is not MailboxKind.GROUP}
    assert people_ and all(m.kind.value == tenant.users[sid].mailbox for sid, m in people_.items())
    groups = {sid for sid, m in stored.items() if m.kind is MailboxKind.GROUP}
    assert groups <= set(tenant.groups)  # Graph's groups only: dynamic ones need Exchange
    gone = people(tenant)[0]
    tenant.remove_user(gone)
    assert sync.run().counts["mailboxes_removed"] == 1
    assert gone not in sync.mailboxes()


def test_a_source_down_past_the_retry_budget_requeues_the_run_which_then_finishes(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    tenant.update_user(people(tenant)[0], department="After the outage")
    # Graph answers 503 to every retry of the first attempt's users read (8 attempts),
    # then recovers: the run is queued again and its second attempt finishes.
    sync.set_faults("graph.users:503@1/count=8")
    result = sync.run()
    assert result.status == "succeeded", (result.error, result.texts())
    assert result.attempts == 2
    assert result.attempt_log is not None and len(result.attempt_log) == 1
    assert "service unavailable (HTTP 503)" in result.attempt_log[0]["error"]
    assert sync.mailboxes()[people(tenant)[0]].attributes["department"] == "After the outage"
