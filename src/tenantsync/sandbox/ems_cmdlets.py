"""The cmdlets the emulated on-premises Exchange Management Shell answers, as the objects
Exchange serializes over PowerShell remoting.

Get-Mailbox, Get-MailboxPermission and Get-ADPermission read the tenant through the
Exchange Online emulation's own cmdlets (:mod:`tenantsync.sandbox.exchange_cmdlets`) and
show what they return the way an on-premises organization does: trustees as
``DOMAIN\\alias`` instead of UPNs, system groups under the domain instead of the forest,
Send As as the ``Send-As`` extended right of an Active Directory entry. Rights travel as
the flag enumerations Exchange uses (MailboxRights, ActiveDirectoryRights), so a client
sees them as enum objects whose text is ``FullAccess, ReadPermission``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from psrpcore.types import PSFlagBase, PSObject, PSType, add_note_property

from tenantsync.sandbox import exchange_cmdlets as online
from tenantsync.sandbox.entities import DynamicGroup, Group, User
from tenantsync.sandbox.errors import ExchangeError
from tenantsync.sandbox.onprem_layout import (
    account_names,
    group_canonical_name,
    user_canonical_name,
)
from tenantsync.sandbox.tenant import SandboxTenant

NETBIOS = "CORP"  # the domain the Samba DC of the on-premises sandbox serves
ACE = "Microsoft.Exchange.Management.RecipientTasks.MailboxAcePresentationObject"
AD_ACE = "Microsoft.Exchange.Management.RecipientTasks.ADAcePresentationObject"
MAILBOX = "Microsoft.Exchange.Data.Directory.Management.Mailbox"
BASES = (
    "Microsoft.Exchange.Data.Directory.ADObject",
    "Microsoft.Exchange.Data.Directory.ADRawEntry",
    "Microsoft.Exchange.Data.ConfigurableObject",
    "System.Object",
)
ACE_BASES = ("Microsoft.Exchange.Management.RecipientTasks.AcePresentationObject", *BASES)


@PSType(["Microsoft.Exchange.Management.RecipientTasks.MailboxRights"])
class MailboxRights(PSFlagBase):
    """Exchange's mailbox rights (a [Flags] enumeration)."""

    FullAccess = 1
    SendAs = 2
    ExternalAccount = 4
    DeleteItem = 65536
    ReadPermission = 131072
    ChangePermission = 262144
    ChangeOwner = 524288


@PSType(["System.DirectoryServices.ActiveDirectoryRights"])
class ActiveDirectoryRights(PSFlagBase):
    """The rights of an Active Directory access entry (a [Flags] enumeration)."""

    ReadProperty = 16
    WriteProperty = 32
    ExtendedRight = 256
    ReadControl = 131072


def _flags(kind: type[PSFlagBase], names: list[str]) -> PSFlagBase:
    value = 0
    for name in names:
        for part in name.split(","):
            value |= int(kind[part.strip()])
    return kind(value)


def _object(type_names: tuple[str, ...], properties: dict[str, Any]) -> PSObject:
    obj = PSObject()
    obj.PSObject.type_names = list(type_names)
    for name, value in properties.items():
        add_note_property(obj, name, value)
    return obj


def on_premises_name(tenant: SandboxTenant, shown: str) -> str | None:
    """How an on-premises organization shows a trustee Exchange Online shows as ``shown``:
    a user or group as DOMAIN\\sAMAccountName (as the DC keeps it), a forest-prefixed system
    group under the domain; None for one with no on-premises form (a guest, a Microsoft 365
    or dynamic group)."""
    found = tenant.recipient(shown)
    if isinstance(found, User | Group | DynamicGroup):
        account = account_names(tenant).get(found.id)
        return f"{NETBIOS}\\{account}" if account else None
    forest, sep, rest = shown.partition("\\")
    if sep and forest == tenant.forest:
        return f"{NETBIOS}\\{rest}"
    return shown


def _delegate(tenant: SandboxTenant, ref: str) -> str | None:
    """A GrantSendOnBehalfTo entry: the object's canonical name, as Exchange shows an
    ADObjectId; None for a recipient with no on-premises form."""
    if ref not in account_names(tenant):
        return None
    if ref in tenant.users:
        return user_canonical_name(tenant.users[ref])
    return group_canonical_name(tenant.groups[ref])


def get_mailbox(tenant: SandboxTenant, params: dict[str, Any]) -> list[PSObject]:
    """Get-Mailbox [-Identity] [-RecipientTypeDetails] [-Filter] [-ResultSize]."""
    rows = online.get_mailbox(tenant, params)
    out = []
    for row in rows:
        user = tenant.recipient(str(row["PrimarySmtpAddress"]))
        assert isinstance(user, User)
        out.append(
            _object(
                (MAILBOX, *BASES),
                {
                    "Identity": user_canonical_name(user),
                    "Name": row["Name"],
                    "Alias": row["Alias"],
                    "SamAccountName": user.mail_nickname,
                    "DisplayName": row["DisplayName"],
                    "UserPrincipalName": row["UserPrincipalName"],
                    "PrimarySmtpAddress": row["PrimarySmtpAddress"],
                    "RecipientTypeDetails": row["RecipientTypeDetails"],
                    "Guid": row["Guid"],
                    "ExchangeGuid": row["ExchangeGuid"],
                    "GrantSendOnBehalfTo": [
                        shown
                        for r in user.send_on_behalf
                        if (shown := _delegate(tenant, r)) is not None
                    ],
                    "WhenChangedUTC": row["WhenChangedUTC"],
                },
            )
        )
    return out


