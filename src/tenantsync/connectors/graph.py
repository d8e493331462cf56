"""Microsoft Graph v1.0 reader: users, groups, delta links, mailbox purposes, members.

Everything is read in pages (``@odata.nextLink`` followed as given, headers sent again
on every page) and turned into :mod:`tenantsync.model` entities before it leaves this
module. Only the properties user sync decides on are ``$select``-ed.

A delta link the service no longer knows (400 ``syncStateNotFound`` or 410 Gone with
``resyncRequired``/``syncStateInvalid``) raises :class:`DeltaExpired`; the engine then
reads everything again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenantsync.connectors.auth import GRAPH_SCOPE, TokenSource
from tenantsync.connectors.exchange import smtp_addresses
from tenantsync.connectors.http import HttpClient, httpx, retry_after_seconds
from tenantsync.errors import AuthError, DeltaExpired, SourceError
from tenantsync.model import (
    DeltaPage,
    DirectoryGroup,
    DirectoryUser,
    GroupDeltaPage,
    GroupKind,
    MailboxKind,
    MemberRef,
    MembershipChange,
)

MAX_PAGE = 999
BATCH_SIZE = 20
USER_SELECT = (
    "id",
    "userPrincipalName",
    "mail",
    "displayName",
    "givenName",
    "surname",
    "companyName",
    "department",
    "jobTitle",
    "userType",
    "accountEnabled",
    "assignedLicenses",
    "proxyAddresses",
    "onPremisesDistinguishedName",
)
GROUP_SELECT = (
    "id",
    "displayName",
    "mail",
    "groupTypes",
    "mailEnabled",
    "securityEnabled",
    "proxyAddresses",
)
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
PURPOSES: dict[str, MailboxKind] = {
    "user": MailboxKind.USER,
    "linked": MailboxKind.USER,
    "shared": MailboxKind.SHARED,
    "room": MailboxKind.ROOM,
    "equipment": MailboxKind.EQUIPMENT,
    "scheduling": MailboxKind.SCHEDULING,
    # Graph has no value of its own for Bookings (scheduling) mailboxes: it says "others".
    "others": MailboxKind.SCHEDULING,
}
PERMISSIONS = {
    "users": "User.Read.All",
    "groups": "Group.Read.All",
    "mailboxSettings": "MailboxSettings.Read",
}
USER_TYPE = "#microsoft.graph.user"
GROUP_TYPE = "#microsoft.graph.group"


@dataclass
class PurposeResult:
    """Mailbox kinds read in batches: found kinds, users without a mailbox, failed reads."""

    kinds: dict[str, MailboxKind] = field(default_factory=dict)
    no_mailbox: set[str] = field(default_factory=set)
    failed: dict[str, str] = field(default_factory=dict)


class GraphClient:
    """Reads one tenant's directory through Graph v1.0."""

    def __init__(
        self,
        http: HttpClient,
        tokens: TokenSource,
        *,
        graph_url: str,
        scope: str = GRAPH_SCOPE,
        page_size: int = MAX_PAGE,
        batch_concurrency: int = 4,
        batch_attempts: int = 6,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.base = f"{graph_url.rstrip('/')}/v1.0"
        self.scope = scope
        self.page_size = min(page_size, MAX_PAGE)
        self.batch_concurrency = batch_concurrency
        self.batch_attempts = batch_attempts

    async def users(self) -> AsyncIterator[list[DirectoryUser]]:
        """Every user, ``$select``-ed, in pages of up to 999."""
        params = {"$select": ",".join(USER_SELECT), "$top": str(self.page_size)}
        async for page in self._pages(f"{self.base}/users", params, "users"):
            yield [_user(item) for item in page["value"]]

    async def users_delta(self, delta_link: str | None = None) -> AsyncIterator[DeltaPage]:
        """Users changed since ``delta_link`` (all users when None); the last page has the link."""
        url, params = _delta_start(self.base, "users", USER_SELECT, delta_link)
        async for page in self._pages(url, params, "users", delta=True):
            users: list[DirectoryUser] = []
            removed: list[str] = []
            for item in page["value"]:
                if "@removed" in item:
                    removed.append(str(item["id"]))
                else:
                    users.append(_user(item))
            yield DeltaPage(tuple(users), tuple(removed), page.get("@odata.deltaLink"))

    async def groups_delta(self, delta_link: str | None = None) -> AsyncIterator[GroupDeltaPage]:
        """Groups changed since ``delta_link`` with their direct membership changes."""
        url, params = _delta_start(self.base, "groups", (*GROUP_SELECT, "members"), delta_link)
        async for page in self._pages(url, params, "groups", delta=True):
            groups: list[DirectoryGroup] = []
            removed: list[str] = []
            members: list[MembershipChange] = []
            for item in page["value"]:
                if "@removed" in item:
                    removed.append(str(item["id"]))
                    continue
                if "displayName" in item:
                    groups.append(_group(item))
                change = _member_change(item)
                if change is not None:
                    members.append(change)
            yield GroupDeltaPage(
                tuple(groups), tuple(removed), tuple(members), page.get("@odata.deltaLink")
            )

    async def transitive_members(self, group_id: str) -> list[MemberRef]:
        """Every user and group nested anywhere below a group."""
        params = {"$select": "id", "$top": str(self.page_size)}
        url = f"{self.base}/groups/{group_id}/transitiveMembers"
        return [
            MemberRef(str(item["id"]), item.get("@odata.type") == GROUP_TYPE)
            async for page in self._pages(url, params, "groups")
            for item in page["value"]
        ]

    async def mailbox_purposes(self, user_ids: Iterable[str]) -> PurposeResult:
        """Mailbox kinds (``mailboxSettings.userPurpose``) through ``$batch``, 20 per call."""
        ids = list(dict.fromkeys(user_ids))
        result = PurposeResult()
        gate = asyncio.Semaphore(self.batch_concurrency)

        async def one(chunk: list[str]) -> None:
            async with gate:
                await self._purpose_batch(chunk, result)

        await asyncio.gather(
            *(one(ids[i : i + BATCH_SIZE]) for i in range(0, len(ids), BATCH_SIZE))
        )
        return result

    async def probe(self, what: str) -> None:
        """One small read (``users``, ``groups`` or ``mailboxSettings``) for the health check."""
        if what != "mailboxSettings":
            await self._get(f"{self.base}/{what}", {"$select": "id", "$top": "1"}, what)
            return
        first = await self._get(f"{self.base}/users", {"$select": "id", "$top": "1"}, "users")
        for user in first.json().get("value", [])[:1]:
            url = f"{self.base}/users/{user['id']}/mailboxSettings"
            await self._get(url, None, what, missing_ok=True)

    async def _purpose_batch(self, chunk: list[str], result: PurposeResult) -> None:
        pending = {str(i): uid for i, uid in enumerate(chunk)}
        for attempt in range(1, self.batch_attempts + 1):
            body = {
                "requests": [
                    {"id": rid, "method": "GET", "url": f"/users/{uid}/mailboxSettings"}
                    for rid, uid in pending.items()
                ]
            }
            response = await self._send(
                "POST", f"{self.base}/$batch", None, "mailboxSettings", body
            )
            _raise_for(response, "mailboxSettings")
            waits: list[float] = []
            retry: dict[str, str] = {}
            for item in response.json().get("responses", []):
                rid = str(item.get("id"))
                uid = pending.get(rid)
                if uid is None:
                    continue
                status = int(item.get("status", 500))
                if status == 200:
                    kind = _purpose(item.get("body"))
                    if kind is None:
                        result.no_mailbox.add(uid)
                    else:
                        result.kinds[uid] = kind
                elif status == 404:
                    result.no_mailbox.add(uid)
                elif status in (401, 403):
                    raise AuthError(
                        f"reading mailbox settings was refused (HTTP {status}): "
                        f"grant the application permission {PERMISSIONS['mailboxSettings']}",
                        status=status,
                    )
                elif status in (429, 500, 502, 503, 504):
                    retry[rid] = uid
                    headers = {k.lower(): v for k, v in (item.get("headers") or {}).items()}
                    after = retry_after_seconds(headers.get("retry-after"))
                    if after is not None:
                        waits.append(after)
                else:
                    result.failed[uid] = f"HTTP {status}"
            if not retry:
                return
            pending = retry
            if attempt < self.batch_attempts:
                await self.http.backoff(attempt, max(waits) if waits else None)
        for uid in pending.values():
            result.failed[uid] = "throttled: ran out of retries"

    async def _pages(
        self, url: str, params: dict[str, str] | None, area: str, *, delta: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        next_url: str | None = url
        while next_url is not None:
            response = await self._get(next_url, params, area, delta=delta)
            payload: dict[str, Any] = response.json()
            payload.setdefault("value", [])
            yield payload
            next_url = payload.get("@odata.nextLink")
            params = None

    async def _get(
        self,
        url: str,
        params: dict[str, str] | None,
        area: str,
        *,
        delta: bool = False,
        missing_ok: bool = False,
    ) -> httpx.Response:
        response = await self._send("GET", url, params, area, None)
        if delta and _is_expired(response):
            raise DeltaExpired(
                f"the {area} delta link has expired; a full read is needed",
                status=response.status_code,
            )
        if missing_ok and response.status_code == 404:
            return response
        _raise_for(response, area)
        return response

    async def _send(
        self, method: str, url: str, params: dict[str, str] | None, area: str, body: Any
    ) -> httpx.Response:
        token = await self.tokens.token(self.scope)
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={self.page_size}",
        }
        return await self.http.request(method, url, headers=headers, params=params, json=body)


def _delta_start(
    base: str, area: str, select: Sequence[str], delta_link: str | None
) -> tuple[str, dict[str, str] | None]:
    if delta_link:
        return delta_link, None
    return f"{base}/{area}/delta", {"$select": ",".join(select)}


def _is_expired(response: httpx.Response) -> bool:
    if response.status_code not in (400, 410):
        return False
    return _error_code(response).lower() in EXPIRED_CODES


def _error_code(response: httpx.Response) -> str:
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except ValueError:
        return ""


def _raise_for(response: httpx.Response, area: str) -> None:
    status = response.status_code
    if status < 400:
        return
    code = _error_code(response)
    if status in (401, 403):
        permission = PERMISSIONS.get(area, "Directory.Read.All")
        raise AuthError(
            f"Graph refused reading {area} (HTTP {status} {code}): "
            f"grant the application permission {permission} and admin consent",
            status=status,
        )
    raise SourceError(
        f"Graph {area}: HTTP {status} {code}".rstrip(), retryable=status >= 500, status=status
    )


def _user(item: dict[str, Any]) -> DirectoryUser:
    mail = item.get("mail")
    proxies = tuple(item.get("proxyAddresses") or ())
    licenses = tuple(
        str(lic.get("skuId")) for lic in item.get("assignedLicenses") or () if lic.get("skuId")
    )
    return DirectoryUser(
        source_id=str(item["id"]),
        user_principal_name=str(item.get("userPrincipalName") or ""),
        mail=mail,
        display_name=item.get("displayName") or "",
        given_name=item.get("givenName"),
        surname=item.get("surname"),
        company_name=item.get("companyName"),
        department=item.get("department"),
        job_title=item.get("jobTitle"),
        user_type=item.get("userType") or "Member",
        account_enabled=bool(item.get("accountEnabled", True)),
        mail_enabled=bool(mail),
        licensed=bool(licenses),
        license_skus=licenses,
        addresses=smtp_addresses(proxies, mail),
        proxy_addresses=proxies,
        dn=item.get("onPremisesDistinguishedName"),
    )


def _group(item: dict[str, Any]) -> DirectoryGroup:
    types = item.get("groupTypes") or []
    mail_enabled = bool(item.get("mailEnabled"))
    security = bool(item.get("securityEnabled"))
    if "Unified" in types:
        kind = GroupKind.UNIFIED
    elif mail_enabled and security:
        kind = GroupKind.MAIL_SECURITY
    elif mail_enabled:
        kind = GroupKind.DISTRIBUTION
    else:
        kind = GroupKind.SECURITY
    mail = item.get("mail")
    return DirectoryGroup(
        source_id=str(item["id"]),
        name=str(item.get("displayName") or ""),
        kind=kind,
        mail=mail.lower() if mail else None,
        addresses=smtp_addresses(item.get("proxyAddresses") or (), mail),
    )


def _member_change(item: dict[str, Any]) -> MembershipChange | None:
    entries = item.get("members@delta")
    if entries is None:
        return None
    added: list[MemberRef] = []
    removed: list[MemberRef] = []
    for entry in entries:
        kind = entry.get("@odata.type")
        if kind not in (USER_TYPE, GROUP_TYPE):
            continue
        ref = MemberRef(str(entry["id"]), kind == GROUP_TYPE)
        (removed if "@removed" in entry else added).append(ref)
    return MembershipChange(str(item["id"]), tuple(added), tuple(removed))


def _purpose(body: Any) -> MailboxKind | None:
    if not isinstance(body, dict):
        return None
    value = body.get("value", body.get("userPurpose"))
    if isinstance(value, dict):
        value = value.get("value")
    return PURPOSES.get(str(value)) if value is not None else None
