"""Delta queries: /users/delta, /groups/delta (members@delta) and calendarView/delta.

A round runs from the sequence number in the client's token (S) to the number current
when the round starts (T, carried in its nextLinks); it returns the objects with changes
in (S, T], so every change made between two rounds is reported exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantsync.sandbox.changelog import Change
from tenantsync.sandbox.entities import CalendarEvent, User
from tenantsync.sandbox.errors import GraphError, bad_request
from tenantsync.sandbox.event_changes import KEPT_GENERATIONS
from tenantsync.sandbox.graph_auth import GraphCall, enter
from tenantsync.sandbox.graph_calendar import view
from tenantsync.sandbox.graph_filter import compile_filter
from tenantsync.sandbox.graph_render import (
    EVENT_TYPE,
    GROUP_DEFAULT_SELECT,
    GROUP_FIELDS,
    USER_DEFAULT_SELECT,
    USER_FIELDS,
    filter_getters,
    instance_id,
    render_instance,
    render_occurrence,
)
from tenantsync.sandbox.graph_routes import mailbox_owner, parse_window
from tenantsync.sandbox.odata import check_select, link
from tenantsync.sandbox.recurrence import Instance, instances
from tenantsync.sandbox.service import json_response

DIRECTORY_PAGE = 200
MEMBER_CHUNK = 500
CALENDAR_PAGE = 10
EXPIRED_MESSAGE = (
    "The sync state generation is not found. The delta token is expired and "
    "data must be synchronized again."
)


def _state(call: GraphCall, kind: str) -> dict[str, Any] | None:
    """The token's state (None on a first call); expired tokens answer like Microsoft."""
    q = call.query
    token = q.skiptoken or q.deltatoken
    if token is None:
        return None
    if token == "latest":
        return {"k": kind, "latest": True}
    state = call.sandbox.codec.decode(token, kind=kind)
    age = call.sandbox.now().timestamp() - float(state["iat"])
    if state["g"] != call.tenant.log.generation or age > call.sandbox.options.delta_token_ttl:
        path = state.get("path", "")
        if kind == "events":
            raise GraphError(410, "SyncStateNotFound", EXPIRED_MESSAGE)
        if call.sandbox.options.directory_delta_expiry_status == 410:
            raise GraphError(
                410,
                "resyncRequired",
                EXPIRED_MESSAGE,
                headers={"Location": link(call.base, path, state["p"])},
            )
        raise GraphError(400, "syncStateNotFound", EXPIRED_MESSAGE)
    return state


def _changed(changes: list[Change], tracked: set[str], collection: str) -> dict[str, list[Change]]:
    """Changes to ``collection`` per object id in first-seen order, tracked properties only."""
    out: dict[str, list[Change]] = {}
    for ch in changes:
        if ch.collection != collection:
            continue
        if ch.action == "upsert" and ch.properties is not None and not (ch.properties & tracked):
            continue
        if ch.action in ("member_add", "member_remove") and "members" not in tracked:
            continue
        out.setdefault(ch.object_id, []).append(ch)
    return out


