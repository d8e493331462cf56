"""Which cmdlet a file is the output of, which side it comes from, and its records as the
model's recipients, permission entries and organization facts.

Permission output is decoded by :mod:`tenantsync.connectors.exchange_acl`, the same code
that reads it from the Exchange Online admin API, in every serialization it has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from tenantsync.connectors.exchange import smtp_addresses
from tenantsync.connectors.exchange_acl import (
    flag,
    full_access_entries,
    names_of,
    send_as_ad_entries,
    send_as_entries,
    send_on_behalf_entries,
)
from tenantsync.connectors.exported.records import Parsed
from tenantsync.connectors.exported.text import ExportError
from tenantsync.model.hybrid import Cmdlet, ExchangeServer, FolderEntry, Inventory, Recipient, Side

# The last part of the .NET type each cmdlet writes (Export-Csv's #TYPE, CLIXML's <TN>).
TYPE_CMDLETS = {
    "Mailbox": Cmdlet.MAILBOX,
    "RemoteMailbox": Cmdlet.REMOTE_MAILBOX,
    "ReducedRecipient": Cmdlet.RECIPIENT,
    "MailboxAcePresentationObject": Cmdlet.MAILBOX_PERMISSION,
    "RecipientPermission": Cmdlet.RECIPIENT_PERMISSION,
    "ADAcePresentationObject": Cmdlet.AD_PERMISSION,
    "MailboxFolderPermission": Cmdlet.FOLDER_PERMISSION,
    "OrganizationConfig": Cmdlet.ORGANIZATION_CONFIG,
    "ExchangeServer": Cmdlet.EXCHANGE_SERVER,
}
REQUIRED = {
    Cmdlet.MAILBOX: ("RecipientTypeDetails", "PrimarySmtpAddress"),
    Cmdlet.REMOTE_MAILBOX: ("RecipientTypeDetails", "PrimarySmtpAddress"),
    Cmdlet.RECIPIENT: ("RecipientTypeDetails", "PrimarySmtpAddress"),
    Cmdlet.MAILBOX_PERMISSION: ("Identity", "User", "AccessRights"),
    Cmdlet.RECIPIENT_PERMISSION: ("Identity", "Trustee", "AccessRights"),
    Cmdlet.AD_PERMISSION: ("Identity", "User", "ExtendedRights"),
    Cmdlet.FOLDER_PERMISSION: ("Identity", "User", "AccessRights"),
    Cmdlet.ORGANIZATION_CONFIG: ("ACLableSyncedObjectEnabled",),
    Cmdlet.EXCHANGE_SERVER: ("Name", "AdminDisplayVersion"),
}
# Cmdlets that exist on one side only.
ONLY_ON = {
    Cmdlet.REMOTE_MAILBOX: Side.ON_PREMISES,
    Cmdlet.AD_PERMISSION: Side.ON_PREMISES,
    Cmdlet.EXCHANGE_SERVER: Side.ON_PREMISES,
    Cmdlet.RECIPIENT_PERMISSION: Side.CLOUD,
}
LISTS = ("EmailAddresses", "AccessRights", "GrantSendOnBehalfTo", "ExtendedRights")
SWITCHES = ("Deny", "IsInherited", "ACLableSyncedObjectEnabled")
# What Export-Csv writes for a list it was not told to join: the list's type name.
_UNJOINED = re.compile(
    r"^(Deserialized\.)?(System|Microsoft)\.[\w.`]+(\[\])?$|^System\.Collections\.\w+$"
)
_CLOUD_DN = re.compile(r"DC=PROD,DC=OUTLOOK,DC=COM|Microsoft Exchange Hosted Organizations", re.I)
_FOREST = re.compile(r"^[A-Z]{5}\d{2}A\d{3}\\", re.I)
_VERSION = re.compile(r"(\d+)\.(\d+)\s*\(Build\s+(\d+)", re.I)
_DOTTED = re.compile(r"^(\d+)\.(\d+)\.(\d+)")
SYSTEM_PREFIXES = ("nt authority\\", "builtin\\", "s-1-")
# RecipientTypeDetails as ConvertTo-Json writes it (the enum's number; msExchRecipientTypeDetails).
RECIPIENT_TYPES = {
    1: "UserMailbox",
    2: "LinkedMailbox",
    4: "SharedMailbox",
    16: "RoomMailbox",
    32: "EquipmentMailbox",
    64: "MailContact",
    128: "MailUser",
    256: "MailUniversalDistributionGroup",
    512: "MailNonUniversalGroup",
    1024: "MailUniversalSecurityGroup",
    2048: "DynamicDistributionGroup",
    2147483648: "RemoteUserMailbox",
    8589934592: "RemoteRoomMailbox",
    17179869184: "RemoteEquipmentMailbox",
    34359738368: "RemoteSharedMailbox",
    2199023255552: "LinkedRoomMailbox",
    17592186044416: "SchedulingMailbox",
    35184372088832: "GuestMailUser",
}
# Objects ConvertTo-Json writes for values PowerShell shows as text: their text is here.
TEXT_KEYS = ("Address", "DistinguishedName", "Name", "value", "Value")


@dataclass(frozen=True)
class Detected:
    """A file's cmdlet and, when its content tells, its side (and why)."""

    cmdlet: Cmdlet
    side: Side | None
    reason: str


