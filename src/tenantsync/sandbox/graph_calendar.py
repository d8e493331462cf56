"""Graph v1.0 calendar reads: calendarView (primary calendar or any other), the list of a
mailbox's calendars, one event by id (a series master with its recurrence), and its
attachments. Thin handlers over the tenant's calendars.

Views are computed once per mailbox, calendar, window and calendar version and kept for
a while, so paging through a mailbox does not expand its series page after page.
"""

from __future__ import annotations

import base64
from collections import OrderedDict
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantsync.sandbox.entities import CalendarEvent, User
from tenantsync.sandbox.errors import GraphError
from tenantsync.sandbox.graph_auth import enter
from tenantsync.sandbox.graph_render import (
    instance_id,
    render_instance,
    render_master,
)
from tenantsync.sandbox.graph_routes import mailbox_owner, parse_window
from tenantsync.sandbox.odata import link, page_size
from tenantsync.sandbox.recurrence import Instance, instances
from tenantsync.sandbox.service import Sandbox, json_response
from tenantsync.sandbox.tenant import SandboxTenant

PRIMARY_NAME = "Calendar"
VIEWS_KEPT = 64
VIEWS_KEY = "calendar_views"
# How far past the window an occurrence id is looked for (GET of an occurrence by id).
ID_HORIZON_DAYS = 3 * 366


def _item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def primary_id(owner: User) -> str:
    """The id of the mailbox's primary calendar."""
    from tenantsync.sandbox.ids import outlook_id

    return outlook_id("calendar", owner.id, PRIMARY_NAME)


def calendar_events(
    tenant: SandboxTenant, owner: User, calendar_id: str | None
) -> dict[str, CalendarEvent]:
    """The events of one of the owner's calendars (None or the primary id: the primary)."""
    if calendar_id is None or calendar_id == primary_id(owner):
        return tenant.calendar(owner.id)
    if calendar_id not in dict(tenant.calendars_of(owner.id)):
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    return tenant.calendar(owner.id, calendar_id)


def view(
    sandbox: Sandbox,
    tenant: SandboxTenant,
    owner: User,
    calendar_id: str | None,
    start: datetime,
    end: datetime,
) -> list[Instance]:
    """Every item of the calendar overlapping [start, end), in calendarView's order."""
    cache: OrderedDict[tuple[Any, ...], list[Instance]] = sandbox.extras.setdefault(
        VIEWS_KEY, OrderedDict()
    )
    key = (tenant.tenant_id, owner.id, calendar_id, start, end, tenant.calendar_version)
    found = cache.get(key)
    if found is not None:
        cache.move_to_end(key)
        return found
    events = calendar_events(tenant, owner, calendar_id)
    items = [i for ev in events.values() for i in instances(ev, start, end)]
    items.sort(key=lambda i: (i.start, i.event.id))
    cache[key] = items
    while len(cache) > VIEWS_KEPT:
        cache.popitem(last=False)
    return items


async def calendar_view(request: Request) -> Response:
    """GET /users/{id}/calendarView (also /calendar/… and /calendars/{cid}/…)."""
    call = await enter(request, "graph.calendar")
    owner = mailbox_owner(call, request.path_params["key"])
    calendar_id = request.path_params.get("calendar")
    start, end = parse_window(call.query.params)
    items = view(call.sandbox, call.tenant, owner, calendar_id, start, end)
    q = call.query
    size = page_size(q, "calendar")
    kind = f"calendarView:{owner.id}:{calendar_id}"
    offset = int(call.sandbox.codec.decode(q.skiptoken, kind=kind)["o"]) if q.skiptoken else 0
    tz = q.time_zone or "UTC"
    path = request.url.path.removeprefix("/v1.0")
    body: dict[str, Any] = {"@odata.context": f"{call.base}/$metadata#Collection(event)"}
    if offset + size < len(items):
        token = call.sandbox.codec.encode({"k": kind, "o": offset + size})
        body["@odata.nextLink"] = link(call.base, path, q.params, skiptoken=token)
    rendered = [render_instance(i, owner, tz) for i in items[offset : offset + size]]
    if q.select:
        keep = {"@odata.etag", "id", *q.select}
        rendered = [{k: v for k, v in r.items() if k in keep} for r in rendered]
    body["value"] = rendered
    headers = {"Preference-Applied": f'outlook.timezone="{tz}"'} if q.time_zone else None
    return json_response(body, headers=headers)