def _directory_delta(request: Request, call: GraphCall, collection: str) -> Response:
    q = call.query
    users = collection == "users"
    fields = USER_FIELDS if users else GROUP_FIELDS
    sandbox, log = call.sandbox, call.tenant.log
    state = _state(call, collection)
    if state is None:
        if q.extra or q.top or q.count:
            raise bad_request("The query specified in the URI is not valid for delta.")
        select = [s for s in (q.select or ()) if s != "members"]
        check_select(tuple(select), fields, "user" if users else "group")
        ids = None
        if q.filter:
            flt = compile_filter(q.filter, "User" if users else "Group", filter_getters(fields))
            if flt.ids is None:
                raise GraphError(
                    400,
                    "Request_UnsupportedQuery",
                    "Unsupported query: only 'id eq' filters are allowed on delta.",
                )
            ids = flt.ids
        state = {
            "k": collection,
            "s": None,
            "t": log.seq,
            "pos": [-1, 0],
            "sel": list(q.select or ()),
            "ids": ids,
            "g": log.generation,
            "p": dict(q.params),
            "path": f"/{collection}/delta",
        }
    elif state.get("latest"):
        state = {
            "k": collection,
            "s": log.seq,
            "t": log.seq,
            "pos": [-1, 0],
            "sel": [],
            "ids": None,
            "g": log.generation,
            "p": {},
            "path": f"/{collection}/delta",
            "done": True,
        }
    elif "t" not in state or state.get("next") is not True:
        state = {**state, "t": log.seq, "pos": [-1, 0]}
    sel = tuple(s for s in state["sel"] if s != "members") or (
        USER_DEFAULT_SELECT if users else GROUP_DEFAULT_SELECT
    )
    if "id" not in sel:
        sel = ("id", *sel)
    tracked = set(state["sel"]) or set(sel) | ({"members"} if not users else set())
    if users:
        items, pos, done = _user_page(call, state, sel, tracked)
    else:
        items, pos, done = _group_page(call, state, sel, tracked)
    body: dict[str, Any] = {"@odata.context": f"{call.base}/$metadata#{collection}"}
    now = sandbox.now().timestamp()
    common = {k: state[k] for k in ("k", "sel", "ids", "g", "p", "path")}
    if done or state.get("done"):
        token = sandbox.codec.encode({**common, "s": state["t"], "iat": now})
        body["@odata.deltaLink"] = link(call.base, state["path"], state["p"], deltatoken=token)
    else:
        token = sandbox.codec.encode(
            {**common, "s": state["s"], "t": state["t"], "pos": pos, "next": True, "iat": now}
        )
        body["@odata.nextLink"] = link(call.base, state["path"], state["p"], skiptoken=token)
    body["value"] = items
    return json_response(body)


def _user_page(
    call: GraphCall, state: dict[str, Any], sel: tuple[str, ...], tracked: set[str]
) -> tuple[list[dict[str, Any]], list[int], bool]:
    t = call.tenant
    size = call.query.max_page_size or DIRECTORY_PAGE
    wanted = set(state["ids"]) if state["ids"] else None
    if state["s"] is None:
        out: list[dict[str, Any]] = []
        last = state["pos"][0]
        for uid in t.users_after(last):
            if wanted is not None and uid not in wanted:
                continue
            if len(out) == size:
                return out, [last, 0], False
            user = t.users[uid]
            out.append({f: USER_FIELDS[f](user) for f in sel})
            last = user.index
        return out, [last, 0], True
    changed = list(_changed(t.log.between(state["s"], state["t"]), tracked, "users").items())
    start = state["pos"][1]
    page: list[dict[str, Any]] = []
    for uid, changes in changed[start : start + size]:
        if wanted is not None and uid not in wanted:
            continue
        found = t.users.get(uid)
        if found is None:
            page.append({"id": uid, "@removed": {"reason": "changed"}})
            continue
        user = found
        props = sel
        partial = call.query.minimal or call.sandbox.options.partial_delta_records
        if partial and all(c.properties is not None for c in changes):
            touched = set().union(*(c.properties or () for c in changes))
            props = tuple(f for f in sel if f == "id" or f in touched)
        page.append({f: USER_FIELDS[f](user) for f in props})
    return page, [-1, start + size], start + size >= len(changed)


def _members_delta(call: GraphCall, changes: list[Change]) -> list[dict[str, Any]]:
    final: dict[str, Change] = {}
    for ch in changes:
        if ch.member_id is not None:
            final[ch.member_id] = ch
    out = []
    for mid, ch in final.items():
        item: dict[str, Any] = {"@odata.type": f"#microsoft.graph.{ch.member_type}", "id": mid}
        if ch.action == "member_remove":
            item["@removed"] = {"reason": "deleted"}
        out.append(item)
    return out


