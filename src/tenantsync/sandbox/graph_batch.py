"""POST /v1.0/$batch: up to 20 requests, dependsOn ordering, answers in any order.

Each item is served by the same routes in-process (so per-item 429s, 404s and 424s come
out exactly as single calls would); the batch pays the `graph.batch` latency once.
"""

from __future__ import annotations

import json
import random
from typing import Any
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Scope

from tenantsync.sandbox.errors import GraphError
from tenantsync.sandbox.graph_auth import FaultRaised, unauthorized
from tenantsync.sandbox.outlook_limits import CONCURRENCY_MESSAGE, mailbox_of, throttled_body
from tenantsync.sandbox.service import Sandbox, json_response
from tenantsync.sandbox.tokens import TokenInvalid, unverified_tenant

MAX_REQUESTS = 20
KEPT_HEADERS = ("content-type", "retry-after", "location", "preference-applied")


async def _dispatch(
    app: ASGIApp, outer: Scope, item: dict[str, Any], auth: str | None
) -> tuple[int, dict[str, str], Any]:
    url = str(item.get("url", ""))
    parts = urlsplit(url if url.startswith("/") else "/" + url)
    path = parts.path if parts.path.startswith("/v1.0") else "/v1.0" + parts.path
    headers = [
        (k.lower().encode(), str(v).encode()) for k, v in (item.get("headers") or {}).items()
    ]
    headers += [(b"host", dict(outer["headers"]).get(b"host", b"localhost"))]
    if auth:
        headers.append((b"authorization", auth.encode()))
    scope: Scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": str(item.get("method", "GET")).upper(),
        "scheme": outer.get("scheme", "https"),
        "server": outer.get("server"),
        "client": outer.get("client"),
        "root_path": "",
        "path": path,
        "raw_path": path.encode(),
        "query_string": parts.query.encode(),
        "headers": headers,
        "sandbox.batch_item": True,
    }
    status = 500
    out_headers: dict[str, str] = {}
    chunks: list[bytes] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for key, value in message.get("headers", []):
                name = key.decode().lower()
                if name in KEPT_HEADERS:
                    out_headers[name.title()] = value.decode()
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    await app(scope, receive, send)
    raw = b"".join(chunks)
    try:
        body: Any = json.loads(raw) if raw else None
    except json.JSONDecodeError:
        body = raw.decode(errors="replace")
    return status, out_headers, body


def _item_path(item: dict[str, Any]) -> str:
    url = str(item.get("url", ""))
    path = urlsplit(url if url.startswith("/") else "/" + url).path
    return path if path.startswith("/v1.0") else "/v1.0" + path


def _order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Items with their dependencies first; a dependency cycle or unknown id is a 400."""
    by_id = {str(i["id"]): i for i in items}
    done: dict[str, None] = {}
    visiting: set[str] = set()

    def visit(rid: str) -> None:
        if rid in done:
            return
        if rid in visiting or rid not in by_id:
            raise GraphError(400, "BadRequest", f"Invalid dependsOn reference '{rid}'.")
        visiting.add(rid)
        for dep in by_id[rid].get("dependsOn") or []:
            visit(str(dep))
        done[rid] = None

    for rid in by_id:
        visit(rid)
    return [by_id[r] for r in done]


async def batch(request: Request) -> Response:
    """POST /$batch."""
    sandbox: Sandbox = request.app.state.sandbox
    auth = request.headers.get("authorization")
    answer = await sandbox.gate_or_fault(request, "graph.batch", unverified_tenant(auth))
    if answer is not None:
        raise FaultRaised(answer, "graph.batch")
    try:
        sandbox.authority.check(auth, now=sandbox.now())
    except TokenInvalid as exc:
        raise unauthorized(exc.reason) from None
    try:
        payload = await request.json()
    except ValueError:
        payload = None
    items = payload.get("requests") if isinstance(payload, dict) else None
    if not isinstance(items, list) or not all(isinstance(i, dict) and "id" in i for i in items):
        raise GraphError(400, "BadRequest", "Invalid batch payload format.")
    if len(items) > MAX_REQUESTS:
        raise GraphError(400, "BadRequest", "Number of requests in the batch exceeds 20.")
    if len({str(i["id"]) for i in items}) != len(items):
        raise GraphError(400, "BadRequest", "Batch request contains duplicate request ids.")
    results: dict[str, dict[str, Any]] = {}
    per_mailbox: dict[str, int] = {}
    limit = sandbox.outlook.concurrency
    for item in _order(items):
        rid = str(item["id"])
        mailbox = mailbox_of(_item_path(item))
        if mailbox is not None and limit is not None:
            # Graph hands Outlook at most 4 items of a batch per mailbox at a time.
            per_mailbox[mailbox] = per_mailbox.get(mailbox, 0) + 1
            if per_mailbox[mailbox] + sandbox.outlook.in_flight.get(mailbox, 0) > limit:
                sandbox.outlook.refused += 1
                results[rid] = {
                    "id": rid,
                    "status": 429,
                    "headers": {"Retry-After": sandbox.outlook.retry_after},
                    "body": throttled_body(CONCURRENCY_MESSAGE),
                }
                continue
        failed = [d for d in item.get("dependsOn") or [] if results[str(d)]["status"] >= 400]
        if failed:
            results[rid] = {
                "id": rid,
                "status": 424,
                "body": {
                    "error": {
                        "code": "FailedDependency",
                        "message": f"Request failed because a dependency ({failed[0]}) failed.",
                    }
                },
            }
            continue
        status, headers, body = await _dispatch(request.app, request.scope, item, auth)
        results[rid] = {"id": rid, "status": status, "headers": headers, "body": body}
    responses = list(results.values())
    random.Random(len(responses)).shuffle(responses)  # Graph answers in any order
    return json_response({"responses": responses})


ROUTES = [Route("/v1.0/$batch", batch, methods=["POST"])]
