"""Exchange permission output as the engine's entries: Get-MailboxPermission,
Get-RecipientPermission and GrantSendOnBehalfTo in every serialization real tenants
produce (JSON lists, comma-joined strings, "{A, B}" text, numeric MailboxRights flags,
{"IsPresent": bool} switches)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tenantsync.model.permissions import AclEntry, Right, Trustee

# Output serialized by PowerShell (ConvertTo-Json, some proxies) carries enums as their
# numbers, and each cmdlet has its own enumeration: the same 1 is FullAccess in
# Get-MailboxPermission (MailboxRights) and SendAs in Get-RecipientPermission
# (RecipientAccessRight).
MAILBOX_RIGHTS = {
    1: "fullaccess",
    2: "sendas",
    4: "externalaccount",
    65536: "deleteitem",
    131072: "readpermission",
    262144: "changepermission",
    524288: "changeowner",
}
RECIPIENT_RIGHTS = {1: "sendas"}
_FRACTION = re.compile(r"(\.\d{6})\d+")


def access_rights(value: Any, flags: dict[int, str] = MAILBOX_RIGHTS) -> set[str]:
    """AccessRights in any of its serializations (list, "{A, B}", "A, B", numbers), the
    numbers read as the cmdlet's own enumeration ``flags``."""
    items = value if isinstance(value, list) else [value]
    names: set[str] = set()
    for item in items:
        if isinstance(item, bool) or item is None:
            continue
        if isinstance(item, int):
            names.update(name for bit, name in flags.items() if item & bit)
            continue
        for part in str(item).strip().strip("{}").split(","):
            part = part.strip().lower()
            if part.isdigit():
                names.update(access_rights(int(part), flags))
            elif part:
                names.add(part)
    return names


def flag(value: Any) -> bool:
    """A switch as Exchange serializes it: true/false, "True", or {"IsPresent": bool}."""
    if isinstance(value, dict):
        value = value.get("IsPresent", False)
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def when_changed(item: dict[str, Any]) -> datetime | None:
    """A Get-Mailbox item's WhenChangedUTC (or WhenChanged), aware UTC."""
    for key in ("WhenChangedUTC", "WhenChanged"):
        text = item.get(key)
        if not isinstance(text, str) or not text:
            continue
        try:
            parsed = datetime.fromisoformat(_FRACTION.sub(r"\1", text.strip()))
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            return parsed
    return None


def names_of(value: Any) -> list[str]:
    """A multi-valued property as a list of strings (list, "{a, b}" or one string)."""
    if value is None:
        return []
    if isinstance(value, list):
        return [str(v).strip() for v in value if str(v).strip()]
    text = str(value).strip()
    if text.startswith("{") and text.endswith("}"):
        return [p.strip() for p in text[1:-1].split(",") if p.strip()]
    return [text] if text else []


def _denies(value: Any) -> bool:
    """An AccessControlType as text ("Deny") or as its number (Allow 0, Deny 1)."""
    if isinstance(value, dict):
        value = value.get("Value", value.get("value"))
    return str(value).strip().lower() in ("deny", "1")


def _trustee(name: Any, sid: Any) -> Trustee:
    text = str(name or sid or "").strip()
    return Trustee(
        name=text,
        sid=str(sid) if sid else None,
        upn=text.lower() if "@" in text and "\\" not in text else None,
    )


def full_access_entries(mailbox: str, items: Sequence[dict[str, Any]]) -> list[AclEntry]:
    """Get-MailboxPermission output as Full Access entries (other rights are not delegation)."""
    return [
        AclEntry(
            mailbox=mailbox,
            trustee=_trustee(item.get("User"), item.get("UserSid")),
            right=Right.FULL_ACCESS,
            deny=flag(item.get("Deny")),
            inherited=flag(item.get("IsInherited")),
        )
        for item in items
        if "fullaccess" in access_rights(item.get("AccessRights"))
    ]


def send_as_entries(mailbox: str, items: Sequence[dict[str, Any]]) -> list[AclEntry]:
    """Get-RecipientPermission output as Send As entries."""
    return [
        AclEntry(
            mailbox=mailbox,
            trustee=_trustee(item.get("Trustee"), item.get("TrusteeSidString")),
            right=Right.SEND_AS,
            deny=_denies(item.get("AccessControlType")),
            inherited=flag(item.get("IsInherited")),
        )
        for item in items
        if "sendas" in access_rights(item.get("AccessRights"), RECIPIENT_RIGHTS)
    ]


def send_on_behalf_entries(mailbox: str, item: dict[str, Any]) -> list[AclEntry]:
    """A Get-Mailbox item's GrantSendOnBehalfTo as Send on Behalf entries."""
    return [
        AclEntry(mailbox=mailbox, trustee=_trustee(name, None), right=Right.SEND_ON_BEHALF)
        for name in names_of(item.get("GrantSendOnBehalfTo"))
    ]


# Get-ADPermission shows the Send As extended right by its display name (Send-As); the
# Add-ADPermission parameter takes "Send As". Both, and the bare word, are Send As.
SEND_AS_EXTENDED_RIGHTS = frozenset({"send-as", "send as", "sendas"})


def send_as_ad_entries(mailbox: str, items: Sequence[dict[str, Any]]) -> list[AclEntry]:
    """Get-ADPermission output (on-premises) as Send As entries: the extended right Send-As."""
    return [
        AclEntry(
            mailbox=mailbox,
            trustee=_trustee(item.get("User"), item.get("UserSid")),
            right=Right.SEND_AS,
            deny=flag(item.get("Deny")),
            inherited=flag(item.get("IsInherited")),
        )
        for item in items
        if {n.lower() for n in names_of(item.get("ExtendedRights"))} & SEND_AS_EXTENDED_RIGHTS
    ]