def _group_page(
    call: GraphCall, state: dict[str, Any], sel: tuple[str, ...], tracked: set[str]
) -> tuple[list[dict[str, Any]], list[int], bool]:
    t = call.tenant
    size = call.query.max_page_size or DIRECTORY_PAGE
    wanted = set(state["ids"]) if state["ids"] else None
    with_members = "members" in tracked
    if state["s"] is None:
        out: list[dict[str, Any]] = []
        last, offset = state["pos"]
        budget = MEMBER_CHUNK
        for gid in t.groups_after(last - 1 if offset else last):
            if wanted is not None and gid not in wanted:
                continue
            group = t.groups[gid]
            if len(out) == size:
                return out, [last, 0], False
            item = {f: GROUP_FIELDS[f](group) for f in sel}
            if with_members:
                members = list(group.members)[offset:]
                take, rest = members[: max(budget, 1)], members[max(budget, 1) :]
                item["members@delta"] = [
                    {"@odata.type": f"#microsoft.graph.{t.object_kind(m) or 'user'}", "id": m}
                    for m in take
                ]
                budget -= len(take)
                if rest:
                    out.append(item)
                    return out, [group.index, offset + len(take)], False
            offset = 0
            out.append(item)
            last = group.index
        return out, [last, 0], True
    changed = list(_changed(t.log.between(state["s"], state["t"]), tracked, "groups").items())
    start = state["pos"][1]
    page: list[dict[str, Any]] = []
    for gid, changes in changed[start : start + size]:
        if wanted is not None and gid not in wanted:
            continue
        found_group = t.groups.get(gid)
        if found_group is None:
            page.append({"id": gid, "@removed": {"reason": "changed"}})
            continue
        group = found_group
        props = sel
        partial = call.query.minimal or call.sandbox.options.partial_delta_records
        upserts = [c for c in changes if c.action == "upsert"]
        if partial and all(c.properties is not None for c in upserts):
            touched = set().union(*(c.properties or () for c in upserts))
            props = tuple(f for f in sel if f == "id" or f in touched)
        item = {f: GROUP_FIELDS[f](group) for f in props}
        member_items = _members_delta(call, changes)
        if member_items:
            item["members@delta"] = member_items
        page.append(item)
    return page, [-1, start + size], start + size >= len(changed)


async def users_delta(request: Request) -> Response:
    """GET /users/delta."""
    return _directory_delta(request, await enter(request, "graph.users"), "users")


async def groups_delta(request: Request) -> Response:
    """GET /groups/delta."""
    return _directory_delta(request, await enter(request, "graph.groups"), "groups")


def _instance_ids(event: CalendarEvent | None, start: datetime, end: datetime) -> list[str]:
    return [instance_id(i) for i in instances(event, start, end)] if event else []


def _rendered(item: Instance, owner: User, tz: str) -> dict[str, Any]:
    """Occurrences come bare in a delta round; singles and exceptions whole."""
    if item.kind == "occurrence":
        return render_occurrence(item, tz)
    return render_instance(item, owner, tz)


def _check_generation(call: GraphCall, owner: User, state: dict[str, Any]) -> None:
    """Outlook keeps only the last few sync states of a mailbox: an older link is gone."""
    generation = state.get("gen")
    highest = call.tenant.calendar_generations.get(owner.id, 0)
    if generation is not None and int(generation) <= highest - KEPT_GENERATIONS:
        raise GraphError(
            410,
            "SyncStateNotFound",
            f"The sync state generation is not found; generation={generation};[highest={highest}]",
        )


