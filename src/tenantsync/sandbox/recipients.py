"""How Exchange sees directory objects: recipient types and the properties filters read."""

from __future__ import annotations

from tenantsync.sandbox.entities import DynamicGroup, Group, MailboxKind, User
from tenantsync.sandbox.opath import Value

RECIPIENT_TYPE_DETAILS: dict[MailboxKind, str] = {
    "user": "UserMailbox",
    "shared": "SharedMailbox",
    "room": "RoomMailbox",
    "equipment": "EquipmentMailbox",
    "scheduling": "SchedulingMailbox",
}
# The kinds Exchange can show as a remote mailbox (there is no remote scheduling mailbox).
REMOTE_KINDS: frozenset[MailboxKind] = frozenset({"user", "shared", "room", "equipment"})
GROUP_TYPE_DETAILS = {
    "mail_security": "MailUniversalSecurityGroup",
    "distribution": "MailUniversalDistributionGroup",
    "unified": "GroupMailbox",
}
USER_PURPOSE: dict[MailboxKind, str] = {
    "user": "user",
    "shared": "shared",
    "room": "room",
    "equipment": "equipment",
    "scheduling": "others",
}


def type_details(obj: User | Group | DynamicGroup) -> str:
    """RecipientTypeDetails of a recipient."""
    if isinstance(obj, User):
        if obj.mailbox is None:
            return "GuestMailUser"
        details = RECIPIENT_TYPE_DETAILS[obj.mailbox]
        return f"Remote{details}" if obj.remote and obj.mailbox in REMOTE_KINDS else details
    if isinstance(obj, Group):
        return GROUP_TYPE_DETAILS.get(obj.kind, "Group")
    return "DynamicDistributionGroup"


def recipient_type(obj: User | Group | DynamicGroup) -> str:
    """RecipientType (coarser: every mailbox kind is UserMailbox)."""
    if isinstance(obj, User):
        return "UserMailbox" if obj.mailbox else "MailUser"
    if isinstance(obj, Group):
        return {
            "mail_security": "MailUniversalSecurityGroup",
            "distribution": "MailUniversalDistributionGroup",
            "unified": "MailUniversalDistributionGroup",
        }.get(obj.kind, "Group")
    return "DynamicDistributionGroup"


def filter_properties(user: User, send_on_behalf_names: list[str]) -> dict[str, Value]:
    """The OPATH-visible properties of a user's mailbox (keys lower-case)."""
    details = type_details(user)
    return {
        "name": user.mail_nickname,
        "alias": user.mail_nickname,
        "displayname": user.display_name,
        "department": user.department,
        "office": user.office_location,
        "company": user.company_name,
        "title": user.job_title,
        "recipienttype": recipient_type(user),
        "recipienttypedetails": details,
        "recipienttypedetailsvalue": details,
        "primarysmtpaddress": user.mail,
        "userprincipalname": user.user_principal_name,
        "emailaddresses": list(user.proxy_addresses),
        "grantsendonbehalfto": send_on_behalf_names,
        "hiddenfromaddresslistsenabled": user.hidden_from_address_lists,
        "isdirsynced": user.on_premises is not None,
        "externaldirectoryobjectid": user.id,
    }
