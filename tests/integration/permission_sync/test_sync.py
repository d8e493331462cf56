"""Mailbox permission sync against the sandbox tenant: grants match what Exchange reports,
read as it really is (SELF, inherited, Deny, orphaned SIDs, guests, nested and cyclic groups)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.sandbox.gen_groups import CYCLE_DESCRIPTION, NESTED_DESCRIPTION
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import ChangeRecord, DelegateGrant
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants

ALL_RIGHTS = {"full_access", "send_as", "send_on_behalf"}


@pytest.fixture
def tenant() -> SandboxTenant:
    return generate_tenant(60, seed=5)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> Harness:
    return Harness(db, settings, tenant).setup()


def first_shared(tenant: SandboxTenant) -> str:
    return next(u.id for u in tenant.users.values() if u.mailbox == "shared")


def test_grants_match_every_right_the_sandbox_reports(harness: Harness) -> None:
    task = harness.task("perms", send_as=True, send_on_behalf=True)
    run = harness.run(task)
    # Orphans and guests are warnings in the run's messages, not a failed read.
    assert run.status == "succeeded", run.error
    assert run.counts["warnings"] >= 2
    expected = expected_grants(harness.tenant, ALL_RIGHTS)
    assert harness.grants(f"task:{task}") == expected
    assert {r for _, _, r in expected} == ALL_RIGHTS
    assert run.counts["grants_added"] == len(expected)
    assert run.counts["mailboxes_read"] == len(harness.loaded.mailboxes)
    assert run.counts["mailboxes_failed"] == 0


def test_system_inherited_and_self_entries_never_become_grants(harness: Harness) -> None:
    run = harness.run(harness.task("perms"))
    skipped = run.counts["skipped"]
    mailboxes = len(harness.loaded.mailboxes)
    # NT AUTHORITY\SELF and seven inherited Full Access entries of datacenter groups and
    # SYSTEM (four of them Deny) on every mailbox.
    assert skipped["system_principal"] >= 8 * mailboxes
    delegates = {d for _, d, _ in harness.grants()}
    assert not any("\\" in d or d.startswith("s-1-") for d in delegates)


def test_orphaned_sids_and_guests_are_skipped_and_reported_with_counts_and_examples(
    harness: Harness,
) -> None:
    run = harness.run(harness.task("perms"))
    assert run.counts["skipped"]["orphaned_sid"] >= 1
    assert run.counts["skipped"]["not_in_directory"] >= 1
    warnings = run.warnings()
    orphan = next(w for w in warnings if "orphaned SID" in w)
    assert orphan.split()[0].isdigit() and "S-1-5-21-" in orphan
    guest = next(w for w in warnings if "not in the directory" in w)
    assert "#EXT#" in guest


def test_a_deny_entry_cancels_the_allow(harness: Harness, tenant: SandboxTenant) -> None:
    shared = first_shared(tenant)
    denied = [ref for ref, _, deny in tenant.full_access[shared] if deny]
    assert denied
    run = harness.run(harness.task("perms"))
    assert run.counts["skipped"].get("denied", 0) >= 0
    shared_address = harness.address(shared)
    holders = {d for m, d, r in harness.grants() if m == shared_address and r == "full_access"}
    for ref in denied:
        if ref in tenant.users and tenant.users[ref].mail:
            assert harness.address(ref) not in holders


def test_group_trustees_reach_nested_and_cyclic_members_and_remember_the_group(
    harness: Harness, tenant: SandboxTenant
) -> None:
    shared = first_shared(tenant)
    special = [
        g
        for g in tenant.groups.values()
        if g.description in (NESTED_DESCRIPTION, CYCLE_DESCRIPTION)
        and any(ref == g.id for ref, _, _ in tenant.full_access[shared])
    ]
    assert special
    harness.run(harness.task("perms"))
    expected = expected_grants(tenant, {"full_access"})
    shared_address = harness.address(shared)
    rows = [(d, g) for m, d, r, g in harness.grant_rows() if m == shared_address]
    holders = {d for m, d, r in expected if m == shared_address and r == "full_access"}
    by_name = {g.display_name: g for g in tenant.groups.values()}
    # Every grant that came through a group names a group whose members include the delegate.
    for delegate, via in rows:
        if via is not None:
            assert delegate in _members(harness, by_name[via].id)
    # Every member of the nested and cyclic groups holding Full Access got it (unless denied),
    # and at least one through a group; each group of a cycle is expanded once.
    reached = set().union(*(_members(harness, g.id) for g in special))
    assert reached & holders <= {d for d, _ in rows}
    assert any(via in {g.display_name for g in special} for _, via in rows)
    assert len(rows) == len({d for d, _ in rows})


def _members(harness: Harness, group_id: str) -> set[str]:
    users = harness.tenant.users
    return {
        harness.address(m)
        for m in harness.tenant.transitive_members(group_id)
        if m in users and users[m].mailbox and users[m].mail
    }


def test_a_second_run_on_an_unchanged_tenant_plans_nothing(harness: Harness) -> None:
    task = harness.task("perms", send_as=True, send_on_behalf=True)
    harness.run(task)
    again = harness.run(task)
    assert again.plan is not None and again.plan["total"] == 0
    assert again.counts["grants_added"] == again.counts["grants_removed"] == 0
    assert again.counts["mailboxes_read"] == 0
    assert again.counts["mailboxes_unchanged_not_read"] == len(harness.loaded.mailboxes)


def test_a_preview_shows_the_plan_and_changes_nothing(harness: Harness) -> None:
    task = harness.task("perms")
    run = harness.run(task, preview=True)
    assert run.plan is not None and run.plan["counts"]["delegate_grant.add"] > 0
    assert run.plan["changes"][0]["action"] == "add"
    assert harness.grants() == set()
    applied = harness.run(task)
    assert applied.counts["grants_added"] == run.plan["counts"]["delegate_grant.add"]


def test_every_grant_added_is_recorded_against_the_run(harness: Harness) -> None:
    run = harness.run(harness.task("perms"))
    with harness.db.session() as s:
        records = list(s.scalars(select(ChangeRecord).where(ChangeRecord.run_id == run.id)))
        grant = s.scalars(select(DelegateGrant).limit(1)).one()
        assert grant.created_at.tzinfo is not None and grant.run_id == run.id
        assert len(records) == run.counts["grants_added"] > 0
        assert {r.action for r in records} == {"add"}
        assert all(
            r.at.tzinfo is not None and r.actor == f"task:perms (run {run.id})" for r in records
        )
        via = [r.after["via_group"] for r in records if r.after and r.after["via_group"]]
        assert via and all(isinstance(v, str) for v in via)
        assert all(r.key.count(" | ") == 2 for r in records)
