"""Changes made to the sandbox show up in the next delta round exactly once, and an
expired delta token answers as Graph does instead of silently restarting."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest

from tenantsync.sandbox import (
    SandboxTenant,
    apply_change,
    asgi_transport,
    create_app,
    generate_tenant,
)
from tests.integration.sandbox.conftest import bearer

pytestmark = pytest.mark.anyio


@pytest.fixture
def tenant() -> SandboxTenant:
    """A fresh tenant per test: these tests change it."""
    return generate_tenant(60, seed=41)


@pytest.fixture
async def http(tenant: SandboxTenant) -> Any:
    app = create_app(tenant, latency=0)
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://sandbox") as c:
        c.headers.update(await bearer(c, tenant))
        yield c


async def delta_round(
    http: httpx.AsyncClient, url: str, headers: dict[str, str] | None = None
) -> tuple[list[dict[str, Any]], str]:
    """All items of one round and its deltaLink."""
    items: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        response = await http.get(next_url, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["value"]
        next_url = page.get("@odata.nextLink")
        if next_url is None:
            return items, page["@odata.deltaLink"]
    raise AssertionError("unreachable")


async def test_user_changes_appear_once_in_the_next_round_and_never_again(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    first, link = await delta_round(http, "/v1.0/users/delta?$select=displayName,department")
    assert len(first) == len(tenant.users)
    added = apply_change(tenant, "add_user", {"display_name": "Ada Lovelace"})
    target, victim = tenant.user_ids[1], tenant.user_ids[2]
    apply_change(tenant, "update_user", {"user_id": target, "department": "Finance"})
    apply_change(tenant, "update_user", {"user_id": target, "department": "Legal"})
    apply_change(tenant, "remove_user", {"user_id": victim})
    second, link = await delta_round(http, link)
    by_id = {item["id"]: item for item in second}
    assert len(second) == len(by_id) == 3
    assert by_id[added["id"]]["displayName"] == "Ada Lovelace"
    assert by_id[target]["department"] == "Legal"
    assert by_id[victim]["@removed"] == {"reason": "changed"}
    third, _ = await delta_round(http, link)
    assert third == []


async def test_a_user_change_stays_out_of_the_groups_delta_and_back(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    _, users_link = await delta_round(http, "/v1.0/users/delta?$select=displayName")
    _, groups_link = await delta_round(http, "/v1.0/groups/delta?$select=displayName")
    user, group = tenant.user_ids[0], next(iter(tenant.groups))
    apply_change(tenant, "update_user", {"user_id": user, "display_name": "Renamed User"})
    apply_change(tenant, "update_group", {"group_id": group, "display_name": "Renamed Group"})
    users, _ = await delta_round(http, users_link)
    groups, _ = await delta_round(http, groups_link)
    assert [(i["id"], i["displayName"]) for i in users] == [(user, "Renamed User")]
    assert [(i["id"], i["displayName"]) for i in groups] == [(group, "Renamed Group")]


async def test_a_change_to_an_unselected_property_is_not_reported(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    _, link = await delta_round(http, "/v1.0/users/delta?$select=displayName")
    apply_change(tenant, "update_user", {"user_id": tenant.user_ids[0], "job_title": "CFO"})
    changed, _ = await delta_round(http, link)
    assert changed == []


async def test_a_change_during_a_paged_round_is_reported_in_the_next_round(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    headers = {"Prefer": "odata.maxpagesize=20"}
    first = await http.get("/v1.0/users/delta?$select=displayName", headers=headers)
    page = first.json()
    seen = [i["id"] for i in page["value"]]
    late = tenant.user_ids[-1]
    apply_change(tenant, "update_user", {"user_id": late, "display_name": "Renamed Late"})
    rest, link = await delta_round(http, page["@odata.nextLink"], headers)
    seen += [i["id"] for i in rest]
    assert sorted(seen) == sorted(tenant.users)
    second, _ = await delta_round(http, link)
    assert [(i["id"], i["displayName"]) for i in second] == [(late, "Renamed Late")]


async def test_group_membership_changes_arrive_as_members_delta(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    initial, link = await delta_round(http, "/v1.0/groups/delta?$select=displayName,members")
    assert len(initial) == len(tenant.groups)
    assert any(item.get("members@delta") for item in initial)
    group = next(g for g in tenant.groups.values() if len(g.members) >= 2)
    leaving = next(iter(group.members))
    joining = next(u for u in tenant.user_ids if u not in group.members)
    apply_change(tenant, "remove_group_member", {"group_id": group.id, "member_id": leaving})
    apply_change(tenant, "add_group_member", {"group_id": group.id, "member_id": joining})
    second, link = await delta_round(http, link)
    assert [item["id"] for item in second] == [group.id]
    members = {m["id"]: m for m in second[0]["members@delta"]}
    assert members[leaving]["@removed"] == {"reason": "deleted"}
    assert "@removed" not in members[joining]
    assert members[joining]["@odata.type"] == "#microsoft.graph.user"
    assert (await delta_round(http, link))[0] == []


async def test_event_changes_arrive_once_in_calendar_delta(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner = next(u for u in tenant.users.values() if u.mailbox == "user")
    window = {
        "startDateTime": tenant.calendar_start.isoformat(),
        "endDateTime": tenant.calendar_end.isoformat(),
    }
    query = "&".join(f"{k}={v.replace('+', '%2B')}" for k, v in window.items())
    initial, link = await delta_round(http, f"/v1.0/users/{owner.id}/calendarView/delta?{query}")
    assert initial
    start = tenant.calendar_start + timedelta(days=3, hours=10)
    added = apply_change(
        tenant,
        "add_event",
        {
            "mailbox_id": owner.id,
            "subject": "Quarterly planning",
            "start": start.isoformat(),
            "end": (start + timedelta(hours=1)).isoformat(),
        },
    )
    single = next(i for i in initial if i["type"] == "singleInstance")
    apply_change(tenant, "remove_event", {"mailbox_id": owner.id, "event_id": single["id"]})
    second, link = await delta_round(http, link)
    by_id = {i["id"]: i for i in second}
    assert by_id[added["id"]]["subject"] == "Quarterly planning"
    assert by_id[single["id"]]["@removed"] == {"reason": "deleted"}
    assert len(second) == 2
    assert (await delta_round(http, link))[0] == []


async def test_an_expired_delta_token_is_refused_not_restarted(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    _, users_link = await delta_round(http, "/v1.0/users/delta")
    owner = next(u for u in tenant.users.values() if u.mailbox == "user")
    window = f"startDateTime={tenant.calendar_start:%Y-%m-%dT%H:%M:%SZ}&endDateTime=" + (
        f"{tenant.calendar_end:%Y-%m-%dT%H:%M:%SZ}"
    )
    _, events_link = await delta_round(http, f"/v1.0/users/{owner.id}/calendarView/delta?{window}")
    apply_change(tenant, "expire_delta_tokens", {})
    users = await http.get(users_link)
    assert users.status_code == 400
    assert users.json()["error"]["code"] == "syncStateNotFound"
    events = await http.get(events_link)
    assert events.status_code == 410
    assert events.json()["error"]["code"] == "SyncStateNotFound"


async def test_the_admin_api_applies_changes_with_its_key_only(
    tenant: SandboxTenant,
) -> None:
    app = create_app(tenant, latency=0)
    key = app.state.sandbox.options.admin_key
    async with httpx.AsyncClient(transport=asgi_transport(app), base_url="https://s") as http:
        url = f"/sandbox-admin/{tenant.tenant_id}/changes"
        payload = {"op": "add_group", "args": {"display_name": "Project X"}}
        assert (await http.post(url, json=payload)).status_code == 401
        ok = await http.post(url, json=payload, headers={"X-Sandbox-Admin-Key": key})
        assert ok.status_code == 200
        assert tenant.groups[ok.json()["result"]["id"]].display_name == "Project X"
        bad = await http.post(
            url, json={"op": "drop_tables", "args": {}}, headers={"X-Sandbox-Admin-Key": key}
        )
        assert bad.status_code == 400
        summary = await http.get(
            f"/sandbox-admin/{tenant.tenant_id}", headers={"X-Sandbox-Admin-Key": key}
        )
        assert summary.json()["mailboxes"] == 60


async def test_user_lists_show_a_change_at_once(
    http: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    url = "/v1.0/users?$select=id,displayName&$top=999"
    target = tenant.user_ids[5]
    before = {u["id"]: u for u in (await http.get(url)).json()["value"]}
    apply_change(tenant, "update_user", {"user_id": target, "display_name": "Renamed Person"})
    apply_change(tenant, "remove_user", {"user_id": tenant.user_ids[6]})
    after = {u["id"]: u for u in (await http.get(url)).json()["value"]}
    assert before[target]["displayName"] != "Renamed Person"
    assert after[target]["displayName"] == "Renamed Person"
    assert len(after) == len(before) - 1
