"""The files an admin exports from a hybrid sandbox organization, in every form PowerShell
writes them.

On-premises: Get-Mailbox (the mailboxes that live there), Get-RemoteMailbox (those in the
cloud), Get-MailboxPermission, Get-ADPermission (Send As), Get-MailboxFolderPermission
(calendars), Get-OrganizationConfig and Get-ExchangeServer. Exchange Online: Get-Recipient
(a mailbox on-premises is a MailUser there), Get-MailboxPermission and
Get-RecipientPermission. Each as ``Export-Csv`` (with or without ``#TYPE``, UTF-8 with or
without BOM, UTF-16), ``ConvertTo-Json`` (enums as numbers, switches as ``{"IsPresent"}``,
a single object unwrapped) or ``Export-Clixml`` (UTF-16). These writers are the sandbox's
own, written from PowerShell's behaviour, not the product's readers.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from tenantsync.sandbox.entities import DEFAULT_TRUSTEE, FULL_ACCESS, User, rights_names
from tenantsync.sandbox.hybrid import HybridState
from tenantsync.sandbox.recipients import RECIPIENT_TYPE_DETAILS
from tenantsync.sandbox.tenant import SandboxTenant

Rows = list[dict[str, Any]]
FORMATS = ("csv-type-utf8bom", "csv-notype-utf16", "csv-utf8", "json", "clixml")
MANAGEMENT = "Microsoft.Exchange.Data.Directory.Management"
TASKS = "Microsoft.Exchange.Management"
TYPES = {
    "Get-Mailbox": f"{MANAGEMENT}.Mailbox",
    "Get-RemoteMailbox": "Microsoft.Exchange.Data.Directory.Management.RemoteMailbox",
    "Get-Recipient": "Microsoft.Exchange.Data.Directory.Management.ReducedRecipient",
    "Get-MailboxPermission": f"{TASKS}.RecipientTasks.MailboxAcePresentationObject",
    "Get-RecipientPermission": "Microsoft.Exchange.Management.RecipientTasks.RecipientPermission",
    "Get-ADPermission": "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject",
    "Get-MailboxFolderPermission": f"{TASKS}.StoreTasks.MailboxFolderPermission",
    "Get-OrganizationConfig": "Microsoft.Exchange.Data.Directory.Management.OrganizationConfig",
    "Get-ExchangeServer": "Microsoft.Exchange.Data.Directory.Management.ExchangeServer",
}  # fmt: skip
# ConvertTo-Json writes enums as numbers: RecipientTypeDetails and the rights flags.
TYPE_NUMBERS = {
    "UserMailbox": 1, "SharedMailbox": 4, "RoomMailbox": 16, "EquipmentMailbox": 32,
    "MailUser": 128, "RemoteUserMailbox": 2147483648, "RemoteRoomMailbox": 8589934592,
    "RemoteEquipmentMailbox": 17179869184, "RemoteSharedMailbox": 34359738368,
    "SchedulingMailbox": 17592186044416,
}  # fmt: skip
MAILBOX_RIGHT_NUMBERS = {"FullAccess": 1, "ExternalAccount": 4, "DeleteItem": 65536,
                         "ReadPermission": 131072, "ChangePermission": 262144,
                         "ChangeOwner": 524288}  # fmt: skip
SWITCHES = ("Deny", "IsInherited")


# ---- what each cmdlet outputs ----------------------------------------------------------
def _mailboxes(tenant: SandboxTenant) -> list[User]:
    return [tenant.users[u] for u in tenant.user_ids if tenant.users[u].mailbox is not None]


def _onprem_trustee(tenant: SandboxTenant, state: HybridState, ref: str) -> str:
    user = tenant.users.get(ref)
    if user is not None and user.on_premises is not None:
        return f"{state.netbios}\\{user.on_premises.sam_account_name}"
    group = tenant.groups.get(ref)
    if group is not None:
        return f"{state.netbios}\\{group.display_name}"
    return ref.removeprefix("NT:")


def _identity(state: HybridState, user: User) -> str:
    # A canonical name is unique (its CN is the object's Name, unique in its OU).
    return f"{state.ad_domain}/Users/{user.mail_nickname}"


def _recipient_row(
    tenant: SandboxTenant, state: HybridState, user: User, kind: str
) -> dict[str, Any]:
    anchors = user.on_premises
    return {
        "Name": user.display_name,
        "Alias": user.mail_nickname,
        "DisplayName": user.display_name,
        "SamAccountName": anchors.sam_account_name if anchors else user.mail_nickname,
        "UserPrincipalName": user.user_principal_name,
        "PrimarySmtpAddress": user.mail,
        "RecipientTypeDetails": kind,
        "EmailAddresses": [p for p in user.proxy_addresses if p.lower().startswith("smtp:")],
        "ExchangeGuid": user.exchange_guid,
        "GrantSendOnBehalfTo": [
            tenant.users[r].mail_nickname for r in user.send_on_behalf if r in tenant.users
        ],
        "Identity": _identity(state, user),
        "DistinguishedName": anchors.distinguished_name if anchors else "",
    }  # fmt: skip


def onprem_outputs(tenant: SandboxTenant, state: HybridState) -> dict[str, Rows]:
    """What the on-premises cmdlets output, by cmdlet."""
    here = [u for u in _mailboxes(tenant) if state.lives_on_premises(u)]
    there = [u for u in _mailboxes(tenant) if not state.lives_on_premises(u)]
    kinds = RECIPIENT_TYPE_DETAILS
    mailbox_rows = [_recipient_row(tenant, state, u, kinds[u.mailbox or "user"]) for u in here]
    remote_rows = [
        _recipient_row(tenant, state, u, "Remote" + kinds[u.mailbox or "user"])
        for u in there
        if u.mailbox in ("user", "shared", "room", "equipment")
    ]
    permissions: Rows = []
    ad: Rows = []
    folders: Rows = []
    for user in here:
        ident = _identity(state, user)
        permissions.append(_perm(ident, "NT AUTHORITY\\SELF", ["FullAccess", "ReadPermission"]))
        for ref, flags, deny in tenant.full_access.get(user.id, []):
            permissions.append(
                _perm(ident, _onprem_trustee(tenant, state, ref), rights_names(flags), deny=deny)
            )
        permissions.append(
            _perm(
                ident, f"{state.netbios}\\Domain Admins", ["FullAccess"], deny=True, inherited=True
            )
        )
        ad.append(_ad(ident, "NT AUTHORITY\\SELF"))
        for ref, deny in tenant.send_as.get(user.id, []):
            ad.append(_ad(ident, _onprem_trustee(tenant, state, ref), deny=deny))
        entries = {
            ref: (role, flags) for ref, role, flags in tenant.calendar_permissions.get(user.id, [])
        }
        entries.setdefault(DEFAULT_TRUSTEE, ("AvailabilityOnly", 0))
        for ref, (role, flags) in entries.items():
            trustee = tenant.users.get(ref) or tenant.groups.get(ref)
            shown = trustee.display_name if trustee is not None else ref
            folders.append(
                {
                    "Identity": f"{user.mail_nickname}:\\Calendar",
                    "FolderName": "Calendar",
                    "User": shown,
                    "AccessRights": [role],
                    "SharingPermissionFlags": "Delegate" if flags & 1 else "None",
                }
            )
    major, minor, build, revision = state.exchange_version
    return {
        "Get-Mailbox": mailbox_rows,
        "Get-RemoteMailbox": remote_rows,
        "Get-MailboxPermission": permissions,
        "Get-ADPermission": ad,
        "Get-MailboxFolderPermission": folders,
        "Get-OrganizationConfig": [
            {"Name": tenant.organization_name, "ACLableSyncedObjectEnabled": state.aclable_sync}
        ],
        "Get-ExchangeServer": [
            {
                "Name": f"EX{i:02d}",
                "ServerRole": "Mailbox",
                "Edition": "Standard",
                "AdminDisplayVersion": f"Version {major}.{minor} (Build {build}.{revision})",
            }
            for i in (1, 2)
        ],
    }


def cloud_outputs(tenant: SandboxTenant, state: HybridState) -> dict[str, Rows]:
    """What Exchange Online's cmdlets output: a mailbox on-premises is a MailUser there."""
    recipients: Rows = []
    permissions: Rows = []
    send_as: Rows = []
    dn = (
        f"OU={tenant.initial_domain},OU=Microsoft Exchange Hosted Organizations,"
        f"DC={tenant.forest},DC=PROD,DC=OUTLOOK,DC=COM"
    )
    for user in _mailboxes(tenant):
        onprem = state.lives_on_premises(user)
        kind = "MailUser" if onprem else RECIPIENT_TYPE_DETAILS[user.mailbox or "user"]
        recipients.append(
            {
                "Name": user.mail_nickname,
                "Alias": user.mail_nickname,
                "DisplayName": user.display_name,
                "PrimarySmtpAddress": user.mail,
                "RecipientTypeDetails": kind,
                "EmailAddresses": [
                    p for p in user.proxy_addresses if p.lower().startswith("smtp:")
                ],
                "DistinguishedName": f"CN={user.mail_nickname},{dn}",
                "ExternalDirectoryObjectId": user.id,
            }
        )
        if onprem:
            continue
        for ref, flags, deny in tenant.full_access.get(user.id, []):
            trustee = tenant.users.get(ref)
            shown = (
                trustee.user_principal_name
                if trustee
                else (tenant.groups[ref].display_name if ref in tenant.groups else ref)
            )
            permissions.append(_perm(user.mail_nickname, shown, rights_names(flags), deny=deny))
        for ref, deny in tenant.send_as.get(user.id, []):
            trustee = tenant.users.get(ref)
            shown = trustee.user_principal_name if trustee else ref
            send_as.append(
                {
                    "Identity": user.mail_nickname,
                    "Trustee": shown,
                    "AccessControlType": "Deny" if deny else "Allow",
                    "AccessRights": ["SendAs"],
                    "IsInherited": False,
                    "InheritanceType": "None",
                }
            )
    return {
        "Get-Recipient": recipients,
        "Get-MailboxPermission": permissions,
        "Get-RecipientPermission": send_as,
    }


