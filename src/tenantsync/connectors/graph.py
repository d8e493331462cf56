"""Microsoft Graph v1.0 reader: users, groups, delta rounds, mailbox purposes, members.

Everything is read in pages (``@odata.nextLink`` followed as given, headers sent again
on every page) and turned into :mod:`tenantsync.model` entities before it leaves this
module. Only the properties user sync decides on are ``$select``-ed.

A read is complete only with positive proof. Graph ends every delta round with
``@odata.deltaLink``: a round whose last page carries neither link raises
:class:`IncompleteRead` after that page. An answer that does not decode is retried by
the HTTP layer and then fails only its part of the read. A delta record that carries
only some of the selected properties is never taken at its word: the object is read
again whole, and one that cannot be read is reported as unreadable, not as changed.

A delta link the service no longer knows (400 ``syncStateNotFound`` or 410 Gone with
``resyncRequired``/``syncStateInvalid``) raises :class:`DeltaExpired`; the engine then
reads everything again.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from tenantsync.connectors import graph_items as items
from tenantsync.connectors.auth import GRAPH_SCOPE, TokenSource
from tenantsync.connectors.graph_batch import ItemAnswer, batch_get
from tenantsync.connectors.http import HttpClient, httpx
from tenantsync.errors import AuthError, DeltaExpired, IncompleteRead, SourceError
from tenantsync.model import (
    DeltaPage,
    DirectoryGroup,
    DirectoryUser,
    GroupDeltaPage,
    MailboxKind,
    MemberRef,
    MembershipChange,
)

MAX_PAGE = 999
EXPIRED_CODES = frozenset({"syncstatenotfound", "resyncrequired", "syncstateinvalid"})
# mailboxSettings answers 404 with these codes when the user has no Exchange Online
# mailbox (none at all, or one hosted on-premises): the one 404 that means "no mailbox".
NO_MAILBOX_CODES = frozenset(
    {"mailboxnotenabledforrestapi", "errormailboxnotenabledforrestapi", "errornonexistentmailbox"}
)
PERMISSIONS = {
    "users": "User.Read.All",
    "groups": "Group.Read.All",
    "mailboxSettings": "MailboxSettings.Read",
}
# Changes whenever what a delta round tracks changes: a saved link of another version
# tracks other properties, so the engine reads everything once instead of following it.
DELTA_VERSION = hashlib.sha256(
    ",".join((*items.USER_SELECT, "|", *items.GROUP_SELECT)).encode()
).hexdigest()[:12]


@dataclass
class PurposeResult:
    """Mailbox kinds read in batches, user by user.

    ``unknown``: the mailbox exists but Graph names no kind this code knows; ``refused``:
    Graph would not answer for that mailbox (403, or a 404 that does not mean "no
    mailbox"); both are for Exchange to tell. ``failed``: no answer (reason per user).
    """

    kinds: dict[str, MailboxKind] = field(default_factory=dict)
    no_mailbox: set[str] = field(default_factory=set)
    unknown: set[str] = field(default_factory=set)
    refused: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


@dataclass
class ReadById:
    """Objects read one by one: those found, those Graph says do not exist, and failures."""

    users: list[DirectoryUser] = field(default_factory=list)
    groups: list[DirectoryGroup] = field(default_factory=list)
    missing: set[str] = field(default_factory=set)
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
        params = {"$select": ",".join(items.USER_SELECT), "$top": str(self.page_size)}
        async for page in self._pages(f"{self.base}/users", params, "users"):
            yield [items.user(item) for item in page["value"]]

    async def users_delta(self, delta_link: str | None = None) -> AsyncIterator[DeltaPage]:
        """Users changed since ``delta_link`` (all users when None); the last page has the
        link. Raises IncompleteRead after a last page that carries no delta link."""
        url, params = _delta_start(self.base, "users", items.USER_SELECT, delta_link)
        async for page in self._pages(url, params, "users", delta=True):
            users: list[DirectoryUser] = []
            removed: list[str] = []
            partial: list[str] = []
            for item in page["value"]:
                if "@removed" in item:
                    removed.append(str(item["id"]))
                elif items.is_partial(item, items.USER_SELECT):
                    partial.append(str(item["id"]))
                else:
                    users.append(items.user(item))
            whole = await self.read_by_id(users=partial) if partial else ReadById()
            yield DeltaPage(
                tuple(users + whole.users),
                tuple(removed + sorted(whole.missing)),
                page.get("@odata.deltaLink"),
                tuple(whole.failed.items()),
            )

    async def groups_delta(self, delta_link: str | None = None) -> AsyncIterator[GroupDeltaPage]:
        """Groups changed since ``delta_link`` with their direct membership changes."""
        url, params = _delta_start(
            self.base, "groups", (*items.GROUP_SELECT, "members"), delta_link
        )
        async for page in self._pages(url, params, "groups", delta=True):
            groups: list[DirectoryGroup] = []
            removed: list[str] = []
            members: list[MembershipChange] = []
            partial: list[str] = []
            for item in page["value"]:
                if "@removed" in item:
                    removed.append(str(item["id"]))
                    continue
                if items.carries_properties(item, items.GROUP_SELECT):
                    if items.is_partial(item, items.GROUP_SELECT):
                        partial.append(str(item["id"]))
                    else:
                        groups.append(items.group(item))
                change = items.member_change(item)
                if change is not None:
                    members.append(change)
            whole = await self.read_by_id(groups=partial) if partial else ReadById()
            yield GroupDeltaPage(
                tuple(groups + whole.groups),
                tuple(removed + sorted(whole.missing)),
                tuple(members),
                page.get("@odata.deltaLink"),
                tuple(whole.failed.items()),
            )

    async def read_by_id(
        self, *, users: Sequence[str] = (), groups: Sequence[str] = ()
    ) -> ReadById:
        """Users and groups read whole by id through ``$batch``."""
        user_query = "$select=" + ",".join(items.USER_SELECT)
        group_query = "$select=" + ",".join(items.GROUP_SELECT)
        urls = {f"u:{uid}": f"/users/{uid}?{user_query}" for uid in dict.fromkeys(users)}
        urls |= {f"g:{gid}": f"/groups/{gid}?{group_query}" for gid in dict.fromkeys(groups)}
        result = ReadById()
        for key, answer in (await self._batch(urls, "users")).items():
            kind, _, object_id = key.partition(":")
            if answer.ok and isinstance(answer.body, dict) and "id" in answer.body:
                if kind == "u":
                    result.users.append(items.user(answer.body))
                else:
                    result.groups.append(items.group(answer.body))
            elif answer.status == 404:
                result.missing.add(object_id)
            else:
                result.failed[object_id] = answer.why
        return result

    async def transitive_members(self, group_id: str) -> list[MemberRef]:
        """Every user and group nested anywhere below a group."""
        params = {"$select": "id", "$top": str(self.page_size)}
        url = f"{self.base}/groups/{group_id}/transitiveMembers"
        return [
            MemberRef(str(item["id"]), item.get("@odata.type") == items.GROUP_TYPE)
            async for page in self._pages(url, params, "groups")
            for item in page["value"]
        ]

    async def mailbox_purposes(self, user_ids: Iterable[str]) -> PurposeResult:
        """Mailbox kinds (``mailboxSettings.userPurpose``) through ``$batch``, 20 per call."""
        urls = {uid: f"/users/{uid}/mailboxSettings" for uid in dict.fromkeys(user_ids)}
        result = PurposeResult()
        for uid, answer in (await self._batch(urls, "mailboxSettings")).items():
            if answer.ok:
                kind = items.purpose(answer.body)
                if kind is not None:
                    result.kinds[uid] = kind
                else:
                    # A mailbox answered: it exists, whatever Graph calls it.
                    result.unknown.add(uid)
            elif answer.status == 404 and answer.reason.lower() in NO_MAILBOX_CODES:
                result.no_mailbox.add(uid)
            elif answer.status in (401, 403, 404):
                result.refused[uid] = answer.why
            else:
                result.failed[uid] = answer.why
        return result

    async def probe(self, what: str) -> None:
        """One small read (``users``, ``groups`` or ``mailboxSettings``) for the health check."""
        if what != "mailboxSettings":
            await self._get(f"{self.base}/{what}", {"$select": "id", "$top": "1"}, what)
            return
        first = await self._get(f"{self.base}/users", {"$select": "id", "$top": "1"}, "users")
        for user in first.get("value", [])[:1]:
            url = f"{self.base}/users/{user['id']}/mailboxSettings"
            await self._get(url, None, what, missing_ok=True)

    async def _batch(self, urls: dict[str, str], area: str) -> dict[str, ItemAnswer]:
        async def post(body: dict[str, Any]) -> Any:
            response, payload = await self._send("POST", f"{self.base}/$batch", None, body)
            _raise_for(response, area)
            return payload

        return await batch_get(
            urls,
            post,
            self.http.backoff,
            concurrency=self.batch_concurrency,
            attempts=self.batch_attempts,
        )

    async def _pages(
        self, url: str, params: dict[str, str] | None, area: str, *, delta: bool = False
    ) -> AsyncIterator[dict[str, Any]]:
        next_url: str | None = url
        pages = 0
        while next_url is not None:
            payload = await self._get(next_url, params, area, delta=delta)
            pages += 1
            if not isinstance(payload.get("value"), list):
                raise IncompleteRead(
                    f"Graph {area}: page {pages} carries no list of objects; the read is incomplete"
                )
            yield payload
            next_url = payload.get("@odata.nextLink")
            params = None
            if next_url is None and delta and not payload.get("@odata.deltaLink"):
                raise IncompleteRead(
                    f"Graph {area} delta: page {pages} carries neither @odata.nextLink nor "
                    "@odata.deltaLink, so the round did not finish; the read is incomplete"
                )

    async def _get(
        self,
        url: str,
        params: dict[str, str] | None,
        area: str,
        *,
        delta: bool = False,
        missing_ok: bool = False,
    ) -> dict[str, Any]:
        response, payload = await self._send("GET", url, params, None)
        if delta and _is_expired(response):
            raise DeltaExpired(
                f"the {area} delta link has expired; a full read is needed",
                status=response.status_code,
            )
        if missing_ok and response.status_code == 404:
            return {}
        _raise_for(response, area)
        if not isinstance(payload, dict):
            raise IncompleteRead(f"Graph {area}: the answer is not a JSON object")
        return payload

    async def _send(
        self, method: str, url: str, params: dict[str, str] | None, body: Any
    ) -> tuple[httpx.Response, Any]:
        token = await self.tokens.token(self.scope)
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Prefer": f"odata.maxpagesize={self.page_size}",
        }
        return await self.http.request_json(method, url, headers=headers, params=params, json=body)


def _delta_start(
    base: str, area: str, select: Sequence[str], delta_link: str | None
) -> tuple[str, dict[str, str] | None]:
    if delta_link:
        return delta_link, None
    return f"{base}/{area}/delta", {"$select": ",".join(select)}


def _is_expired(response: httpx.Response) -> bool:
    if response.status_code not in (400, 410):
        return False
    return error_code(response).lower() in EXPIRED_CODES


def error_code(response: httpx.Response) -> str:
    """The ``error.code`` of a Graph error answer (empty when there is none)."""
    try:
        return str(response.json().get("error", {}).get("code", ""))
    except (ValueError, AttributeError):
        return ""


def _raise_for(response: httpx.Response, area: str) -> None:
    status = response.status_code
    if status < 400:
        return
    code = error_code(response)
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