def detect(parsed: Parsed, name: str) -> Detected:
    """The cmdlet whose output ``parsed`` is, and the side its content shows (its records'
    values are normalized on the way: see :func:`_normalized`)."""
    for record in parsed.records:
        record.values = _normalized(record.values)
    cmdlet = _by_type(parsed) or _by_properties(parsed, name)
    _require(parsed, cmdlet, name)
    side, reason = _side(parsed, cmdlet)
    return Detected(cmdlet, side, reason)


def _by_type(parsed: Parsed) -> Cmdlet | None:
    names = [*parsed.type_names, *(t for r in parsed.records[:1] for t in r.type_names)]
    for full in names:
        last = full.removeprefix("Selected.").rsplit(".", 1)[-1]
        if last in TYPE_CMDLETS:
            return TYPE_CMDLETS[last]
    return None


def _by_properties(parsed: Parsed, name: str) -> Cmdlet:
    if not parsed.records:
        raise ExportError(name, 1, 1, "at least one object (the file holds none)")
    keys = set(parsed.records[0].values)
    first = parsed.records[0].values
    if "ExtendedRights" in keys:
        return Cmdlet.AD_PERMISSION
    if "Trustee" in keys and "AccessRights" in keys:
        return Cmdlet.RECIPIENT_PERMISSION
    if "User" in keys and "AccessRights" in keys:
        folder = "FolderName" in keys or ":\\" in str(first.get("Identity", ""))
        return Cmdlet.FOLDER_PERMISSION if folder else Cmdlet.MAILBOX_PERMISSION
    if "ACLableSyncedObjectEnabled" in keys:
        return Cmdlet.ORGANIZATION_CONFIG
    if "AdminDisplayVersion" in keys and "Name" in keys:
        return Cmdlet.EXCHANGE_SERVER
    if "RecipientTypeDetails" in keys:
        types = {str(r.values.get("RecipientTypeDetails", "")) for r in parsed.records}
        if types and all(t.startswith("Remote") for t in types):
            return Cmdlet.REMOTE_MAILBOX
        return Cmdlet.MAILBOX if all(t.endswith("Mailbox") for t in types) else Cmdlet.RECIPIENT
    line, column = parsed.records[0].where()
    shown = ", ".join(sorted(keys)[:8])
    raise ExportError(
        name,
        line,
        column,
        "the output of Get-Mailbox, Get-RemoteMailbox, Get-Recipient, Get-MailboxPermission, "
        "Get-RecipientPermission, Get-ADPermission, Get-MailboxFolderPermission, "
        f"Get-OrganizationConfig or Get-ExchangeServer (found properties {shown})",
    )