async def calendar_delta(request: Request) -> Response:
    """GET /users/{id}/calendarView/delta."""
    call = await enter(request, "graph.calendar")
    owner = mailbox_owner(call, request.path_params["key"])
    q = call.query
    log = call.tenant.log
    state = _state(call, "events")
    if state is None or state.get("latest"):
        start, end = parse_window(q.params)
        state = {
            "k": "events",
            "m": owner.id,
            "ws": start.isoformat(),
            "we": end.isoformat(),
            "s": None if state is None else log.seq,
            "g": log.generation,
            "p": dict(q.params),
            "path": f"/users/{owner.id}/calendarView/delta",
        }
    elif state.get("m") != owner.id:
        raise bad_request("The delta token belongs to another mailbox.")
    elif q.deltatoken:
        _check_generation(call, owner, state)
    if state.get("next") is not True:
        state = {**state, "t": log.seq, "o": 0}
    start, end = datetime.fromisoformat(state["ws"]), datetime.fromisoformat(state["we"])
    tz = q.time_zone or "UTC"
    size = q.max_page_size or CALENDAR_PAGE
    position = state["o"]
    if state["s"] is None:
        items = view(call.sandbox, call.tenant, owner, None, start, end)
        rendered = [_rendered(i, owner, tz) for i in items[position : position + size]]
        total = len(items)
    else:
        changed = _changes(call, owner, state, start, end, tz)
        rendered = changed[position : position + size]
        total = len(changed)
    body: dict[str, Any] = {"@odata.context": f"{call.base}/$metadata#Collection(event)"}
    common = {k: state[k] for k in ("k", "m", "ws", "we", "g", "p", "path")}
    if state.get("gen") is not None and state["s"] is not None:
        common["gen"] = state["gen"]
    now = call.sandbox.now().timestamp()
    if position + size < total:
        token = call.sandbox.codec.encode(
            {
                **common,
                "s": state["s"],
                "t": state["t"],
                "o": position + size,
                "next": True,
                "iat": now,
            }
        )
        body["@odata.nextLink"] = link(call.base, state["path"], state["p"], skiptoken=token)
    else:
        # A round started from a link continues that link's line of sync states: asking the
        # same link again gives the same generation (retries do not evict anything).
        highest = call.tenant.calendar_generations.get(owner.id, 0)
        generation = int(state.get("gen") or highest) + 1
        call.tenant.calendar_generations[owner.id] = max(highest, generation)
        token = call.sandbox.codec.encode(
            {**common, "s": state["t"], "iat": now, "gen": generation}
        )
        body["@odata.deltaLink"] = link(call.base, state["path"], state["p"], deltatoken=token)
    body["value"] = rendered
    return json_response(body)


def _changes(
    call: GraphCall, owner: User, state: dict[str, Any], start: datetime, end: datetime, tz: str
) -> list[dict[str, Any]]:
    """What changed in the mailbox since the token: each changed event's items in the
    window, @removed for the items it had there and lost, and @removed for an event that
    changed outside the window (as Outlook reports it). A cancelled occurrence never shows."""
    calendar = call.tenant.calendar(owner.id)
    rendered: list[dict[str, Any]] = []
    firsts: dict[str, Change] = {}
    for ch in call.tenant.log.mailbox_events_between(owner.id, state["s"], state["t"]):
        firsts.setdefault(ch.object_id, ch)
    for eid, first in firsts.items():
        now_items = {
            instance_id(i): i
            for i in (instances(calendar[eid], start, end) if eid in calendar else ())
        }
        before = _instance_ids(first.before, start, end)
        gone = [
            {"@odata.type": EVENT_TYPE, "id": g, "@removed": {"reason": "deleted"}}
            for g in before
            if g not in now_items
        ]
        if not now_items and not before:
            gone = [{"@odata.type": EVENT_TYPE, "id": eid, "@removed": {"reason": "deleted"}}]
        rendered += gone
        rendered += [_rendered(i, owner, tz) for i in now_items.values()]
    return rendered


# Graph answers the function both bare and in OData call syntax (the SDK sends `delta()`).
ROUTES = [
    Route(path, handler)
    for suffix in ("delta", "delta()")
    for path, handler in (
        (f"/v1.0/users/{suffix}", users_delta),
        (f"/v1.0/groups/{suffix}", groups_delta),
        (f"/v1.0/users/{{key}}/calendarView/{suffix}", calendar_delta),
        (f"/v1.0/users/{{key}}/calendar/calendarView/{suffix}", calendar_delta),
    )
]
