"""Scoped runs against the sandbox: a task scoped to a group reads and grants only on its
members' mailboxes, named by synced group, full DN or distribution group address; a scope
that does not resolve fails the run saying which form and why."""

from __future__ import annotations

import pytest

from tenantsync.sandbox import SandboxTenant, generate_tenant
from tenantsync.sandbox.entities import Group
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tests.integration.permission_sync.harness import Harness
from tests.integration.permission_sync.tenant_rows import expected_grants


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(40, seed=8)


@pytest.fixture
def harness(db: Database, settings: Settings, tenant: SandboxTenant) -> Harness:
    return Harness(db, settings, tenant).setup()


def team(tenant: SandboxTenant) -> Group:
    """A distribution group whose members hold grants on their mailboxes."""
    return max(
        (g for g in tenant.groups.values() if g.kind == "distribution" and g.mail),
        key=lambda g: len(tenant.transitive_members(g.id)),
    )


def member_addresses(harness: Harness, group: Group) -> set[str]:
    users = harness.tenant.users
    return {
        harness.address(m)
        for m in harness.tenant.transitive_members(group.id)
        if m in users and users[m].mailbox and users[m].mail
    }


@pytest.mark.parametrize("form", ["group", "group-id", "dn", "address"])
def test_a_group_scope_covers_exactly_its_members_mailboxes(harness: Harness, form: str) -> None:
    group = team(harness.tenant)
    value = {
        "group": group.display_name,
        "group-id": group.id,
        "dn": harness.tenant.distinguished_name(group.mail_nickname),
        "address": (group.mail or "").upper(),
    }[form]
    kind = "group" if form == "group-id" else form
    task = harness.task("scoped", scope=kind, value=value)
    run = harness.run(task)
    assert run.status in ("succeeded", "warning"), run.error
    members = member_addresses(harness, group)
    assert run.counts["mailboxes_in_scope"] == len(members)
    assert run.counts["scope"] == f"members of {group.display_name}"
    expected = {g for g in expected_grants(harness.tenant, {"full_access"}) if g[0] in members}
    assert harness.grants() == expected


@pytest.mark.parametrize(
    ("kind", "value", "why"),
    [
        ("group", "No Such Group", "no synced group has this name or id"),
        ("dn", "CN=Nobody,OU=Gone,DC=example,DC=com", "no synced group, mailbox or container"),
        ("address", "nobody@example.com", "no synced group has this address"),
        ("address", "MAILBOX", "it is a mailbox's address, not a group's"),
        ("group", "Research Mailbox Access", "several synced groups have this name"),
    ],
)
def test_a_scope_that_does_not_resolve_fails_the_run_saying_which_and_why(
    harness: Harness, kind: str, value: str, why: str
) -> None:
    if value == "MAILBOX":
        value = harness.address(next(iter(harness.loaded.mailboxes)))
    run = harness.run(harness.task("scoped", scope=kind, value=value))
    assert run.status == "failed"
    assert run.error is not None
    assert f"scope {kind} {value!r}" in run.error and why in run.error
    assert harness.grants() == set()