def _require(parsed: Parsed, cmdlet: Cmdlet, name: str) -> None:
    for record in parsed.records:
        missing = [key for key in REQUIRED[cmdlet] if key not in record.values]
        if missing:
            line, column = record.where()
            raise ExportError(name, line, column, f"{cmdlet} output with the property {missing[0]}")
        for key in LISTS:
            value = record.values.get(key)
            if isinstance(value, str) and _UNJOINED.match(value.strip()):
                line, column = record.where(key)
                raise ExportError(
                    name,
                    line,
                    column,
                    f"the values of {key}, found {value!r}: Export-Csv writes a list's "
                    "type name unless the list is joined "
                    f"(select @{{n='{key}';e={{$_.{key} -join ';'}}}})",
                )
        for key in SWITCHES:
            if key in record.values and not _is_switch(record.values[key]):
                line, column = record.where(key)
                raise ExportError(
                    name, line, column, f"True or False in {key}, found {record.values[key]!r}"
                )


def _is_switch(value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, dict):
        return "IsPresent" in value
    return str(value).strip().lower() in ("true", "false", "")


def _side(parsed: Parsed, cmdlet: Cmdlet) -> tuple[Side | None, str]:
    if cmdlet in ONLY_ON:
        side = ONLY_ON[cmdlet]
        where = "on-premises" if side is Side.ON_PREMISES else "in Exchange Online"
        return side, f"{cmdlet} exists {where} only"
    for record in parsed.records:
        values = record.values
        kind = str(values.get("RecipientTypeDetails", ""))
        if kind.startswith("Remote"):
            return Side.ON_PREMISES, f"it lists a {kind} (on-premises stands for a cloud mailbox)"
        place = " ".join(
            str(values.get(k, "")) for k in ("DistinguishedName", "OrganizationalUnit", "Name")
        )
        if _CLOUD_DN.search(place) or place.lower().strip().endswith(".onmicrosoft.com"):
            return Side.CLOUD, "its objects live in Exchange Online's directory"
        trustee = str(values.get("User") or values.get("Trustee") or "")
        if _FOREST.match(trustee):
            return Side.CLOUD, f"it names {trustee.split(chr(92))[0]}, an Exchange Online forest"
        if "\\" in trustee and not trustee.lower().startswith(SYSTEM_PREFIXES):
            return Side.ON_PREMISES, "its trustees are DOMAIN\\account names"
        identity = str(values.get("Identity", ""))
        if "/" in identity.split(":\\")[0]:
            return Side.ON_PREMISES, "its identities are Active Directory canonical names"
    return None, ""


def add_records(
    inventory: Inventory, parsed: Parsed, cmdlet: Cmdlet, side: Side, name: str
) -> None:
    """Put a file's records into the inventory of its side (or the organization's facts)."""
    target = inventory.side(side)
    for record in parsed.records:
        values = record.values
        if cmdlet in (Cmdlet.MAILBOX, Cmdlet.REMOTE_MAILBOX, Cmdlet.RECIPIENT):
            target.recipients.append(_recipient(values, side))
            address = str(values.get("PrimarySmtpAddress") or "").lower()
            if values.get("GrantSendOnBehalfTo") and address:
                target.entries.extend(send_on_behalf_entries(address, values))
        elif cmdlet is Cmdlet.MAILBOX_PERMISSION:
            target.entries.extend(full_access_entries(_identity(values), [values]))
        elif cmdlet is Cmdlet.RECIPIENT_PERMISSION:
            target.entries.extend(send_as_entries(_identity(values), [values]))
        elif cmdlet is Cmdlet.AD_PERMISSION:
            target.entries.extend(send_as_ad_entries(_identity(values), [values]))
        elif cmdlet is Cmdlet.FOLDER_PERMISSION:
            target.folders.append(_folder(values))
        elif cmdlet is Cmdlet.ORGANIZATION_CONFIG:
            if side is Side.ON_PREMISES or inventory.aclable_sync is None:
                inventory.aclable_sync = flag(values.get("ACLableSyncedObjectEnabled"))
        elif cmdlet is Cmdlet.EXCHANGE_SERVER:
            version = _version(values.get("AdminDisplayVersion"))
            if version is None:
                line, column = record.where("AdminDisplayVersion")
                raise ExportError(
                    name,
                    line,
                    column,
                    "a version like 'Version 15.2 (Build 1544.4)' in AdminDisplayVersion, "
                    f"found {values.get('AdminDisplayVersion')!r}",
                )
            edition = str(values.get("Edition") or "")
            inventory.servers.append(ExchangeServer(str(values.get("Name")), version, edition))


