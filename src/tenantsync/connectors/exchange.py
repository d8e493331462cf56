"""Exchange Online admin REST (``InvokeCommand``): run a cmdlet, read its output in pages.

:meth:`ExchangeClient.invoke` is the public seam other connectors build on (mailbox
permissions, recipient permissions, folder permissions). It is safe to call from many
tasks at once: concurrency and the rate limit are those of the shared
:class:`~tenantsync.connectors.http.HttpClient`, tokens come from a shared cache.

Errors say what to do:

* 401 → :class:`AuthError` naming the missing app role ``Exchange.ManageAsApp``;
* 403 → :class:`AuthError` naming the missing Entra directory role;
* 429/5xx after the HTTP layer's retries → ``SourceError(retryable=True)``;
* other answers → ``SourceError(retryable=False)`` with the cmdlet's real message
  (taken from ``innererror.internalexception`` or ``details``, not "Invalid Operation").
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from tenantsync.connectors.auth import EXCHANGE_SCOPE, TokenSource
from tenantsync.connectors.http import HttpClient, httpx
from tenantsync.errors import AuthError, SourceError
from tenantsync.model import DirectoryGroup, GroupKind, MailboxInfo, MailboxKind

APP_ROLE = "Exchange.ManageAsApp"
DIRECTORY_ROLE = "an Entra directory role such as Exchange Recipient Administrator or Global Reader"
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
PAGE_SIZE = 1000

RECIPIENT_KINDS: dict[str, MailboxKind] = {
    "UserMailbox": MailboxKind.USER,
    "LinkedMailbox": MailboxKind.USER,
    "RemoteUserMailbox": MailboxKind.USER,
    "SharedMailbox": MailboxKind.SHARED,
    "RemoteSharedMailbox": MailboxKind.SHARED,
    "RoomMailbox": MailboxKind.ROOM,
    "LinkedRoomMailbox": MailboxKind.ROOM,
    "RemoteRoomMailbox": MailboxKind.ROOM,
    "EquipmentMailbox": MailboxKind.EQUIPMENT,
    "RemoteEquipmentMailbox": MailboxKind.EQUIPMENT,
    "SchedulingMailbox": MailboxKind.SCHEDULING,
}
MAILBOX_FIELDS = (
    "ExternalDirectoryObjectId",
    "RecipientTypeDetails",
    "ExchangeGuid",
    "PrimarySmtpAddress",
    "DistinguishedName",
)
GROUP_FIELDS = (
    "ExternalDirectoryObjectId",
    "Guid",
    "Name",
    "DisplayName",
    "PrimarySmtpAddress",
    "EmailAddresses",
    "DistinguishedName",
    "RecipientTypeDetails",
)


class ExchangeClient:
    """Runs Exchange cmdlets over the admin REST endpoint of one tenant."""

    def __init__(
        self,
        http: HttpClient,
        tokens: TokenSource,
        *,
        exchange_url: str,
        tenant_id: str,
        scope: str = EXCHANGE_SCOPE,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self.http = http
        self.tokens = tokens
        self.tenant_id = tenant_id
        self.url = f"{exchange_url.rstrip('/')}/adminapi/beta/{tenant_id}/InvokeCommand"
        self.scope = scope
        self.page_size = page_size

    async def invoke(
        self,
        cmdlet: str,
        parameters: Mapping[str, Any] | None = None,
        *,
        select: Sequence[str] | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Run ``cmdlet`` with ``parameters``; yield its output objects page by page.

        Output objects are the cmdlet's JSON with ``@odata`` annotations removed.
        ``select`` limits the properties returned. Follows ``@odata.nextLink`` by
        posting the same body again.
        """
        body = {"CmdletInput": {"CmdletName": cmdlet, "Parameters": dict(parameters or {})}}
        url: str | None = self.url
        params = {"$select": ",".join(select)} if select else None
        while url is not None:
            response = await self.http.request(
                "POST", url, headers=await self._headers(cmdlet), json=body, params=params
            )
            if response.status_code != 200:
                raise _error(cmdlet, response)
            payload = response.json()
            yield [_plain(item) for item in payload.get("value", [])]
            url = payload.get("@odata.nextLink")
            params = None

    async def run(self, cmdlet: str, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """Every output object of ``cmdlet`` in one list (for small answers)."""
        return [item async for page in self.invoke(cmdlet, parameters) for item in page]

    async def mailboxes(self) -> AsyncIterator[list[MailboxInfo]]:
        """Every mailbox with its kind (RecipientTypeDetails), page by page."""
        async for page in self.invoke(
            "Get-Mailbox", {"ResultSize": "Unlimited"}, select=MAILBOX_FIELDS
        ):
            yield [info for item in page if (info := _mailbox(item)) is not None]

    async def distribution_groups(self) -> AsyncIterator[list[DirectoryGroup]]:
        """Distribution groups (and mail-enabled security groups), page by page."""
        async for page in self.invoke(
            "Get-DistributionGroup", {"ResultSize": "Unlimited"}, select=GROUP_FIELDS
        ):
            yield [_group(item, dynamic=False) for item in page]

    async def dynamic_distribution_groups(self) -> AsyncIterator[list[DirectoryGroup]]:
        """Dynamic distribution groups (Graph does not have them), page by page."""
        async for page in self.invoke(
            "Get-DynamicDistributionGroup", {"ResultSize": "Unlimited"}, select=GROUP_FIELDS
        ):
            yield [_group(item, dynamic=True) for item in page]

    async def dynamic_group_members(self, identity: str) -> list[str]:
        """Directory object ids of the users a dynamic distribution group currently holds."""
        # Only the id, page by page: a dynamic group can hold most of the organization, and
        # whole recipient objects for all of them cost memory and transfer for nothing.
        ids: list[str] = []
        async for page in self.invoke(
            "Get-DynamicDistributionGroupMember",
            {"Identity": identity, "ResultSize": "Unlimited"},
            select=["ExternalDirectoryObjectId"],
        ):
            ids += [
                str(m["ExternalDirectoryObjectId"])
                for m in page
                if isinstance(m, dict) and m.get("ExternalDirectoryObjectId")
            ]
        return ids

    async def _headers(self, cmdlet: str) -> dict[str, str]:
        token = await self.tokens.token(self.scope)
        return {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "X-AnchorMailbox": f"APP:{SYSTEM_MAILBOX}@{self.tenant_id}",
            "X-ResponseFormat": "json",
            "X-CmdletName": cmdlet,
            "Prefer": f"odata.maxpagesize={self.page_size}",
        }


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if "@" not in k}


