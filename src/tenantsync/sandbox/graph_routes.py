"""Graph v1.0 read routes: thin handlers translating the tenant's views to Graph's wire."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tenantsync.sandbox.entities import Group, User
from tenantsync.sandbox.errors import GraphError, bad_request, not_found
from tenantsync.sandbox.graph_auth import GraphCall, enter
from tenantsync.sandbox.graph_filter import Filter, check_advanced, compile_filter
from tenantsync.sandbox.graph_render import (
    GROUP_FIELDS,
    GROUP_TYPE,
    USER_FIELDS,
    USER_TYPE,
    filter_getters,
    render_group,
    render_mailbox_settings,
    render_user,
)
from tenantsync.sandbox.odata import check_select, link, page_size
from tenantsync.sandbox.service import dumps, json_response, raw_json_response

USER_FILTER = filter_getters(USER_FIELDS)
GROUP_FILTER = filter_getters(GROUP_FIELDS)


def _context(call: GraphCall, what: str) -> str:
    sel = call.query.select
    return f"{call.base}/$metadata#{what}" + (f"({','.join(sel)})" if sel else "")


def _filter(call: GraphCall, resource: str) -> Filter | None:
    q = call.query
    if q.extra:
        name = next(iter(q.extra))
        if name.startswith("$"):
            raise GraphError(
                400, "Request_UnsupportedQuery", f"The query parameter '{name}' is not supported."
            )
    if q.count and not q.eventual:
        raise bad_request("$count is not currently supported.")
    flt = (
        compile_filter(q.filter, resource, USER_FILTER if resource == "User" else GROUP_FILTER)
        if q.filter
        else None
    )
    check_advanced(flt, q.eventual, q.count)
    return flt


def _keyset_page(
    call: GraphCall,
    path: str,
    kind: str,
    ids: Callable[[int], Iterator[str]],
    lookup: Callable[[str], Any],
    encode: Callable[[Any], bytes],
    flt: Filter | None,
) -> bytes:
    """One page of a collection ordered by creation, resumed from the token's last index."""
    q = call.query
    size = page_size(q, "directory")
    last = -1
    if q.skiptoken:
        last = int(call.sandbox.codec.decode(q.skiptoken, kind=kind)["i"])
    items: list[Any] = []
    more = False
    for oid in ids(last):
        obj = lookup(oid)
        if flt is not None and not flt.predicate(obj):
            continue
        if len(items) == size:
            more = True
            break
        items.append(obj)
    head: dict[str, Any] = {"@odata.context": _context(call, path.strip("/"))}
    if q.count and not q.skiptoken:
        head["@odata.count"] = sum(
            1 for oid in ids(-1) if flt is None or flt.predicate(lookup(oid))
        )
    if more:
        token = call.sandbox.codec.encode({"k": kind, "i": items[-1].index})
        head["@odata.nextLink"] = link(call.base, path, q.params, skiptoken=token)
    # Objects arrive as JSON already; "value" goes last, as Graph orders it.
    values = b",".join(encode(obj) for obj in items)
    return dumps(head)[:-1] + b',"value":[' + values + b"]}"


async def list_users(request: Request) -> Response:
    """GET /users."""
    call = await enter(request, "graph.users")
    check_select(call.query.select, USER_FIELDS, "user")
    flt = _filter(call, "User")
    t = call.tenant
    sel = call.query.select
    cache = call.sandbox.user_cache(t.tenant_id)
    return raw_json_response(
        _keyset_page(
            call,
            "/users",
            "users",
            t.users_after,
            t.users.__getitem__,
            lambda u: cache.user_json(t, u, sel),
            flt,
        )
    )


async def list_groups(request: Request) -> Response:
    """GET /groups."""
    call = await enter(request, "graph.groups")
    check_select(call.query.select, GROUP_FIELDS, "group")
    flt = _filter(call, "Group")
    t = call.tenant
    sel = call.query.select
    return raw_json_response(
        _keyset_page(
            call,
            "/groups",
            "groups",
            t.groups_after,
            t.groups.__getitem__,
            lambda g: dumps(render_group(g, sel)),
            flt,
        )
    )


async def count_users(request: Request) -> Response:
    """GET /users/$count (text/plain; needs ConsistencyLevel: eventual)."""
    call = await enter(request, "graph.users")
    if not call.query.eventual:
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    flt = _filter(call, "User")
    n = sum(1 for u in call.tenant.users.values() if flt is None or flt.predicate(u))
    return PlainTextResponse(str(n))


def _user(call: GraphCall, key: str) -> User:
    user = call.tenant.user_by_key(key)
    if user is None:
        raise not_found("user", key)
    return user


def _group(call: GraphCall, key: str) -> Group:
    group = call.tenant.groups.get(key.lower())
    if group is None:
        raise not_found("group", key)
    return group


async def get_user(request: Request) -> Response:
    """GET /users/{id | userPrincipalName}."""
    call = await enter(request, "graph.users")
    check_select(call.query.select, USER_FIELDS, "user")
    user = _user(call, request.path_params["key"])
    body = {
        "@odata.context": _context(call, "users") + "/$entity",
        **render_user(user, call.query.select),
    }
    return json_response(body)


async def get_group(request: Request) -> Response:
    """GET /groups/{id}."""
    call = await enter(request, "graph.groups")
    check_select(call.query.select, GROUP_FIELDS, "group")
    group = _group(call, request.path_params["key"])
    body = {
        "@odata.context": _context(call, "groups") + "/$entity",
        **render_group(group, call.query.select),
    }
    return json_response(body)


