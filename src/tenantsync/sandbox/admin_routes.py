"""The sandbox-admin API: change a served tenant over HTTP (what `tenantsync sandbox
change` and tests use), so each change lands in the next delta round exactly once.

    GET  /sandbox-admin/{tenant}            summary: ids, domains, counts
    POST /sandbox-admin/{tenant}/changes    {"op": "<change>", "args": {...}}

Both need the header `X-Sandbox-Admin-Key` (printed by `serve`, in the credentials file).
`op` is one of `CHANGE_OPS`, each a `SandboxTenant` method of the same name; `args`
are its keyword arguments (datetimes as ISO 8601 strings with an offset).
"""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenantsync.sandbox.entities import CalendarEvent, Group, User
from tenantsync.sandbox.errors import ChangeError
from tenantsync.sandbox.service import Sandbox
from tenantsync.sandbox.tenant import SandboxTenant

ADMIN_KEY_HEADER = "X-Sandbox-Admin-Key"
CHANGE_OPS = frozenset(
    {
        "add_user",
        "update_user",
        "remove_user",
        "add_group",
        "update_group",
        "remove_group",
        "add_group_member",
        "remove_group_member",
        "grant_full_access",
        "revoke_full_access",
        "grant_send_as",
        "revoke_send_as",
        "set_send_on_behalf",
        "set_remote_mailbox",
        "set_calendar_permission",
        "remove_calendar_permission",
        "add_event",
        "update_event",
        "remove_event",
        "set_recurrence",
        "move_occurrence",
        "cancel_occurrence",
        "delete_occurrence",
        "cancel_event",
        "restrict_mailbox",
        "evict_calendar_delta",
        "expire_delta_tokens",
    }
)
DATETIME_ARGS = ("start", "end")


def _problem(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status)


def _authorized(request: Request, sandbox: Sandbox) -> bool:
    given = request.headers.get(ADMIN_KEY_HEADER, "")
    return hmac.compare_digest(given.encode(), sandbox.options.admin_key.encode())


def _summary(tenant: SandboxTenant) -> dict[str, Any]:
    return {
        "tenant_id": tenant.tenant_id,
        "organization": tenant.organization_name,
        "domains": tenant.all_domains,
        "client_id": tenant.client_id,
        "users": len(tenant.users),
        "mailboxes": sum(1 for u in tenant.users.values() if u.mailbox is not None),
        "groups": len(tenant.groups),
        "dynamic_groups": len(tenant.dynamic_groups),
        "permissions": tenant.permission_counts(),
        "change_seq": tenant.log.seq,
    }


def describe(result: object) -> dict[str, Any]:
    """What a change returns, as JSON: the id (and names) of what it created or changed."""
    if isinstance(result, User):
        return {
            "id": result.id,
            "userPrincipalName": result.user_principal_name,
            "mail": result.mail,
            "displayName": result.display_name,
        }
    if isinstance(result, Group):
        return {"id": result.id, "displayName": result.display_name, "mail": result.mail}
    if isinstance(result, CalendarEvent):
        return {"id": result.id, "iCalUId": result.ical_uid, "subject": result.subject}
    return {}


def apply_change(tenant: SandboxTenant, op: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run one named change on a tenant; raises ChangeError for a bad op or arguments."""
    if op not in CHANGE_OPS:
        raise ChangeError(f"unknown change {op!r}; one of {', '.join(sorted(CHANGE_OPS))}")
    kwargs = dict(args)
    for key in DATETIME_ARGS:
        if isinstance(kwargs.get(key), str):
            try:
                kwargs[key] = datetime.fromisoformat(kwargs[key])
            except ValueError:
                raise ChangeError(f"{key}: not an ISO 8601 datetime") from None
            if kwargs[key].tzinfo is None:
                raise ChangeError(f"{key}: needs a UTC offset")
    try:
        result = getattr(tenant, op)(**kwargs)
    except TypeError as exc:
        raise ChangeError(f"{op}: {exc}") from None
    except KeyError as exc:
        raise ChangeError(f"{op}: not found: {exc}") from None
    return describe(result)


async def summary(request: Request) -> Response:
    """GET /sandbox-admin/{tenant}."""
    sandbox: Sandbox = request.app.state.sandbox
    if not _authorized(request, sandbox):
        return _problem(401, f"missing or wrong {ADMIN_KEY_HEADER}")
    tenant = sandbox.tenant(request.path_params["tenant"])
    if tenant is None:
        return _problem(404, "no such tenant")
    return JSONResponse(_summary(tenant))


async def change(request: Request) -> Response:
    """POST /sandbox-admin/{tenant}/changes."""
    sandbox: Sandbox = request.app.state.sandbox
    if not _authorized(request, sandbox):
        return _problem(401, f"missing or wrong {ADMIN_KEY_HEADER}")
    tenant = sandbox.tenant(request.path_params["tenant"])
    if tenant is None:
        return _problem(404, "no such tenant")
    try:
        payload = await request.json()
    except ValueError:
        return _problem(400, 'body must be JSON: {"op": ..., "args": {...}}')
    if not isinstance(payload, dict) or not isinstance(payload.get("args", {}), dict):
        return _problem(400, 'body must be JSON: {"op": ..., "args": {...}}')
    try:
        result = apply_change(tenant, str(payload.get("op", "")), payload.get("args") or {})
    except ChangeError as exc:
        return _problem(400, str(exc))
    return JSONResponse({"op": payload["op"], "result": result, "change_seq": tenant.log.seq})


ROUTES = [
    Route("/sandbox-admin/{tenant}", summary),
    Route("/sandbox-admin/{tenant}/changes", change, methods=["POST"]),
]
