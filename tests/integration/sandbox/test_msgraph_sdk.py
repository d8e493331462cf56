"""Microsoft's own Graph SDK (msgraph-sdk with azure-identity) works against the sandbox,
and every object the sandbox serves parses into the SDK's models with no unknown field."""

from __future__ import annotations

import ssl
import warnings
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tenantsync.sandbox import (
    SandboxTenant,
    ServedSandbox,
    create_app,
    generate_tenant,
    serve_in_thread,
)
from tenantsync.sandbox.graph_render import GROUP_FIELDS, USER_FIELDS
from tests.integration.sandbox.conftest import GRAPH, bearer

# The SDK's generated request builders warn about their own deprecated classes on import.
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]


def _graph_client(served: ServedSandbox) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from azure.identity.aio import ClientSecretCredential
        from kiota_authentication_azure.azure_identity_authentication_provider import (
            AzureIdentityAuthenticationProvider,
        )
        from msgraph import GraphRequestAdapter, GraphServiceClient
        from msgraph_core import GraphClientFactory

    tenant = served.tenant
    credential = ClientSecretCredential(
        tenant.tenant_id,
        tenant.client_id,
        tenant.client_secret,
        authority=served.base_url,
        connection_verify=str(served.ca_file),
        disable_instance_discovery=True,
    )
    auth = AzureIdentityAuthenticationProvider(credential, scopes=[GRAPH])
    tls = ssl.create_default_context(cafile=str(served.ca_file))
    http = GraphClientFactory.create_with_default_middleware(client=httpx.AsyncClient(verify=tls))
    adapter = GraphRequestAdapter(auth, client=http)
    adapter.base_url = served.graph_v1_url
    return GraphServiceClient(request_adapter=adapter), credential


@pytest.fixture(scope="module")
def tenant() -> SandboxTenant:
    """Small: the SDK's model parsing costs tens of milliseconds per object."""
    return generate_tenant(40, seed=17)


async def test_sdk_lists_all_users_across_pages(served: ServedSandbox) -> None:
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder
    from msgraph_core import PageIterator

    graph, credential = _graph_client(served)
    query = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(top=15)
    try:
        first = await graph.users.get(RequestConfiguration(query_parameters=query))
        assert first.odata_next_link is not None
        seen: list[str] = []
        iterator = PageIterator(first, graph.request_adapter)
        await iterator.iterate(lambda user: bool(seen.append(user.id)) or True)
    finally:
        await credential.close()
    assert len(seen) == len(served.tenant.users)
    assert set(seen) == set(served.tenant.users)


async def test_sdk_lists_every_member_of_a_nested_group(served: ServedSandbox) -> None:
    tenant = served.tenant
    nested = next(
        g
        for g in tenant.groups.values()
        if any(m in tenant.groups for m in g.members)
        and len(tenant.transitive_members(g.id)) > len(g.members)
    )
    graph, credential = _graph_client(served)
    try:
        page = await graph.groups.by_group_id(nested.id).transitive_members.get()
        ids = [m.id for m in page.value]
        while page.odata_next_link:
            page = await (
                graph.groups.by_group_id(nested.id)
                .transitive_members.with_url(page.odata_next_link)
                .get()
            )
            ids += [m.id for m in page.value]
    finally:
        await credential.close()
    assert sorted(ids) == sorted(tenant.transitive_members(nested.id))
    assert len(ids) == len(set(ids))


async def test_sdk_runs_a_users_delta_round(tmp_path: Any) -> None:
    tenant = generate_tenant(60, seed=23)
    with serve_in_thread(create_app(tenant, latency=0), data_dir=tmp_path) as served:
        graph, credential = _graph_client(served)
        try:
            page = await graph.users.delta.get()
            ids = [u.id for u in page.value]
            while page.odata_next_link:
                page = await graph.users.delta.with_url(page.odata_next_link).get()
                ids += [u.id for u in page.value]
            assert sorted(ids) == sorted(tenant.users)
            delta_link = page.odata_delta_link
            assert delta_link
            added = served.change("add_user", display_name="Grace Hopper", department="R&D")
            victim = tenant.user_ids[3]
            served.change("remove_user", user_id=victim)
            round_two = await graph.users.delta.with_url(delta_link).get()
            changed = {u.id: u for u in round_two.value}
            assert set(changed) == {added["id"], victim}
            assert changed[added["id"]].display_name == "Grace Hopper"
            assert changed[victim].additional_data["@removed"] == {"reason": "changed"}
            round_three = await graph.users.delta.with_url(round_two.odata_delta_link).get()
            assert round_three.value == []
        finally:
            await credential.close()