def _perm(
    identity: str, user: str, rights: list[str], *, deny: bool = False, inherited: bool = False
) -> dict[str, Any]:
    return {"Identity": identity, "User": user, "AccessRights": rights, "Deny": deny,
            "IsInherited": inherited, "InheritanceType": "All"}  # fmt: skip


def _ad(identity: str, user: str, *, deny: bool = False) -> dict[str, Any]:
    return {"Identity": identity, "User": user, "AccessRights": "ExtendedRight",
            "ExtendedRights": ["Send-As"], "Deny": deny, "IsInherited": False,
            "InheritanceType": "All"}  # fmt: skip


# ---- how PowerShell writes them --------------------------------------------------------
def _csv_cell(value: Any) -> str:
    if isinstance(value, list):
        value = ";".join(str(v) for v in value)  # the README's -join ';'
    elif isinstance(value, bool):
        value = "True" if value else "False"
    elif value is None:
        value = ""
    return '"' + str(value).replace('"', '""') + '"'


def export_csv(rows: Rows, type_name: str | None) -> str:
    """Export-Csv: every field quoted, CRLF, an optional #TYPE line."""
    columns = list(rows[0]) if rows else ["Identity"]
    lines = [f"#TYPE Deserialized.{type_name}"] if type_name else []
    lines.append(",".join(_csv_cell(c) for c in columns))
    lines += [",".join(_csv_cell(row.get(c)) for c in columns) for row in rows]
    return "\r\n".join(lines) + "\r\n"


