"""The Exchange Online admin API (InvokeCommand) answers the cmdlets a sync needs in
Microsoft's envelope, pages with @odata.nextLink, and refuses apps without their roles."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tenantsync.sandbox import SandboxTenant
from tenantsync.sandbox.exchange_render import calendar_folder
from tests.integration.sandbox.conftest import EXCHANGE, bearer

pytestmark = pytest.mark.anyio


async def invoke(
    http: httpx.AsyncClient,
    tenant: SandboxTenant,
    cmdlet: str,
    parameters: dict[str, Any] | None = None,
    *,
    app_index: int = 0,
    page_size: int | None = None,
) -> httpx.Response:
    headers = await bearer(http, tenant, EXCHANGE, app_index=app_index)
    if page_size:
        headers["Prefer"] = f"odata.maxpagesize={page_size}"
    return await http.post(
        f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand",
        json={"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters or {}}},
        headers=headers,
    )


async def invoke_all(
    http: httpx.AsyncClient, tenant: SandboxTenant, cmdlet: str, parameters: dict[str, Any]
) -> list[dict[str, Any]]:
    """Every row, following @odata.nextLink by re-POSTing the same body."""
    body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": parameters}}
    headers = {**await bearer(http, tenant, EXCHANGE), "Prefer": "odata.maxpagesize=50"}
    url: str | None = f"/adminapi/beta/{tenant.tenant_id}/InvokeCommand"
    rows: list[dict[str, Any]] = []
    while url:
        response = await http.post(url, json=body, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        rows += page["value"]
        url = page.get("@odata.nextLink")
    return rows


def _mailboxes(tenant: SandboxTenant) -> int:
    return sum(1 for u in tenant.users.values() if u.mailbox is not None)


async def test_get_mailbox_pages_through_every_mailbox_in_the_envelope(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    first = await invoke(client, tenant, "Get-Mailbox", {"ResultSize": "Unlimited"}, page_size=40)
    assert first.status_code == 200
    page = first.json()
    assert page["@odata.context"].endswith("/$metadata#Collection(Exchange.GenericHashTable)")
    assert page["adminapi.warnings@odata.type"] == "#Collection(String)"
    assert page["@adminapi.warnings"] == []
    assert len(page["value"]) == 40
    assert "%24skiptoken=" in page["@odata.nextLink"]
    rows = await invoke_all(client, tenant, "Get-Mailbox", {"ResultSize": "Unlimited"})
    assert len(rows) == _mailboxes(tenant)
    kinds = {r["RecipientTypeDetails"] for r in rows}
    assert {"UserMailbox", "SharedMailbox", "RoomMailbox"} <= kinds
    row = rows[0]
    assert row["ExternalDirectoryObjectId"] in tenant.users
    assert row["EmailAddresses@odata.type"] == "#Collection(String)"


async def test_get_mailbox_result_size_caps_and_warns(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await invoke(client, tenant, "Get-Mailbox", {"ResultSize": 5})
    body = response.json()
    assert len(body["value"]) == 5
    assert "There are more results available" in body["@adminapi.warnings"][0]


async def test_get_mailbox_permission_shows_self_explicit_and_inherited_entries(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner_id = max(tenant.full_access, key=lambda k: len(tenant.full_access[k]))
    owner = tenant.users[owner_id]
    response = await invoke(
        client, tenant, "Get-MailboxPermission", {"Identity": owner.user_principal_name}
    )
    assert response.status_code == 200
    rows = response.json()["value"]
    users = [r["User"] for r in rows]
    assert "NT AUTHORITY\\SELF" in users
    assert any(r["IsInherited"] for r in rows)
    assert sum(not r["IsInherited"] for r in rows) >= len(tenant.full_access[owner_id])
    assert all({"AccessRights", "Deny", "InheritanceType", "Identity"} <= r.keys() for r in rows)


async def test_the_tenant_holds_every_kind_of_permission_oddity(tenant: SandboxTenant) -> None:
    refs = [ref for entries in tenant.full_access.values() for ref, _, _ in entries]
    denies = [d for entries in tenant.full_access.values() for _, _, d in entries]
    assert any(ref.startswith("S-1-5-21-") for ref in refs)
    assert any(ref in tenant.groups for ref in refs)
    assert any(denies)
    assert any(u.send_on_behalf for u in tenant.users.values())


async def test_get_recipient_permission_lists_send_as_across_the_organization(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    rows = await invoke_all(client, tenant, "Get-RecipientPermission", {"ResultSize": "Unlimited"})
    explicit = sum(len(v) for v in tenant.send_as.values())
    assert len(rows) == _mailboxes(tenant) + explicit
    assert {"Identity", "Trustee", "AccessControlType", "AccessRights"} <= rows[0].keys()


async def test_distribution_groups_and_their_members(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    groups = (await invoke(client, tenant, "Get-DistributionGroup", {})).json()["value"]
    assert groups
    group = next(g for g in tenant.groups.values() if g.kind == "distribution" and g.members)
    members = await invoke(client, tenant, "Get-DistributionGroupMember", {"Identity": group.mail})
    assert members.status_code == 200
    got = {r["ExternalDirectoryObjectId"] for r in members.json()["value"]}
    assert got and got <= set(group.members)


async def test_dynamic_distribution_groups_compute_their_members(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    rows = (await invoke(client, tenant, "Get-DynamicDistributionGroup", {})).json()["value"]
    assert len(rows) == len(tenant.dynamic_groups)
    assert all(r["RecipientFilter"] for r in rows)
    dyn = next(iter(tenant.dynamic_groups.values()))
    members = await invoke(
        client, tenant, "Get-DynamicDistributionGroupMember", {"Identity": dyn.primary_smtp_address}
    )
    assert members.status_code == 200
    got = [r["ExternalDirectoryObjectId"] for r in members.json()["value"]]
    assert got == [u.id for u in tenant.dynamic_members(dyn.id)]


async def test_calendar_folder_permissions_include_default_anonymous_and_delegates(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    owner_id = next(k for k, v in tenant.calendar_permissions.items() if len(v) >= 2)
    owner = tenant.users[owner_id]
    identity = f"{owner.user_principal_name}:\\{calendar_folder(owner)}"
    response = await invoke(client, tenant, "Get-MailboxFolderPermission", {"Identity": identity})
    assert response.status_code == 200, response.text
    rows = response.json()["value"]
    users = [str(r["User"]) for r in rows]
    assert users[:2] == ["Default", "Anonymous"]
    assert len(rows) >= 3
    wrong = await invoke(
        client, tenant, "Get-MailboxFolderPermission", {"Identity": f"{owner.mail}:\\Nowhere"}
    )
    assert wrong.status_code == 404


async def test_an_unknown_identity_is_invalid_operation_with_the_real_text_inside(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await invoke(client, tenant, "Get-Mailbox", {"Identity": "nobody@nowhere.test"})
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == "Invalid Operation"
    inner = error["innererror"]["internalexception"]
    assert inner["type"].endswith("ManagementObjectNotFoundException")
    assert "couldn't be found" in inner["message"]
    unknown_param = await invoke(client, tenant, "Get-Mailbox", {"Bogus": 1})
    assert unknown_param.status_code == 400
    unknown_cmdlet = await invoke(client, tenant, "Get-Nothing", {})
    assert unknown_cmdlet.status_code == 400


async def test_an_app_without_exchange_manage_as_app_gets_401(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await invoke(client, tenant, "Get-Mailbox", {}, app_index=1)
    assert response.status_code == 401
    assert response.content == b""
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


async def test_an_app_without_a_directory_role_gets_403(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    response = await invoke(client, tenant, "Get-Mailbox", {}, app_index=2)
    assert response.status_code == 403
    assert "isn't supported in this scenario" in response.text


async def test_a_replayed_next_link_for_another_body_is_refused(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    first = await invoke(client, tenant, "Get-Mailbox", {"ResultSize": "Unlimited"}, page_size=10)
    next_link = first.json()["@odata.nextLink"]
    headers = await bearer(client, tenant, EXCHANGE)
    other = {"CmdletInput": {"CmdletName": "Get-RecipientPermission", "Parameters": {}}}
    response = await client.post(next_link, json=other, headers=headers)
    assert response.status_code == 400
    assert "Expired or Invalid pagination request" in response.text
