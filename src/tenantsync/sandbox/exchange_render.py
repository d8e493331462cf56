"""Exchange cmdlet output objects as InvokeCommand serializes them (JSON with
`@odata.type` annotations, display-string dates and sizes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tenantsync.sandbox import names
from tenantsync.sandbox.entities import (
    CAN_VIEW_PRIVATE_ITEMS,
    DELEGATE,
    DynamicGroup,
    Group,
    User,
)
from tenantsync.sandbox.recipients import recipient_type, type_details
from tenantsync.sandbox.tenant import SandboxTenant

STRINGS = "#Collection(String)"
SELF = "NT AUTHORITY\\SELF"
QUOTA = "99 GB (106,300,440,576 bytes)"
WARNING_QUOTA = "98 GB (105,226,698,752 bytes)"


def when(value: datetime) -> tuple[str, str]:
    """(WhenChanged, WhenChangedUTC) display forms."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.0000000+00:00"), utc.strftime("%Y-%m-%dT%H:%M:%SZ")


def cloud_sid(tenant: SandboxTenant, index: int, group: bool = False) -> str:
    """The datacenter SID Exchange shows for a cloud object."""
    return (
        f"S-1-5-21-{int(tenant.tenant_id[:8], 16)}-{int(tenant.tenant_id[9:13], 16)}-"
        f"{3000000 + index + (500000 if group else 0)}"
    )


def trustee(tenant: SandboxTenant, ref: str) -> tuple[str, str]:
    """(display form, SID) of a trustee reference: UPN for users, name for groups, raw SID."""
    user = tenant.users.get(ref)
    if user is not None:
        return user.user_principal_name, (
            user.on_premises.security_identifier
            if user.on_premises
            else cloud_sid(tenant, user.index)
        )
    group = tenant.groups.get(ref)
    if group is not None:
        return group.display_name, cloud_sid(tenant, group.index, group=True)
    return ref, ref.removeprefix("NT:")


def recipient_name(tenant: SandboxTenant, ref: str) -> str:
    """The Name Exchange shows for a recipient in lists like GrantSendOnBehalfTo."""
    user = tenant.users.get(ref)
    if user is not None:
        return user.mail_nickname
    group = tenant.groups.get(ref)
    return group.display_name if group is not None else ref