def _json_value(cmdlet: str, key: str, value: Any) -> Any:
    if key == "RecipientTypeDetails" and value in TYPE_NUMBERS:
        return TYPE_NUMBERS[value]
    if key == "AccessRights" and cmdlet == "Get-MailboxPermission":
        return [MAILBOX_RIGHT_NUMBERS[v] for v in value]
    if key == "AccessRights" and cmdlet == "Get-RecipientPermission":
        return [1]
    if key == "AccessControlType":
        return 1 if value == "Deny" else 0
    if key == "Deny" and cmdlet == "Get-MailboxPermission":
        return {"IsPresent": bool(value)}
    return value


def convert_to_json(rows: Rows, cmdlet: str) -> str:
    """ConvertTo-Json as Windows PowerShell writes it: enums as numbers, switches as
    {"IsPresent": ...}, one object unwrapped."""
    objects = [{k: _json_value(cmdlet, k, v) for k, v in row.items()} for row in rows]
    payload: Any = objects[0] if len(objects) == 1 else objects
    return json.dumps(payload, indent=4, ensure_ascii=False)


def export_clixml(rows: Rows, type_name: str) -> str:
    """Export-Clixml: <Objs> of <Obj>, type names once then by <TNRef>, lists as <LST>."""
    out = ['<Objs Version="1.1.0.1" xmlns="http://schemas.microsoft.com/powershell/2004/04">']
    ref = 0
    for index, row in enumerate(rows):
        out.append(f'  <Obj RefId="{ref}">')
        ref += 1
        if index == 0:
            out.append(
                f'    <TN RefId="0"><T>Deserialized.{type_name}</T>'
                "<T>Deserialized.System.Object</T></TN>"
            )
        else:
            out.append('    <TNRef RefId="0" />')
        out.append("    <Props>")
        for key, value in row.items():
            name = escape(key, {'"': "&quot;"})
            if isinstance(value, bool):
                out.append(f'      <B N="{name}">{str(value).lower()}</B>')
            elif value is None:
                out.append(f'      <Nil N="{name}" />')
            elif isinstance(value, list):
                items = "".join(f"<S>{escape(str(v))}</S>" for v in value)
                out.append(
                    f'      <Obj N="{name}" RefId="{ref}"><TN RefId="{ref + 1000}">'
                    "<T>Deserialized.System.Collections.ArrayList</T></TN>"
                    f"<LST>{items}</LST></Obj>"
                )
                ref += 1
            else:
                out.append(f'      <S N="{name}">{escape(str(value))}</S>')
        out.append("    </Props>")
        out.append("  </Obj>")
    out.append("</Objs>")
    return "\r\n".join(out) + "\r\n"


