"""Authentication, authorization and fault handling at the door of every Graph route."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from tenantsync.sandbox.errors import GraphError
from tenantsync.sandbox.faults import FaultAnswer
from tenantsync.sandbox.odata import Query, parse_query
from tenantsync.sandbox.service import Sandbox
from tenantsync.sandbox.tenant import SandboxTenant
from tenantsync.sandbox.tokens import GRAPH_AUDIENCE, TokenInvalid, unverified_tenant

# Application permissions that allow each family (any one of them is enough).
ROLES: dict[str, frozenset[str]] = {
    "graph.users": frozenset(
        {"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
    ),
    "graph.groups": frozenset(
        {
            "Group.Read.All",
            "GroupMember.Read.All",
            "Directory.Read.All",
            "Group.ReadWrite.All",
            "Directory.ReadWrite.All",
        }
    ),
    "graph.mailboxSettings": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "graph.calendar": frozenset({"Calendars.Read", "Calendars.ReadBasic", "Calendars.ReadWrite"}),
}
TOKEN_MESSAGES = {
    "missing": "Access token is empty.",
    "expired": "Lifetime validation failed, the token is expired.",
    "malformed": "IDX14100: JWT is not well formed, there are no dots (.).",
    "signature": "Access token validation failure. Invalid signature.",
    "audience": "Access token validation failure. Invalid audience.",
    "tenant": "Access token validation failure. Invalid issuer.",
}
WWW_AUTHENTICATE = (
    'Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/'
    'authorize", client_id="00000003-0000-0000-c000-000000000000"'
)


class FaultRaised(Exception):
    """An injected fault or rate-limit answer, rendered in the family's wire format."""

    def __init__(self, answer: FaultAnswer, family: str) -> None:
        super().__init__(answer.kind)
        self.answer = answer
        self.family = family


@dataclass(slots=True)
class GraphCall:
    """What a Graph handler works with once the door let the request in."""

    sandbox: Sandbox
    tenant: SandboxTenant
    query: Query
    base: str


def unauthorized(reason: str) -> GraphError:
    """Graph's 401 InvalidAuthenticationToken."""
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        TOKEN_MESSAGES[reason],
        headers={"WWW-Authenticate": WWW_AUTHENTICATE},
    )


async def enter(request: Request, family: str) -> GraphCall:
    """Latency/faults, then token and role checks; returns the call context."""
    sandbox: Sandbox = request.app.state.sandbox
    auth = request.headers.get("authorization")
    answer = await sandbox.gate_or_fault(request, family, unverified_tenant(auth))
    if answer is not None:
        raise FaultRaised(answer, family)
    try:
        claims = sandbox.authority.check(auth, now=sandbox.now())
    except TokenInvalid as exc:
        raise unauthorized(exc.reason) from None
    if claims.audience != GRAPH_AUDIENCE:
        raise unauthorized("audience")
    tenant = sandbox.tenant(claims.tenant_id)
    if tenant is None:
        raise unauthorized("tenant")
    needed = ROLES.get(family)
    if needed is not None and not needed.intersection(claims.roles):
        if family in ("graph.calendar", "graph.mailboxSettings"):
            raise GraphError(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        raise GraphError(
            403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."
        )
    query = parse_query(request.query_params, request.headers)
    cap = sandbox.options.graph_page_cap
    if cap:
        query.max_page_size = min(query.max_page_size or cap, cap)
    base = str(request.base_url).rstrip("/") + "/v1.0"
    return GraphCall(sandbox, tenant, query, base)
