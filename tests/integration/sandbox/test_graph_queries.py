"""Graph's query options behave as Microsoft documents them: $select, $top maximums,
$filter forms a sync engine uses, the advanced-query gate and $count."""

from __future__ import annotations

import httpx
import pytest

from tenantsync.sandbox import SandboxTenant
from tests.integration.sandbox.conftest import bearer

pytestmark = pytest.mark.anyio


async def test_top_above_999_is_refused(client: httpx.AsyncClient, tenant: SandboxTenant) -> None:
    auth = await bearer(client, tenant)
    response = await client.get("/v1.0/users?$top=1000", headers=auth)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "Request_BadRequest"


async def test_select_limits_properties_and_refuses_unknown_ones(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    response = await client.get("/v1.0/users?$select=id,mail&$top=5", headers=auth)
    assert all(set(u) == {"id", "mail"} for u in response.json()["value"])
    assert response.json()["@odata.context"].endswith("#users(id,mail)")
    unknown = await client.get("/v1.0/users?$select=shoeSize", headers=auth)
    assert unknown.status_code == 400


async def test_max_page_size_preference_pages_and_next_links_are_opaque(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = {**await bearer(client, tenant), "Prefer": "odata.maxpagesize=40"}
    first = (await client.get("/v1.0/users", headers=auth)).json()
    assert len(first["value"]) == 40
    assert "$skiptoken=" in first["@odata.nextLink"]
    ids = [u["id"] for u in first["value"]]
    url = first["@odata.nextLink"]
    while url:
        page = (await client.get(url, headers=auth)).json()
        ids += [u["id"] for u in page["value"]]
        url = page.get("@odata.nextLink")
    assert ids == list(tenant.user_ids)


async def test_simple_filters_work_without_advanced_headers(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    user = tenant.users[tenant.user_ids[0]]
    by_upn = await client.get(
        f"/v1.0/users?$filter=userPrincipalName eq '{user.user_principal_name}'", headers=auth
    )
    assert [u["id"] for u in by_upn.json()["value"]] == [user.id]
    guests = await client.get("/v1.0/users?$filter=userType eq 'Guest'&$top=999", headers=auth)
    assert guests.status_code == 200
    expected = sum(1 for u in tenant.users.values() if u.user_type == "Guest")
    assert len(guests.json()["value"]) == expected
    prefix = user.display_name[:3]
    starts = await client.get(
        f"/v1.0/users?$filter=startswith(displayName,'{prefix}')&$top=999", headers=auth
    )
    assert user.id in [u["id"] for u in starts.json()["value"]]


async def test_advanced_queries_need_consistency_level_and_count(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    query = "/v1.0/users?$filter=userType ne 'Guest'"
    refused = await client.get(query, headers=auth)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "Request_UnsupportedQuery"
    eventual = {**auth, "ConsistencyLevel": "eventual"}
    allowed = await client.get(query + "&$count=true&$top=999", headers=eventual)
    assert allowed.status_code == 200
    members = sum(1 for u in tenant.users.values() if u.user_type != "Guest")
    assert allowed.json()["@odata.count"] == members
    count = await client.get("/v1.0/users/$count", headers=eventual)
    assert count.status_code == 200
    assert int(count.text) == len(tenant.users)


async def test_count_appears_on_the_first_page_only(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    eventual = {**await bearer(client, tenant), "ConsistencyLevel": "eventual"}
    first = (await client.get("/v1.0/users?$count=true&$top=50", headers=eventual)).json()
    assert first["@odata.count"] == len(tenant.users)
    second = (await client.get(first["@odata.nextLink"], headers=eventual)).json()
    assert "@odata.count" not in second


async def test_mailbox_settings_give_the_mailbox_purpose(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    expected = {"user": "user", "shared": "shared", "room": "room", "equipment": "equipment"}
    for kind, purpose in expected.items():
        user = next(u for u in tenant.users.values() if u.mailbox == kind)
        settings = await client.get(f"/v1.0/users/{user.id}/mailboxSettings", headers=auth)
        assert settings.json()["userPurpose"] == purpose
    guest = next(u for u in tenant.users.values() if u.mailbox is None)
    missing = await client.get(f"/v1.0/users/{guest.id}/mailboxSettings", headers=auth)
    assert missing.status_code == 404


async def test_member_of_lists_a_users_direct_groups(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    user = next(u for u in tenant.user_ids if tenant.member_of(u))
    response = await client.get(f"/v1.0/users/{user}/memberOf?$top=999", headers=auth)
    groups = response.json()["value"]
    assert {g["id"] for g in groups} == set(tenant.member_of(user))
    assert all(g["@odata.type"] == "#microsoft.graph.group" for g in groups)


async def test_unknown_objects_are_404_in_graphs_shape(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    auth = await bearer(client, tenant)
    response = await client.get("/v1.0/users/00000000-0000-0000-0000-000000000000", headers=auth)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "Request_ResourceNotFound"