def _mailbox(item: dict[str, Any]) -> MailboxInfo | None:
    kind = RECIPIENT_KINDS.get(str(item.get("RecipientTypeDetails", "")))
    source_id = item.get("ExternalDirectoryObjectId")
    if kind is None or not source_id:
        return None
    address = item.get("PrimarySmtpAddress")
    return MailboxInfo(
        source_id=str(source_id),
        kind=kind,
        exchange_guid=str(item["ExchangeGuid"]) if item.get("ExchangeGuid") else None,
        primary_address=str(address).lower() if address else None,
        dn=item.get("DistinguishedName") or None,
    )


def _group(item: dict[str, Any], *, dynamic: bool) -> DirectoryGroup:
    if dynamic:
        kind = GroupKind.DYNAMIC_DISTRIBUTION
    elif "Security" in str(item.get("RecipientTypeDetails", "")):
        kind = GroupKind.MAIL_SECURITY
    else:
        kind = GroupKind.DISTRIBUTION
    address = item.get("PrimarySmtpAddress")
    addresses = smtp_addresses(item.get("EmailAddresses") or [], address)
    source_id = item.get("ExternalDirectoryObjectId") or item.get("Guid") or address
    return DirectoryGroup(
        source_id=str(source_id),
        name=str(item.get("DisplayName") or item.get("Name") or address),
        kind=kind,
        mail=str(address).lower() if address else None,
        dn=item.get("DistinguishedName") or None,
        addresses=addresses,
    )


def smtp_addresses(proxy_addresses: Sequence[str] | str, primary: str | None) -> tuple[str, ...]:
    """SMTP addresses of a proxyAddresses/EmailAddresses list, primary first, lower-cased."""
    if isinstance(proxy_addresses, str):
        proxy_addresses = [p.strip() for p in proxy_addresses.strip("{}").split(",")]
    first: list[str] = []
    rest: list[str] = []
    for entry in proxy_addresses:
        prefix, _, address = entry.partition(":")
        if prefix.lower() != "smtp" or not address:
            continue
        (first if prefix == "SMTP" else rest).append(address.lower())
    if primary and primary.lower() not in first:
        first.insert(0, primary.lower())
    seen: dict[str, None] = dict.fromkeys([*first, *rest])
    return tuple(seen)


def _error(cmdlet: str, response: httpx.Response) -> SourceError:
    status = response.status_code
    if status == 401:
        return AuthError(
            f"{cmdlet}: the Exchange admin API refused the app (HTTP 401): "
            f"grant the app role {APP_ROLE} (Office 365 Exchange Online) and consent",
            status=status,
        )
    if status == 403:
        return AuthError(
            f"{cmdlet}: the app has {APP_ROLE} but no Exchange role (HTTP 403): "
            f"assign its service principal {DIRECTORY_ROLE}",
            status=status,
        )
    message = _error_text(response)
    return SourceError(
        f"{cmdlet}: HTTP {status}: {message}", retryable=status >= 500, status=status
    )


def _error_text(response: httpx.Response) -> str:
    try:
        error = response.json().get("error", {})
    except ValueError:
        return response.text[:200] or response.reason_phrase
    inner = (error.get("innererror") or {}).get("internalexception") or {}
    if inner.get("message"):
        return str(inner["message"])
    for detail in error.get("details") or []:
        text = str(detail.get("message", ""))
        if text:
            return text.split("|")[-1] if text.startswith("|") else text
    return str(error.get("message") or response.reason_phrase)