def _common(
    tenant: SandboxTenant,
    obj: User | Group | DynamicGroup,
    alias: str,
    display: str,
    primary: str,
    addresses: list[str],
    guid: str,
    external_id: str,
    changed: datetime,
    created: datetime,
) -> dict[str, Any]:
    wc, wcu = when(changed)
    cr, cru = when(created)
    return {
        "Identity": alias,
        "Id": alias,
        "Name": alias,
        "Alias": alias,
        "DisplayName": display,
        "PrimarySmtpAddress": primary,
        "EmailAddresses@odata.type": STRINGS,
        "EmailAddresses": addresses,
        "RecipientType": recipient_type(obj),
        "RecipientTypeDetails": type_details(obj),
        "ExternalDirectoryObjectId": external_id,
        "Guid@odata.type": "#Guid",
        "Guid": guid,
        "DistinguishedName": tenant.distinguished_name(alias),
        "OrganizationalUnit": f"{tenant.forest.lower()}.prod.outlook.com/Microsoft Exchange "
        f"Hosted Organizations/{tenant.initial_domain}",
        "WhenChanged": wc,
        "WhenChangedUTC": wcu,
        "WhenCreated": cr,
        "WhenCreatedUTC": cru,
        "ExchangeVersion": "0.20 (15.0.0.0)",
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def mailbox(tenant: SandboxTenant, user: User) -> dict[str, Any]:
    """Get-Mailbox output for one mailbox."""
    row = _common(
        tenant,
        user,
        user.mail_nickname,
        user.display_name,
        user.mail or "",
        list(user.proxy_addresses),
        user.exchange_object_guid,
        user.id,
        user.when_changed,
        user.created,
    )
    kind = user.mailbox
    row.update(
        {
            "UserPrincipalName": user.user_principal_name,
            "ExchangeGuid@odata.type": "#Guid",
            "ExchangeGuid": user.exchange_guid,
            "LegacyExchangeDN": "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)"
            f"/cn=Recipients/cn={user.exchange_guid.replace('-', '')[:32]}-{user.mail_nickname}",
            "GrantSendOnBehalfTo@odata.type": STRINGS,
            "GrantSendOnBehalfTo": [recipient_name(tenant, r) for r in user.send_on_behalf],
            "HiddenFromAddressListsEnabled": user.hidden_from_address_lists,
            "IsDirSynced": user.on_premises is not None,
            "AccountDisabled": not user.account_enabled,
            "IsMailboxEnabled": True,
            "IsShared": kind == "shared",
            "IsResource": kind in ("room", "equipment"),
            "ResourceType": {"room": "Room", "equipment": "Equipment"}.get(kind or ""),
            "Office": user.office_location or "",
            "UsageLocation": "United States",
            "ProhibitSendQuota": QUOTA,
            "ProhibitSendReceiveQuota": "100 GB (107,374,182,400 bytes)",
            "IssueWarningQuota": WARNING_QUOTA,
            "ArchiveStatus": "None",
            "ForwardingSmtpAddress": None,
            "ForwardingAddress": None,
            "DeliverToMailboxAndForward": False,
            "LitigationHoldEnabled": False,
            "RetentionPolicy": "Default MRM Policy",
            "AuditEnabled": True,
            "Database": f"{tenant.forest}DG{user.index % 200:03d}-db{user.index % 97:03d}",
            "ServerName": (
                f"{tenant.forest[:4].lower()}{user.index % 90:02d}mb{user.index % 900:03d}"
            ),
            "Languages@odata.type": STRINGS,
            "Languages": [user.language],
        }
    )
    return row


def group(tenant: SandboxTenant, grp: Group) -> dict[str, Any]:
    """Get-DistributionGroup output."""
    row = _common(
        tenant,
        grp,
        grp.mail_nickname,
        grp.display_name,
        grp.mail or "",
        list(grp.proxy_addresses),
        grp.exchange_object_guid,
        grp.id,
        grp.when_changed,
        grp.created,
    )
    row.update(
        {
            "GroupType": "Universal, SecurityEnabled" if grp.security_enabled else "Universal",
            "ManagedBy@odata.type": STRINGS,
            "ManagedBy": [recipient_name(tenant, m) for m in grp.managed_by],
            "GrantSendOnBehalfTo@odata.type": STRINGS,
            "GrantSendOnBehalfTo": [],
            "IsDirSynced": grp.on_premises is not None,
            "MemberJoinRestriction": "Closed",
            "MemberDepartRestriction": "Closed",
            "HiddenFromAddressListsEnabled": False,
            "RequireSenderAuthenticationEnabled": True,
        }
    )
    if grp.on_premises is not None:
        row["OnPremisesDistinguishedName"] = grp.on_premises.distinguished_name
    return row


def dynamic_group(tenant: SandboxTenant, dyn: DynamicGroup) -> dict[str, Any]:
    """Get-DynamicDistributionGroup output."""
    row = _common(
        tenant,
        dyn,
        dyn.alias,
        dyn.name,
        dyn.primary_smtp_address,
        [f"SMTP:{dyn.primary_smtp_address}"],
        dyn.id,
        "",
        dyn.when_changed,
        dyn.created,
    )
    row.update(
        {
            "RecipientFilter": dyn.recipient_filter,
            "LdapRecipientFilter": None,
            "IncludedRecipients": None,
            "RecipientContainer": tenant.initial_domain,
            "ManagedBy@odata.type": STRINGS,
            "ManagedBy": [recipient_name(tenant, m) for m in dyn.managed_by],
            "HiddenFromAddressListsEnabled": False,
        }
    )
    return row


def member(tenant: SandboxTenant, obj: User | Group) -> dict[str, Any]:
    """Get-DistributionGroupMember / Get-DynamicDistributionGroupMember output."""
    return _common(
        tenant,
        obj,
        obj.mail_nickname,
        obj.display_name,
        obj.mail or "",
        list(obj.proxy_addresses),
        obj.exchange_object_guid,
        obj.id,
        obj.when_changed,
        obj.created,
    )


def permission(
    identity: str,
    user: str,
    sid: str,
    rights: list[str],
    *,
    inherited: bool,
    deny: bool,
    inheritance: str = "All",
) -> dict[str, Any]:
    """One Get-MailboxPermission entry (several rights arrive as one comma-joined string)."""
    return {
        "Identity": identity,
        "User": user,
        "UserSid": sid,
        "AccessRights@odata.type": STRINGS,
        "AccessRights": [", ".join(rights)],
        "IsInherited": inherited,
        "Deny": deny,
        "InheritanceType": inheritance,
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


# PowerShell's own numbers for the enumerations permission output carries.
MAILBOX_RIGHT_NUMBERS = {
    "FullAccess": 1,
    "SendAs": 2,
    "ExternalAccount": 4,
    "DeleteItem": 65536,
    "ReadPermission": 131072,
    "ChangePermission": 262144,
    "ChangeOwner": 524288,
}
RECIPIENT_RIGHT_NUMBERS = {"SendAs": 1}


def numeric_enums(cmdlet: str, row: dict[str, Any]) -> dict[str, Any]:
    """A permission row as ConvertTo-Json renders the live object: enums as numbers."""
    numbers = {
        "get-mailboxpermission": MAILBOX_RIGHT_NUMBERS,
        "get-recipientpermission": RECIPIENT_RIGHT_NUMBERS,
    }.get(cmdlet.lower())
    if numbers is None:
        return row
    out = dict(row)
    names = [n.strip() for v in row.get("AccessRights") or [] for n in str(v).split(",")]
    out["AccessRights"] = [numbers[n] for n in names if n in numbers]
    out["AccessRights@odata.type"] = "#Collection(Int32)"
    if "Deny" in row:
        out["Deny"] = {"IsPresent": bool(row["Deny"])}
    if "AccessControlType" in row:
        out["AccessControlType"] = 1 if row["AccessControlType"] == "Deny" else 0
    return out


def recipient_permission(identity: str, who: str, sid: str, *, deny: bool) -> dict[str, Any]:
    """One Get-RecipientPermission (Send As) entry."""
    return {
        "Identity": identity,
        "Trustee": who,
        "TrusteeSidString": sid,
        "AccessControlType": "Deny" if deny else "Allow",
        "AccessRights@odata.type": STRINGS,
        "AccessRights": ["SendAs"],
        "IsInherited": False,
        "InheritanceType": "None",
        "IsValid": True,
        "ObjectState": "Unchanged",
    }


def calendar_folder(user: User) -> str:
    """The (localized) name of the mailbox's Calendar folder."""
    office = user.office_location or ""
    lang, folder = names.OFFICE_LANGUAGE.get(office, ("en-US", "Calendar"))
    return folder if user.language == lang and folder else "Calendar"


def folder_permission(
    tenant: SandboxTenant, owner: User, who: str, role: str, flags: int
) -> dict[str, Any]:
    """One Get-MailboxFolderPermission entry for the Calendar folder."""
    folder = calendar_folder(owner)
    target = tenant.users.get(who) or tenant.groups.get(who)
    shown = target.display_name if target is not None else who
    sharing = [
        name
        for bit, name in ((DELEGATE, "Delegate"), (CAN_VIEW_PRIVATE_ITEMS, "CanViewPrivateItems"))
        if flags & bit
    ]
    return {
        "Identity": f"{owner.mail_nickname}:\\{folder}",
        "FolderName": folder,
        "User": shown,
        "AccessRights@odata.type": STRINGS,
        "AccessRights": [role],
        "SharingPermissionFlags": ", ".join(sharing) if sharing else None,
        "IsValid": True,
        "ObjectState": "Unchanged",
    }