Writer = Callable[[Rows, str], tuple[str, bytes]]


def render(rows: Rows, cmdlet: str, fmt: str) -> tuple[str, bytes]:
    """(file suffix, bytes) of one cmdlet's output in one of :data:`FORMATS`."""
    type_name = TYPES[cmdlet]
    if fmt == "csv-type-utf8bom":
        return ".csv", codecs.BOM_UTF8 + export_csv(rows, type_name).encode("utf-8")
    if fmt == "csv-notype-utf16":
        return ".csv", codecs.BOM_UTF16_LE + export_csv(rows, None).encode("utf-16-le")
    if fmt == "csv-utf8":
        return ".csv", export_csv(rows, None).encode("utf-8")
    if fmt == "json":
        return ".json", convert_to_json(rows, cmdlet).encode("utf-8")
    if fmt == "clixml":
        return ".xml", codecs.BOM_UTF16_LE + export_clixml(rows, type_name).encode("utf-16-le")
    raise ValueError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")


def export_files(
    tenant: SandboxTenant,
    state: HybridState,
    folder: Path,
    *,
    fmt: str | None = None,
    cloud: bool = True,
) -> list[Path]:
    """Write the on-premises files (and, with ``cloud``, Exchange Online's) under
    ``folder``/on-premises and ``folder``/cloud, every cmdlet in ``fmt`` (None: the formats
    taken in turn, so one folder holds every one of them)."""
    written: list[Path] = []
    sides = [("on-premises", onprem_outputs(tenant, state))]
    if cloud:
        sides.append(("cloud", cloud_outputs(tenant, state)))
    turn = 0
    for side, outputs in sides:
        (folder / side).mkdir(parents=True, exist_ok=True)
        for cmdlet, rows in outputs.items():
            chosen = fmt or FORMATS[turn % len(FORMATS)]
            turn += 1
            suffix, data = render(rows, cmdlet, chosen)
            path = folder / side / f"{cmdlet}{suffix}"
            path.write_bytes(data)
            written.append(path)
    return written


__all__ = ["FORMATS", "FULL_ACCESS", "cloud_outputs", "export_files", "onprem_outputs", "render"]