def _normalized(values: dict[str, Any]) -> dict[str, Any]:
    """Lists joined with ';' (as the README tells admins) read like Exchange's own ', ';
    enums written as numbers and objects written whole read as the text PowerShell shows."""
    out = {k: _text(v) if k not in LISTS else v for k, v in values.items()}
    kind = out.get("RecipientTypeDetails")
    if isinstance(kind, int) and not isinstance(kind, bool):
        out["RecipientTypeDetails"] = RECIPIENT_TYPES.get(kind, str(kind))
    elif isinstance(kind, str) and kind.isdigit():
        out["RecipientTypeDetails"] = RECIPIENT_TYPES.get(int(kind), kind)
    for key in LISTS:
        value = out.get(key)
        if isinstance(value, str) and ";" in value:
            out[key] = [part.strip() for part in value.split(";") if part.strip()]
    return out


def _text(value: Any) -> Any:
    """A value ConvertTo-Json wrote as an object (an SmtpAddress, an ADObjectId) as its text;
    switches ({"IsPresent": ...}) and everything else as they are."""
    if isinstance(value, dict) and "IsPresent" not in value:
        for key in TEXT_KEYS:
            if isinstance(value.get(key), str | int):
                return value[key]
    return value


def _identity(values: dict[str, Any]) -> str:
    return str(values.get("Identity") or "").strip()


def _strings(values: Iterable[Any]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v).strip() for v in values if v is not None and str(v).strip()))


def _recipient(values: dict[str, Any], side: Side) -> Recipient:
    raw = values.get("EmailAddresses") or []
    if isinstance(raw, str):
        raw = [p for p in re.split(r"[\s,;{}]+", raw) if p]
    primary = str(values.get("PrimarySmtpAddress") or "").strip() or None
    addresses = smtp_addresses([str(a) for a in raw], primary)
    names = _strings(
        values.get(k)
        for k in (
            "UserPrincipalName",
            "Alias",
            "SamAccountName",
            "Name",
            "Identity",
            "DistinguishedName",
            "DisplayName",
            "LegacyExchangeDN",
            "ExternalDirectoryObjectId",
            "Guid",
        )
    )
    link = next(
        (values[k] for k in ("msExchDelegateListLink", "DelegateListLink") if k in values), None
    )
    return Recipient(
        side=side,
        recipient_type=str(values.get("RecipientTypeDetails") or ""),
        addresses=addresses,
        names=names,
        display_name=str(values.get("DisplayName") or values.get("Name") or ""),
        exchange_guid=str(values["ExchangeGuid"]).lower() if values.get("ExchangeGuid") else None,
        delegates=tuple(names_of(values.get("GrantSendOnBehalfTo"))),
        automapped=None if link is None else tuple(names_of(link)),
    )


def _folder(values: dict[str, Any]) -> FolderEntry:
    identity = _identity(values)
    mailbox, _, folder = identity.partition(":\\")
    rights = names_of(values.get("AccessRights"))
    flags = names_of(values.get("SharingPermissionFlags"))
    return FolderEntry(
        mailbox=mailbox,
        folder=str(values.get("FolderName") or folder or "Calendar"),
        trustee=str(values.get("User") or "").strip(),
        role=", ".join(rights),
        flags=tuple(f for f in flags if f.lower() != "none"),
    )


def _version(value: Any) -> tuple[int, int, int] | None:
    if isinstance(value, dict):
        try:
            return int(value["Major"]), int(value["Minor"]), int(value["Build"])
        except (KeyError, TypeError, ValueError):
            return None
    text = str(value or "")
    found = _VERSION.search(text) or _DOTTED.search(text.strip())
    if found is None:
        return None
    return int(found.group(1)), int(found.group(2)), int(found.group(3))