async def list_calendars(request: Request) -> Response:
    """GET /users/{id}/calendars."""
    call = await enter(request, "graph.calendar")
    owner = mailbox_owner(call, request.path_params["key"])
    rows = [(primary_id(owner), PRIMARY_NAME, True)]
    rows += [(cid, name, False) for cid, name in call.tenant.calendars_of(owner.id)]
    body = {
        "@odata.context": f"{call.base}/$metadata#users('{owner.id}')/calendars",
        "value": [
            {
                "id": cid,
                "name": name,
                "isDefaultCalendar": default,
                "canEdit": True,
                "owner": {"name": owner.display_name, "address": owner.mail},
            }
            for cid, name, default in rows
        ],
    }
    return json_response(body)


def find_event(
    tenant: SandboxTenant, owner: User, event_id: str
) -> tuple[CalendarEvent, Instance | None] | None:
    """The event with this id in any of the owner's calendars, or the series and the
    occurrence or exception it names."""
    keys: list[str | None] = [None, *(cid for cid, _ in tenant.calendars_of(owner.id))]
    for calendar_id in keys:
        events = tenant.calendar(owner.id, calendar_id)
        if event_id in events:
            return events[event_id], None
    wide_start = tenant.calendar_start - timedelta(days=ID_HORIZON_DAYS)
    wide_end = tenant.calendar_end + timedelta(days=ID_HORIZON_DAYS)
    for calendar_id in keys:
        for event in tenant.calendar(owner.id, calendar_id).values():
            if event.recurrence is None:
                continue
            for item in instances(event, wide_start, wide_end):
                if instance_id(item) == event_id:
                    return event, item
    return None


async def get_event(request: Request) -> Response:
    """GET /users/{id}/events/{eid} (a series master comes with its recurrence)."""
    call = await enter(request, "graph.calendar")
    owner = mailbox_owner(call, request.path_params["key"])
    found = find_event(call.tenant, owner, request.path_params["event"])
    if found is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    event, item = found
    tz = call.query.time_zone or "UTC"
    body = render_master(event, owner, tz) if item is None else render_instance(item, owner, tz)
    return json_response(
        {"@odata.context": f"{call.base}/$metadata#users('{owner.id}')/events/$entity", **body}
    )


async def event_attachments(request: Request) -> Response:
    """GET /users/{id}/events/{eid}/attachments (contentBytes unless $select leaves it out)."""
    call = await enter(request, "graph.calendar")
    owner = mailbox_owner(call, request.path_params["key"])
    found = find_event(call.tenant, owner, request.path_params["event"])
    if found is None:
        raise GraphError(
            404, "ErrorItemNotFound", "The specified object was not found in the store."
        )
    event = found[0]
    select = set(call.query.select or ())
    value = []
    for n, att in enumerate(event.attachments):
        item: dict[str, Any] = {
            "@odata.type": "#microsoft.graph.fileAttachment",
            "id": f"{event.id}-att{n}",
            "name": att.name,
            "contentType": att.content_type,
            "size": len(att.content),
            "isInline": False,
        }
        if not select or "contentBytes" in select:
            item["contentBytes"] = base64.b64encode(att.content).decode()
        value.append(item)
    return json_response({"@odata.context": f"{call.base}/$metadata#attachments", "value": value})


ROUTES = [
    Route("/v1.0/users/{key}/calendarView", calendar_view),
    Route("/v1.0/users/{key}/calendar/calendarView", calendar_view),
    Route("/v1.0/users/{key}/calendars/{calendar}/calendarView", calendar_view),
    Route("/v1.0/users/{key}/calendars", list_calendars),
    Route("/v1.0/users/{key}/events/{event}", get_event),
    Route("/v1.0/users/{key}/events/{event}/attachments", event_attachments),
]
