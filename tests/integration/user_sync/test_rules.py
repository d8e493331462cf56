"""Filter rules route users into policy groups; bad rules are refused when saved."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import delete, select
from starlette.applications import Starlette

from tenantsync.errors import ConfigError
from tenantsync.sandbox import SandboxTenant
from tenantsync.settings import Settings
from tenantsync.store.database import Database
from tenantsync.store.models import Domain, MailboxKind, PolicyGroup
from tests.integration.user_sync.harness import UserSync


def departments(tenant: SandboxTenant) -> list[str]:
    found = {u.department for u in tenant.users.values() if u.mailbox == "user" and u.department}
    return sorted(found)


def test_rules_route_users_first_match_wins_and_create_policy_groups(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    dept = departments(tenant)[0]
    rules = [
        {
            "name": "dept",
            "field": "department",
            "operator": "equals",
            "value": dept,
            "policy_group": "Dept",
        },
        {"field": "displayName", "operator": "matches", "value": "^[a-c]", "policy_group": "A-C"},
        {"field": "jobTitle", "operator": "contains", "value": "intern", "exclude": True},
    ]
    sync = UserSync(db, settings, tenant, app, tmp_path, {"rules": rules})
    result = sync.run()
    assert result.status == "succeeded", result.error
    with db.session() as session:
        names = set(session.scalars(select(PolicyGroup.name)))
    assert {"Main", "Dept", "A-C"} <= names
    users = sync.where(lambda m: m.kind is MailboxKind.USER)
    for mailbox in users:
        source = tenant.users[mailbox.source_id or ""]
        assert mailbox.policy_group is not None
        if source.department == dept:
            expected = "Dept"
        elif source.display_name[:1].lower() in "abc":
            expected = "A-C"
        else:
            expected = "Main"
        assert mailbox.policy_group.name == expected, source.display_name
    added = (
        [c for c in result.plan["changes"] if c["entity"] == "policy_group"] if result.plan else []
    )
    assert {c["key"] for c in added} == {"Dept", "A-C"}


def test_a_changed_rule_moves_users_between_policy_groups(
    sync: UserSync, tenant: SandboxTenant
) -> None:
    sync.run()
    dept = departments(tenant)[0]
    sync.set_options(
        rules=[{"field": "department", "operator": "equals", "value": dept, "policy_group": "Dept"}]
    )
    tenant.expire_delta_tokens()
    result = sync.run()
    moved = [c for c in (result.plan or {})["changes"] if c["action"] == "move"]
    assert moved and all(c["after"] == {"policy_group": "Dept"} for c in moved)
    assert all(c["reason"] == "rule 1 matched" for c in moved)


def test_a_member_of_rule_naming_no_group_fails_the_run_naming_the_rule(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    rules = [
        {
            "field": "memberOf",
            "operator": "member-of",
            "value": "No Such Group",
            "policy_group": "X",
        }
    ]
    sync = UserSync(db, settings, tenant, app, tmp_path, {"rules": rules})
    result = sync.run()
    assert result.status == "failed"
    assert result.error is not None and "rule 1: no source group 'No Such Group'" in result.error
    assert sync.mailboxes(active=False) == {}


def test_a_member_of_rule_follows_nested_groups(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    group = next(g for g in tenant.groups.values() if g.members and g.kind == "security")
    rules = [
        {
            "field": "memberOf",
            "operator": "member-of",
            "value": group.display_name,
            "policy_group": "G",
        }
    ]
    sync = UserSync(db, settings, tenant, app, tmp_path, {"rules": rules})
    assert sync.run().status == "succeeded"
    inside = set(tenant.transitive_members(group.id))
    routed = {
        m.source_id
        for m in sync.where(lambda m: m.policy_group is not None and m.policy_group.name == "G")
    }
    assert routed and routed <= inside


def test_bad_rules_are_refused_when_the_configuration_is_applied(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    rules = [
        {"field": "department", "operator": "matches", "value": "(unclosed", "policy_group": "X"}
    ]
    with pytest.raises(ConfigError) as caught:
        UserSync(db, settings, tenant, app, tmp_path, {"rules": rules})
    assert "rule 1" in str(caught.value) and "invalid regular expression" in str(caught.value)


def test_domains_outside_the_organization_are_refused(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError) as caught:
        UserSync(db, settings, tenant, app, tmp_path, {"domains": ["example.org"]})
    assert "definitions[users].options.domains: example.org is not a domain" in str(caught.value)
    last = tenant.domains[-1]
    sync = UserSync(db, settings, tenant, app, tmp_path, {"domains": [last]})
    with db.session() as session:  # the domain leaves the organization after the save
        session.execute(delete(Domain).where(Domain.name == last))
    result = sync.run()
    assert result.status == "failed"
    assert result.error is not None and last in result.error


def test_limiting_domains_syncs_only_their_addresses(
    db: Database, settings: Settings, tenant: SandboxTenant, app: Starlette, tmp_path: Path
) -> None:
    first = tenant.domains[0]
    sync = UserSync(db, settings, tenant, app, tmp_path, {"domains": [first]})
    assert sync.run().status == "succeeded"
    stored = sync.mailboxes().values()
    assert stored
    assert all(m.primary_address.endswith("@" + first) for m in stored)
    assert all(a.address.endswith("@" + first) for m in stored for a in m.aliases)