def get_mailbox_permission(tenant: SandboxTenant, params: dict[str, Any]) -> list[PSObject]:
    """Get-MailboxPermission -Identity [-User]."""
    user = tenant.recipient(str(params.get("Identity") or ""))
    rows = online.get_mailbox_permission(tenant, params)
    identity = user_canonical_name(user) if isinstance(user, User) else ""
    named = [(row, on_premises_name(tenant, str(row["User"]))) for row in rows]
    return [
        _object(
            (ACE, *ACE_BASES),
            {
                "AccessRights": [_flags(MailboxRights, list(row["AccessRights"]))],
                "Deny": row["Deny"],
                "InheritanceType": row["InheritanceType"],
                "User": who,
                "Identity": identity,
                "IsInherited": row["IsInherited"],
                "IsValid": True,
            },
        )
        for row, who in named
        if who is not None
    ]


def get_ad_permission(tenant: SandboxTenant, params: dict[str, Any]) -> list[PSObject]:
    """Get-ADPermission -Identity [-User]: Send As entries (the extended right Send-As)
    among the entries every mailbox's user object carries."""
    rows = online.get_recipient_permission(tenant, {"Identity": params.get("Identity")})
    user = tenant.recipient(str(params.get("Identity") or ""))
    identity = user_canonical_name(user) if isinstance(user, User) else ""
    entries = [
        ("NT AUTHORITY\\SELF", ["ReadProperty", "WriteProperty"], None, "Personal-Information"),
        ("Everyone", ["ExtendedRight"], "Change-Password", None),
        (f"{NETBIOS}\\Exchange Servers", ["ReadControl"], None, None),
    ]
    named = [(row, on_premises_name(tenant, str(row["Trustee"]))) for row in rows]
    kept = [(row, who) for row, who in named if who is not None]
    entries += [(who, ["ExtendedRight"], "Send-As", None) for _row, who in kept]
    denies = [False, False, False] + [row["AccessControlType"] == "Deny" for row, _who in kept]
    wanted = str(params.get("User") or "").lower()
    return [
        _object(
            (AD_ACE, *ACE_BASES),
            {
                "AccessRights": [_flags(ActiveDirectoryRights, rights)],
                "ExtendedRights": [extended] if extended else None,
                "Properties": [prop] if prop else None,
                "Deny": deny,
                "InheritanceType": "None",
                "User": who,
                "Identity": identity,
                "IsInherited": who == f"{NETBIOS}\\Exchange Servers",
                "IsValid": True,
            },
        )
        for (who, rights, extended, prop), deny in zip(entries, denies, strict=True)
        if not wanted or who.lower() == wanted
    ]


CANONICAL = {
    n.lower(): n for n in ("Identity", "User", "ResultSize", "RecipientTypeDetails", "Filter")
}
Cmdlet = Callable[[SandboxTenant, dict[str, Any]], list[PSObject]]
CMDLETS: dict[str, tuple[str, Cmdlet, frozenset[str]]] = {
    "get-mailbox": (
        "Get-Mailbox",
        get_mailbox,
        frozenset({"identity", "resultsize", "recipienttypedetails", "filter"}),
    ),
    "get-mailboxpermission": (
        "Get-MailboxPermission",
        get_mailbox_permission,
        frozenset({"identity", "user"}),
    ),
    "get-adpermission": ("Get-ADPermission", get_ad_permission, frozenset({"identity", "user"})),
}


def invoke(tenant: SandboxTenant, name: str, params: dict[str, Any]) -> list[PSObject]:
    """Run one cmdlet; ExchangeError for an unknown cmdlet, parameter or object."""
    found = CMDLETS.get(name.lower())
    if found is None:
        raise ExchangeError(
            400,
            "System.Management.Automation.CommandNotFoundException",
            f"The term '{name}' is not recognized as the name of a cmdlet, function, "
            "script file, or operable program. Check the spelling of the name, or if a path "
            "was included, verify that the path is correct and try again.",
        )
    _name, cmdlet, allowed = found
    for param in params:
        if param.lower() not in allowed:
            raise ExchangeError(
                400,
                "System.Management.Automation.ParameterBindingException",
                f"A parameter cannot be found that matches parameter name '{param}'.",
            )
    normalized = {CANONICAL[p.lower()]: v for p, v in params.items()}
    return cmdlet(tenant, normalized)


def cmdlet_name(name: str) -> str:
    """The cmdlet's own spelling (for fault families), or the name as given."""
    found = CMDLETS.get(name.lower())
    return found[0] if found else name


__all__ = ["CMDLETS", "NETBIOS", "cmdlet_name", "invoke", "on_premises_name"]
