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
  (taken from ``innererror.internalexception`` or ``details``, not "Invalid Operation");
* an answer that does not decode is retried, then a retryable ``SourceError``.

A listing is complete only with positive proof: Exchange fills every page but the last
(we ask for pages of 999 with ``Prefer: odata.maxpagesize``), so a listing ends only on
a page that is shorter than its full pages, with no "more results" warning. A page as
full as the others that carries no ``@odata.nextLink`` raises :class:`IncompleteRead`
(a link was lost, or the listing was cut). At an exact multiple of the page size this
proof cannot be had and the listing counts as incomplete: removals that depend on it
wait for the next run.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from tenantsync.connectors.auth import EXCHANGE_SCOPE, TokenSource
from tenantsync.connectors.http import HttpClient, httpx
from tenantsync.errors import AuthError, IncompleteRead, SourceError
from tenantsync.model import DirectoryGroup, GroupKind, Location, MailboxInfo, MailboxKind

APP_ROLE = "Exchange.ManageAsApp"
DIRECTORY_ROLE = "an Entra directory role such as Exchange Recipient Administrator or Global Reader"
SYSTEM_MAILBOX = "SystemMailbox{bb558c35-97f1-4cb9-8ff7-d53741dc928c}"
PAGE_SIZE = 999
NOT_FOUND = "ManagementObjectNotFoundException"
MORE_RESULTS = "more results available"

# RecipientTypeDetails of the mailboxes user sync takes in, by kind. A Remote* type is a
# mailbox on the other side of a hybrid organization: same kind, location remote.
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
        server_page: int | None = None
        pages = 0
        # A caller that caps the answer (ResultSize N) asked for a part and gets it.
        capped = str((parameters or {}).get("ResultSize", "")).isdigit()
        while url is not None:
            response, payload = await self.http.request_json(
                "POST", url, headers=await self._headers(cmdlet), json=body, params=params
            )
            if response.status_code != 200:
                raise _error(cmdlet, response)
            if not isinstance(payload, dict) or not isinstance(payload.get("value", []), list):
                raise IncompleteRead(f"{cmdlet}: the answer carries no list of objects")
            pages += 1
            rows = payload.get("value", [])
            yield [_plain(item) for item in rows if isinstance(item, dict)]
            url = payload.get("@odata.nextLink")
            params = None
            if url is not None:
                # The size Exchange pages at, learnt from the pages that were not the last.
                server_page = max(server_page or 0, len(rows))
            elif capped:
                return
            elif rows and len(rows) >= (server_page or self.page_size):
                raise IncompleteRead(
                    f"{cmdlet}: page {pages} is full ({len(rows)} objects) but carries no "
                    "@odata.nextLink, so the listing may have been cut; it counts as incomplete"
                )
            elif _more_results(payload):
                raise IncompleteRead(f"{cmdlet}: Exchange says more results are available")

    async def run(self, cmdlet: str, parameters: Mapping[str, Any] | None = None) -> list[Any]:
        """Every output object of ``cmdlet`` in one list (for small answers)."""
        return [item async for page in self.invoke(cmdlet, parameters) for item in page]

    async def mailbox(self, identity: str) -> MailboxInfo | None:
        """One mailbox by identity (object id, address or alias); None when Exchange says
        it does not exist (the user has no Exchange Online mailbox)."""
        try:
            found = await self.run("Get-Mailbox", {"Identity": identity})
        except SourceError as exc:
            if exc.status == 404 or NOT_FOUND in exc.error_type:
                return None
            raise
        infos = [info for item in found if (info := _mailbox(item)) is not None]
        return infos[0] if infos else None

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
    details = str(item.get("RecipientTypeDetails", ""))
    kind = RECIPIENT_KINDS.get(details)
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
        location=Location.REMOTE if details.startswith("Remote") else Location.CLOUD,
        recipient_type=details,
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
        f"{cmdlet}: HTTP {status}: {message}",
        retryable=status >= 500,
        status=status,
        error_type=_error_type(response),
    )


def _error_type(response: httpx.Response) -> str:
    """The .NET exception type Exchange names for a failed cmdlet ("" when none)."""
    try:
        error = response.json().get("error", {})
        inner = (error.get("innererror") or {}).get("internalexception") or {}
        details = " ".join(str(d.get("message", "")) for d in error.get("details") or [])
    except (ValueError, AttributeError):
        return ""
    return f"{inner.get('type', '')} {details}".strip()


def _more_results(payload: dict[str, Any]) -> bool:
    """Whether Exchange warns that the answer was cut at its ResultSize."""
    warnings = payload.get("@adminapi.warnings") or []
    return any(MORE_RESULTS in str(w).lower() for w in warnings)


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