def _directory_object(call: GraphCall, oid: str) -> dict[str, Any] | None:
    sel = call.query.select
    t = call.tenant
    if oid in t.users:
        fields = tuple(s for s in sel if s in USER_FIELDS) if sel else None
        return {"@odata.type": USER_TYPE, **render_user(t.users[oid], fields or None)}
    if oid in t.groups:
        fields = tuple(s for s in sel if s in GROUP_FIELDS) if sel else None
        return {"@odata.type": GROUP_TYPE, **render_group(t.groups[oid], fields or None)}
    return None


def _offset_page(call: GraphCall, path: str, kind: str, ids: list[str]) -> dict[str, Any]:
    """One page of a member-style list, resumed from the token's offset."""
    q = call.query
    size = page_size(q, "directory")
    start = int(call.sandbox.codec.decode(q.skiptoken, kind=kind)["o"]) if q.skiptoken else 0
    chunk = ids[start : start + size]
    body: dict[str, Any] = {"@odata.context": _context(call, "directoryObjects")}
    if q.count and not q.skiptoken:
        body["@odata.count"] = len(ids)
    if start + size < len(ids):
        token = call.sandbox.codec.encode({"k": kind, "o": start + size})
        body["@odata.nextLink"] = link(call.base, path, q.params, skiptoken=token)
    body["value"] = [obj for oid in chunk if (obj := _directory_object(call, oid))]
    return body


def _cast(ids: Iterable[str], call: GraphCall, cast: str | None) -> list[str]:
    if cast is None:
        return list(ids)
    tables: dict[str, Mapping[str, Any]] = {
        "microsoft.graph.user": call.tenant.users,
        "microsoft.graph.group": call.tenant.groups,
    }
    table = tables.get(cast, {})
    return [i for i in ids if i in table]


async def group_members(request: Request) -> Response:
    """GET /groups/{id}/members and /transitiveMembers (optionally cast to one type)."""
    call = await enter(request, "graph.groups")
    group = _group(call, request.path_params["key"])
    relation = request.path_params["relation"]
    cast = request.path_params.get("cast")
    if relation == "transitiveMembers":
        if cast and not (call.query.eventual and call.query.count):
            raise GraphError(400, "Request_UnsupportedQuery", "Unsupported Query.")
        ids = call.tenant.transitive_members(group.id)
    elif relation == "members":
        ids = list(group.members)
    else:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{relation}'.")
    kind = f"members:{group.id}:{relation}:{cast}"
    path = f"/groups/{group.id}/{relation}" + (f"/{cast}" if cast else "")
    return json_response(_offset_page(call, path, kind, _cast(ids, call, cast)))


async def member_of(request: Request) -> Response:
    """GET /users/{id}/memberOf (direct groups)."""
    call = await enter(request, "graph.users")
    user = _user(call, request.path_params["key"])
    ids = call.tenant.member_of(user.id)
    return json_response(
        _offset_page(call, f"/users/{user.id}/memberOf", f"memberOf:{user.id}", ids)
    )


async def mailbox_settings(request: Request) -> Response:
    """GET /users/{id}/mailboxSettings."""
    call = await enter(request, "graph.mailboxSettings")
    user = _user(call, request.path_params["key"])
    if user.mailbox is None:
        raise GraphError(
            404,
            "MailboxNotEnabledForRESTAPI",
            "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    body = {
        "@odata.context": f"{call.base}/$metadata#users('{user.id}')/mailboxSettings",
        **render_mailbox_settings(
            user,
            object_form=call.sandbox.options.user_purpose_object,
            purposes=call.sandbox.options.user_purposes,
        ),
    }
    return json_response(body)


def parse_window(params: dict[str, str]) -> tuple[datetime, datetime]:
    """startDateTime/endDateTime (required; no offset means UTC)."""
    lower = {k.lower(): v for k, v in params.items()}
    try:
        start = datetime.fromisoformat(lower["startdatetime"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(lower["enddatetime"].replace("Z", "+00:00"))
    except (KeyError, ValueError):
        raise GraphError(
            400,
            "ErrorInvalidParameter",
            "This request requires a time window "
            "specified by the query string parameters StartDateTime and "
            "EndDateTime.",
        ) from None
    return (
        start if start.tzinfo else start.replace(tzinfo=UTC),
        end if end.tzinfo else end.replace(tzinfo=UTC),
    )


def mailbox_owner(call: GraphCall, key: str) -> User:
    """The user whose mailbox a calendar route reads (404 Outlook-style without one)."""
    user = call.tenant.user_by_key(key)
    if user is None or user.mailbox is None:
        raise GraphError(
            404,
            "ErrorInvalidUser" if user is None else "MailboxNotEnabledForRESTAPI",
            f"The requested user '{key}' is invalid."
            if user is None
            else "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
        )
    if user.id in call.tenant.restricted:
        raise GraphError(
            403,
            "ErrorAccessDenied",
            "Access to OData is disabled: Blocked by tenant configured AppOnly AccessPolicy "
            "settings.",
        )
    return user


ROUTES = [
    Route("/v1.0/users", list_users),
    Route("/v1.0/users/$count", count_users),
    Route("/v1.0/groups", list_groups),
    Route("/v1.0/users/{key}/mailboxSettings", mailbox_settings),
    Route("/v1.0/users/{key}/memberOf", member_of),
    Route("/v1.0/groups/{key}/{relation}", group_members),
    Route("/v1.0/groups/{key}/{relation}/{cast}", group_members),
]
ITEM_ROUTES = [
    Route("/v1.0/users/{key}", get_user),
    Route("/v1.0/groups/{key}", get_group),
]
