"""The organization generator: deterministic, realistically proportioned, with the
oddities a sync engine must cope with."""

from __future__ import annotations

from collections import Counter

import pytest

from tenantsync.sandbox import SandboxTenant, generate_tenant


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    return generate_tenant(1000, seed=3)


def test_same_seed_and_size_give_the_same_tenant_ids_included() -> None:
    a, b = generate_tenant(80, seed=12), generate_tenant(80, seed=12)
    assert a.tenant_id == b.tenant_id and a.client_secret == b.client_secret
    assert list(a.users) == list(b.users)
    assert [u.user_principal_name for u in a.users.values()] == [
        u.user_principal_name for u in b.users.values()
    ]
    assert a.full_access == b.full_access
    assert generate_tenant(80, seed=13).tenant_id != a.tenant_id


def test_mailbox_kinds_follow_the_requested_proportions(tenant: SandboxTenant) -> None:
    kinds = Counter(u.mailbox for u in tenant.users.values() if u.mailbox)
    assert sum(kinds.values()) == 1000
    assert kinds["shared"] == 80
    assert kinds["room"] == 20
    assert kinds["equipment"] == 5
    assert kinds["scheduling"] >= 1


def test_people_have_realistic_directory_attributes(tenant: SandboxTenant) -> None:
    users = list(tenant.users.values())
    assert any(not u.account_enabled for u in users)
    assert any(u.mailbox == "user" and not u.licenses for u in users)
    assert any(u.user_type == "Guest" for u in users)
    assert any(not u.display_name.isascii() for u in users)
    assert len(tenant.domains) >= 2
    assert tenant.initial_domain.endswith(".onmicrosoft.com")
    for user in users:
        primaries = [p for p in user.proxy_addresses if p.startswith("SMTP:")]
        assert len(primaries) == 1
    assert any(p.lower().endswith(tenant.initial_domain) for u in users for p in u.proxy_addresses)
    upns = [u.user_principal_name.lower() for u in users]
    assert len(upns) == len(set(upns))


def test_groups_cover_every_kind_with_nesting_and_a_cycle(tenant: SandboxTenant) -> None:
    kinds = {g.kind for g in tenant.groups.values()}
    assert kinds == {"security", "mail_security", "unified", "distribution"}
    assert tenant.dynamic_groups
    assert any(g.on_premises is not None for g in tenant.groups.values())
    nested = [g for g in tenant.groups.values() if any(m in tenant.groups for m in g.members)]
    assert nested

    def reaches_itself(start: str) -> bool:
        stack, seen = [start], set()
        while stack:
            for member in tenant.groups[stack.pop()].members:
                if member == start:
                    return True
                if member in tenant.groups and member not in seen:
                    seen.add(member)
                    stack.append(member)
        return False

    assert any(reaches_itself(g.id) for g in nested)
    for group in nested:
        members = tenant.transitive_members(group.id)
        assert len(members) == len(set(members))


def test_permissions_hold_direct_group_deny_orphaned_and_external_trustees(
    tenant: SandboxTenant,
) -> None:
    refs = [ref for entries in tenant.full_access.values() for ref, _, _ in entries]
    assert any(ref in tenant.users for ref in refs)
    assert any(ref in tenant.groups for ref in refs)
    assert any(ref.startswith("S-1-5-21-") for ref in refs)
    assert any(deny for entries in tenant.full_access.values() for _, _, deny in entries)
    assert tenant.send_as
    assert any(u.send_on_behalf for u in tenant.users.values())
    counts = tenant.permission_counts()
    assert counts["total"] > 10 * 1000


def test_calendars_hold_recurring_all_day_and_private_events(tenant: SandboxTenant) -> None:
    owner = next(u for u in tenant.users.values() if u.mailbox == "user")
    events = []
    for user in list(tenant.users.values())[:40]:
        if user.mailbox == "user":
            events += list(tenant.calendar(user.id).values())
    assert tenant.calendar(owner.id)
    assert any(e.recurrence is not None for e in events)
    assert any(e.recurrence is not None and e.overrides for e in events)
    assert any(e.is_all_day for e in events)
    assert {"private", "confidential"} & {e.sensitivity for e in events}
    assert len({e.time_zone for e in events}) >= 2