# ---- model fidelity: parse raw sandbox JSON with the SDK's own model classes -------------


def _parse(raw: bytes, model: Any) -> Any:
    from kiota_serialization_json.json_parse_node_factory import JsonParseNodeFactory

    node = JsonParseNodeFactory().get_root_parse_node("application/json", raw)
    return node.get_object_value(model)


def _unknown_fields(obj: Any, path: str = "") -> list[str]:
    """Every additional_data key (other than @odata annotations) anywhere in a model tree."""
    found: list[str] = []
    extra = getattr(obj, "additional_data", None)
    if isinstance(extra, dict):
        found += [f"{path}.{k}" for k in extra if not k.startswith("@odata")]
    if hasattr(obj, "__dataclass_fields__"):
        for name in obj.__dataclass_fields__:
            if name == "additional_data":
                continue
            value = getattr(obj, name)
            for item in value if isinstance(value, list) else [value]:
                if hasattr(item, "additional_data"):
                    found += _unknown_fields(item, f"{path}.{name}")
    return found


async def test_users_with_every_property_parse_into_sdk_users(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    from msgraph.generated.models.user_collection_response import UserCollectionResponse

    auth = await bearer(client, tenant)
    select = ",".join(USER_FIELDS)
    response = await client.get(f"/v1.0/users?$select={select}&$top=999", headers=auth)
    assert response.status_code == 200
    parsed = _parse(response.content, UserCollectionResponse)
    assert len(parsed.value) == len(tenant.users)
    assert _unknown_fields(parsed) == []
    guest = next(u for u in parsed.value if u.user_type == "Guest")
    assert guest.creation_type == "Invitation"
    assert any(u.on_premises_security_identifier for u in parsed.value)
    assert all(isinstance(u.created_date_time, datetime) for u in parsed.value)


async def test_groups_and_members_parse_into_sdk_models(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    from msgraph.generated.models.directory_object_collection_response import (
        DirectoryObjectCollectionResponse,
    )
    from msgraph.generated.models.group import Group
    from msgraph.generated.models.group_collection_response import GroupCollectionResponse
    from msgraph.generated.models.user import User

    auth = await bearer(client, tenant)
    select = ",".join(GROUP_FIELDS)
    groups = await client.get(f"/v1.0/groups?$select={select}&$top=999", headers=auth)
    parsed = _parse(groups.content, GroupCollectionResponse)
    assert len(parsed.value) == len(tenant.groups)
    assert _unknown_fields(parsed) == []
    for group in tenant.groups.values():
        if any(m in tenant.groups for m in group.members):
            break
    members = await client.get(f"/v1.0/groups/{group.id}/members?$top=999", headers=auth)
    objects = _parse(members.content, DirectoryObjectCollectionResponse).value
    assert {type(o) for o in objects} == {User, Group}
    assert _unknown_fields(objects[0]) == []


async def test_events_and_mailbox_settings_parse_into_sdk_models(
    client: httpx.AsyncClient, tenant: SandboxTenant
) -> None:
    from msgraph.generated.models.event_collection_response import EventCollectionResponse
    from msgraph.generated.models.mailbox_settings import MailboxSettings

    auth = await bearer(client, tenant)
    owner = next(u for u in tenant.users.values() if u.mailbox == "user")
    start = tenant.calendar_start
    end = start + timedelta(days=60)
    params = {
        "startDateTime": start.isoformat(),
        "endDateTime": end.isoformat(),
        "$top": "1000",
    }
    view = await client.get(f"/v1.0/users/{owner.id}/calendarView", params=params, headers=auth)
    assert view.status_code == 200, view.text
    events = _parse(view.content, EventCollectionResponse).value
    assert events
    assert _unknown_fields(events[0]) == []
    assert all(_unknown_fields(e) == [] for e in events)
    assert {e.type.value for e in events} >= {"singleInstance", "occurrence"}
    settings = await client.get(f"/v1.0/users/{owner.id}/mailboxSettings", headers=auth)
    parsed = _parse(settings.content, MailboxSettings)
    assert _unknown_fields(parsed) == []
    assert parsed.user_purpose is not None
    assert start.tzinfo is UTC
